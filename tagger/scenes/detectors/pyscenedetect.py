"""What the PySceneDetect-based detectors share: a cut detector scoring each frame, and
ThresholdDetector for fades through black, both on the decoded analysis frames."""
from __future__ import annotations

from collections import deque
from fractions import Fraction

import numpy as np

from tagger.scenes.detectors.base import Boundary, ShotDetector


class PySceneDetectPair(ShotDetector):
    """Subclasses build the cut detector and say how confident a cut at a frame is."""

    def __init__(self, settings, *, fps: float):
        from scenedetect.detectors import ThresholdDetector

        super().__init__(settings, fps=fps)
        self.rate = Fraction(self.fps).limit_denominator(100_000)
        min_len = max(1, int(round(settings.min_scene_s * float(self.rate))))
        self.cuts = self._cut_detector(min_len)
        self.fades = ThresholdDetector(threshold=settings.fade_threshold, min_scene_len=min_len)
        # Cut detectors report a few frames late (flash filter, rolling windows): keep the
        # recent content values (HSV change from the frame before, PySceneDetect's score).
        self.scores: deque[tuple[int, float]] = deque(maxlen=4 * min_len + 8)
        self.darkest = float("inf")   # mean pixel value of the darkest frame since the last fade
        self.last = 0

    @classmethod
    def versions(cls, settings) -> dict[str, str]:
        from tagger.versions import module_version

        return {"scenedetect": module_version("scenedetect"), "detectors": cls.detector_names}

    def _cut_detector(self, min_len: int):
        raise NotImplementedError

    def _confidence(self, frame: int) -> float:
        """How sure the cut detector is of a cut at `frame` (0.5 at its threshold)."""
        raise NotImplementedError

    def content_value(self, frame: int) -> float | None:
        return next((s for f, s in self.scores if f == frame), None)

    def process(self, index: int, image: np.ndarray) -> list[Boundary]:
        from scenedetect.common import FrameTimecode

        self.last = index
        timecode = FrameTimecode(index, fps=self.rate)
        cuts = self.cuts.process_frame(timecode, image)
        if self.cuts._frame_score is not None:   # both detectors keep the frame's content value
            self.scores.append((index, float(self.cuts._frame_score)))
        found = [self._cut(t.frame_num) for t in cuts]
        self.darkest = min(self.darkest, float(image.mean()))
        found += [self._fade(t.frame_num) for t in self.fades.process_frame(timecode, image)]
        return found

    def finish(self) -> list[Boundary]:
        from scenedetect.common import FrameTimecode

        timecode = FrameTimecode(self.last, fps=self.rate)
        return ([self._cut(t.frame_num) for t in self.cuts.post_process(timecode)]
                + [self._fade(t.frame_num) for t in self.fades.post_process(timecode)])

    def _cut(self, frame: int) -> Boundary:
        return Boundary(frame, "cut", self._confidence(frame))

    def _fade(self, frame: int) -> Boundary:
        # Darker than the floor is surer: 0.5 at the floor, 1.0 at pure black.
        floor = max(self.settings.fade_threshold, 1e-6)
        confidence = float(np.clip(1.0 - 0.5 * self.darkest / floor, 0.5, 1.0))
        self.darkest = float("inf")
        return Boundary(frame, "fade", confidence)
