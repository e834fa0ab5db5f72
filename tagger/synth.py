"""Synthetic media with known properties, for tests and the bundled sample titles.

Everything is seeded and deterministic. Video is rendered one frame at a time (uint8 BGR,
shape (H, W, 3)) so long clips never sit in memory; audio is mono float32 in -1..1 at
``sample_rate_hz``. Encoding goes through PyAV's bundled FFmpeg (there is no ffmpeg binary).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

# ITU-R BT.601 luma weights in BGR order (what cv2's BGR2GRAY uses).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
# Where fades end: near black (luma 6/255), neutral grey.
_BLACK_LEVEL = 6.0


# --------------------------------------------------------------------------------------- video

@dataclass(frozen=True)
class ShotSpec:
    """One shot of synthetic footage.

    duration_s: length in seconds. base_bgr: dominant colour (0..255 each, BGR order).
    brightness: target mean luma of the shot as a share of 255 (0..1); colours are scaled,
    and lifted toward white when scaling alone cannot reach it. motion: 0..1, how fast the
    shapes move and the camera pans. texture_seed: picks the shot's gradient, shapes and grain,
    so consecutive shots differ in content. fade_in_s / fade_out_s: fade from / to black.
    accent_hue_deg: hue turn (degrees, + = toward red->yellow->green) of the colour at the far end
    of the shot's gradient; None turns shots at odd positions +20..40 and even ones -20..40
    degrees. Gradients also run in roughly opposite directions at odd and even positions, so
    consecutive shots of one colour still differ across the cut.
    """
    duration_s: float
    base_bgr: tuple[int, int, int]
    brightness: float = 0.5
    motion: float = 0.2
    texture_seed: int = 0
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    accent_hue_deg: float | None = None


def _shot_starts(shots: Sequence[ShotSpec], fps: float) -> list[int]:
    """Start frame of every shot plus the total frame count (cumulative rounding, no drift)."""
    starts, t = [0], 0.0
    for shot in shots:
        if shot.duration_s <= 0:
            raise ValueError(f"shot duration_s must be > 0, got {shot.duration_s}")
        t += shot.duration_s
        starts.append(int(round(t * fps)))
    return starts


def cut_frames(shots: Sequence[ShotSpec], *, fps: float) -> list[int]:
    """Frame index at which each shot after the first starts (len(shots) - 1 entries)."""
    return _shot_starts(shots, fps)[1:-1]


def frame_count(shots: Sequence[ShotSpec], *, fps: float) -> int:
    """Number of frames render_shots yields for these shots."""
    return _shot_starts(shots, fps)[-1]


class _Sprite:
    """A soft-edged shape (premultiplied colour + alpha patch) that drifts and bounces."""

    def __init__(self, rng: np.random.Generator, base: np.ndarray, width: int, height: int,
                 speed_px: float):
        import cv2

        size = int(rng.uniform(0.3, 0.7) * height) | 1
        mask = np.zeros((size, size), np.float32)
        c, kind = size // 2, rng.integers(3)
        if kind == 0:
            cv2.circle(mask, (c, c), int(size * 0.32), 1.0, -1, cv2.LINE_AA)
        elif kind == 1:
            cv2.ellipse(mask, (c, c), (int(size * 0.4), int(size * 0.2)),
                        float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
        else:
            half = int(size * 0.25)
            cv2.rectangle(mask, (c - half, c - half // 2), (c + half, c + half // 2), 1.0, -1)
        blur = max(1.0, size * 0.08)
        mask = cv2.GaussianBlur(mask, (0, 0), blur) * float(rng.uniform(0.45, 0.8))
        # Shapes are lighter/darker variants of the base colour with a little hue drift, so the
        # shot's palette stays dominated by base_bgr.
        other = rng.uniform(0, 255, 3).astype(np.float32)
        colour = np.clip(base * rng.uniform(0.5, 1.6) * 0.75 + other * 0.25, 0, 255)
        self.alpha = mask[:, :, None]
        self.premult = self.alpha * colour[None, None, :]
        self.size = size
        self.pos = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        angle = rng.uniform(0, 2 * math.pi)
        self.vel = speed_px * rng.uniform(0.6, 1.4) * np.array([math.cos(angle), math.sin(angle)])
        self.bounds = np.array([width, height], dtype=np.float64)

    def position(self, j: int) -> tuple[int, int]:
        # Reflect the straight path into the frame (triangle wave), so motion stays smooth.
        p = self.pos + self.vel * j
        p = np.abs((p + self.bounds) % (2 * self.bounds) - self.bounds)
        return int(p[0]), int(p[1])

    def draw(self, img: np.ndarray, j: int) -> None:
        x, y = self.position(j)
        h, w = img.shape[:2]
        x0, y0 = x - self.size // 2, y - self.size // 2
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + self.size, w), min(y0 + self.size, h)
        if ix0 >= ix1 or iy0 >= iy1:
            return
        sx, sy = ix0 - x0, iy0 - y0
        a = self.alpha[sy:sy + iy1 - iy0, sx:sx + ix1 - ix0]
        pm = self.premult[sy:sy + iy1 - iy0, sx:sx + ix1 - ix0]
        roi = img[iy0:iy1, ix0:ix1]
        roi *= 1.0 - a
        roi += pm


def _render_shot(shot: ShotSpec, n_frames: int, fps: float, width: int, height: int,
                 flip: bool) -> Iterator[np.ndarray]:
    import cv2

    rng = np.random.default_rng([shot.texture_seed, 0x5EED])
    base = np.asarray(shot.base_bgr, dtype=np.float32)
    motion = float(np.clip(shot.motion, 0.0, 1.0))
    scale = width / 640.0

    # Camera pan: the frame is a moving window over a larger canvas. The canvas is at most 3x the
    # frame wide; longer pans sweep back and forth over it, so memory does not grow with length.
    pan_px = motion * 5.0 * scale
    pan_dir = rng.choice([-1.0, 1.0])
    tilt_px = pan_px * rng.uniform(-0.3, 0.3)
    span_x = min(pan_px * max(n_frames - 1, 0), 2.0 * width)
    span_y = min(abs(tilt_px) * max(n_frames - 1, 0), 1.0 * height)
    cw = width + int(math.ceil(span_x)) + 2
    ch = height + int(math.ceil(span_y)) + 2

    # Background: linear gradient in a per-shot direction from a dark shade of the base colour to
    # a light shade of an accent colour, times soft low-frequency "clouds" and mid-scale detail,
    # plus static grain that pans with the canvas.
    # Odd and even shots run their gradients in roughly opposite directions with opposite hue
    # turns, so even two shots built on the same colour differ everywhere across a cut.
    angle = rng.uniform(-math.pi / 3, math.pi / 3) + (math.pi if flip else 0.0)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    proj = (xx * math.cos(angle) + yy * math.sin(angle)) / max(width, height)
    proj = (proj - proj.min()) / max(float(np.ptp(proj)), 1e-6)
    # The far end of the gradient is the base colour turned round the hue circle: hue is what
    # tells two shots of the same palette apart for HSV-based scene detectors.
    hsv = cv2.cvtColor(np.uint8([[np.clip(base, 0, 255)]]), cv2.COLOR_BGR2HSV)[0, 0].astype(int)
    turn = int(rng.integers(10, 21)) * (1 if flip else -1)  # OpenCV hue units are 2 degrees
    if shot.accent_hue_deg is not None:
        turn = int(round(shot.accent_hue_deg / 2.0))
    hsv[0] = (hsv[0] + turn) % 180
    second = cv2.cvtColor(np.uint8([[hsv]]), cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
    lo, hi = rng.uniform(0.25, 0.45), rng.uniform(1.3, 1.7)
    p = proj[:, :, None]
    canvas = (1.0 - p) * (lo * base) + p * (hi * second)
    clouds = cv2.resize(rng.uniform(-1, 1, (4, 6)).astype(np.float32), (cw, ch),
                        interpolation=cv2.INTER_CUBIC)
    # Mid-scale "foliage" detail (blobs ~10-20 px) gives pans something to move, as real scenes
    # do; fine grain alone would be smoothed away by the encoder.
    cell = max(2, int(round(12 * scale)))
    detail = cv2.resize(rng.uniform(-1, 1, (ch // cell + 2, cw // cell + 2)).astype(np.float32),
                        (cw + 2 * cell, ch + 2 * cell), interpolation=cv2.INTER_CUBIC)
    detail = detail[cell:cell + ch, cell:cell + cw]
    canvas *= (1.0 + 0.3 * clouds + 0.12 * detail)[:, :, None]
    canvas += rng.normal(0.0, 3.0, (ch, cw, 1)).astype(np.float32)
    canvas = canvas.astype(np.float32)
    del yy, xx, proj, p, clouds, detail

    sprites = [_Sprite(rng, base, width, height, motion * 8.0 * scale)
               for _ in range(int(rng.integers(3, 6)))]
    noise_rng = np.random.default_rng([shot.texture_seed, 0xA015E])

    def sweep(travel: float, span: float, forward: bool) -> float:
        if span <= 0:
            return 0.0
        pos = abs((travel + span) % (2 * span) - span)  # triangle wave 0..span..0
        return span - pos if forward else pos

    def content(j: int) -> np.ndarray:
        ox = sweep(pan_px * j, span_x, pan_dir > 0)
        oy = sweep(abs(tilt_px) * j, span_y, tilt_px > 0)
        # Sub-pixel crop (bilinear) so slow pans glide instead of stepping a pixel at a time.
        img = cv2.getRectSubPix(canvas, (width, height),
                                (ox + (width - 1) / 2.0, oy + (height - 1) / 2.0))
        for s in sprites:
            s.draw(img, j)
        return img

    # Brightness: one gain (+ lift toward white) for the whole shot, measured on its first frame,
    # so the mean luma of the shot lands near the target without flicker. Bright targets are
    # reached by gain with clipping first (highlights blow out but colours stay saturated, as in
    # bright footage), and by lifting toward white only beyond what clipping can give.
    target = float(np.clip(shot.brightness, 0.0, 1.0)) * 255.0
    first = content(0)
    probe = first[::4, ::4]

    def luma_at(g: float) -> float:
        return float((np.clip(probe * g, 0, 255) @ _LUMA_BGR).mean())

    lo_g, hi_g = 0.0, target / max(float((probe @ _LUMA_BGR).mean()), 1e-3)
    if luma_at(hi_g) < target:  # clipping took some away: bisect for the gain that hits target
        lo_g, hi_g = hi_g, hi_g * 64.0
        for _ in range(40):
            mid = (lo_g + hi_g) / 2
            lo_g, hi_g = (mid, hi_g) if luma_at(mid) < target else (lo_g, mid)
    gain = hi_g
    luma1 = luma_at(gain)
    lift = max(0.0, (target - luma1) / max(255.0 - luma1, 1e-3))

    fade_in_n = shot.fade_in_s * fps
    fade_out_n = shot.fade_out_s * fps
    for j in range(n_frames):
        img = first if j == 0 else content(j)
        img *= gain
        np.clip(img, 0, 255, out=img)
        if lift > 0:
            img += (255.0 - img) * lift
        level = 1.0
        if fade_in_n > 0:
            level = min(level, j / fade_in_n)
        if fade_out_n > 0:
            level = min(level, (n_frames - 1 - j) / fade_out_n)
        if level < 1.0:
            # Fade toward video black (a flat neutral level just above 0), draining colour as the
            # picture darkens: the last dark pixels are grey, so their hue and saturation do not
            # flicker (HSV-based scene detectors read that flicker as a cut).
            level = max(level, 0.0)
            grey = img @ _LUMA_BGR
            img -= grey[:, :, None]
            img *= level
            img += grey[:, :, None]
            img *= level
            img += _BLACK_LEVEL * (1.0 - level)
        # Mild sensor noise, the same on all channels and scaled with the level, so black is flat.
        img += noise_rng.normal(0.0, 1.0, (height, width, 1)).astype(np.float32) * level
        yield np.clip(img + 0.5, 0, 255).astype(np.uint8)


def render_shots(shots: Sequence[ShotSpec], *, fps: float,
                 size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Yield uint8 BGR frames, shape (height, width, 3), for the shots in order.

    size is (width, height) in pixels, as in OpenCV. Each shot is a coloured gradient with soft
    drifting shapes and grain; within a shot everything moves smoothly (pan + drift scaled by
    ``motion``), and every shot has its own layout, so consecutive frames differ strongly only at
    ``cut_frames(shots, fps=fps)``. Frames are produced lazily, one at a time.
    """
    width, height = int(size[0]), int(size[1])
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive (width, height), got {size}")
    starts = _shot_starts(shots, fps)
    for i, shot in enumerate(shots):
        yield from _render_shot(shot, starts[i + 1] - starts[i], fps, width, height, i % 2 == 1)


