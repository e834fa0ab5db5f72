from __future__ import annotations

from tagger.errors import StageSkipped
from tagger.scenes.split import SplitSettings
from tagger.stages.base import Stage, TitleContext


class ScenesStage(Stage):
    """Shot boundaries (PySceneDetect: hard cuts and fades) and sharp keyframes, one decode pass."""
    name = "scenes"
    needs = ("probe",)
    Settings = SplitSettings

    def versions(self) -> dict[str, str]:
        import scenedetect

        return {"scenedetect": scenedetect.__version__,
                "detectors": "ContentDetector+ThresholdDetector"}

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import split_video

        if ctx.media is None or not ctx.media.has_video:
            raise StageSkipped("no video stream")
        ctx.split = split_video(ctx.title.video, fps=ctx.media.fps, rotation_deg=ctx.media.rotation_deg,
                                duration_s=ctx.media.duration_s, settings=self.settings)
        ctx.scene_features = [{} for _ in ctx.split.scenes]
