"""One streamed pass over a video: shot boundaries, keyframes and per-sample frame statistics.

Hard cuts come from PySceneDetect's ContentDetector (HSV change between frames) and fades
from its ThresholdDetector (mean intensity falling below a floor and coming back). Both run on
frames already downscaled by the decoder, so the pass costs about as much as decoding.
Memory stays bounded by one scene: samples are kept only until their scene ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tagger.catalog.records import KeyframeRecord
from tagger.media.decode import iter_frames
from tagger.scenes.keyframes import Candidate, choose, sharpness


@dataclass
class SplitSettings:
    analysis_width: int = 320
    content_threshold: float = 27.0   # ContentDetector's default, on its 0..255 HSV score
    fade_threshold: float = 12.0      # mean pixel value under which a frame counts as black
    min_scene_s: float = 0.5
    sample_fps: float = 4.0           # frames per second analysed for stats and keyframes
    keyframes_per_scene: int = 2
    max_candidates_per_scene: int = 48   # older candidates are thinned out past this

    def validate(self):
        if self.analysis_width < 32:
            return "analysis_width", "must be at least 32 pixels"
        if self.sample_fps <= 0:
            return "sample_fps", "must be positive"
        if self.keyframes_per_scene < 1:
            return "keyframes_per_scene", "must be at least 1"
        if self.max_candidates_per_scene < 2 * self.keyframes_per_scene:
            return "max_candidates_per_scene", "must be at least twice keyframes_per_scene"
        return None


@dataclass
class SceneCut:
    """One scene as the pass found it; keyframe images are kept as JPEG bytes."""
    index: int
    start_frame: int
    end_frame: int            # exclusive: the next scene's start_frame
    start_s: float
    end_s: float
    keyframes: list[KeyframeRecord] = field(default_factory=list)
    frame_stats: list[dict] = field(default_factory=list)  # per analysed frame
    motions: list[float] = field(default_factory=list)


@dataclass
class SplitResult:
    scenes: list[SceneCut]
    frame_count: int


class _SceneBuffer:
    def __init__(self, start_frame: int):
        self.start_frame = start_frame
        self.candidates: list[Candidate] = []
        self.stats: list[tuple[int, dict]] = []
        self.motions: list[tuple[int, float]] = []
        self.stride = 1  # keep every stride-th candidate; doubles when the buffer fills

    def split_at(self, frame: int) -> "_SceneBuffer":
        """Move samples at or after `frame` into a new buffer (detectors report cuts late)."""
        after = _SceneBuffer(frame)
        after.candidates = [c for c in self.candidates if c.frame >= frame]
        after.stats = [s for s in self.stats if s[0] >= frame]
        after.motions = [m for m in self.motions if m[0] >= frame]
        self.candidates = [c for c in self.candidates if c.frame < frame]
        self.stats = [s for s in self.stats if s[0] < frame]
        self.motions = [m for m in self.motions if m[0] < frame]
        return after


def scene_detectors(settings: SplitSettings, *, min_scene_len: int) -> list:
    """PySceneDetect's detectors of the pass: hard cuts, and fades through black."""
    from scenedetect.detectors import ContentDetector, ThresholdDetector

    return [ContentDetector(threshold=settings.content_threshold, min_scene_len=min_scene_len),
            ThresholdDetector(threshold=settings.fade_threshold, min_scene_len=min_scene_len)]


def split_video(path: str | Path, *, fps: float, rotation_deg: int, duration_s: float,
                settings: SplitSettings, on_progress=None) -> SplitResult:
    import cv2
    from scenedetect.common import FrameTimecode

    from tagger.vision.descriptors import frame_stats, motion, small_gray

    rate = Fraction(fps).limit_denominator(100_000) if fps > 0 else Fraction(25)
    min_len = max(1, int(round(settings.min_scene_s * float(rate))))
    detectors = scene_detectors(settings, min_scene_len=min_len)
    sample_every = max(1, int(round(float(rate) / settings.sample_fps)))

    times: list[float] = []
    scenes: list[SceneCut] = []
    buffer = _SceneBuffer(0)
    cut_frames = [0]
    previous_gray = None

    def close(buf: _SceneBuffer, end_frame: int) -> None:
        start_s = times[buf.start_frame]
        end_s = times[end_frame] if end_frame < len(times) else None
        scenes.append(_finish(len(scenes), buf, end_frame, start_s, end_s, settings))

    def accept(cut: int) -> None:
        nonlocal buffer
        if cut - cut_frames[-1] < min_len or cut >= len(times):
            return  # both detectors saw the same transition, or it is too close
        after = buffer.split_at(cut)
        close(buffer, cut)
        cut_frames.append(cut)
        buffer = after

    for decoded in iter_frames(path, analysis_width=settings.analysis_width, rotation_deg=rotation_deg):
        times.append(decoded.time_s)
        image = decoded.image
        timecode = FrameTimecode(decoded.index, fps=rate)
        for detector in detectors:
            for cut in detector.process_frame(timecode, image):
                accept(cut.frame_num)
        if decoded.index % sample_every == 0:
            gray_small = small_gray(image)
            stats = frame_stats(image)
            buffer.stats.append((decoded.index, stats))
            if previous_gray is not None:
                buffer.motions.append((decoded.index, motion(previous_gray, gray_small)))
            previous_gray = gray_small
            if (decoded.index // sample_every) % buffer.stride == 0:
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                buffer.candidates.append(Candidate(decoded.index, decoded.time_s, sharpness(gray),
                                                   stats["brightness"], image))
                if len(buffer.candidates) > settings.max_candidates_per_scene:
                    buffer.candidates = buffer.candidates[::2]
                    buffer.stride *= 2
        if on_progress is not None and duration_s > 0:
            on_progress(min(1.0, decoded.time_s / duration_s))

    frame_count = len(times)
    if frame_count:
        last = FrameTimecode(frame_count - 1, fps=rate)
        for detector in detectors:
            for cut in detector.post_process(last):
                accept(cut.frame_num)
        step = 1.0 / float(rate)
        end_s = max(duration_s, times[-1] + step)
        close(buffer, frame_count)
        scenes[-1].end_s = end_s
    return SplitResult(scenes, frame_count)


def _finish(index: int, buf: _SceneBuffer, end_frame: int, start_s: float, end_s: float | None,
            settings: SplitSettings) -> SceneCut:
    import cv2

    keyframes = []
    for cand in choose(buf.candidates, count=settings.keyframes_per_scene):
        ok, jpeg = cv2.imencode(".jpg", cand.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        keyframes.append(KeyframeRecord(cand.frame, cand.time_s, cand.sharpness, jpeg.tobytes() if ok else b""))
    return SceneCut(index=index, start_frame=buf.start_frame, end_frame=end_frame,
                    start_s=start_s, end_s=end_s if end_s is not None else start_s,
                    keyframes=keyframes,
                    frame_stats=[s for _, s in buf.stats],
                    # The first sample's motion compares with the previous scene: not motion.
                    motions=[m for f, m in buf.motions if not buf.stats or f != buf.stats[0][0]])


def decode_jpeg(data: bytes) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
