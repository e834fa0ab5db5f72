"""Speech segments from the Silero voice activity detector (VAD), streamed in chunks.

Silero VAD (Silero Team 2024, MIT licence) gives the probability that each 32 ms frame
(512 samples at 16 kHz) holds speech. Its ONNX weights ship inside the ``silero-vad`` wheel;
we load the "sequence" export, which runs a block of frames per ONNX Runtime call and carries
the recurrent state between calls, through onnxruntime alone (the ``silero_vad`` package
itself imports torch, which we do not need). Samples arrive at the stage's rate and are
resampled to 16 kHz by a streaming soxr resampler, so chunk edges leave no trace.

Segments follow the hysteresis of Silero's own ``get_speech_timestamps``: a segment opens at
a frame with probability >= ``SPEECH_THRESHOLD`` and closes once the probability has stayed
under ``SPEECH_THRESHOLD - 0.15`` for ``MIN_PAUSE_S``; segments shorter than
``MIN_SPEECH_S`` are dropped. Unlike Silero's defaults there is no padding around segments,
so pauses between phrases do not count as speech. Memory is constant in the length of the
audio: only the open segment and the finished (start_s, end_s) pairs are kept.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.errors import TaggerError

VAD_SAMPLE_RATE_HZ = 16000
VAD_FRAME_SAMPLES = 512          # 32 ms: the model's frame at 16 kHz
VAD_CONTEXT_SAMPLES = 64         # each frame is fed with the last 64 samples of the one before
VAD_BLOCK_FRAMES = 512           # frames per ONNX call (16.4 s), bounds the call's memory
VAD_MODEL_FILE = "silero_vad_16k_sequence.onnx"
SPEECH_THRESHOLD = 0.5           # Silero's default
PAUSE_THRESHOLD = SPEECH_THRESHOLD - 0.15   # Silero's neg_threshold
MIN_SPEECH_S = 0.25              # Silero's min_speech_duration_ms
MIN_PAUSE_S = 0.1                # Silero's min_silence_duration_ms


def vad_model_id() -> str:
    """Names the VAD weights for the stage's versions: the wheel's version and the file."""
    return f"silero-vad-{importlib.metadata.version('silero-vad')}/{VAD_MODEL_FILE}"


def vad_model_path() -> Path:
    """The ONNX file inside the installed silero-vad wheel (found without importing it)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise TaggerError("the silero-vad package is not installed (pip install silero-vad)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / VAD_MODEL_FILE
    if not path.is_file():
        raise TaggerError(f"{path}: silero-vad has no {VAD_MODEL_FILE}; it needs silero-vad 6.2 or later")
    return path


def load_vad():
    """An onnxruntime session of the Silero VAD, on one CPU thread (it is a small LSTM)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(vad_model_path()), sess_options=options,
                                        providers=["CPUExecutionProvider"])


@dataclass
class SpeechTracker:
    """Feeds audio chunks at ``sample_rate_hz`` through the VAD; collects speech segments.

    ``push`` each chunk in order, then ``finish`` once; ``segments`` holds (start_s, end_s)
    pairs in seconds from the first sample.
    """

    session: object
    sample_rate_hz: int
    segments: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        import soxr

        self._resampler = (None if self.sample_rate_hz == VAD_SAMPLE_RATE_HZ else
                           soxr.ResampleStream(self.sample_rate_hz, VAD_SAMPLE_RATE_HZ, 1, dtype="float32"))
        self._pending = np.zeros(0, dtype=np.float32)     # < one frame of 16 kHz samples
        self._context = np.zeros(VAD_CONTEXT_SAMPLES, dtype=np.float32)
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._frames_done = 0
        self._open_start: int | None = None     # frame where the current segment began
        self._quiet_since: int | None = None    # first frame of the current run under the pause threshold

    @property
    def frame_s(self) -> float:
        return VAD_FRAME_SAMPLES / VAD_SAMPLE_RATE_HZ

    def push(self, samples: np.ndarray) -> None:
        """Analyse the next chunk of mono float samples."""
        y = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._resampler is not None:
            y = self._resampler.resample_chunk(y)
        self._run(np.concatenate([self._pending, y]))

    def finish(self) -> list[tuple[float, float]]:
        """Flush the resampler and the last partial frame (zero-padded); close an open segment."""
        tail = self._pending
        if self._resampler is not None:
            tail = np.concatenate([tail, self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)])
        if tail.size:
            padded = np.zeros(VAD_FRAME_SAMPLES, dtype=np.float32)
            padded[:tail.size] = tail[:VAD_FRAME_SAMPLES]
            self._run(padded)
        if self._open_start is not None:
            end = self._quiet_since if self._quiet_since is not None else self._frames_done
            self._close(end)
        return self.segments

    def _run(self, y: np.ndarray) -> None:
        n = y.size // VAD_FRAME_SAMPLES
        self._pending = y[n * VAD_FRAME_SAMPLES:].copy()
        for first in range(0, n, VAD_BLOCK_FRAMES):
            frames = y[first * VAD_FRAME_SAMPLES:min(n, first + VAD_BLOCK_FRAMES) * VAD_FRAME_SAMPLES]
            frames = frames.reshape(-1, VAD_FRAME_SAMPLES)
            contexts = np.empty((len(frames), VAD_CONTEXT_SAMPLES), dtype=np.float32)
            contexts[0] = self._context
            contexts[1:] = frames[:-1, -VAD_CONTEXT_SAMPLES:]
            self._context = frames[-1, -VAD_CONTEXT_SAMPLES:].copy()
            probs, self._h, self._c = self.session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate([contexts, frames], axis=1), "h": self._h, "c": self._c})
            self._track(np.asarray(probs, dtype=np.float32).reshape(-1))

    def _track(self, probs: np.ndarray) -> None:
        min_pause = round(MIN_PAUSE_S / self.frame_s)
        for p in probs:
            i = self._frames_done
            self._frames_done += 1
            if self._open_start is None:
                if p >= SPEECH_THRESHOLD:
                    self._open_start, self._quiet_since = i, None
            elif p >= SPEECH_THRESHOLD:
                self._quiet_since = None
            elif p < PAUSE_THRESHOLD:
                if self._quiet_since is None:
                    self._quiet_since = i
                if i + 1 - self._quiet_since >= min_pause:
                    self._close(self._quiet_since)

    def _close(self, end_frame: int) -> None:
        start = self._open_start
        self._open_start = self._quiet_since = None
        if (end_frame - start) * self.frame_s >= MIN_SPEECH_S:
            self.segments.append((start * self.frame_s, end_frame * self.frame_s))


def speech_segments(samples: np.ndarray, *, sample_rate_hz: int, session=None) -> list[tuple[float, float]]:
    """Speech segments (start_s, end_s) of a whole signal: one push and finish."""
    tracker = SpeechTracker(session or load_vad(), sample_rate_hz)
    tracker.push(samples)
    return tracker.finish()


def segments_mask(segments: list[tuple[float, float]], *, n_frames: int, hop_s: float,
                  offset_s: float = 0.0) -> np.ndarray:
    """Boolean (n_frames,): frame ``i`` (at time ``offset_s + i * hop_s``) lies in a segment."""
    mask = np.zeros(n_frames, dtype=bool)
    for start_s, end_s in segments:
        i0 = max(0, int(np.ceil((start_s - offset_s) / hop_s - 1e-9)))
        i1 = min(n_frames, int(np.ceil((end_s - offset_s) / hop_s - 1e-9)))
        if i1 > i0:
            mask[i0:i1] = True
    return mask


def mask_segments(mask: np.ndarray, *, hop_s: float, offset_s: float = 0.0,
                  min_s: float = 0.0) -> list[tuple[float, float]]:
    """Runs of True in a frame mask as (start_s, end_s), those shorter than ``min_s`` left out."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    runs = [(offset_s + a * hop_s, offset_s + b * hop_s) for a, b in zip(edges[::2], edges[1::2])]
    return [(a, b) for a, b in runs if b - a >= min_s - 1e-9]
