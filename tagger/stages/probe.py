from __future__ import annotations

from tagger.errors import StageSkipped
from tagger.stages.base import Stage, TitleContext


class ProbeStage(Stage):
    """Stream facts with PyAV: duration, frame rate, size, rotation, streams."""
    name = "probe"

    def versions(self) -> dict[str, str]:
        import av

        return {"pyav": av.__version__}

    def run(self, ctx: TitleContext) -> None:
        from tagger.media.probe import probe

        if not ctx.title.video:
            raise StageSkipped("no video file (metadata-only title)")
        ctx.media = probe(ctx.title.video)
        if not ctx.media.has_video and not ctx.media.has_audio:
            from tagger.errors import MediaError

            raise MediaError(ctx.title.video, "no video or audio stream")
