"""Arousal and valence of a span of audio, from a model fitted to listeners' labels.

Mood is placed on Russell's (1980) circumplex: arousal (calm .. energetic) and valence
(negative .. positive), each reported in [0, 1] as the probability of the high side.

Four logistic regressions, fitted by ``benchmarks/audio_mood.py --fit`` on the 4Q music
emotion set (Panda, Malheiro & Paiva 2018, "Novel audio features for music emotion
recognition", IEEE Trans. Affective Computing; 900 30-second clips labelled by Russell
quadrant), hold their numbers in ``mood_model.json`` next to this file, with a note of how
they were made and their cross-validated scores:

* ``music_arousal`` and ``music_valence`` read features of the span's music frames;
* ``speech_arousal`` and ``speech_valence`` read prosody of its speech frames (level spread,
  syllable-onset rate, spectral flux, brightness). In the 4Q clips the speech
  detector finds the sung voice, so these weights are fitted on singing, not on dialogue.

A span's arousal (valence) is the mean of the music and speech estimates weighted by their
seconds; None where the span has under ``MIN_MOOD_S`` of either. ``music_arousal`` and
``music_valence`` are the music estimates alone (None under ``MIN_MOOD_S`` of music): what the
soundtrack tags read, so that a talky title's voices do not describe its score.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from tagger.audio.features import estimate_key
from tagger.errors import InputError

if TYPE_CHECKING:
    from tagger.audio.features import FrameFeatures
    from tagger.audio.summary import SoundClasses

MOOD_MODEL_FILE = Path(__file__).with_name("mood_model.json")
# What the file's "note" tells about how its numbers were made.
MOOD_FILE_NOTE_KEYS = ("made_by", "date", "data_set", "labels", "model", "clips", "cv", "cv_scores")
MIN_MOOD_S = 1.0         # seconds of music (or speech) a span needs for that part's estimate
MOOD_PARTS = ("music", "speech")
MOOD_TARGETS = ("arousal", "valence")


# --------------------------------------------------------------------- inputs of the models
# Each input is a plain function of the frames picked by a mask (and the span's onset frames);
# names carry units. The model file names the inputs each regression uses. None depends on the
# absolute level: the 4Q clips are mastered CDs, near -12 dBFS, while a film's score sits far
# lower in its mix, so a fitted loudness weight would call every film cue calm. Level spread,
# spectral flux (differences of dB) and spectral shape do not move with a gain change.

def _level_spread_db(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.std(f.rms_db[m]))


def _flux_mean(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.mean(f.onset_strength[m]))


def _onset_rate_per_s(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.count_nonzero(m[onsets])) / (np.count_nonzero(m) * f.hop_s)


def _centroid_octaves(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.mean(np.log2(np.maximum(f.centroid_hz[m], 20.0) / 1000.0)))


def _rolloff_octaves(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.mean(np.log2(np.maximum(f.rolloff_hz[m], 20.0) / 1000.0)))


def _flatness_log10(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.mean(np.log10(f.flatness[m] + 1e-5)))


def _zero_crossing_rate(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    return float(np.mean(f.zcr[m]))


def _mode_signed(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    _, mode, confidence = estimate_key(f.chroma[:, m])
    return confidence if mode == "major" else -confidence


def _chroma_change(f: FrameFeatures, m: np.ndarray, onsets: np.ndarray) -> float:
    chroma = f.chroma[:, m].astype(np.float64)
    if chroma.shape[1] < 3:
        return 0.0
    unit = chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)
    return float(1.0 - np.mean(np.sum(unit[:, 1:] * unit[:, :-1], axis=0)))


INPUTS: dict[str, Callable[..., float]] = {
    "level_spread_db": _level_spread_db,      # std of frame RMS level, dB
    "flux_mean": _flux_mean,                  # mean log-mel spectral flux (onset strength)
    "onset_rate_per_s": _onset_rate_per_s,    # onsets per second of the masked frames
    "centroid_octaves": _centroid_octaves,    # mean log2(spectral centroid / 1 kHz)
    "rolloff_octaves": _rolloff_octaves,      # mean log2(85 % roll-off / 1 kHz)
    "flatness_log10": _flatness_log10,        # mean log10 spectral flatness
    "zero_crossing_rate": _zero_crossing_rate,  # crossings per sample
    "mode_signed": _mode_signed,              # +confidence major, -confidence minor
    "chroma_change": _chroma_change,          # 1 - cosine of consecutive chroma frames
}


def mood_inputs(frames: FrameFeatures, mask: np.ndarray, onsets: np.ndarray,
                names: tuple[str, ...] | None = None) -> dict[str, float]:
    """The named inputs (all by default) over the frames where ``mask`` is True."""
    return {name: INPUTS[name](frames, mask, onsets) for name in (names or tuple(INPUTS))}


# ----------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class Logistic:
    """P(high) = sigmoid(bias + sum(weight * (x - mean) / scale)) over named inputs."""
    inputs: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: float

    def probability(self, values: dict[str, float]) -> float:
        x = np.array([values[name] for name in self.inputs], dtype=np.float64)
        z = self.bias + float(np.dot(self.weight, (x - self.mean) / self.scale))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class MoodModel:
    version: str
    models: dict[str, Logistic]     # "music_arousal", "speech_valence", ...

    def inputs_of(self, part: str) -> tuple[str, ...]:
        """Every input the part's regressions read, in a fixed order."""
        names = [n for t in MOOD_TARGETS for n in self.models[f"{part}_{t}"].inputs]
        return tuple(dict.fromkeys(names))