# --------------------------------------------------------------------------------------- audio

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


# ------------------------------------------------------------------------------------- writers

def _encoders_for(suffix: str, codec: str | None) -> tuple[str, str]:
    import av

    def have(name: str) -> bool:
        try:
            av.Codec(name, "w")
            return True
        except Exception:  # PyAV raises different types across versions for unknown codecs
            return False

    if suffix == ".webm":
        video, audio = codec or "libvpx-vp9", "libopus"
        if not have(video):
            video = "libvpx"
    else:  # .mp4 / .m4v / .mov / .mkv
        video, audio = codec or "libx264", "aac"
        if not have(video):
            video = "mpeg4"
    for name in (video, audio):
        if not have(name):
            raise RuntimeError(f"PyAV's FFmpeg has no {name!r} encoder for {suffix} output")
    return video, audio


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: float,
                audio: np.ndarray | None = None, sample_rate_hz: int = 22050,
                codec: str | None = None, crf: int = 28) -> Path:
    """Encode uint8 BGR frames (H, W, 3; H and W even) and optional audio into ``path``.

    .mp4/.m4v/.mov/.mkv: H.264 (libx264, yuv420p, ``crf``) + AAC; falls back to MPEG-4 part 2
    when libx264 is missing. .webm: VP9 + Opus. ``codec`` overrides the video encoder.
    audio is float32 mono (n,) or (n, channels) in -1..1, written as given (not trimmed to the
    video). Frames are consumed one at a time. Returns the path.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vname, aname = _encoders_for(path.suffix.lower(), codec)
    rate = Fraction(fps).limit_denominator(1001)  # 24 -> 24/1, 23.976 -> 2997/125
    it = iter(frames)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("write_video needs at least one frame") from None
    height, width = first.shape[:2]
    if height % 2 or width % 2:
        raise ValueError(f"frame size must be even for yuv420p, got {width}x{height}")

    samples = None
    if audio is not None:
        samples = np.asarray(audio, dtype=np.float32)
        samples = samples[:, None] if samples.ndim == 1 else samples
        samples = np.ascontiguousarray(np.clip(samples, -1.0, 1.0).T)  # (channels, n) planar
        if samples.shape[0] not in (1, 2):
            raise ValueError(f"audio must be mono or stereo, got {samples.shape[0]} channels")

    container = av.open(str(path), mode="w")
    try:
        vs = container.add_stream(vname, rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        if vname in ("libx264", "h264"):
            vs.options = {"crf": str(crf), "preset": "medium"}
        elif vname.startswith("libvpx"):
            vs.options = {"crf": str(min(63, crf + 8)), "b": "0", "deadline": "good",
                          "cpu-used": "4"}
        else:  # mpeg4 has no crf; a fixed bitrate that looks fine for synthetic content
            vs.bit_rate = int(width * height * float(rate) * 0.12)

        astream = resampler = None
        layout = None
        if samples is not None:
            layout = "mono" if samples.shape[0] == 1 else "stereo"
            # Opus only takes 48/24/16/12/8 kHz, so resample for it.
            out_rate = 48000 if aname == "libopus" else sample_rate_hz
            astream = container.add_stream(aname, rate=out_rate, layout=layout)
            astream.bit_rate = 64000 * samples.shape[0]
            if out_rate != sample_rate_hz or aname == "libopus":
                resampler = av.AudioResampler(format="s16" if aname == "libopus" else "fltp",
                                              layout=layout, rate=out_rate)

        a_pos = 0
        chunk = 1024

        def push_audio(until: int) -> None:
            nonlocal a_pos
            while samples is not None and a_pos < min(until, samples.shape[1]):
                block = samples[:, a_pos:min(a_pos + chunk, until, samples.shape[1])]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp",
                                                   layout=layout)
                frame.sample_rate = sample_rate_hz
                frame.pts = a_pos
                frame.time_base = Fraction(1, sample_rate_hz)
                a_pos += block.shape[1]
                for fr in (resampler.resample(frame) if resampler else [frame]):
                    for packet in astream.encode(fr):
                        container.mux(packet)

        def frames_all() -> Iterator[np.ndarray]:
            yield first
            yield from it

        for i, img in enumerate(frames_all()):
            if img.shape[:2] != (height, width):
                raise ValueError(f"frame {i} is {img.shape[1]}x{img.shape[0]}, "
                                 f"expected {width}x{height}")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8),
                                            format="bgr24")
            vf.pts = i
            vf.time_base = 1 / rate
            for packet in vs.encode(vf):
                container.mux(packet)
            # Interleave: keep the audio written up to the end of this video frame.
            push_audio(int(round((i + 1) / float(rate) * sample_rate_hz)))
        for packet in vs.encode():
            container.mux(packet)
        if samples is not None:
            push_audio(samples.shape[1])
            if resampler is not None:
                for fr in resampler.resample(None):
                    for packet in astream.encode(fr):
                        container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    finally:
        container.close()
    return path


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _check_cues(cues: Sequence[tuple[float, float, str]]) -> None:
    for i, (start_s, end_s, _text) in enumerate(cues):
        if end_s <= start_s:
            raise ValueError(f"cue {i + 1}: end_s {end_s} is not after start_s {start_s}")


def write_srt(path: str | Path, cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write (start_s, end_s, text) cues as SubRip (UTF-8, numbered from 1). Returns the path."""
    _check_cues(cues)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = [f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{text.strip()}\n"
              for i, (a, b, text) in enumerate(cues, start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def write_vtt(path: str | Path, cues: Sequence[tuple[float, float, str]]) -> Path:
    """Write (start_s, end_s, text) cues as WebVTT (UTF-8). Returns the path."""
    _check_cues(cues)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = [f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{text.strip()}\n"
              for a, b, text in cues]
    path.write_text("WEBVTT\n\n" + "\n".join(blocks), encoding="utf-8")
    return path
