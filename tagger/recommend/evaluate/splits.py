"""The cold-start protocols: held-out titles (at random, or the titles that arrived last), and
held-out users revealing k positives.

Everything a method sees comes from `TrainSet`: positives (rating >= 4) of training users on
training titles, with their times. Held-out titles' ratings and held-out users' later events
never reach it. A query's time is when the recommendation is made: for held-out titles, the
user's last rating (MovieLens users mostly rate in one sitting, so that is when they were
choosing among the held-out titles too).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

POSITIVE_RATING = 4.0


@dataclass
class Ratings:
    """Ratings as index arrays over users 0..n_users-1 and the item table's rows."""
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    time_s: np.ndarray
    n_users: int
    n_items: int

    @classmethod
    def from_frame(cls, ratings: pd.DataFrame, item_ids: list[str]) -> "Ratings":
        index = {t: i for i, t in enumerate(item_ids)}
        users = np.unique(ratings["user_id"].to_numpy())
        user_index = {u: i for i, u in enumerate(users)}
        return cls(user=ratings["user_id"].map(user_index).to_numpy(np.int64),
                   item=ratings["title_id"].map(index).to_numpy(np.int64),
                   rating=ratings["rating"].to_numpy(np.float32),
                   time_s=ratings["timestamp"].to_numpy(np.int64), n_users=len(users), n_items=len(item_ids))

    @classmethod
    def from_train(cls, train: "TrainSet") -> "Ratings":
        """The training positives as ratings (for validation splits carved from training data)."""
        coo = train.positives.tocoo()
        times = np.asarray(train.times_s.tocsr()[coo.row, coo.col]).ravel().astype(np.int64)
        return cls(user=coo.row.astype(np.int64), item=coo.col.astype(np.int64),
                   rating=np.full(coo.nnz, 5.0, np.float32), time_s=times,
                   n_users=train.positives.shape[0], n_items=train.positives.shape[1])

    def subset(self, mask: np.ndarray) -> "Ratings":
        return Ratings(self.user[mask], self.item[mask], self.rating[mask], self.time_s[mask],
                       self.n_users, self.n_items)


@dataclass
class TrainSet:
    positives: sp.csr_matrix    # (users, items) 1.0 where a training user rated a training title >= 4
    times_s: sp.csr_matrix      # same pattern: when
    train_items: np.ndarray     # bool per item: may have training interactions
    train_users: np.ndarray     # bool per user

    @classmethod
    def build(cls, ratings: Ratings, train_items: np.ndarray, train_users: np.ndarray) -> "TrainSet":
        keep = train_items[ratings.item] & train_users[ratings.user] & (ratings.rating >= POSITIVE_RATING)
        r = ratings.subset(keep)
        shape = (ratings.n_users, ratings.n_items)
        positives = sp.csr_matrix((np.ones(len(r.user), np.float32), (r.user, r.item)), shape=shape)
        times = sp.csr_matrix((r.time_s.astype(np.float64), (r.user, r.item)), shape=shape)
        positives.sum_duplicates()
        positives.data[:] = 1.0
        return cls(positives, times, train_items.copy(), train_users.copy())

    def history(self, user: int) -> np.ndarray:
        """A training user's positive items, oldest first."""
        start, end = self.positives.indptr[user], self.positives.indptr[user + 1]
        items = self.positives.indices[start:end]
        return items[np.argsort(self.times_s.data[start:end], kind="stable")]


@dataclass
class Query:
    """Users to rank for, each with a revealed history, a time, and the candidate columns that are hits."""
    histories: list[np.ndarray]
    times_s: np.ndarray
    candidates: np.ndarray
    relevant: list[np.ndarray]      # indices into `candidates`


