"""Synthetic footage with known cuts, brightness and motion (uint8 BGR frames, one at a time)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

# ITU-R BT.601 luma weights in BGR order (what cv2's BGR2GRAY uses).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
# Where fades end: near black (luma 6/255), neutral grey.
_BLACK_LEVEL = 6.0


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
