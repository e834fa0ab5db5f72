"""Frame-level audio features and the scene/title summary built from them.

Pipeline: ``frame_features`` turns mono samples into per-frame features at a hop of
``HOP_LENGTH`` samples (frame ``i`` is centred on sample ``i * HOP_LENGTH``, so it covers time
``i * hop_s``); a long track is analysed in consecutive chunks and the parts joined with
``FrameFeatures.concatenate``; ``mark_speech`` sets the frames that lie in the speech
detector's segments (tagger/audio/speech.py); ``FrameFeatures.slice`` cuts a scene out;
tagger/audio/summary.py turns a span of frames into the ``audio.*`` values of the contract;
``feature_vector`` turns such a summary into a fixed-length vector for the audio embedding.

Chunking: each chunk yields ``len(chunk) // HOP_LENGTH`` frames, so chunk lengths that are
multiples of ``HOP_LENGTH`` line up exactly with the whole-signal frames; other lengths drift
by less than one hop (23 ms) per chunk boundary. Chunk edges are reflect-padded rather than
zero-padded so that a boundary does not read as a silence or an onset.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from tagger.audio.speech import segments_mask

SAMPLE_RATE_HZ = 22050
HOP_LENGTH = 512
N_FFT = 2048

SILENCE_FLOOR_DB = -50.0      # frames quieter than this (dBFS) are silence ...
SILENCE_RELATIVE_DB = 40.0    # ... and so are frames this far below the loudest frame
RMS_FLOOR_DB = -100.0         # dB value of digital silence (keeps logs finite)
MIN_TEMPO_S = 3.0             # below this, or with too few onsets, tempo is reported as 0.0
MIN_TEMPO_ONSETS = 4
TEMPO_BLOCK_S = 60.0          # long spans: tempo is the median over blocks of this length
# An onset must raise the log-mel spectrum by this many dB averaged over the bands: real
# notes and hits give 2..40, while steady tones (beating partials) and stationary noise
# stay near or under 1, which librosa's max-normalised peak picking would otherwise count.
ONSET_MIN_FLUX_DB = 1.5
# Floor of the log-mel spectrogram behind the onset envelope: a fixed absolute floor (rather
# than librosa's "80 dB below this chunk's maximum") keeps chunks comparable, and digital
# silence reads as a flat floor. 1e-6 mel power is roughly -80 dBFS broadband noise.
MEL_POWER_FLOOR = 1e-6

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first (as used by Krumhansl's
# key-finding algorithm, Krumhansl 1990; "Krumhansl-Schmuckler").
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Chroma of real tones also holds their overtones (the 3rd harmonic is a fifth up, the 5th a
# major third up), which pulls a plain C-E-G chord towards E minor. As in Gomez (2006,
# "Tonal description of music audio signals"), the profiles are spread over the first
# harmonics, harmonic h weighted HARMONIC_DECAY ** (h - 1), so they describe expected chroma.
HARMONIC_DECAY = 0.6
_HARMONIC_SEMITONES = (0, 0, 7, 0, 4, 7)   # pitch class offset of harmonics 1..6


def _with_harmonics(profile: np.ndarray) -> np.ndarray:
    return sum(HARMONIC_DECAY ** h * np.roll(profile, shift)
               for h, shift in enumerate(_HARMONIC_SEMITONES))


_MAJOR_PROFILE = _with_harmonics(_KK_MAJOR)
_MINOR_PROFILE = _with_harmonics(_KK_MINOR)


def _standardized(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return (a - a.mean()) / a.std()


# (2, 12 keys, 12 pitch classes): the standardised major and minor profiles on every tonic,
# so that one product gives the Pearson correlation with all 24 keys.
_KEY_PROFILES = np.array([[_standardized(np.roll(p, k)) for k in range(12)]
                          for p in (_MAJOR_PROFILE, _MINOR_PROFILE)])
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Correlation margin between the best major and best minor key that counts as full confidence.
MODE_MARGIN_FULL = 0.2


@dataclass
class FrameFeatures:
    """Frame-level features at hop ``hop_length``; every array has n_frames columns.

    Frame ``i`` covers time ``i * hop_s`` (centred frames of ``N_FFT`` samples).
    """

    sample_rate_hz: int
    hop_length: int
    rms_db: np.ndarray          # (n,) frame RMS in dBFS (20*log10(rms); full-scale sine = -3.0)
    onset_strength: np.ndarray  # (n,) log-mel spectral flux, librosa's onset envelope
    centroid_hz: np.ndarray     # (n,) spectral centroid
    rolloff_hz: np.ndarray      # (n,) frequency below which 85 % of the spectral energy lies
    flatness: np.ndarray        # (n,) spectral flatness 0..1 (1 = white noise)
    zcr: np.ndarray             # (n,) zero-crossing rate, crossings per sample 0..1
    chroma: np.ndarray          # (12, n) chroma, each frame max-normalised, C first
    speech: np.ndarray | None = None   # (n,) bool: frame lies in a speech segment (None: none does)
    start_s: float = 0.0        # time of frame 0 in the title (a slice keeps its place)

    def __post_init__(self) -> None:
        if self.speech is None:
            self.speech = np.zeros(self.rms_db.shape[0], dtype=bool)

    @property
    def n_frames(self) -> int:
        return int(self.rms_db.shape[0])

    @property
    def hop_s(self) -> float:
        return self.hop_length / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return self.n_frames * self.hop_s

    @classmethod
    def empty(cls, *, sample_rate_hz: int = SAMPLE_RATE_HZ,
              hop_length: int = HOP_LENGTH) -> "FrameFeatures":
        """Zero frames (what an empty or sub-hop input gives)."""
        z = np.zeros(0, dtype=np.float32)
        return cls(sample_rate_hz, hop_length, z, z.copy(), z.copy(), z.copy(), z.copy(),
                   z.copy(), np.zeros((12, 0), dtype=np.float32))

    @classmethod
    def concatenate(cls, parts: list["FrameFeatures"]) -> "FrameFeatures":
        """Join chunk-wise features in time order; all parts must share rate and hop."""
        if not parts:
            return cls.empty()
        rates = {(p.sample_rate_hz, p.hop_length) for p in parts}
        if len(rates) != 1:
            raise ValueError(f"cannot concatenate frames with different (rate, hop): {rates}")
        sr, hop = rates.pop()
        return cls(
            sr, hop,
            *(np.concatenate([getattr(p, name) for p in parts]) for name in _VECTOR_FIELDS),
            chroma=np.concatenate([p.chroma for p in parts], axis=1),
            speech=np.concatenate([p.speech for p in parts]),
            start_s=parts[0].start_s,
        )

    def slice(self, *, start_s: float, end_s: float) -> "FrameFeatures":
        """The frames whose times ``i * hop_s`` fall in [start_s, end_s)."""
        i0 = min(max(0, math.ceil(start_s / self.hop_s - 1e-9)), self.n_frames)
        i1 = min(max(i0, math.ceil(end_s / self.hop_s - 1e-9)), self.n_frames)
        return self.frame_range(i0, i1)

    def frame_range(self, i0: int, i1: int) -> "FrameFeatures":
        """Frames ``i0 .. i1 - 1`` (plain index slicing)."""
        return FrameFeatures(
            self.sample_rate_hz, self.hop_length,
            *(getattr(self, name)[i0:i1] for name in _VECTOR_FIELDS),
            chroma=self.chroma[:, i0:i1], speech=self.speech[i0:i1],
            start_s=self.start_s + i0 * self.hop_s,
        )

    def select(self, mask: np.ndarray) -> "FrameFeatures":
        """The frames where ``mask`` is True, joined in time order (start_s stays the span's)."""
        return FrameFeatures(
            self.sample_rate_hz, self.hop_length,
            *(getattr(self, name)[mask] for name in _VECTOR_FIELDS),
            chroma=self.chroma[:, mask], speech=self.speech[mask], start_s=self.start_s,
        )


def mark_speech(frames: FrameFeatures, segments: list[tuple[float, float]]) -> FrameFeatures:
    """Set ``frames.speech`` from speech segments given in seconds from the title's start."""
    frames.speech = segments_mask(segments, n_frames=frames.n_frames, hop_s=frames.hop_s,
                                  offset_s=frames.start_s)
    return frames


_VECTOR_FIELDS = ("rms_db", "onset_strength", "centroid_hz", "rolloff_hz", "flatness", "zcr")


def frame_features(samples: np.ndarray, *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> FrameFeatures:
    """Frame features of mono float samples in [-1, 1]; ``len(samples) // HOP_LENGTH`` frames.

    Works on any length (fewer than ``HOP_LENGTH`` samples gives zero frames), so a long
    track can be fed in consecutive chunks and the results concatenated.
    """
    y = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1))
    n = len(y) // HOP_LENGTH
    if n == 0:
        return FrameFeatures.empty(sample_rate_hz=sample_rate_hz)
    with warnings.catch_warnings():
        # librosa warns when a chunk is shorter than N_FFT (the frames are then zero-padded,
        # which is what we want) and when a chunk has no pitch to estimate tuning from.
        warnings.simplefilter("ignore", UserWarning)
        return _frame_features(y, n, sample_rate_hz)


