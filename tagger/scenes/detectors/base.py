"""The one interface every shot detector implements, and the boundary it reports."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

BOUNDARY_KINDS = ("cut", "fade", "dissolve")


@dataclass(frozen=True)
class Boundary:
    """Where a new shot starts, how it begins, and how sure the detector is."""
    frame: int            # the first frame of the new shot (for a gradual transition, its middle)
    kind: str             # cut | fade (through black) | dissolve (one picture into the next)
    confidence: float     # 0..1; 0.5 is the detector's own threshold


class ShotDetector:
    """Sees a title's frames once, in order, and reports shot boundaries as it finds them.

    One instance per title (it keeps the title's state); models behind it load once per
    process. `process` gets every decoded frame (BGR at the analysis size) and returns the
    boundaries it can tell by then, possibly some frames late; `finish` returns the rest.
    Memory stays bounded whatever the title's length.
    """
    name: ClassVar[str]

    def __init__(self, settings, *, fps: float):
        self.settings = settings
        self.fps = fps if fps > 0 else 25.0

    @classmethod
    def load(cls, settings) -> None:
        """Load the models behind the detector, once per process (instances also load on first use)."""

    @classmethod
    def versions(cls, settings) -> dict[str, str]:
        """Models and libraries the boundaries depend on, known without loading anything."""
        return {}

    def process(self, index: int, image: np.ndarray) -> list[Boundary]:
        raise NotImplementedError

    def finish(self) -> list[Boundary]:
        return []


def ratio_confidence(score: float, threshold: float) -> float:
    """A score against its threshold as 0..1: 0.5 at the threshold, toward 1 far above it."""
    if threshold <= 0:
        return 1.0
    return float(score / (score + threshold)) if score > 0 else 0.0


def gradual_kind(darkest_mean: float, fade_threshold: float) -> str:
    """A gradual transition whose darkest frame is black (mean pixel value under
    `fade_threshold`) is a fade; otherwise one picture dissolved into the next."""
    return "fade" if darkest_mean < fade_threshold else "dissolve"


def frame_mean(image: np.ndarray) -> float:
    """Mean pixel value of a uint8 BGR frame over all three channels (as numpy's mean, faster)."""
    import cv2

    return sum(cv2.mean(image)[:3]) / 3.0
