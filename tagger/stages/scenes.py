from __future__ import annotations

from dataclasses import dataclass

from tagger.errors import StageSkipped
from tagger.stages.base import Stage, TitleContext


class ScenesStage(Stage):
    """Shot boundaries (PySceneDetect: hard cuts and fades) and sharp keyframes, one decode pass."""
    name = "scenes"
    needs = ("probe",)

    @dataclass
    class Settings:
        analysis_width: int = 320
        content_threshold: float = 27.0
        fade_threshold: float = 12.0
        min_scene_s: float = 0.5
        sample_fps: float = 4.0
        keyframes_per_scene: int = 2

        def validate(self):
            if self.analysis_width < 32:
                return "analysis_width", "must be at least 32 pixels"
            if self.sample_fps <= 0:
                return "sample_fps", "must be positive"
            if self.keyframes_per_scene < 1:
                return "keyframes_per_scene", "must be at least 1"
            return None

    def versions(self) -> dict[str, str]:
        import scenedetect

        return {"scenedetect": scenedetect.__version__,
                "detectors": "ContentDetector+ThresholdDetector"}

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import SplitSettings, split_video

        if ctx.media is None or not ctx.media.has_video:
            raise StageSkipped("no video stream")
        s = self.settings
        ctx.split = split_video(
            ctx.title.video, fps=ctx.media.fps, rotation_deg=ctx.media.rotation_deg,
            duration_s=ctx.media.duration_s,
            settings=SplitSettings(analysis_width=s.analysis_width, content_threshold=s.content_threshold,
                                   fade_threshold=s.fade_threshold, min_scene_s=s.min_scene_s,
                                   sample_fps=s.sample_fps, keyframes_per_scene=s.keyframes_per_scene))
        ctx.scene_features = [{} for _ in ctx.split.scenes]
