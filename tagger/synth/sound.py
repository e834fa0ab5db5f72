"""Synthetic sound: tones, chords, click tracks, speech-like babble (mono float32 in -1..1)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

_NOTE_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "power": (0, 7, 12),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dom7": (0, 4, 7, 10),
}


def note_hz(name: str, octave: int = 4) -> float:
    """Equal-tempered frequency in Hz of a note name ("A", "C#", "Bb") in scientific octave
    numbering (A4 = 440 Hz, C4 = 261.63 Hz)."""
    name = name.strip()
    if not name or name[0].upper() not in _NOTE_SEMITONES:
        raise ValueError(f"unknown note name {name!r}")
    semis = _NOTE_SEMITONES[name[0].upper()]
    for acc in name[1:]:
        if acc in "#♯":
            semis += 1
        elif acc in "b♭":
            semis -= 1
        else:
            raise ValueError(f"unknown accidental in note name {name!r}")
    midi = 12 * (octave + 1) + semis
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _n_samples(duration_s: float, sample_rate_hz: int) -> int:
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    return int(round(duration_s * sample_rate_hz))


def _edge_ramp(x: np.ndarray, sample_rate_hz: int, ramp_s: float = 0.01) -> np.ndarray:
    """Short linear attack/release so a tone does not start or stop with a click."""
    n = min(int(ramp_s * sample_rate_hz), len(x) // 2)
    if n > 0:
        r = np.linspace(0.0, 1.0, n, dtype=np.float32)
        x[:n] *= r
        x[-n:] *= r[::-1]
    return x


def tone(freqs_hz: float | Sequence[float], *, duration_s: float, sample_rate_hz: int = 22050,
         amplitude: float = 0.3, harmonics: int = 3) -> np.ndarray:
    """Sum of sine tones at ``freqs_hz``, each with ``harmonics`` partials (k-th at 1/k level).

    Returns float32 (n,) with peak ``amplitude``; 10 ms ramps at both ends.
    """
    freqs = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
    n = _n_samples(duration_s, sample_rate_hz)
    t = np.arange(n) / sample_rate_hz
    out = np.zeros(n, dtype=np.float64)
    nyquist = sample_rate_hz / 2
    for f in freqs:
        for k in range(1, max(1, harmonics) + 1):
            if f * k < nyquist:
                out += np.sin(2 * np.pi * f * k * t) / k
    peak = float(np.abs(out).max()) if n else 0.0
    if peak > 0:
        out *= amplitude / peak
    return _edge_ramp(out.astype(np.float32), sample_rate_hz)


def chord(root: str, mode: str, *, duration_s: float, octave: int = 4,
          sample_rate_hz: int = 22050, amplitude: float = 0.3, harmonics: int = 3) -> np.ndarray:
    """A chord built on ``root`` in ``octave`` (scientific numbering), e.g. chord("A", "minor")
    sounds A4 C5 E5 (440, 523.3, 659.3 Hz); octave=3 gives 220, 261.6, 329.6 Hz.

    mode is one of CHORD_INTERVALS ("major", "minor", "dim", "aug", "sus2", "sus4", "power",
    "maj7", "min7", "dom7"). Returns float32 (n,), peak ``amplitude``.
    """
    if mode not in CHORD_INTERVALS:
        raise ValueError(f"unknown chord mode {mode!r}; expected one of {sorted(CHORD_INTERVALS)}")
    f0 = note_hz(root, octave)
    freqs = [f0 * 2.0 ** (s / 12.0) for s in CHORD_INTERVALS[mode]]
    return tone(freqs, duration_s=duration_s, sample_rate_hz=sample_rate_hz,
                amplitude=amplitude, harmonics=harmonics)


def click_track(bpm: float, *, duration_s: float, sample_rate_hz: int = 22050,
                accent_every: int = 4, amplitude: float = 0.5) -> np.ndarray:
    """Metronome clicks every 60/bpm s starting at 0 (onset k at sample round(k*60/bpm*sr)).

    Each click is a 30 ms exponentially decaying 2 kHz burst; every ``accent_every``-th click
    (the first included) is louder and at 3 kHz. Returns float32 (n,).
    """
    if bpm <= 0:
        raise ValueError(f"bpm must be > 0, got {bpm}")
    n = _n_samples(duration_s, sample_rate_hz)
    out = np.zeros(n, dtype=np.float32)
    m = int(0.03 * sample_rate_hz)
    t = np.arange(m) / sample_rate_hz
    decay = np.exp(-t / 0.006)
    normal = (np.sin(2 * np.pi * 2000 * t) * decay).astype(np.float32) * amplitude * 0.6
    accent = (np.sin(2 * np.pi * 3000 * t) * decay).astype(np.float32) * amplitude
    period = 60.0 / bpm
    k = 0
    while True:
        start = int(round(k * period * sample_rate_hz))
        if start >= n:
            break
        burst = accent if accent_every > 0 and k % accent_every == 0 else normal
        seg = out[start:start + m]
        seg += burst[:len(seg)]
        k += 1
    return out


# Formants (F1, F2, F3 in Hz) of a few adult male vowels.
_VOWELS = np.array([
    (730, 1090, 2440),  # a
    (530, 1840, 2480),  # e
    (270, 2290, 3010),  # i
    (570, 840, 2410),   # o
    (300, 870, 2240),   # u
    (660, 1720, 2410),  # ae
    (520, 1190, 2390),  # uh
], dtype=np.float64)


def speech_like(*, duration_s: float, sample_rate_hz: int = 22050, seed: int = 0,
                amplitude: float = 0.5) -> np.ndarray:
    """Speech-shaped noise-free babble: a glottal pulse train (pitch ~110-140 Hz with phrase
    declination) through three formant resonators that change vowel every syllable, with short
    fricative bursts. Syllables come at ~4-5 per second in phrases of 1.2-3 s separated by
    0.25-0.7 s pauses, so it has speech's ~4 Hz energy modulation and its many quiet frames.
    Returns float32 (n,), peak ``amplitude``.
    """
    from scipy.signal import lfilter

    sr = sample_rate_hz
    n = _n_samples(duration_s, sr)
    out = np.zeros(n, dtype=np.float64)
    rng = np.random.default_rng([seed, 0x5BEEC4])
    t = float(rng.uniform(0.05, 0.2))
    while t < duration_s:
        phrase_end = min(t + rng.uniform(1.2, 3.0), duration_s)
        f_start, f_end = rng.uniform(125, 140), rng.uniform(105, 118)
        phrase_start = t
        while t < phrase_end - 0.1:
            syl = float(rng.uniform(0.15, 0.22))
            i0, i1 = int(t * sr), min(int((t + syl) * sr), n)
            if i1 - i0 < 16:
                break
            m = i1 - i0
            # Pitch: declines across the phrase, wobbles a little within the syllable.
            frac = (t - phrase_start) / max(phrase_end - phrase_start, 1e-3)
            f0 = f_start + (f_end - f_start) * frac + rng.uniform(-6, 6)
            f0_track = f0 * (1 + 0.03 * np.sin(np.linspace(0, np.pi, m)) * rng.choice([-1, 1]))
            phase = np.cumsum(f0_track / sr)
            pulses = np.diff(np.floor(phase), prepend=np.floor(phase[0])) > 0
            src = pulses.astype(np.float64)
            # Two one-pole low-passes give the glottal source its ~-12 dB/octave tilt.
            src = lfilter([1.0], [1.0, -0.95], src)
            src = lfilter([1.0], [1.0, -0.7], src)
            vowel = _VOWELS[rng.integers(len(_VOWELS))] * rng.uniform(0.95, 1.05)
            y = src
            for f, bw in zip(vowel, (80.0, 100.0, 140.0)):
                r = math.exp(-math.pi * bw / sr)
                theta = 2 * math.pi * f / sr
                y = lfilter([1 - r], [1.0, -2 * r * math.cos(theta), r * r], y)
            env = np.sin(np.linspace(0, np.pi, m)) ** 0.6
            y = y * env / (np.abs(y).max() + 1e-9)
            out[i0:i1] += y * rng.uniform(0.6, 1.0)
            if rng.random() < 0.45:  # fricative/plosive burst at the syllable onset
                k = min(int(rng.uniform(0.03, 0.06) * sr), m)
                burst = np.diff(rng.normal(0, 1, k + 1))  # first difference: high-passed noise
                out[i0:i0 + k] += burst * np.hanning(k) * 0.12
            t += syl + float(rng.uniform(0.02, 0.06))
        t = phrase_end + float(rng.uniform(0.25, 0.7))
    peak = float(np.abs(out).max()) if n else 0.0
    if peak > 0:
        out *= amplitude / peak
    return out.astype(np.float32)


def mix(*signals: np.ndarray) -> np.ndarray:
    """Zero-pad mono signals to the longest, sum them, and scale down if the peak exceeds 0.9
    (quieter mixes keep their level). Returns float32 (n,)."""
    if not signals:
        return np.zeros(0, dtype=np.float32)
    n = max(len(s) for s in signals)
    out = np.zeros(n, dtype=np.float64)
    for s in signals:
        out[:len(s)] += np.asarray(s, dtype=np.float64)
    peak = float(np.abs(out).max()) if n else 0.0
    if peak > 0.9:
        out *= 0.9 / peak
    return out.astype(np.float32)
