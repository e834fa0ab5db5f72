"""What viewers are watching around a given time, globally and per region.

Each positive interaction counts exp(-age / half-life) at the query time, and only when it
happened before it: at sign-up we know what was popular then, not what will be.

Scores are refreshed every `refresh_s` (an hour by default): a query at time t sees the
interactions up to the start of t's hour, never later ones. Fading scales every title alike, so
the ranking is that of time t minus the last hour's interactions. One refresh per hour and
region is computed once and cached; recomputing it is a pass over every interaction (4 ms per
query with 100k interactions, and it grows with them).
"""
from __future__ import annotations

import numpy as np

from tagger.recommend.index import top_k


class Popularity:
    CACHED_REFRESHES = 256

    def __init__(self, half_life_days: float = 365.0, region_share: float = 0.5, refresh_s: float = 3600.0):
        self.half_life_days = half_life_days
        self.region_share = region_share    # weight of regional counts against global ones
        self.refresh_s = refresh_s          # 0: exact to the second (cached per exact query time)
        self._cache: dict = {}

    def fit(self, items: np.ndarray, times_s: np.ndarray, weights: np.ndarray, n_items: int,
            regions: np.ndarray | None = None) -> "Popularity":
        """One row per positive interaction: title row, unix seconds, weight, viewer's region."""
        order = np.argsort(times_s, kind="stable")
        self.items = items[order].astype(np.int64)
        self.times_s = times_s[order].astype(np.float64)
        self.weights = weights[order].astype(np.float64)
        self.regions = None if regions is None else np.asarray(regions, dtype=object)[order]
        self.n_items = n_items
        self._cache = {}
        return self

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """The interactions as arrays; regions as codes into the parameters' list (-1: none)."""
        arrays = {"items": self.items, "times_s": self.times_s, "weights": self.weights}
        params = {"half_life_days": self.half_life_days, "region_share": self.region_share,
                  "refresh_s": self.refresh_s, "n_items": self.n_items, "regions": None}
        if self.regions is not None:
            params["regions"] = sorted({str(r) for r in self.regions if r})
            code = {region: i for i, region in enumerate(params["regions"])}
            arrays["region_codes"] = np.array([code[str(r)] if r else -1 for r in self.regions], np.int32)
        return arrays, params

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> "Popularity":
        regions = None
        if params["regions"] is not None:
            names = np.array(params["regions"] + [None], dtype=object)     # code -1 picks the None
            regions = names[arrays["region_codes"]]
        return cls(params["half_life_days"], params["region_share"], params["refresh_s"]).fit(
            arrays["items"], arrays["times_s"], arrays["weights"], params["n_items"], regions)

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
        """log(1 + share x 10^4) per title: compresses the head so popularity informs and does
        not dominate. Read-only (cached)."""
        return self._refresh(now_s, region)["scores"]

    def scale(self, now_s: float | None = None, region: str | None = None) -> tuple[float, float]:
        """Mean and standard deviation of `scores` over every title (cached)."""
        refresh = self._refresh(now_s, region)
        return refresh["mean"], refresh["std"]

    def top(self, k: int, now_s: float | None = None, region: str | None = None) -> np.ndarray:
        """Rows of the k most popular titles at that time (cached), best first."""
        refresh = self._refresh(now_s, region)
        if len(refresh["order"]) < min(k, self.n_items):
            refresh["order"] = top_k(refresh["scores"], max(k, 512))
        return refresh["order"][:k]

    def _refresh(self, now_s, region) -> dict:
        if now_s is not None and not np.isfinite(now_s):
            now_s = None
        if now_s is not None and self.refresh_s > 0:
            now_s = float(np.floor(now_s / self.refresh_s) * self.refresh_s)
        key = (now_s, region)
        if key not in self._cache:
            if len(self._cache) >= self.CACHED_REFRESHES:
                self._cache.pop(next(iter(self._cache)))       # the oldest entry
            counts = self.counts(now_s, region)
            total = counts.sum()
            scores = np.log1p(counts / total * 1e4) if total > 0 else counts
            scores.flags.writeable = False
            self._cache[key] = {"scores": scores, "mean": float(scores.mean()), "std": float(scores.std()),
                                "order": np.zeros(0, np.int64)}
        return self._cache[key]
