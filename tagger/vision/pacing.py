"""Editing pace from shot lengths (the ``visual.cuts_per_minute`` ... ``visual.shot_count`` features)."""
from __future__ import annotations

import math
import statistics


def pacing(shot_lengths_s: list[float]) -> dict:
    """Cutting-rate features of a title from its shot lengths in seconds.

    Returns ``cuts_per_minute`` (cuts = shots - 1, over the total duration in minutes),
    ``median_shot_s``, ``mean_shot_s``, ``shot_count`` (int) and ``duration_s`` (the seconds
    the rate is measured over: a few cuts in a long title say "slow", no cut in six seconds
    says little). No shots, or a total duration of 0, gives 0 for the rates.
    """
    lengths = [float(x) for x in shot_lengths_s]
    if any(not math.isfinite(x) or x < 0 for x in lengths):
        raise ValueError(f"shot lengths must be finite and >= 0 seconds, got {shot_lengths_s}")
    if not lengths:
        return {"cuts_per_minute": 0.0, "median_shot_s": 0.0, "mean_shot_s": 0.0, "shot_count": 0, "duration_s": 0.0}
    total_s = sum(lengths)
    cuts = len(lengths) - 1
    return {
        "cuts_per_minute": cuts / (total_s / 60.0) if total_s > 0 else 0.0,
        "median_shot_s": float(statistics.median(lengths)),
        "mean_shot_s": total_s / len(lengths),
        "shot_count": len(lengths),
        "duration_s": total_s,
    }