@lru_cache(maxsize=4)
def load_mood_model(path: Path = MOOD_MODEL_FILE) -> MoodModel:
    """Read the fitted numbers once per process; a malformed file names the field."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputError(path, f"cannot read the mood model: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise InputError(path, "expected an object with a string 'version'", field="version")
    models = {}
    for part in MOOD_PARTS:
        for target in MOOD_TARGETS:
            key = f"{part}_{target}"
            models[key] = _logistic(path, key, data.get("models", {}).get(key))
    return MoodModel(data["version"], models)


def _logistic(path: Path, key: str, spec) -> Logistic:
    if not isinstance(spec, dict):
        raise InputError(path, "missing", item=f"models.{key}")
    try:
        inputs = tuple(spec["inputs"])
        arrays = [np.asarray(spec[name], dtype=np.float64) for name in ("mean", "scale", "weight")]
        bias = float(spec["bias"])
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(path, f"bad or missing value ({error})", item=f"models.{key}") from None
    unknown = [name for name in inputs if name not in INPUTS]
    if unknown:
        raise InputError(path, f"unknown inputs {unknown}; known: {sorted(INPUTS)}",
                         item=f"models.{key}", field="inputs")
    if any(a.shape != (len(inputs),) for a in arrays) or np.any(arrays[1] <= 0):
        raise InputError(path, f"mean, scale and weight need {len(inputs)} values each, scale > 0",
                         item=f"models.{key}")
    return Logistic(inputs, *arrays, bias=bias)


def estimate_mood(frames: FrameFeatures, classes: SoundClasses, *, onsets: np.ndarray) -> dict:
    """{"arousal", "valence", "music_arousal", "music_valence"}, each in [0, 1] or None (see the
    module's docstring)."""
    model = load_mood_model()
    parts = {}
    for part, mask in (("music", classes.music), ("speech", classes.speech)):
        part_s = float(np.count_nonzero(mask)) * frames.hop_s
        if part_s >= MIN_MOOD_S:
            parts[part] = (part_s, mood_inputs(frames, mask, onsets, model.inputs_of(part)))
    music = mood_from_inputs(model, {"music": parts["music"]} if "music" in parts else {})
    return {**mood_from_inputs(model, parts), "music_arousal": music["arousal"], "music_valence": music["valence"]}


def mood_from_inputs(model: MoodModel, parts: dict[str, tuple[float, dict[str, float]]]) -> dict:
    """Combine the parts' estimates, each weighted by its seconds: part -> (seconds, inputs)."""
    if not parts:
        return {"arousal": None, "valence": None}
    estimates = [[model.models[f"{part}_{t}"].probability(values) for t in MOOD_TARGETS]
                 for part, (_, values) in parts.items()]
    arousal, valence = np.average(np.array(estimates), axis=0,
                                  weights=[seconds for seconds, _ in parts.values()])
    return {"arousal": float(arousal), "valence": float(valence)}
