"""The pass as it was: PySceneDetect's ContentDetector (HSV change between consecutive frames
over a fixed threshold) for cuts, and ThresholdDetector for fades through black."""
from __future__ import annotations

from tagger.scenes.detectors.base import ratio_confidence
from tagger.scenes.detectors.pyscenedetect import PySceneDetectPair


class ContentDetector(PySceneDetectPair):
    name = "content"
    detector_names = "ContentDetector+ThresholdDetector"

    def _cut_detector(self, min_len: int):
        from scenedetect.detectors import ContentDetector as Content

        return Content(threshold=self.settings.content_threshold, min_scene_len=min_len)

    def _confidence(self, frame: int) -> float:
        value = self.content_value(frame)
        threshold = self.settings.content_threshold
        return ratio_confidence(value if value is not None else threshold, threshold)