def item_cold(ratings: Ratings, seed: int, share: float = 0.2, base_items: np.ndarray | None = None):
    """Hold out `share` of the titles (of base_items) with all their ratings."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(base_items if base_items is not None else np.ones(ratings.n_items, bool))
    held = rng.choice(pool, size=int(round(share * len(pool))), replace=False)
    train_items = np.zeros(ratings.n_items, bool)
    train_items[pool] = True
    train_items[held] = False
    train = TrainSet.build(ratings, train_items, np.ones(ratings.n_users, bool))
    candidates = np.sort(held)
    column = np.full(ratings.n_items, -1)
    column[candidates] = np.arange(len(candidates))
    hit = np.isin(ratings.item, candidates) & (ratings.rating >= POSITIVE_RATING)
    users = np.unique(ratings.user[hit])
    relevant = [np.unique(column[ratings.item[hit & (ratings.user == u)]]) for u in users]
    query = Query(histories=[train.history(u) for u in users], times_s=last_rating_s(ratings)[users],
                  candidates=candidates, relevant=relevant)
    return train, query


TEMPORAL_VARIANTS = ("older", "before")


def item_cold_temporal(ratings: Ratings, quantile: float = 0.8, variant: str = "older",
                       base_items: np.ndarray | None = None):
    """The titles that arrived last are the new ones: those first rated after the cutoff, the
    `quantile` of the titles' first-rating times (over base_items with a rating).

    Training, by variant: "older", every rating of the older titles (whenever made); "before",
    every rating made up to the cutoff. Every user with a positive on a new title and at least
    one training positive ranks all new titles. Returns the training set, the query and the
    cutoff (unix seconds)."""
    if variant not in TEMPORAL_VARIANTS:
        raise ValueError(f"unknown temporal variant {variant!r} (valid: {', '.join(TEMPORAL_VARIANTS)})")
    base = base_items if base_items is not None else np.ones(ratings.n_items, bool)
    in_base = base[ratings.item]
    first_s = np.full(ratings.n_items, np.inf)
    np.minimum.at(first_s, ratings.item[in_base], ratings.time_s[in_base].astype(float))
    rated = np.isfinite(first_s)
    cutoff_s = float(np.quantile(first_s[rated], quantile))
    new = rated & (first_s > cutoff_s)
    train_items = base & ~new
    seen = ratings if variant == "older" else ratings.subset(ratings.time_s <= cutoff_s)
    train = TrainSet.build(seen, train_items, np.ones(ratings.n_users, bool))
    candidates = np.flatnonzero(new)
    column = np.full(ratings.n_items, -1)
    column[candidates] = np.arange(len(candidates))
    hit = new[ratings.item] & (ratings.rating >= POSITIVE_RATING)
    has_history = np.diff(train.positives.indptr) > 0
    users = np.array([u for u in np.unique(ratings.user[hit]) if has_history[u]], np.int64)
    relevant = [np.unique(column[ratings.item[hit & (ratings.user == u)]]) for u in users]
    query = Query(histories=[train.history(u) for u in users], times_s=last_rating_s(ratings)[users],
                  candidates=candidates, relevant=relevant)
    return train, query, cutoff_s


def restrict(query: Query, keep: np.ndarray) -> Query:
    """The query over the candidates where `keep` (bool per candidate) holds; relevant columns
    follow, and users left without one keep an empty list."""
    column = np.full(len(query.candidates), -1)
    column[keep] = np.arange(int(keep.sum()))
    relevant = [column[r][column[r] >= 0] for r in query.relevant]
    return Query(histories=query.histories, times_s=query.times_s, candidates=query.candidates[keep],
                 relevant=relevant)


def last_rating_s(ratings: Ratings) -> np.ndarray:
    """Each user's last rating time (NaN for a user without any)."""
    out = np.full(ratings.n_users, -np.inf)
    np.maximum.at(out, ratings.user, ratings.time_s.astype(float))
    return np.where(np.isfinite(out), out, np.nan)


def new_user(ratings: Ratings, seed: int, ks=(0, 1, 3, 5), share: float = 0.2,
             base_users: np.ndarray | None = None):
    """Hold out `share` of the users; each reveals their first k positives in time order.

    Users are kept when they have more than max(ks) positives, so every k ranks for the same
    users. Returns the training set and a Query per k (candidates: every title not revealed).
    """
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(base_users if base_users is not None else np.ones(ratings.n_users, bool))
    held = rng.choice(pool, size=int(round(share * len(pool))), replace=False)
    train_users = np.zeros(ratings.n_users, bool)
    train_users[pool] = True
    train_users[held] = False
    train = TrainSet.build(ratings, np.ones(ratings.n_items, bool), train_users)
    positive = ratings.rating >= POSITIVE_RATING
    per_user = {}
    for u in np.sort(held):
        mine = np.flatnonzero((ratings.user == u) & positive)
        if len(mine) <= max(ks):
            continue
        order = mine[np.lexsort((ratings.item[mine], ratings.time_s[mine]))]
        first_s = ratings.time_s[ratings.user == u].min()
        per_user[u] = (ratings.item[order], ratings.time_s[order], first_s)
    queries = {}
    all_items = np.arange(ratings.n_items)
    for k in ks:
        histories, times, relevant = [], [], []
        for items, times_s, first_s in per_user.values():
            histories.append(items[:k])
            times.append(times_s[k - 1] if k else first_s)
            relevant.append(items[k:])
        queries[k] = Query(histories=histories, times_s=np.array(times, float), candidates=all_items,
                           relevant=relevant)
    return train, queries
