from __future__ import annotations

from tagger.errors import StageSkipped
from tagger.scenes.split import SplitSettings
from tagger.stages.base import Stage, TitleContext


class ScenesStage(Stage):
    """Shot boundaries (the pipeline's shot detector) and sharp keyframes, one decode pass.

    Each scene's features say how it begins: scenes.boundary_kind (start, cut, fade or
    dissolve) and scenes.boundary_confidence (0..1, 0.5 at the detector's threshold)."""
    name = "scenes"
    needs = ("probe",)
    Settings = SplitSettings

    def setup(self) -> None:
        from tagger.scenes.detectors import detector_class

        detector_class(self.settings.detector).load(self.settings)

    def versions(self) -> dict[str, str]:
        import av
        import cv2

        from tagger.scenes.detectors import detector_class

        # PyAV decodes, OpenCV computes frame statistics and encodes the keyframes.
        return {"detector": self.settings.detector, **detector_class(self.settings.detector).versions(self.settings),
                "opencv": cv2.__version__, "pyav": av.__version__}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        if ctx.media is None or not ctx.media.has_video:
            return "no video stream"
        return None

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import split_video

        if ctx.media is None or not ctx.media.has_video:
            raise StageSkipped("no video stream")
        ctx.split = split_video(ctx.title.video, fps=ctx.media.fps, rotation_deg=ctx.media.rotation_deg,
                                duration_s=ctx.media.duration_s, settings=self.settings)
        ctx.scene_features = [{"scenes.boundary_kind": scene.boundary_kind,
                               "scenes.boundary_confidence": scene.boundary_confidence}
                              for scene in ctx.split.scenes]
