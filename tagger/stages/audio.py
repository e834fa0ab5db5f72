from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from tagger.errors import StageSkipped
from tagger.stages.base import Stage, TitleContext

if TYPE_CHECKING:
    import numpy as np


class AudioStage(Stage):
    """Silero VAD speech segments and librosa features on PyAV-decoded samples: loudness,
    speech/music/silence, tempo and key on the music, fitted arousal and valence."""
    name = "audio"
    needs = ("probe",)

    @dataclass
    class Settings:
        sample_rate_hz: int = 22050
        chunk_s: float = 30.0

    _vad = None   # the VAD's onnxruntime session, loaded once per process

    def setup(self) -> None:
        """Load the VAD and the mood model, and compile librosa's numba kernels now (about 20 s
        once per process), so that the cost is not counted against the first title."""
        import numpy as np

        from tagger.audio.features import frame_features
        from tagger.audio.mood import load_mood_model
        from tagger.audio.summary import summarize

        self._vad_session()
        load_mood_model()
        rate = self.settings.sample_rate_hz
        noise = np.random.default_rng(0).normal(0, 0.1, 4 * rate).astype(np.float32)
        summarize(frame_features(noise, sample_rate_hz=rate))

    def _vad_session(self):
        if self._vad is None:
            from tagger.audio.speech import load_vad

            self._vad = load_vad()
        return self._vad

    def versions(self) -> dict[str, str]:
        import av

        from tagger.audio.features import FEATURE_VECTOR_ID
        from tagger.audio.mood import load_mood_model
        from tagger.audio.speech import vad_model_id
        from tagger.versions import module_version

        # PyAV decodes and resamples, Silero finds speech, librosa computes the features.
        return {"librosa": module_version("librosa"), "pyav": av.__version__, "vad": vad_model_id(),
                "onnxruntime": module_version("onnxruntime"), "mood": load_mood_model().version,
                "features": FEATURE_VECTOR_ID}

    def spaces(self) -> dict[str, int]:
        from tagger.audio.features import FEATURE_VECTOR_NAMES

        return {"audio": len(FEATURE_VECTOR_NAMES)}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        return None if ctx.media is not None and ctx.media.has_audio else "no audio stream"

    def run(self, ctx: TitleContext) -> None:
        from tagger.audio.features import FEATURE_VECTOR_ID, feature_vector
        from tagger.audio.summary import summarize

        if ctx.media is None or not ctx.media.has_audio:
            raise StageSkipped("no audio stream")
        frames = decode_frames(ctx.title.video, vad=self._vad_session(),
                               sample_rate_hz=self.settings.sample_rate_hz, chunk_s=self.settings.chunk_s)
        if frames is None:
            raise StageSkipped("audio stream holds no samples")
        title = summarize(frames)
        ctx.features.update({f"audio.{k}": v for k, v in title.items()})
        if ctx.split is not None:
            for scene, features in zip(ctx.split.scenes, ctx.scene_features):
                piece = frames.slice(start_s=scene.start_s, end_s=scene.end_s)
                features.update({f"audio.{k}": v for k, v in summarize(piece).items()})
        ctx.vectors["audio"] = (FEATURE_VECTOR_ID, feature_vector(title))


def decode_frames(path, *, vad, sample_rate_hz: int, chunk_s: float):
    """A media file's frame features with their speech marks, decoded and analysed in chunks
    (None when the audio stream holds no samples). Samples are not kept: the VAD streams, and
    each chunk leaves only its frame features."""
    from tagger.audio.features import HOP_LENGTH, FrameFeatures, frame_features, mark_speech
    from tagger.audio.speech import SpeechTracker
    from tagger.media.decode import iter_audio

    speech = SpeechTracker(vad, sample_rate_hz)
    parts = []
    for chunk in hop_aligned(iter_audio(path, sample_rate_hz=sample_rate_hz, chunk_s=chunk_s), HOP_LENGTH):
        speech.push(chunk)
        parts.append(frame_features(chunk, sample_rate_hz=sample_rate_hz))
    if not parts:
        return None
    return mark_speech(FrameFeatures.concatenate(parts), speech.finish())


def hop_aligned(chunks: Iterable[np.ndarray], hop: int) -> Iterator[np.ndarray]:
    """The same samples re-cut into chunks whose lengths are multiples of ``hop`` (the last
    excepted), so that frame ``i`` of the joined features sits at exactly ``i * hop`` samples
    however long the title (cut anywhere, each chunk would lose up to a hop of time)."""
    import numpy as np

    rest = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        y = np.concatenate([rest, chunk]) if rest.size else chunk
        n = y.size - y.size % hop
        rest = y[n:]
        if n:
            yield y[:n]
    if rest.size:
        yield rest
