"""PySceneDetect's AdaptiveDetector (a frame's HSV change against the mean change of its
neighbours, so fast motion raises the bar) for cuts, and ThresholdDetector for fades."""
from __future__ import annotations

from tagger.scenes.detectors.base import ratio_confidence
from tagger.scenes.detectors.pyscenedetect import PySceneDetectPair


class AdaptiveDetector(PySceneDetectPair):
    name = "adaptive"
    detector_names = "AdaptiveDetector+ThresholdDetector"

    def _cut_detector(self, min_len: int):
        from scenedetect.detectors import AdaptiveDetector as Adaptive

        return Adaptive(adaptive_threshold=self.settings.adaptive_threshold, min_scene_len=min_len,
                        min_content_val=self.settings.adaptive_min_content)

    def _confidence(self, frame: int) -> float:
        # AdaptiveDetector's ratio: the frame's content value over its neighbours' mean.
        width = self.cuts.window_width
        value = self.content_value(frame)
        around = [self.content_value(f) for f in range(frame - width, frame + width + 1) if f != frame]
        around = [v for v in around if v is not None]
        threshold = self.settings.adaptive_threshold
        if value is None or not around:
            return ratio_confidence(threshold, threshold)
        mean = sum(around) / len(around)
        ratio = 255.0 if mean < 1e-5 else min(value / mean, 255.0)
        return ratio_confidence(ratio, threshold)
