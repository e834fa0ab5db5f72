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
        import av
        import cv2
        import scenedetect

        from tagger.scenes.split import scene_detectors

        detectors = scene_detectors(self.settings, min_scene_len=1)
        # PyAV decodes, OpenCV computes frame statistics and encodes the keyframes.
        return {"scenedetect": scenedetect.__version__, "detectors": "+".join(type(d).__name__ for d in detectors),
                "opencv": cv2.__version__, "pyav": av.__version__}

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import split_video

        if ctx.media is None or not ctx.media.has_video:
            raise StageSkipped("no video stream")
        ctx.split = split_video(ctx.title.video, fps=ctx.media.fps, rotation_deg=ctx.media.rotation_deg,
                                duration_s=ctx.media.duration_s, settings=self.settings)
        ctx.scene_features = [{} for _ in ctx.split.scenes]
