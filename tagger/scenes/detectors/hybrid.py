"""Cheap proposals, TransNetV2 confirming the doubtful ones: the default.

Every frame gets a content score (mean HSV change from the frame before, on a 160-pixel copy)
and its adaptive ratio (the score over its neighbours' mean, as PySceneDetect's
AdaptiveDetector computes it). A frame far above both bars is a cut without further ado; a
frame above the lower candidate bars, or the middle of a slow change that adds up (a
dissolve's signature), is shown to TransNetV2 in a window of real frames around it, and is a
boundary where the network agrees. Slow dark dissolves the network does not mark are decided
on their own signature (dissolves.py). Fades through black come from ThresholdDetector. The
network sees a few windows per minute of ordinary footage instead of every frame.
"""
from __future__ import annotations

from collections import deque
from fractions import Fraction

import numpy as np

from tagger.scenes.detectors.base import Boundary, ShotDetector, frame_mean, gradual_kind, ratio_confidence
from tagger.scenes.detectors.dissolves import DissolveWatch
from tagger.scenes.detectors.transnet import network, transnet_versions

# Frames of context each side of a candidate: shorter windows miss subtle cuts, and gradual
# changes need the paper's whole 100-frame window.
HALF_WINDOW = {"cut": 24, "gradual": 50}
RATIO_WIDTH = 2           # neighbours each side in the adaptive ratio (AdaptiveDetector's default)
SLOW_SPAN = 12            # frames over which a dissolve's change adds up
SCORE_WIDTH = 160         # pixels; the content score's copy of the frame
# A dissolve changes the whole picture; a title card fading in or out over it changes part.
# Spread: the share of the network's 48x27 picture whose change from SLOW_SPAN frames before a
# gradual boundary to SLOW_SPAN after is at least half the mean change. Bar from the shot
# benchmark's validation titles: dissolves 0.69-0.83, cards fading over moving pictures 0.38-0.47.
SPREAD_MIN = 0.57