def _frame_features(y: np.ndarray, n: int, sr: int) -> FrameFeatures:
    import librosa

    # Reflect padding needs more samples than the pad; tiny chunks fall back to zeros.
    pad_mode = "reflect" if len(y) > N_FFT else "constant"

    rms = librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP_LENGTH,
                              center=True, pad_mode=pad_mode)[0]
    rms_db = 20.0 * np.log10(np.maximum(rms, 10.0 ** (RMS_FLOOR_DB / 20.0)))

    # One STFT shared by every spectral feature.
    mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH, center=True,
                              pad_mode=pad_mode))
    power = mag ** 2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr),
                                 ref=1.0, amin=MEL_POWER_FLOOR, top_db=None)
    onset = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP_LENGTH, n_fft=N_FFT)
    centroid = librosa.feature.spectral_centroid(S=mag, sr=sr, n_fft=N_FFT)[0]
    rolloff = librosa.feature.spectral_rolloff(S=mag, sr=sr, n_fft=N_FFT, roll_percent=0.85)[0]
    flatness = librosa.feature.spectral_flatness(S=mag)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP_LENGTH,
                                             center=True)[0]
    # tuning=0 assumes A4 = 440 Hz: estimating the tuning per chunk was a fifth of the stage's
    # time and moves chroma by under a quarter tone, which key finding does not need.
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, tuning=0.0)

    def fit(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[..., :n], dtype=np.float32)

    return FrameFeatures(sr, HOP_LENGTH, fit(rms_db), fit(onset), fit(centroid), fit(rolloff),
                         fit(flatness), fit(zcr), fit(chroma))


