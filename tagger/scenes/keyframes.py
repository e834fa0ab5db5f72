"""Keyframe choice: sharp frames away from transitions, spread over the scene."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Candidate:
    frame: int
    time_s: float
    sharpness: float      # variance of the Laplacian of the grey frame
    brightness: float     # 0..1
    image: np.ndarray     # BGR at analysis size
    detail: np.ndarray | None = None   # BGR at the detail width, where the pass keeps one


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian: low for blurred, dissolving or flat frames (Pech-Pacheco 2000)."""
    import cv2

    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


def choose(candidates: list[Candidate], *, count: int, edge_share: float = 0.15,
           min_brightness: float = 0.04) -> list[Candidate]:
    """Pick up to `count` keyframes: split the scene into `count` equal parts and take the
    sharpest candidate of each, skipping the scene's first and last `edge_share` (where
    transitions and fades blur frames) and near-black frames, unless nothing else is left."""
    if not candidates or count <= 0:
        return []
    start, end = candidates[0].time_s, candidates[-1].time_s
    span = end - start
    inner = [c for c in candidates
             if start + edge_share * span <= c.time_s <= end - edge_share * span
             and c.brightness >= min_brightness]
    pool = inner or [c for c in candidates if c.brightness >= min_brightness] or candidates
    lo, hi = pool[0].time_s, pool[-1].time_s
    width = (hi - lo) / count if hi > lo else 0.0
    chosen: list[Candidate] = []
    for part in range(count):
        if width:
            a, b = lo + part * width, lo + (part + 1) * width
            members = [c for c in pool if a <= c.time_s < b or (part == count - 1 and c.time_s == hi)]
        else:
            members = pool
        members = [c for c in members if c not in chosen]
        if members:
            chosen.append(max(members, key=lambda c: c.sharpness))
    return sorted(chosen, key=lambda c: c.frame)