class HybridDetector(ShotDetector):
    name = "hybrid"

    def __init__(self, settings, *, fps: float):
        from scenedetect.common import FrameTimecode
        from scenedetect.detectors import ThresholdDetector

        super().__init__(settings, fps=fps)
        self.model = network(settings.transnet_runtime)
        self.rate = Fraction(self.fps).limit_denominator(100_000)
        self.min_len = max(1, int(round(settings.min_scene_s * float(self.rate))))
        self.fades = ThresholdDetector(threshold=settings.fade_threshold, min_scene_len=self.min_len)
        # Timecodes take their rate from this one: building the rate from a Fraction every
        # frame cost more than the fade detector's own work.
        self.timebase = FrameTimecode(0, fps=self.rate)
        self.dissolves = DissolveWatch(min_change=settings.dissolve_change, fade_threshold=settings.fade_threshold)
        keep = 2 * max(HALF_WINDOW.values()) + SLOW_SPAN + 2 * RATIO_WIDTH + 4
        self.frames: deque[np.ndarray] = deque(maxlen=keep)   # network frames, the last `keep`
        self.means: deque[float] = deque(maxlen=keep)
        self.hsv: np.ndarray | None = None                    # the previous frame's (uint8), for its score
        self.scores: deque[float] = deque(maxlen=keep)        # content score of each kept frame
        # 16x9 copies: grain and small moving things average out, what changes everywhere stays.
        self.tiny: deque[np.ndarray] = deque(maxlen=SLOW_SPAN + 1)
        self.tiny_steps: deque[float] = deque(maxlen=SLOW_SPAN)
        self.count = 0
        self.pending: list[tuple[int, str, float]] = []   # (frame, cut | gradual, score) for the network
        self.found: list[Boundary] = []            # decided, released in frame order
        self.last_start = -self.min_len            # the last boundary decided
        self.last_gradual = -HALF_WINDOW["gradual"]  # the last gradual candidate
        self.darkest = float("inf")
        self.first_lit: int | None = None          # the first frame brighter than black
        self.network_frames = 0                    # frames shown to the network (the benchmark reports it)
        self.looks: list[tuple[int, str, float]] = []   # (frame, kind, probability) of each candidate shown
        self.spreads: list[tuple[int, float]] = []       # (frame, spread) of each gradual boundary weighed

    @classmethod
    def load(cls, settings) -> None:
        network(settings.transnet_runtime)

    @classmethod
    def versions(cls, settings) -> dict[str, str]:
        from tagger.versions import module_version

        # Thresholds are in the pipeline's settings, which the engine's digest holds already.
        return {**transnet_versions(settings), "scenedetect": module_version("scenedetect"),
                "detectors": "ThresholdDetector"}

    # -- per frame ------------------------------------------------------------------------

    def process(self, index: int, image: np.ndarray) -> list[Boundary]:
        import cv2
        from scenedetect.common import FrameTimecode

        from tagger.scenes.transnet import to_network_frame

        self.count = index + 1
        mean = frame_mean(image)
        self.means.append(mean)
        self.darkest = min(self.darkest, mean)
        if self.first_lit is None and mean >= self.settings.fade_threshold:
            self.first_lit = index
        height = max(2, int(round(image.shape[0] * SCORE_WIDTH / image.shape[1])))
        small = cv2.resize(image, (SCORE_WIDTH, height), interpolation=cv2.INTER_AREA)
        # The network's 48x27 frame from the score's copy: a third of the cost of scaling the
        # whole frame again (OpenCV's area scaling is slow at ratios that are not whole numbers).
        self.frames.append(to_network_frame(small))
        hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
        self.scores.append(_hsv_change(hsv, self.hsv) if self.hsv is not None else 0.0)
        self.hsv = hsv
        tiny = cv2.resize(small, (16, 9), interpolation=cv2.INTER_AREA).astype(np.float32)
        if self.tiny:
            self.tiny_steps.append(_change(tiny, self.tiny[-1]))
        self.tiny.append(tiny)
        # ThresholdDetector only averages the frame it is given: hand it the average, not the
        # frame, so the mean is taken once.
        for fade in self.fades.process_frame(FrameTimecode(index, fps=self.timebase), np.full(1, mean)):
            self._fade(fade.frame_num)
        self._propose_cut(index - RATIO_WIDTH)
        self._propose_gradual(index)
        self._dissolve(self.dissolves.push(index, small, mean))
        self._confirm(final=False)
        return self._release(self._horizon())

    def finish(self) -> list[Boundary]:
        from scenedetect.common import FrameTimecode

        for fade in self.fades.post_process(FrameTimecode(max(self.count - 1, 0), fps=self.timebase)):
            self._fade(fade.frame_num)
        for frame in range(max(self.count - RATIO_WIDTH, 1), self.count):
            self._propose_cut(frame)
        self._dissolve(self.dissolves.flush())
        self._confirm(final=True)
        return self._release(self.count)

    # -- proposals ------------------------------------------------------------------------

    def _score(self, frame: int) -> float | None:
        offset = frame - (self.count - len(self.scores))
        return self.scores[offset] if 0 <= offset < len(self.scores) else None

    def _propose_cut(self, frame: int) -> None:
        if frame < 1:
            return
        score = self._score(frame)
        around = [self._score(f) for f in range(frame - RATIO_WIDTH, frame + RATIO_WIDTH + 1) if f != frame]
        around = [s for s in around if s is not None]
        if score is None or not around:
            return
        neighbours = sum(around) / len(around)
        ratio = 255.0 if neighbours < 1e-5 else min(score / neighbours, 255.0)
        s = self.settings
        if score >= s.sure_content and ratio >= s.sure_ratio:
            self._decide(Boundary(frame, "cut", min(ratio_confidence(score, s.sure_content),
                                                    ratio_confidence(ratio, s.sure_ratio))))
        elif score >= s.candidate_content and ratio >= s.candidate_ratio:
            self._queue(frame, "cut", score)

    def _propose_gradual(self, frame: int) -> None:
        """A change of the whole picture that runs one way over SLOW_SPAN frames, in even
        steps, as a dissolve's does: its frame-to-frame changes add up to the whole change (a
        moving subject's do not), none of them is a jump (a cut's business), and the middle
        frame is halfway between the ends."""
        if len(self.tiny) <= SLOW_SPAN or frame - self.last_start < self.min_len + SLOW_SPAN:
            return
        first, middle, last = self.tiny[0], self.tiny[SLOW_SPAN // 2], self.tiny[-1]
        overall = _change(last, first)
        if (overall >= self.settings.candidate_gradual and overall >= 0.9 * sum(self.tiny_steps)
                and max(self.tiny_steps) <= 0.5 * overall
                and _change(middle, (first + last) / 2) <= 0.1 * overall):
            self._queue(frame - SLOW_SPAN // 2, "gradual", overall)

    def _dissolve(self, found: tuple[int, float] | None) -> None:
        """A slow dark dissolve the network does not mark (dissolves.py): decided on its
        signature alone, unless a boundary was decided within a scene's length of it."""
        if found is None:
            return
        frame, change = found
        if frame - self.last_start < self.min_len or any(abs(b.frame - frame) < self.min_len for b in self.found):
            return
        if self._whole_picture_changes(frame):
            self._decide(Boundary(frame, "dissolve", ratio_confidence(change, self.settings.dissolve_change)))

    def _whole_picture_changes(self, frame: int) -> bool:
        """A gradual change across `frame` that reaches most of the picture (see SPREAD_MIN)."""
        first = self.count - len(self.frames)
        ends = np.clip([frame - SLOW_SPAN - first, frame + SLOW_SPAN - first], 0, len(self.frames) - 1)
        before, after = (self.frames[int(i)].astype(np.float32).mean(axis=2) for i in ends)
        change = np.abs(after - before)
        spread = float((change >= 0.5 * change.mean()).mean()) if change.mean() > 0 else 0.0
        self.spreads.append((frame, spread))
        return spread >= SPREAD_MIN

    def _queue(self, frame: int, kind: str, score: float) -> None:
        """Candidates of a kind closer than a scene's minimum length share one look: the
        stronger cut; the first sighting of a gradual change (its window covers the rest)."""
        if frame - self.last_start < self.min_len:
            return
        if kind == "gradual":
            # One window sees a whole transition: no second look inside the last one.
            if frame - self.last_gradual < HALF_WINDOW["gradual"]:
                return
            self.last_gradual = frame
        near = [p for p in self.pending if p[1] == kind and abs(frame - p[0]) < self.min_len]
        if near and score <= max(p[2] for p in near):
            return
        self.pending = sorted([p for p in self.pending if p not in near] + [(frame, kind, score)])

    def _decide(self, boundary: Boundary) -> None:
        self.found.append(boundary)
        self.last_start = max(self.last_start, boundary.frame)

    def _fade(self, frame: int) -> None:
        """A fade through black from ThresholdDetector, unless the title opened on that black."""
        floor = max(self.settings.fade_threshold, 1e-6)
        confidence = float(np.clip(1.0 - 0.5 * self.darkest / floor, 0.5, 1.0))
        self.darkest = float("inf")
        if self.first_lit is not None and self.first_lit < frame:
            self._decide(Boundary(frame, "fade", confidence))

    # -- the network ----------------------------------------------------------------------

    def _confirm(self, *, final: bool) -> None:
        """Show TransNetV2 the candidates whose right-hand context has been decoded."""
        ready = [(f, k) for f, k, _ in self.pending if final or f + HALF_WINDOW[k] <= self.count]
        if not ready:
            return
        self.pending = [p for p in self.pending if (p[0], p[1]) not in ready]
        for kind in ("cut", "gradual"):
            frames = [f for f, k in ready if k == kind]
            if frames:
                self._look(frames, kind)

    def _look(self, candidates: list[int], kind: str) -> None:
        half = HALF_WINDOW[kind]
        first = self.count - len(self.frames)
        frames, means = list(self.frames), list(self.means)
        windows = [np.stack([frames[i] for i in np.clip(np.arange(c - half, c + half) - first, 0, len(frames) - 1)])
                   for c in candidates]
        cut, transition = self.model.predict(np.stack(windows))
        self.network_frames += len(windows) * 2 * half
        threshold = self.settings.confirm_threshold
        for row, frame in enumerate(candidates):
            if kind == "cut":
                # The network marks a cut's last old frame; allow a frame either way.
                p = float(cut[row, half - 2:half + 1].max())
                self.looks.append((frame, kind, p))
                if p >= threshold:
                    self._decide(Boundary(frame, "cut", p))
                continue
            middle = slice(half - SLOW_SPAN, half + SLOW_SPAN)
            peak = int(np.argmax(cut[row, middle])) + middle.start
            self.looks.append((frame, kind, float(cut[row, peak])))
            if cut[row, peak] >= threshold and (transition[row, middle] >= threshold).sum() >= 3:
                # The whole change the network sees around its peak: a fade's half (to or from
                # black) peaks away from the black, which still lies inside this span.
                marked = np.maximum(cut[row], transition[row]) >= threshold
                lo, hi = peak, peak
                while lo > 0 and marked[lo - 1]:
                    lo -= 1
                while hi < len(marked) - 1 and marked[hi + 1]:
                    hi += 1
                start = int(np.clip(frame - half + lo - first - SLOW_SPAN, 0, len(means) - 1))
                darkest = min(means[start:max(frame - half + hi - first + SLOW_SPAN + 1, start + 1)])
                # Through black it is a fade: ThresholdDetector places those, at the black's middle.
                middle_frame = frame - half + peak
                if (gradual_kind(darkest, self.settings.fade_threshold) == "dissolve"
                        and self._whole_picture_changes(middle_frame)):
                    self._decide(Boundary(middle_frame, "dissolve", float(cut[row, peak])))

    def _horizon(self) -> int:
        """Frames before this one can get no more boundaries."""
        waiting = [f for f, _, _ in self.pending]
        if self.dissolves.waiting_since is not None:
            waiting.append(self.dissolves.waiting_since + max(HALF_WINDOW.values()))
        return min(waiting + [self.count - RATIO_WIDTH - SLOW_SPAN]) - max(HALF_WINDOW.values())

    def _release(self, horizon: int) -> list[Boundary]:
        out = sorted((b for b in self.found if b.frame < horizon), key=lambda b: b.frame)
        self.found = [b for b in self.found if b.frame >= horizon]
        return out


def _change(values: np.ndarray, before: np.ndarray) -> float:
    """Mean absolute change of each channel, averaged (float arrays)."""
    return float(np.abs(values - before).mean())


def _hsv_change(hsv: np.ndarray, before: np.ndarray) -> float:
    """Mean absolute change of hue, saturation and value (uint8, 0..255 each), averaged:
    OpenCV's absdiff and mean, with no wider copies of the frame."""
    import cv2

    return sum(cv2.mean(cv2.absdiff(hsv, before))[:3]) / 3.0