# ------------------------------------------------------------- measures of a span of frames

def silent_frames(rms_db: np.ndarray) -> np.ndarray:
    """Boolean (n,): below SILENCE_FLOOR_DB, or more than SILENCE_RELATIVE_DB under the peak."""
    if rms_db.size == 0:
        return np.zeros(0, dtype=bool)
    return (rms_db < SILENCE_FLOOR_DB) | (rms_db < rms_db.max() - SILENCE_RELATIVE_DB)


def loudness_db(rms_db: np.ndarray) -> float:
    """RMS level of the whole span in dBFS (energy mean of the frames, not mean of dB)."""
    if rms_db.size == 0:
        return RMS_FLOOR_DB
    energy = np.mean(10.0 ** (rms_db.astype(np.float64) / 10.0))
    return float(max(RMS_FLOOR_DB, 10.0 * np.log10(energy)))


def tempo_bpm(frames: FrameFeatures, silent: np.ndarray, *, onsets: np.ndarray) -> float | None:
    """Global tempo from the onset envelope (librosa's tempogram with its 120 BPM prior).

    None when the span is shorter than MIN_TEMPO_S, silent, or has fewer than
    MIN_TEMPO_ONSETS onsets (a held chord has no beat to measure). Spans longer than
    2 * TEMPO_BLOCK_S get the median over blocks of TEMPO_BLOCK_S, which bounds memory
    (the tempogram holds ~400 values per frame) on whole films.
    """
    import librosa

    n = frames.n_frames
    if frames.duration_s < MIN_TEMPO_S or silent.all() or len(onsets) < MIN_TEMPO_ONSETS:
        return None
    if frames.duration_s > 2 * TEMPO_BLOCK_S:
        block = int(round(TEMPO_BLOCK_S / frames.hop_s))
        tempos = [tempo_bpm(frames.frame_range(i, i + block), silent[i:i + block],
                            onsets=onsets[(onsets >= i) & (onsets < i + block)] - i)
                  for i in range(0, n, block)]
        tempos = [t for t in tempos if t is not None]
        return float(np.median(tempos)) if tempos else None
    bpm = librosa.feature.tempo(onset_envelope=frames.onset_strength.astype(np.float64),
                                sr=frames.sample_rate_hz, hop_length=frames.hop_length)
    return float(bpm[0])


def onset_frames(frames: FrameFeatures, silent: np.ndarray) -> np.ndarray:
    """Frame indices of onsets: librosa peak picking, kept when the peak reaches
    ONSET_MIN_FLUX_DB and falls on a non-silent frame."""
    import librosa

    env = frames.onset_strength
    if env.size < 3 or float(env.max()) < ONSET_MIN_FLUX_DB:
        return np.zeros(0, dtype=int)
    peaks = librosa.onset.onset_detect(onset_envelope=env.astype(np.float64),
                                       sr=frames.sample_rate_hz, hop_length=frames.hop_length,
                                       units="frames")
    return peaks[(env[peaks] >= ONSET_MIN_FLUX_DB) & ~silent[peaks]]


