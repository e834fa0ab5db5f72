from __future__ import annotations

from dataclasses import dataclass

from tagger.errors import StageSkipped
from tagger.stages.base import Stage, TitleContext


class AudioStage(Stage):
    """librosa features on PyAV-decoded samples: loudness, tempo, key, speech/music, mood."""
    name = "audio"
    needs = ("probe",)

    @dataclass
    class Settings:
        sample_rate_hz: int = 22050
        chunk_s: float = 30.0

    def setup(self) -> None:
        """Compile librosa's numba kernels now (about 20 s once per process), so that the cost
        is not counted against the first title."""
        import numpy as np

        from tagger.audio.features import frame_features, summarize

        rate = self.settings.sample_rate_hz
        noise = np.random.default_rng(0).normal(0, 0.1, 4 * rate).astype(np.float32)
        summarize(frame_features(noise, sample_rate_hz=rate))

    def versions(self) -> dict[str, str]:
        import av

        from tagger.versions import module_version

        from tagger.audio.features import FEATURE_VECTOR_ID
        from tagger.audio.mood import MOOD_VERSION

        # PyAV decodes and resamples, librosa computes the features.
        return {"librosa": module_version("librosa"), "pyav": av.__version__, "mood": MOOD_VERSION,
                "features": FEATURE_VECTOR_ID}

    def spaces(self) -> dict[str, int]:
        from tagger.audio.features import FEATURE_VECTOR_NAMES

        return {"audio": len(FEATURE_VECTOR_NAMES)}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        return None if ctx.media is not None and ctx.media.has_audio else "no audio stream"

    def run(self, ctx: TitleContext) -> None:
        from tagger.audio.features import FEATURE_VECTOR_ID, FrameFeatures, feature_vector, frame_features, summarize
        from tagger.media.decode import iter_audio

        if ctx.media is None or not ctx.media.has_audio:
            raise StageSkipped("no audio stream")
        rate = self.settings.sample_rate_hz
        parts = [frame_features(chunk, sample_rate_hz=rate)
                 for chunk in iter_audio(ctx.title.video, sample_rate_hz=rate, chunk_s=self.settings.chunk_s)]
        if not parts:
            raise StageSkipped("audio stream holds no samples")
        frames = FrameFeatures.concatenate(parts)
        title = summarize(frames)
        ctx.features.update({f"audio.{k}": v for k, v in title.items()})
        if ctx.split is not None:
            for scene, features in zip(ctx.split.scenes, ctx.scene_features):
                piece = frames.slice(start_s=scene.start_s, end_s=scene.end_s)
                features.update({f"audio.{k}": v for k, v in summarize(piece).items()})
        ctx.vectors["audio"] = (FEATURE_VECTOR_ID, feature_vector(title))
