"""The recommender: content taste, collaborative signals, popularity and freshness, blended.

A candidate's score adds z-scored parts (each standardised over the whole catalog for the
query's viewer, or in `parts` over the candidates given, as the evaluation ranks held-out titles):

    content     the taste model's affinity of the viewer's profile for the title
    collab      ALS (fold-in) and item-item similarity to the viewer's titles, trusted in
                proportion to the title's own history: n_i / (n_i + item_history_half)
    content_collab  the viewer's ALS factors against the title's factors as predicted from its
                content, for the rest of that trust: 1 - n_i / (n_i + item_history_half)
    popularity  faded interaction mass before the query time, regional where known
    freshness   titles added to the catalog recently
    age         how much viewers like titles of the candidate's age at the query time
                (tagger.recommend.age: release year enters only relative to the query time)
    words       the TF-IDF of the title's synopsis against the mean of the viewer's titles'
                (tagger.recommend.words: names and franchises the embeddings blur)

with weights that move from popularity to content and collaborative as the viewer's
history n_u grows: content (and words) x n_u / (n_u + content_history_half), collab (and
content_collab) x n_u / (n_u + user_history_half), popularity x popularity_history_half /
(popularity_history_half + n_u) (RecommenderSettings.part_weights). Then diversity (maximal marginal relevance) and
exploration (Thompson sampling over tag arms) re-rank the head: the queries, with their
reasons, are in tagger.recommend.queries; this module fits, scores and saves.

A catalog past `full_scan_up_to` titles is not scored title by title: each query retrieves a
candidate pool (the best few hundred by the taste model, through an inner-product index, by
ALS, by co-viewing, by popularity, and the newest) and scores that. Since the parts are
standardised over the catalog (from moments kept at fit), a title in the pool gets the score a
full scan would give it, so the pool ranks as the scan would whenever it holds the scan's top.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tagger.errors import InputError
from tagger.recommend.age import AgePrior
from tagger.recommend.collab import ItemFactors, factors_from_content, fit_als, fold_in, history_matrix, item_cosine
from tagger.recommend.content import ContentWeights, TasteModel, content_matrix, genre_names, profile_vectors
from tagger.recommend.events import FEEDBACK_KINDS, Event, affinities, unclicked_impressions
from tagger.recommend.index import ANN_FROM_DEFAULT
from tagger.recommend.items import ItemTable
from tagger.recommend.popularity import Popularity
from tagger.recommend.queries import Queries, QueryInputs
from tagger.recommend.saved import prefixed, read_folder, sparse_arrays, sparse_matrix, unprefixed, write_folder
from tagger.recommend.standardise import moments, moments_scale, sparse_scale, zscore
from tagger.recommend.words import SynopsisWords
from tagger.vectors import unit

PARTS = ("content", "collab", "content_collab", "popularity", "freshness", "age", "words")
# 2: each part's own arrays; content rebuilt on load. 3: no release-era block in content.
FORMAT, VERSION = "tagger.recommend.Recommender", 3


@dataclass
class RecommenderSettings:
    content: ContentWeights = field(default_factory=ContentWeights)
    profile_ridge: float = 1.0
    item_ridge: float = 1.0
    als_factors: int = 64
    als_regularization: float = 0.05
    als_alpha: float = 2.0
    als_iterations: int = 15
    knn_neighbours: int = 100
    min_viewers_for_collab: int = 20          # fewer viewers than this: content and popularity only
    taste_half_life_days: float = 365.0       # how fast old events fade from a profile
    popularity_half_life_days: float = 365.0
    # blend weights, chosen on a validation split of MovieLens (see `tagger evaluate coldstart`)
    content_weight: float = 1.0
    content_history_half: float = 1.0         # content weight x n_u / (n_u + this)
    collab_weight: float = 1.0
    content_collab_weight: float = 0.0        # 0: the content -> factors regression is not even fitted
    factor_ridge: float = 10.0                # content -> ALS item factors (content_collab)
    knn_share: float = 0.5                    # of collab: item-kNN against ALS
    popularity_weight: float = 1.0
    user_history_half: float = 5.0
    item_history_half: float = 10.0
    popularity_history_half: float = 3.0
    freshness_weight: float = 0.3
    freshness_days: float = 30.0
    words_weight: float = 0.0                 # 0: the TF-IDF is not even built
    age_weight: float = 0.0                   # the evaluation's tuning sets it for held-out titles
    # re-rank
    diversity: float = 0.2                    # MMR trade-off: 0 = pure relevance
    exploration: float = 0.1                  # share of slots given to Thompson-sampled tag arms
    rerank_pool: int = 200
    full_scan_up_to: int = 10_000             # larger catalogs score a retrieved pool (ranked alike: see parts)
    candidates_per_part: int = 300
    ann_from: int = ANN_FROM_DEFAULT          # vector indexes: exact below this many titles, IVF from it

    @classmethod
    def from_dict(cls, data: dict) -> "RecommenderSettings":
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown recommender setting {unknown[0]!r} (valid: {', '.join(sorted(known))})")
        if "content" in data and isinstance(data["content"], dict):
            data["content"] = ContentWeights(**data["content"])
        return cls(**data)

    def part_weights(self, n_u):
        """The weight of each part (in PARTS order) for viewers with n_u titles in their history;
        n_u a number or an array of them."""
        return {"content": self.content_weight * n_u / (n_u + self.content_history_half),
                "collab": self.collab_weight * n_u / (n_u + self.user_history_half),
                "content_collab": self.content_collab_weight * n_u / (n_u + self.user_history_half),
                "popularity": self.popularity_weight * self.popularity_history_half
                / (self.popularity_history_half + n_u),
                "freshness": self.freshness_weight,
                "age": self.age_weight,
                "words": self.words_weight * n_u / (n_u + self.content_history_half)}


class Recommender(Queries):
    """fit on a catalog's titles and (optionally) viewing events; then similar, user, new_user."""

    def __init__(self, settings: RecommenderSettings | None = None):
        self.settings = settings or RecommenderSettings()

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, items: ItemTable, events: list[Event] | None = None, *, now_s: float | None = None) -> "Recommender":
        """Titles from the catalog; events from `read_events`. Unknown titles in events are skipped."""
        events = [e for e in (events or []) if e.title in items.index]
        now_s = now_s if now_s is not None else max([e.time_s for e in events], default=time.time())
        events = [e for e in events if e.time_s <= now_s]     # what happened after now_s is not known yet
        taste = affinities(events, now_s=now_s, half_life_days=self.settings.taste_half_life_days)
        self.user_ids = sorted(taste)
        rows, cols, vals = [], [], []
        for u, user in enumerate(self.user_ids):
            for title, weight in taste[user].items():
                rows.append(u)
                cols.append(items.index[title])
                vals.append(weight)
        signed = sp.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(self.user_ids), len(items)))
        likes = signed.maximum(0).tocsr()
        likes.eliminate_zeros()
        first_like = {}
        for e in sorted(events, key=lambda e: e.time_s):
            if e.kind not in FEEDBACK_KINDS:        # shown or opened is not watched
                first_like.setdefault((e.user, e.title), e)
        positive = [(items.index[t], e.time_s, taste[u][t], e.region) for (u, t), e in first_like.items()
                    if taste[u][t] > 0]
        self.user_regions = {e.user: e.region for e in events if e.region}
        self.unclicked = unclicked_impressions(events, now_s=now_s)     # for exploration
        self._fit(items, likes, signed,
                  np.array([p[0] for p in positive], np.int64), np.array([p[1] for p in positive], float),
                  np.array([p[2] for p in positive], float), np.array([p[3] for p in positive], dtype=object))
        return self

    def fit_matrix(self, items: ItemTable, likes: sp.csr_matrix, times_s: sp.csr_matrix | None = None) -> "Recommender":
        """From a (viewers, titles) matrix of likes, with when each happened (evaluation, pipelines)."""
        likes = likes.tocsr().astype(np.float32)
        self.user_ids = [str(u) for u in range(likes.shape[0])]
        self.user_regions, self.unclicked = {}, {}
        coo = likes.tocoo()
        when = np.asarray(times_s.tocsr()[coo.row, coo.col]).ravel() if times_s is not None else np.zeros(coo.nnz)
        self._fit(items, likes, likes, coo.col.astype(np.int64), when, coo.data.astype(float), None)
        return self

    def _fit(self, items, likes, signed, pop_items, pop_times, pop_weights, pop_regions) -> None:
        s = self.settings
        self._set_history(items, likes, signed)
        self.taste = TasteModel(s.profile_ridge, s.item_ridge).fit(self.content, likes)
        has_regions = pop_regions is not None and len(pop_regions) > 0
        self.popularity = Popularity(s.popularity_half_life_days).fit(
            pop_items, pop_times, pop_weights, len(items), pop_regions if has_regions else None)
        self.appeal = self._appeal()
        viewers = int((np.diff(likes.indptr) > 0).sum())
        self.als = self.knn = None
        if viewers >= s.min_viewers_for_collab:
            self.als = ItemFactors.of(fit_als(likes, factors=s.als_factors, regularization=s.als_regularization,
                                              alpha=s.als_alpha, iterations=s.als_iterations, random_state=0))
            self.knn = item_cosine(likes, s.knn_neighbours)
        self._prepare_queries()

    def _set_history(self, items: ItemTable, likes: sp.csr_matrix, signed: sp.csr_matrix) -> None:
        """The titles, who liked them, and what follows from those alone: at fit and at load."""
        self.items = items
        self.likes, self.signed = likes, signed
        self.content, self.layout = content_matrix(items, self.settings.content)
        self.item_viewers = np.diff(likes.tocsc().indptr).astype(float)

    def _prepare_queries(self) -> None:
        """What queries derive from the fitted arrays: after fit, and after load."""
        s = self.settings
        self.unit_content = unit(self.content[:, :-1])
        self._content_index = self._indexes = self._catalog_columns = self._catalog_rows = None
        if len(self.items) > s.full_scan_up_to:
            self._pool_indexes()        # built now, not in the first query (4 s at 100k titles)
        self._newest = np.argsort(-self.items.added_s, kind="stable")
        self._genre_names = genre_names(self.items)     # the genres block's columns, in order
        # What sets the scale of each part over the whole catalog (parts, catalog_scale).
        self._content_moments = moments(self.content)
        self._als_moments = moments(self.als.item_factors) if self.als is not None else None
        self._appeal_scale = float(self.appeal.mean()), float(self.appeal.std())
        self.age = AgePrior().fit(self.items.year, self.popularity.items, self.popularity.times_s)
        # Parts weighted 0 are not built (a regression over every title's content at 100k titles).
        self.words = SynopsisWords(self.items) if s.words_weight > 0 else None
        self.content_factors = None
        if self.als is not None and s.content_collab_weight > 0:
            self.content_factors = factors_from_content(self.content, self.als.item_factors, self.item_viewers,
                                                        s.factor_ridge)
            self._content_factor_moments = moments(self.content_factors)

    # -- saving ---------------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """The fitted model as named arrays and JSON-able parameters, part by part (each part's
        arrays behind its name); `from_arrays` rebuilds it. Content vectors and what queries
        derive from the parts are rebuilt, not stored."""
        arrays = {"appeal": self.appeal}
        params = {"settings": asdict(self.settings), "users": {"ids": self.user_ids, "regions": self.user_regions,
                                                             "unclicked": self.unclicked}}
        for name, part in (("items", self.items), ("taste", self.taste), ("popularity", self.popularity),
                           ("als", self.als)):
            part_arrays, params[name] = part.to_arrays() if part is not None else ({}, None)
            arrays.update(prefixed(name, part_arrays))
        for name, matrix in (("likes", self.likes), ("signed", self.signed), ("knn", self.knn)):
            if matrix is not None:
                arrays.update(prefixed(name, sparse_arrays(matrix)))
        return arrays, params

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> "Recommender":
        model = cls(RecommenderSettings.from_dict(params["settings"]))
        model.user_ids, model.user_regions = params["users"]["ids"], params["users"]["regions"]
        model.unclicked = params["users"].get("unclicked", {})      # absent from models saved before it
        model._set_history(ItemTable.from_arrays(unprefixed("items", arrays), params["items"]),
                           sparse_matrix(unprefixed("likes", arrays)), sparse_matrix(unprefixed("signed", arrays)))
        model.taste = TasteModel.from_arrays(unprefixed("taste", arrays), params["taste"])
        model.popularity = Popularity.from_arrays(unprefixed("popularity", arrays), params["popularity"])
        model.appeal = arrays["appeal"]
        model.als = None if params["als"] is None else ItemFactors.from_arrays(unprefixed("als", arrays), params["als"])
        knn = unprefixed("knn", arrays)
        model.knn = sparse_matrix(knn) if knn else None
        model._prepare_queries()
        return model

    def save(self, folder) -> Path:
        """Writes the fitted model to `folder`: model.json and arrays.npz, no pickle. Fitting reads
        every event (21 s at 100k titles); a saved model answers from the next process at once."""
        return write_folder(folder, FORMAT, VERSION, *self.to_arrays())

    @classmethod
    def load(cls, folder) -> "Recommender":
        """A model written by `save`, answering as it did; InputError naming the file for anything
        else (a model saved by an older tagger: fit it again)."""
        arrays, params = read_folder(folder, FORMAT, VERSION)
        try:
            return cls.from_arrays(arrays, params)
        except KeyError as error:      # from_arrays reads the files by name: one they should hold
            raise InputError(folder, f"incomplete saved model: no {error.args[0]!r}; fit the model again") from error

    def _appeal(self) -> np.ndarray:
        """Popularity predicted from content (ridge on titles with viewers): the prior of a title
        nobody has watched yet."""
        seen = self.item_viewers > 0
        if seen.sum() < 2:
            return np.zeros(len(self.items))
        X = self.content[seen].astype(np.float64)
        target = np.log1p(self.item_viewers[seen])
        w = np.linalg.solve(X.T @ X + self.settings.item_ridge * np.eye(X.shape[1]), X.T @ (target - target.mean()))
        return self.content @ w

    # -- scoring --------------------------------------------------------------------------
    def query_inputs(self, histories: list[np.ndarray], weights: list[np.ndarray] | None = None,
                     extra_profiles: np.ndarray | None = None) -> QueryInputs:
        profiles = profile_vectors(self.content, histories, weights, extra_profiles)
        if self.als is None:
            return QueryInputs(self.taste.queries(profiles), None, None)
        # Rows first: the viewers' few rows of the kNN matrix (slicing the candidates' columns
        # of the whole matrix instead costs ~10 ms at 100k titles).
        return QueryInputs(self.taste.queries(profiles), history_matrix(histories, len(self.items)) @ self.knn,
                           fold_in(self.als, histories, len(self.items)))

    def parts(self, histories: list[np.ndarray], candidates: np.ndarray, *, now_s=None,
              weights: list[np.ndarray] | None = None, extra_profiles: np.ndarray | None = None,
              regions: list[str | None] | None = None, inputs: QueryInputs | None = None,
              catalog_scale: bool = False) -> dict[str, np.ndarray]:
        """z-scored parts per (query, candidate), before weighting; see the module docstring.

        Each part is standardised over the candidates, or with `catalog_scale` over every title
        in the catalog (exactly, from means and covariances kept at fit, without scoring every
        title): a retrieved candidate pool then ranks as a scan of the whole catalog would."""
        n = len(histories)
        now = np.full(n, np.nan) if now_s is None else np.broadcast_to(np.asarray(now_s, float), (n,))
        inputs = inputs or self.query_inputs(histories, weights, extra_profiles)
        scale = moments_scale(inputs.taste, *self._content_moments) if catalog_scale else (None, None)
        everything = len(candidates) == len(self.items) and bool(np.all(candidates == np.arange(len(self.items))))

        def rows(matrix):       # no copy of the whole matrix when every title is a candidate
            return matrix if everything else matrix[candidates]

        out = {"content": zscore(inputs.taste @ rows(self.content).T, *scale)}
        collab = np.zeros((n, len(candidates)), np.float32)
        trust = self.item_viewers[candidates] / (self.item_viewers[candidates] + self.settings.item_history_half)
        if self.als is not None:
            knn_scale = sparse_scale(inputs.near) if catalog_scale else (None, None)
            als_scale = moments_scale(inputs.factors, *self._als_moments) if catalog_scale else (None, None)
            s = self.settings
            collab = (s.knn_share * zscore(inputs.near[:, candidates].toarray(), *knn_scale)
                      + (1 - s.knn_share) * zscore(inputs.factors @ rows(self.als.item_factors).T, *als_scale))
            collab = collab * trust[None, :]
        out["collab"] = collab
        out["content_collab"] = np.zeros((n, len(candidates)))
        if self.content_factors is not None:
            mapped_scale = (moments_scale(inputs.factors, *self._content_factor_moments) if catalog_scale
                            else (None, None))
            mapped = zscore(inputs.factors @ rows(self.content_factors).T, *mapped_scale)
            out["content_collab"] = mapped * (1 - trust[None, :])
        regions = regions or [None] * n
        pop = np.stack([self.popularity.scores(now[u], regions[u])[candidates] for u in range(n)])
        appeal = self.appeal[candidates][None, :]
        if catalog_scale:
            pop_scale = np.array([self.popularity.scale(now[u], regions[u]) for u in range(n)])
            pop, appeal = zscore(pop, pop_scale[:, :1], pop_scale[:, 1:]), zscore(appeal, *self._appeal_scale)
        else:
            pop, appeal = zscore(pop), zscore(appeal)
        out["popularity"] = trust[None, :] * pop + (1 - trust[None, :]) * appeal
        out["freshness"] = self._freshness(candidates, now)
        out["words"] = np.zeros((n, len(candidates)))
        if self.words is not None:
            words = self.words.scores(histories, candidates)
            every = self.words.scores(histories, np.arange(len(self.items))) if catalog_scale else None
            out["words"] = zscore(words, *((every.mean(axis=1, keepdims=True), every.std(axis=1, keepdims=True))
                                           if catalog_scale else (None, None)))
        age = self.age.scores(candidates, now)
        if catalog_scale:
            every = self.age.scores(np.arange(len(self.items)), now)
            out["age"] = zscore(age, every.mean(axis=1, keepdims=True), every.std(axis=1, keepdims=True))
        else:
            out["age"] = zscore(age)
        out["history_size"] = np.array([len(h) for h in histories], float)
        out["released"] = self._released(candidates, now)
        return out

    def blend(self, parts: dict[str, np.ndarray], settings: RecommenderSettings | None = None) -> np.ndarray:
        """Each part times its weight for the viewer's history size (settings.part_weights), summed;
        titles not released at the query time get -inf."""
        weights = (settings or self.settings).part_weights(parts["history_size"][:, None])
        total = sum(weights[name] * parts[name] for name in PARTS)
        return np.where(parts["released"], total, -np.inf)

    def catalog_scores(self, histories: list[np.ndarray], *, now_s: float, weights=None, regions=None,
                       extra_profiles: np.ndarray | None = None, history_size: np.ndarray | None = None,
                       dtype=np.float64) -> np.ndarray:
        """(len(histories), titles): blend(parts(histories, every title, catalog_scale=True)) at
        one query time, as one matrix product (each part's z-score is linear in the title's
        vectors) plus the item-kNN part's few entries: pages for many viewers at once. The
        product in float32 is twice as fast, within ~1e-5 (the home page ranks with it)."""
        n, n_items = len(histories), len(self.items)
        size = np.array([len(h) for h in histories], float) if history_size is None else np.asarray(history_size, float)
        s = self.settings
        if s.content_collab_weight or s.age_weight or s.words_weight:
            # Parts the one product does not hold: the plain blend over every title (slower, the same scores).
            parts = self.parts(histories, np.arange(n_items), now_s=now_s, weights=weights, regions=regions,
                               extra_profiles=extra_profiles, catalog_scale=True)
            parts["history_size"] = size
            return self.blend(parts).astype(dtype, copy=False)
        inputs = self.query_inputs(histories, weights, extra_profiles)
        w = self.settings.part_weights(size)

        def over(scale):          # 1 / std, 0 where zscore gives zeros
            return np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 1e-12).ravel()

        mean, std = moments_scale(inputs.taste, *self._content_moments)
        left = [(w["content"] * over(std))[:, None] * inputs.taste]
        constant = -w["content"] * over(std) * mean.ravel()
        trust = self.item_viewers / (self.item_viewers + self.settings.item_history_half)
        near = None
        if self.als is not None:
            share = self.settings.knn_share
            knn_mean, knn_std = sparse_scale(inputs.near)
            als_mean, als_std = moments_scale(inputs.factors, *self._als_moments)
            knn_w, als_w = w["collab"] * share * over(knn_std), w["collab"] * (1 - share) * over(als_std)
            left += [als_w[:, None] * inputs.factors, -(knn_w * knn_mean.ravel() + als_w * als_mean.ravel())[:, None]]
            near = sp.diags(knn_w) @ inputs.near.tocsr() @ sp.diags(trust)
        if getattr(self, "_catalog_columns", None) is None:     # the titles' side of the product, once
            parts = [self.content] + ([trust[:, None] * self.als.item_factors, trust[:, None]] if near is not None else [])
            self._catalog_columns = np.hstack(parts).astype(np.float64).T.copy()
        # Popularity (one row of the catalog per region) and freshness are rows of the product too.
        regions = list(regions or [None] * n)
        places = {region: i for i, region in enumerate(dict.fromkeys(regions))}
        popular = np.zeros((n, len(places)))
        popular[np.arange(n), [places[r] for r in regions]] = w["popularity"]
        left += [constant[:, None], popular, np.broadcast_to(np.asarray(w["freshness"], float), (n,))[:, None]]
        total = np.hstack(left).astype(dtype) @ self._catalog_rows_at(now_s, list(places), trust, dtype)
        every = np.arange(n_items)
        if near is not None:
            near.sum_duplicates()
            total[np.repeat(np.arange(n), np.diff(near.indptr)), near.indices] += near.data
        total[:, ~self._released(every, np.array([now_s], float))[0]] = -np.inf
        return total

    def _catalog_rows_at(self, now_s: float, regions: list, trust: np.ndarray, dtype=np.float64) -> np.ndarray:
        """catalog_scores' title side at a query time: the fitted columns, then a row of ones
        (the constant), each region's popularity part and the freshness (cached for the last
        time and regions asked: a batch of pages asks the same for every chunk)."""
        key = (now_s, tuple(regions), np.dtype(dtype))
        cached = getattr(self, "_catalog_rows", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        appeal = zscore(self.appeal[None, :], *self._appeal_scale)[0]
        rows = [self._catalog_columns, np.ones((1, len(self.items)))]
        for region in regions:
            pop = zscore(self.popularity.scores(now_s, region)[None, :], *self.popularity.scale(now_s, region))[0]
            rows.append((trust * pop + (1 - trust) * appeal)[None, :])
        rows.append(self._freshness(np.arange(len(self.items)), np.array([now_s], float)))
        self._catalog_rows = (key, np.vstack(rows).astype(dtype, copy=False))
        return self._catalog_rows[1]

    def score(self, histories: list[np.ndarray], candidates: np.ndarray, *, now_s=None) -> np.ndarray:
        """(len(histories), len(candidates)) blended scores, in the argument order every scorer
        of the evaluation takes; now_s per query or one for all (None or NaN: no query time)."""
        return self.blend(self.parts(histories, candidates, now_s=now_s))

    def _freshness(self, candidates, now) -> np.ndarray:
        """1 for a title added just now, fading over freshness_days; 0 for the rest."""
        added = self.items.added_s[candidates]
        ref = np.where(np.isfinite(now), now, time.time())[:, None]
        age_days = np.maximum(ref - added[None, :], 0) / 86400.0
        return np.exp(-age_days / self.settings.freshness_days) * (added[None, :] > 0)

    def _released(self, candidates, now) -> np.ndarray:
        """Titles whose release year is after the query's year are not out yet."""
        year = self.items.year[candidates]
        ref_year = np.array([dt.datetime.fromtimestamp(t, dt.timezone.utc).year if np.isfinite(t) else 9999
                             for t in now], float)[:, None]
        return ~(np.isfinite(year)[None, :] & (year[None, :] > ref_year))
