"""Heuristic mood (arousal, valence) of a span of audio from its summary features.

Mood is placed on Russell's (1980) circumplex: arousal (calm .. energetic) and valence
(sad/dark .. happy/bright), each reported in [0, 1]. The cues and their directions follow
the music-psychology literature:

* Gabrielsson & Lindstroem (2010), "The role of structure in the musical expression of
  emotions" (Handbook of Music and Emotion): loud, fast, high/bright, many-event music reads
  as active; major mode and fast tempo read as happy, minor mode and slow tempo as sad.
* Eerola & Vuoskoski (2011), "A comparison of the discrete and dimensional models of emotion
  in music" (Psychology of Music 39(1)): the two-dimensional valence/arousal model.
* Eerola, Friberg & Bresin (2013), "Emotional expression in music: contribution, linearity,
  and additivity of primary musical cues" (Frontiers in Psychology 4:487): mode and tempo
  dominate valence, and cues combine mostly additively, which justifies a weighted sum.

This is a transparent heuristic, not a trained model: the weights below are round numbers
chosen by hand, and cues that are unknown (tempo 0.0 on short spans) are left out.
"""
from __future__ import annotations

# Recorded in the engine's versions: change it with the weights or ranges below.
MOOD_VERSION = "heuristic-circumplex-v1"

# Arousal: weights of the cues, each first mapped linearly onto 0..1 between (low, high).
AROUSAL_WEIGHTS = {"loudness": 0.35, "onsets": 0.25, "tempo": 0.20, "brightness": 0.20}
LOUDNESS_RANGE_DB = (-45.0, -10.0)      # quiet .. loud (RMS dBFS)
ONSET_RANGE_PER_S = (0.0, 6.0)          # sparse .. busy
TEMPO_RANGE_BPM = (60.0, 180.0)         # slow .. fast
CENTROID_RANGE_HZ = (500.0, 3000.0)     # dark .. bright

# Valence: weights of cues mapped onto -1..1, then 0.5 + 0.5 * weighted sum.
VALENCE_WEIGHTS = {"mode": 0.45, "tempo": 0.35, "brightness": 0.20}
VALENCE_TEMPO_CENTRE_BPM, VALENCE_TEMPO_SCALE_BPM = 100.0, 60.0
VALENCE_CENTROID_CENTRE_HZ, VALENCE_CENTROID_SCALE_HZ = 1500.0, 1500.0


def arousal_valence(summary: dict) -> tuple[float, float]:
    """(arousal, valence), each in [0, 1], from a summary with the ``audio.*`` keys.

    arousal = weighted mean of loudness, onset rate, tempo and spectral centroid, each
    mapped to 0..1 over the ranges above (weights 0.35 / 0.25 / 0.20 / 0.20; tempo is left
    out and the rest renormalised when it is unknown, i.e. 0.0).

    valence = 0.5 + 0.5 * (0.45 * mode + 0.35 * tempo + 0.20 * brightness) where
    mode = +1 major / -1 minor times mode_confidence times the music share of the non-silent
    audio (speech has no meaningful mode), tempo = (bpm - 100) / 60 and
    brightness = (centroid - 1500 Hz) / 1500 Hz, each clipped to -1..1 and 0 when unknown.
    """
    tempo = float(summary.get("tempo_bpm", 0.0))
    centroid = float(summary.get("spectral_centroid_hz", 0.0))

    arousal_cues = {
        "loudness": _unit(summary["loudness_db"], LOUDNESS_RANGE_DB),
        "onsets": _unit(summary["onset_rate_per_s"], ONSET_RANGE_PER_S),
        "brightness": _unit(centroid, CENTROID_RANGE_HZ),
    }
    if tempo > 0:
        arousal_cues["tempo"] = _unit(tempo, TEMPO_RANGE_BPM)
    weight = sum(AROUSAL_WEIGHTS[k] for k in arousal_cues)
    arousal = sum(AROUSAL_WEIGHTS[k] * v for k, v in arousal_cues.items()) / weight

    sounding = float(summary.get("speech_share", 0.0)) + float(summary.get("music_share", 0.0))
    music_weight = float(summary.get("music_share", 0.0)) / sounding if sounding > 0 else 0.0
    sign = 1.0 if summary.get("mode") == "major" else -1.0
    valence_cues = {
        "mode": sign * float(summary.get("mode_confidence", 0.0)) * music_weight,
        "tempo": (_signed((tempo - VALENCE_TEMPO_CENTRE_BPM) / VALENCE_TEMPO_SCALE_BPM)
                  if tempo > 0 else 0.0),
        "brightness": (_signed((centroid - VALENCE_CENTROID_CENTRE_HZ) / VALENCE_CENTROID_SCALE_HZ)
                       if centroid > 0 else 0.0),
    }
    valence = 0.5 + 0.5 * sum(VALENCE_WEIGHTS[k] * v for k, v in valence_cues.items())
    return _clip01(arousal), _clip01(valence)


def _unit(value: float, low_high: tuple[float, float]) -> float:
    low, high = low_high
    return _clip01((float(value) - low) / (high - low))


def _signed(x: float) -> float:
    return max(-1.0, min(1.0, float(x)))


def _clip01(x: float) -> float:
    return max(0.0, min(1.0, float(x)))