def estimate_key(chroma: np.ndarray) -> tuple[str, str, float]:
    """Krumhansl-Schmuckler key finding on summed chroma (12, n), harmonic-aware profiles.

    Returns (tonic name, "major"|"minor", confidence 0..1), the confidence being the gap
    between the best major and the best minor correlation, full at MODE_MARGIN_FULL.
    """
    profile = chroma.sum(axis=1) if chroma.size else np.zeros(12)
    if float(np.ptp(profile)) <= 1e-9:
        return "C", "major", 0.0
    major, minor = _KEY_PROFILES @ _standardized(profile) / 12.0
    if major.max() >= minor.max():
        key, mode = int(major.argmax()), "major"
    else:
        key, mode = int(minor.argmax()), "minor"
    margin = abs(float(major.max() - minor.max()))
    return PITCH_CLASSES[key], mode, float(min(1.0, margin / MODE_MARGIN_FULL))


# ------------------------------------------------------------------ vector for the embedding
# The audio embedding's model id, also in the engine's versions: change it with the vector's
# names or scaling.
FEATURE_VECTOR_ID = "tagger-audio-features-v2"
FEATURE_VECTOR_NAMES: tuple[str, ...] = (
    "loudness", "dynamic_range", "tempo", "onset_rate", "spectral_centroid",
    "spectral_rolloff", "spectral_flatness", "mode", "key_fifths_cos", "key_fifths_sin",
    "silence_share", "speech_share", "music_share", "arousal", "valence",
)


def feature_vector(summary: dict) -> np.ndarray:
    """float32 (len(FEATURE_VECTOR_NAMES),): a summary scaled to about [-1, 1] by fixed constants.

    Level and counts are mapped linearly, frequencies and tempo on log scales (tempo as
    octaves from 120 BPM, so half/double-tempo errors are symmetric), mode as
    +-mode_confidence, key as cos/sin of its angle on the circle of fifths, shares and mood as
    2x - 1. What was not measured (None: no music for tempo, key and mode; no mood) maps to 0.
    Everything is clipped to [-1, 1].
    """
    tempo = summary["tempo_bpm"] or 0.0
    centroid = max(float(summary["spectral_centroid_hz"]), 1.0)
    rolloff = max(float(summary["spectral_rolloff_hz"]), 1.0)
    tonal = 0.0 if summary["key"] is None else 1.0
    fifths = (PITCH_CLASSES.index(summary["key"] or "C") * 7) % 12   # C=0, G=1, D=2, ...
    angle = 2.0 * math.pi * fifths / 12.0

    def centred(share_or_mood: float | None) -> float:
        return 0.0 if share_or_mood is None else 2.0 * float(share_or_mood) - 1.0

    values = {
        "loudness": (float(summary["loudness_db"]) + 30.0) / 20.0,       # -50 .. -10 dBFS
        "dynamic_range": float(summary["dynamic_range_db"]) / 20.0 - 1.0,  # 0 .. 40 dB
        "tempo": math.log2(tempo / 120.0) if tempo > 0 else 0.0,          # 60 .. 240 BPM
        "onset_rate": float(summary["onset_rate_per_s"]) / 4.0 - 1.0,      # 0 .. 8 per s
        "spectral_centroid": math.log2(centroid / 1500.0) / 1.6,          # ~500 .. 4500 Hz
        "spectral_rolloff": math.log2(rolloff / 3000.0) / 2.0,            # 750 .. 12000 Hz
        "spectral_flatness": (math.log10(float(summary["spectral_flatness"]) + 1e-4) + 2.0) / 2.0,
        "mode": (1.0 if summary["mode"] == "major" else -1.0) * float(summary["mode_confidence"] or 0.0),
        "key_fifths_cos": tonal * math.cos(angle),
        "key_fifths_sin": tonal * math.sin(angle),
        "silence_share": centred(summary["silence_share"]),
        "speech_share": centred(summary["speech_share"]),
        "music_share": centred(summary["music_share"]),
        "arousal": centred(summary["arousal"]),
        "valence": centred(summary["valence"]),
    }
    vec = np.array([values[name] for name in FEATURE_VECTOR_NAMES], dtype=np.float32)
    return np.clip(vec, -1.0, 1.0)
