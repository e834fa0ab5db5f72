"""Dissolves TransNetV2 does not see: one picture blending into another so slowly and so
darkly that neither the content score nor the network marks it (the hybrid's own finding on
dark shots of one colour: the network gives them 0.05 or less).

The signature, on an 80x45 grey copy over SPAN frames (a usual dissolve and a little more):
the picture changes a good deal from end to end, in steps that add up to most of that change
(a moving subject's do not) with none of them a jump (a cut's business); the middle frame is
close to the mean of the two ends (a blend is linear in time); and the two ends are different
pictures, not one picture under other light (their patterns correlate less than CORR_MAX). A
span with a black frame is a fade's, left to the fade detector, and only dark spans count:
TransNetV2 confirms brighter dissolves itself, and a bright title card fading in over the
picture has the same signature. Bars chosen on the shot benchmark's validation clips
(benchmarks/shot_boundaries.py): the validation dissolves score 5.6-15 end to end, additivity
0.57-0.85, linearity within 0.23, correlation 0.36-0.80, grey level 18-36; the real validation
clips never pass all of them together; on the generated title-card titles any DARK_MAX from
48 to 128 gives the same result and none adds 6 false boundaries.
"""
from __future__ import annotations

from collections import deque

import numpy as np

SPAN = 20             # frames between the two ends compared
ADDITIVE_MIN = 0.5    # end-to-end change over the sum of the steps
JUMP_MAX = 0.5        # the largest step over the end-to-end change
LINEAR_MAX = 0.25     # the middle's distance from the ends' mean, over the end-to-end change
CORR_MAX = 0.85       # correlation of the two ends' patterns (one picture relit is near 1)
DARK_MAX = 64.0       # mean grey level (0..255) of both ends: the network sees brighter dissolves


class DissolveWatch:
    """Fed every frame's score copy; reports (middle frame, end-to-end change) of each run of
    frames with the signature, once the run ends."""

    def __init__(self, *, min_change: float, fade_threshold: float):
        self.min_change = min_change
        self.fade_threshold = fade_threshold
        self.grays: deque[np.ndarray] = deque(maxlen=SPAN + 1)
        self.means: deque[float] = deque(maxlen=SPAN + 1)
        self.steps: deque[float] = deque(maxlen=SPAN)
        self.best: tuple[int, float] | None = None    # the running run's strongest frame

    @property
    def waiting_since(self) -> int | None:
        """The earliest frame a report may still name (None: none is pending)."""
        return self.best[0] if self.best else None

    def push(self, index: int, small_bgr: np.ndarray, mean: float) -> tuple[int, float] | None:
        import cv2

        height, width = small_bgr.shape[:2]
        half = cv2.resize(small_bgr, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(half, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if self.grays:
            self.steps.append(float(np.abs(gray - self.grays[-1]).mean()))
        self.grays.append(gray)
        self.means.append(mean)
        change = self._signature() if len(self.grays) > SPAN else None
        if change is not None:
            frame = index - SPAN // 2
            if self.best is None or change > self.best[1]:
                self.best = (frame, change)
            return None
        return self.flush()

    def flush(self) -> tuple[int, float] | None:
        found, self.best = self.best, None
        return found

    def _signature(self) -> float | None:
        """The end-to-end change when the span looks like a dissolve, else None."""
        first, middle, last = self.grays[0], self.grays[SPAN // 2], self.grays[-1]
        if max(float(first.mean()), float(last.mean())) > DARK_MAX:
            return None
        change = float(np.abs(last - first).mean())
        if change < self.min_change or max(self.steps) > JUMP_MAX * change:
            return None
        if change < ADDITIVE_MIN * sum(self.steps) or min(self.means) < self.fade_threshold:
            return None
        if float(np.abs(middle - (first + last) / 2).mean()) > LINEAR_MAX * change:
            return None
        a, b = first - first.mean(), last - last.mean()
        corr = float((a * b).sum() / (np.sqrt(float((a * a).sum()) * float((b * b).sum())) + 1e-6))
        return change if corr <= CORR_MAX else None
