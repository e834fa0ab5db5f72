"""Baselines the `tagger` method is measured against, on the same splits in the same process.

Each is fitted on a TrainSet and scores queries: rows are users (a revealed history and a
time), columns are candidate titles. Higher is better; the harness hides revealed titles.
Every scorer, the Recommender included, takes `score(histories, candidates, *, now_s=None)`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tagger.recommend.collab import fit_als, fold_in, history_matrix, item_cosine
from tagger.recommend.evaluate.splits import TrainSet
from tagger.recommend.items import ItemTable
from tagger.recommend.words import SynopsisWords


class Baseline:
    """A method of the evaluation: `fit` returns what scores (a baseline scores itself)."""
    name = ""
    item_cold = True      # takes part in the held-out-titles protocol
    new_user = True       # takes part in the new-user protocol

    def fit(self, train: TrainSet, items: ItemTable) -> "Baseline":
        raise NotImplementedError

    def score(self, histories: list[np.ndarray], candidates: np.ndarray, *,
              now_s: np.ndarray | float | None = None) -> np.ndarray:
        """(len(histories), len(candidates)) scores; histories and candidates are title rows,
        now_s the time of each query (unix seconds; NaN or None: no time)."""
        raise NotImplementedError


class RandomScores(Baseline):
    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, train, items):
        self.rng = np.random.default_rng(self.seed)
        return self

    def score(self, histories, candidates, *, now_s=None):
        return self.rng.random((len(histories), len(candidates)))


class Popularity(Baseline):
    """Training positives per title; titles nobody could rate tie at zero."""
    name = "popularity"

    def fit(self, train, items):
        self.counts = np.asarray(train.positives.sum(axis=0)).ravel()
        return self

    def score(self, histories, candidates, *, now_s=None):
        return np.tile(self.counts[candidates], (len(histories), 1)).astype(float)


class GenrePopularity(Baseline):
    """Popularity within the user's genres: a title's training positives (plus one) times the
    mean share of its genres among the user's positives, smoothed toward all positives' shares."""
    name = "genre-popularity"

    def __init__(self, prior_weight: float = 5.0):
        self.prior_weight = prior_weight

    def fit(self, train, items):
        genres = _genre_matrix(items)
        self.per_title = (sp.diags(1.0 / np.maximum(np.asarray(genres.sum(axis=1)).ravel(), 1)) @ genres).tocsr()
        self.counts = np.asarray(train.positives.sum(axis=0)).ravel()
        share = self.per_title.T @ self.counts
        self.global_share = share / max(share.sum(), 1e-9)
        return self

    def score(self, histories, candidates, *, now_s=None):
        out = np.zeros((len(histories), len(candidates)))
        genres_of = self.per_title[candidates]
        for u, history in enumerate(histories):
            mine = np.asarray(self.per_title[history].sum(axis=0)).ravel()
            share = (mine + self.prior_weight * self.global_share) / (len(history) + self.prior_weight)
            out[u] = (genres_of @ share) * (self.counts[candidates] + 1.0)
        return out


class YearPrior(Baseline):
    """A diagnostic, not a recommender: a title scores the training positives of every title
    released in its year. High on a random split (held-out titles from the years users rated
    most), it shows how much of a method's lead release year alone can explain."""
    name = "year-prior"
    new_user = False

    def fit(self, train, items):
        counts = np.asarray(train.positives.sum(axis=0)).ravel()
        known = np.isfinite(items.year)
        years = np.where(known, items.year, 0).astype(np.int64)
        per_year = np.bincount(years[known], counts[known], minlength=years.max() + 1)
        self.scores = np.where(known, per_year[years], 0.0)
        return self

    def score(self, histories, candidates, *, now_s=None):
        return np.tile(self.scores[candidates], (len(histories), 1))


class TfidfProfile(Baseline):
    """Cosine between a title's TF-IDF (overview and genres) and the mean of the user's titles'."""
    name = "tfidf"

    def fit(self, train, items):
        self.words = SynopsisWords(items)      # the recommender's own words part, alone
        return self

    def score(self, histories, candidates, *, now_s=None):
        return self.words.scores(histories, candidates)


