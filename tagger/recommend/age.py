"""A title's age when it is recommended: how much more viewers like titles of that age than
titles picked at random from those out at the time.

Release year enters the recommender only this way, relative to the query time. As an absolute
feature it stands in for exposure: the titles from the years most viewers were active are the
ones they rated, which ranks held-out titles well on a random split and backwards on titles
that are really new (`tagger evaluate coldstart --protocol temporal`). Age at the query time
carries what transfers: a release of this year is watched more than one of twenty years ago.

Fitted from the liked titles' release years and the like times: likes[a] counts the likes of
titles a years old when liked; expected[a] what uniform picks among the titles out that year
(of those anyone liked) would have given. The score of age a is log((likes[a] + 1) / (expected[a] + 1)), per bucket
of ages (finer for recent years).
"""
from __future__ import annotations

import numpy as np

AGE_BUCKET_STARTS = np.array([0, 1, 2, 3, 4, 6, 9, 14, 21, 31, 46])     # years; the last is open


def calendar_year(time_s) -> np.ndarray:
    """The (UTC) calendar year of unix seconds, as floats; NaN stays NaN."""
    time_s = np.asarray(time_s, float)
    out = np.full(time_s.shape, np.nan)
    known = np.isfinite(time_s)
    out[known] = np.floor(time_s[known]).astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    return out


def age_bucket(age_years: np.ndarray) -> np.ndarray:
    """The bucket of each age in whole years (titles not out yet fall in the first)."""
    return np.searchsorted(AGE_BUCKET_STARTS, np.maximum(age_years, 0), side="right") - 1


class AgePrior:
    def __init__(self):
        self.lift = np.zeros(len(AGE_BUCKET_STARTS))

    def fit(self, release_year: np.ndarray, liked: np.ndarray, liked_s: np.ndarray) -> "AgePrior":
        """release_year per title (NaN: unknown); liked, liked_s: title row and time of each like."""
        self.release_year = np.asarray(release_year, float)
        known = np.isfinite(self.release_year)
        years = calendar_year(liked_s)
        use = known[liked] & np.isfinite(years)
        likes = np.bincount(age_bucket(years[use] - self.release_year[liked[use]]),
                            minlength=len(AGE_BUCKET_STARTS)).astype(float)
        expected = np.zeros(len(AGE_BUCKET_STARTS))
        # Picks among the titles anyone liked: a title nobody could like in these data (one that
        # arrived after them) says nothing about how viewers choose by age.
        pickable = known & (np.bincount(liked, minlength=len(known)) > 0)
        released = self.release_year[pickable]
        like_years, per_year = np.unique(years[use], return_counts=True)
        for year, count in zip(like_years, per_year):
            out = released[released <= year]
            if len(out):
                share = np.bincount(age_bucket(year - out), minlength=len(AGE_BUCKET_STARTS)) / len(out)
                expected += count * share
        self.lift = np.log((likes + 1.0) / (expected + 1.0))
        return self

    def scores(self, candidates: np.ndarray, now_s: np.ndarray) -> np.ndarray:
        """(len(now_s), len(candidates)) lift of each candidate's age at each query time; 0 where
        the time or the release year is unknown."""
        year = self.release_year[candidates]
        now_year = calendar_year(now_s)
        age = now_year[:, None] - year[None, :]
        known = np.isfinite(age)
        out = np.zeros(age.shape)
        out[known] = self.lift[age_bucket(age[known])]
        return out
