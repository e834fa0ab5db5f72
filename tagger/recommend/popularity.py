"""What viewers are watching around a given time, globally and per region.

Each positive interaction counts exp(-age / half-life) at the query time, and only when it
happened before it: at sign-up we know what was popular then, not what will be.
"""
from __future__ import annotations

import numpy as np


class Popularity:
    def __init__(self, half_life_days: float = 365.0, region_share: float = 0.5):
        self.half_life_days = half_life_days
        self.region_share = region_share    # weight of regional counts against global ones

    def fit(self, items: np.ndarray, times_s: np.ndarray, weights: np.ndarray, n_items: int,
            regions: np.ndarray | None = None) -> "Popularity":
        """One row per positive interaction: title row, unix seconds, weight, viewer's region."""
        order = np.argsort(times_s, kind="stable")
        self.items = items[order].astype(np.int64)
        self.times_s = times_s[order].astype(np.float64)
        self.weights = weights[order].astype(np.float64)
        self.regions = None if regions is None else np.asarray(regions, dtype=object)[order]
        self.n_items = n_items
        return self

    def counts(self, now_s: float | None = None, region: str | None = None) -> np.ndarray:
        """Faded interaction mass per title at `now_s` (None: all of it, unfaded)."""
        if now_s is None or not np.isfinite(now_s):
            return self._count(slice(None), None)
        end = int(np.searchsorted(self.times_s, now_s, side="right"))
        fade = np.exp2(-(now_s - self.times_s[:end]) / (self.half_life_days * 86400.0)) \
            if self.half_life_days > 0 else None
        total = self._count(slice(0, end), fade)
        if region and self.regions is not None:
            mine = self.regions[:end] == region
            regional = np.bincount(self.items[:end][mine], minlength=self.n_items,
                                   weights=(self.weights[:end] * (1.0 if fade is None else fade))[mine])
            if regional.sum() > 0:
                total = (1 - self.region_share) * total / max(total.sum(), 1e-9) \
                    + self.region_share * regional / regional.sum()
        return total

    def _count(self, part, fade) -> np.ndarray:
        weights = self.weights[part] if fade is None else self.weights[part] * fade
        return np.bincount(self.items[part], weights=weights, minlength=self.n_items)

    def scores(self, now_s: float | None = None, region: str | None = None) -> np.ndarray:
        """log(1 + share x 10^4): compresses the head so popularity informs and does not dominate."""
        counts = self.counts(now_s, region)
        total = counts.sum()
        return np.log1p(counts / total * 1e4) if total > 0 else counts