class ItemKNN(Baseline):
    """Sum of cosine similarities (over training users' positives) to the user's titles."""
    name = "item-knn"

    def __init__(self, neighbours: int = 100):
        self.neighbours = neighbours

    def fit(self, train, items):
        self.similarity = item_cosine(train.positives, self.neighbours)
        return self

    def score(self, histories, candidates, *, now_s=None):
        rows = history_matrix(histories, self.similarity.shape[0])
        return (rows @ self.similarity[:, candidates]).toarray()


class ALS(Baseline):
    """implicit's ALS; a new user's factors are solved from the revealed titles (fold-in)."""
    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
                 iterations: int = 15, seed: int = 0):
        self.params = dict(factors=factors, regularization=regularization, alpha=alpha,
                           iterations=iterations, random_state=seed)

    def fit(self, train, items):
        self.model = fit_als(train.positives, **self.params)
        return self

    def score(self, histories, candidates, *, now_s=None):
        users = fold_in(self.model, histories, self.model.item_factors.shape[0])
        return users @ self.model.item_factors[candidates].T


class LightFMWarp(Baseline):
    """LightFM with WARP loss on genre and overview-word features (title identity for
    training titles only: a held-out title is its features alone).

    One thread by default: LightFM's parallel (Hogwild) updates race, so with more than one
    the same seed gives different scores from run to run."""
    name = "lightfm"
    new_user = False

    def __init__(self, components: int = 64, epochs: int = 30, seed: int = 0, threads: int = 1):
        self.components, self.epochs, self.seed, self.threads = components, epochs, seed, threads

    def fit(self, train, items):
        from lightfm import LightFM
        from sklearn.feature_extraction.text import CountVectorizer

        words = CountVectorizer(min_df=5, max_df=0.3, stop_words="english", binary=True,
                                max_features=5000).fit_transform(items.synopses).astype(np.float32)
        identity = sp.diags(train.train_items.astype(np.float32)).tocsr()
        features = sp.hstack([identity, _genre_matrix(items), words]).tocsr()
        # Each title's features sum to one, as LightFM's own examples normalise them.
        norms = np.asarray(features.sum(axis=1)).ravel()
        self.features = sp.diags(1.0 / np.maximum(norms, 1e-9)) @ features
        self.model = LightFM(loss="warp", no_components=self.components, random_state=self.seed)
        self.model.fit(train.positives.tocoo(), item_features=self.features, epochs=self.epochs,
                       num_threads=self.threads)
        self.item_vectors = self.model.get_item_representations(self.features)
        self.user_vectors = self.model.get_user_representations()
        self.positives = train.positives
        return self

    def score(self, histories, candidates, *, now_s=None):
        # Item-cold queries come from training users: find each by their history row.
        users = self._users_of(histories)
        bias, vectors = self.item_vectors
        _, u_vectors = self.user_vectors
        # A user with no training positives has an untrained vector: rank by title bias alone.
        known = users >= 0
        mine = np.where(known[:, None], u_vectors[np.maximum(users, 0)], 0.0)
        return mine @ vectors[candidates].T + bias[candidates][None, :]

    def _users_of(self, histories):
        lookup = {}
        for u in range(self.positives.shape[0]):
            row = self.positives.indices[self.positives.indptr[u]:self.positives.indptr[u + 1]]
            if len(row):
                lookup[tuple(sorted(row))] = u
        return np.array([lookup.get(tuple(sorted(h)), -1) for h in histories])


def _genre_matrix(items: ItemTable) -> sp.csr_matrix:
    names = sorted({g for gs in items.genres for g in gs})
    index = {g: i for i, g in enumerate(names)}
    r = [i for i, gs in enumerate(items.genres) for g in gs]
    c = [index[g] for gs in items.genres for g in gs]
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(items), len(names)))


BASELINES = [RandomScores, GenrePopularity, TfidfProfile, Popularity, ItemKNN, ALS, LightFMWarp, YearPrior]
