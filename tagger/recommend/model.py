"""The recommender: content taste, collaborative signals, popularity and freshness, blended.

A candidate's score adds z-scored parts (each standardised over the whole catalog for the
query's viewer, or in `parts` over the candidates given, as the evaluation ranks held-out titles):

    content     the taste model's affinity of the viewer's profile for the title
    collab      ALS (fold-in) and item-item similarity to the viewer's titles, trusted in
                proportion to the title's own history: n_i / (n_i + item_history_half)
    popularity  faded interaction mass before the query time, regional where known
    freshness   titles added to the catalog recently

with weights that move from popularity to content and collaborative as the viewer's
history n_u grows: content x n_u / (n_u + content_history_half), collab x n_u /
(n_u + user_history_half), popularity x popularity_history_half / (popularity_history_half
+ n_u). Then diversity (maximal marginal relevance) and exploration (Thompson sampling over
tag arms) re-rank the head.

A catalog past `full_scan_up_to` titles is not scored title by title: each query retrieves a
candidate pool (the best few hundred by the taste model, through an inner-product index, by
ALS, by co-viewing, by popularity, and the newest) and scores that. Since the parts are
standardised over the catalog (from moments kept at fit), a title in the pool gets the score a
full scan would give it, so the pool ranks as the scan would whenever it holds the scan's top.
"""
from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from tagger.errors import InputError, UnknownIdError
from tagger.recommend.collab import ItemFactors, fit_als, fold_in, history_matrix, item_cosine
from tagger.recommend.content import ContentWeights, TasteModel, content_matrix, genre_names, profile_vectors
from tagger.recommend.events import Event, affinities
from tagger.recommend.index import ANN_FROM_DEFAULT, InnerProductIndex, VectorIndex
from tagger.recommend.items import ItemTable
from tagger.recommend.popularity import Popularity
from tagger.recommend.rank import explore, mmr, shared_tags
from tagger.recommend.saved import prefixed, read_folder, sparse_arrays, sparse_matrix, unprefixed, write_folder

PARTS = ("content", "collab", "popularity", "freshness")
FORMAT, VERSION = "tagger.recommend.Recommender", 2     # 2: each part's own arrays; content rebuilt on load


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
    knn_share: float = 0.5                    # of collab: item-kNN against ALS
    popularity_weight: float = 1.0
    user_history_half: float = 5.0
    item_history_half: float = 10.0
    popularity_history_half: float = 3.0
    freshness_weight: float = 0.3
    freshness_days: float = 30.0
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


class QueryInputs(NamedTuple):
    """What scoring needs from each viewer's history, computed once per query."""
    taste: np.ndarray                   # (n, d) taste-model queries: affinity = taste . content row
    near: sp.csr_matrix | None          # (n, titles) summed item-kNN similarity to the history
    factors: np.ndarray | None          # (n, f) ALS factors folded in from the history


@dataclass
class Recommendation:
    title_id: str
    title: str
    score: float
    reasons: list[str]
    parts: dict[str, float]

    def to_dict(self) -> dict:
        return {"id": self.title_id, "title": self.title, "score": round(self.score, 4),
                "reasons": self.reasons, "parts": {k: round(v, 4) for k, v in self.parts.items()}}


class Queries:
    """Queries on a fitted Recommender (kept apart from fitting and scoring for reading);
    each recommendation carries its reasons."""

    def similar(self, title_id: str, k: int = 10) -> list[Recommendation]:
        """Titles like this one: content cosine, plus item-item similarity where viewers exist."""
        row = int(self.items.rows([title_id])[0])
        # Candidates: the nearest content vectors (exact, or IVF in large catalogs) and the
        # title's co-viewed neighbours; the blend and re-rank work on that pool only.
        hits = self.content_index.search(self.unit_content[row], max(k, self.settings.rerank_pool),
                                         exclude={title_id})[0]
        pool = hits.rows
        collab_row = self.knn[row] if self.knn is not None and self.item_viewers[row] > 0 else None
        if collab_row is not None:
            pool = np.union1d(pool, collab_row.indices[collab_row.indices != row])
        relevance = self.unit_content[pool] @ self.unit_content[row]
        if collab_row is not None:
            collab = collab_row[:, pool].toarray().ravel()
            trust = self.item_viewers[pool] / (self.item_viewers[pool] + self.settings.item_history_half)
            relevance = _z(relevance[None, :])[0] + self.settings.collab_weight * trust * _z(collab[None, :])[0]
        picks = mmr(relevance, self.unit_content[pool], k, self.settings.diversity)
        own_tags, *pick_tags = self.items.tag_rows([row] + [int(pool[p]) for p in picks])
        out = []
        for p, title_tags in zip(picks, pick_tags):
            title = int(pool[p])
            reasons = []
            shared = shared_tags(own_tags, title_tags, self.items.tag_labels)
            if shared:
                reasons.append("shares: " + ", ".join(shared))
            genres = [g for g in self.items.genres[title] if g in self.items.genres[row]]
            if genres and not shared:
                reasons.append("same genres: " + ", ".join(genres[:3]))
            reasons.append(f"content similarity {float(self.unit_content[row] @ self.unit_content[title]):.2f}")
            out.append(self._recommendation(title, float(relevance[p]), reasons, {}))
        return out

    def recommend_user(self, user: str, k: int = 10, *, now_s: float | None = None,
                       region: str | None = None) -> list[Recommendation]:
        """A viewer with events in the fitted data; titles they liked or disliked are left out."""
        if user not in self._user_index:
            raise UnknownIdError("user", user, "no events for them in the interactions file")
        u = self._user_index[user]
        signed = self.signed[u]
        liked = signed.indices[signed.data > 0]
        weights = signed.data[signed.data > 0]
        seen = signed.indices
        return self._recommend(liked, weights, seen, k=k, now_s=now_s,
                               region=region or self.user_regions.get(user), seed_key=user,
                               disliked=signed.indices[signed.data < 0])

    def recommend_new_user(self, likes: list[str] = (), tags: list[str] = (), *, region: str | None = None,
                           k: int = 10, now_s: float | None = None) -> list[Recommendation]:
        """Zero to a few liked titles and chosen tags at sign-up; popularity is the prior."""
        liked = self.items.rows(likes) if likes else np.zeros(0, np.int64)
        extra = None
        if tags:
            extra = self._tag_profile(tags)
        return self._recommend(liked, np.ones(len(liked)), liked, k=k, now_s=now_s, region=region,
                               seed_key="new:" + ",".join(list(likes) + list(tags)), extra=extra, chosen_tags=tags)

    def recommend_users(self, users: list[str], k: int = 10, **kwargs) -> dict[str, list[Recommendation]]:
        """Batch form of recommend_user."""
        return {user: self.recommend_user(user, k, **kwargs) for user in users}

    # -- internals --------------------------------------------------------------------------
    @property
    def content_index(self) -> VectorIndex:
        """Content vectors for nearest-neighbour search, built on first use."""
        if getattr(self, "_content_index", None) is None:
            self._content_index = VectorIndex(self.items.ids, self.unit_content, ann_from=self.settings.ann_from)
        return self._content_index

    @property
    def _user_index(self) -> dict[str, int]:
        if not hasattr(self, "_users"):
            self._users = {u: i for i, u in enumerate(self.user_ids)}
        return self._users

    def _tag_profile(self, tags: list[str]) -> np.ndarray:
        """A pseudo-title carrying the chosen tags (and genres of the same name), as a content row.
        Tags match by id or label, case-insensitively."""
        by_name = {}
        for tag_id, label in zip(self.items.tag_ids, self.items.tag_labels):
            by_name[tag_id.lower()] = by_name[label.lower()] = tag_id.lower()
        genres = {g.lower() for g in self._genre_names}
        wanted = set()
        for name in tags:
            key = name.strip().lower()
            if key not in by_name and key not in genres:
                some = ", ".join(sorted(self.items.tag_ids)[:12])
                raise UnknownIdError("tag", name, f"no title in the catalog carries it (some that do: {some})")
            wanted.add(by_name.get(key, key))
        row = np.zeros(self.content.shape[1], np.float32)
        if "tags" in self.layout:
            block = np.array([1.0 if t.lower() in wanted else 0.0 for t in self.items.tag_ids], np.float32)
            if block.any():
                row[self.layout["tags"]] = block / np.linalg.norm(block) * np.sqrt(self.settings.content.tags)
        if "genres" in self.layout:
            block = np.array([1.0 if g.lower() in wanted else 0.0 for g in self._genre_names], np.float32)
            if block.any():
                row[self.layout["genres"]] = block / np.linalg.norm(block) * np.sqrt(self.settings.content.genres)
        return row[None, :]

    def _recommend(self, liked, weights, seen, *, k, now_s, region, seed_key, extra=None, disliked=(),
                   chosen_tags=()) -> list[Recommendation]:
        s = self.settings
        now_s = time.time() if now_s is None else now_s      # no time given: now (release, popularity)
        liked = np.asarray(liked, np.int64)
        inputs = self.query_inputs([liked], [np.asarray(weights, float)], extra)
        candidates = self._candidates(inputs, now_s, region)
        history_size = len(liked) + (1 if extra is not None else 0)
        parts = self.parts([liked], candidates, now_s=now_s, regions=[region], inputs=inputs, catalog_scale=True)
        parts["history_size"] = np.array([float(history_size)])
        total = self.blend(parts)[0]
        total[np.isin(candidates, np.asarray(seen, np.int64))] = -np.inf
        head = np.argsort(-total, kind="stable")[:max(k, s.rerank_pool)]
        head = head[np.isfinite(total[head])]              # positions in `candidates`
        pool = candidates[head]                            # title rows
        order = mmr(total[head], self.unit_content[pool], k, s.diversity)
        picked = set(order)
        order += [i for i in range(len(pool)) if i not in picked]   # the rest, by relevance
        liked_tags = self.items.tag_rows(liked).sum(axis=0)
        disliked_tags = self.items.tag_rows(np.asarray(disliked, np.int64)).sum(axis=0)
        # Same viewer, same day, same draws: crc32, not hash(), which changes with every process.
        rng = np.random.default_rng(zlib.crc32(f"{seed_key}|{int(now_s // 86400)}".encode()))
        order, explored = explore(order, self.items.tag_rows(pool), liked_tags, disliked_tags, s.exploration, rng, k)
        weights_now = self._part_weights(history_size)
        titles, positions = pool[order], head[order]
        contributions = [{name: float(weights_now[name] * parts[name][0, position]) for name in PARTS}
                         for position in positions]
        reasons = self._reasons(titles, liked, contributions, region, chosen_tags)
        out = []
        for p, title, position, mine, why in zip(order, titles, positions, contributions, reasons):
            if p in explored:
                why.insert(0, f"exploring: {self.items.tag_labels[explored[p]]}")
            out.append(self._recommendation(int(title), float(total[position]), why, mine))
        return out

    def _candidates(self, inputs: QueryInputs, now_s, region) -> np.ndarray:
        """Every title in a small catalog; in a large one, the union of the best few hundred by
        each part (taste-model search through the index, popularity, ALS and co-viewing,
        the newest), which the full blend then ranks."""
        n = len(self.items)
        if n <= self.settings.full_scan_up_to:
            return np.arange(n)
        size = self.settings.candidates_per_part
        taste_index, als_index = self._pool_indexes()
        # A pool only needs the head of each part: a quarter of the default IVF probes kept the
        # top 10 identical to a full scan at 100k titles (benchmarks/recommender_queries.py).
        found = [taste_index.search(inputs.taste[0], size, nprobe=max(1, taste_index.nprobe // 4))[0].rows,
                 self.popularity.top(size, now_s, region),
                 self._newest[:size]]
        if inputs.factors is not None and inputs.factors[0].any():
            found.append(als_index.search(inputs.factors[0], size, nprobe=max(1, als_index.nprobe // 4))[0].rows)
            found.append(inputs.near[0].indices)
        return np.unique(np.concatenate(found).astype(np.int64))

    def _pool_indexes(self) -> tuple[InnerProductIndex, InnerProductIndex | None]:
        """Largest-inner-product indexes over content rows (for the taste query p' S) and ALS item
        factors; built when a large catalog is fitted or loaded, else on first use."""
        if getattr(self, "_indexes", None) is None:
            ids = self.items.ids
            ann_from = self.settings.ann_from
            self._indexes = (InnerProductIndex(ids, self.content, ann_from=ann_from),
                             InnerProductIndex(ids, self.als.item_factors, ann_from=ann_from)
                             if self.als is not None else None)
        return self._indexes

    def _part_weights(self, n_u: float) -> dict[str, float]:
        s = self.settings
        return {"content": s.content_weight * n_u / (n_u + s.content_history_half),
                "collab": s.collab_weight * n_u / (n_u + s.user_history_half),
                "popularity": s.popularity_weight * s.popularity_history_half / (s.popularity_history_half + n_u),
                "freshness": s.freshness_weight}

    def _reasons(self, titles, liked, contributions, region, chosen_tags) -> list[list[str]]:
        """Why each title is shown: the liked title it is closest to, shared tags, the viewer's
        picks, popularity, freshness. All titles of one query at once (sparse slicing per title
        was most of a query's time)."""
        items = self.items
        title_tags = items.tag_rows(titles)
        out = [[] for _ in titles]
        if len(liked):
            closeness = self.unit_content[liked] @ self.unit_content[titles].T      # (liked, titles)
            if self.knn is not None:
                closeness = closeness + self.knn[liked][:, titles].toarray()
            anchors = liked[np.argmax(closeness, axis=0)]
            profile_tags = items.tag_rows(liked).max(axis=0)
            for why, anchor, tags in zip(out, anchors, title_tags):
                why.append(f"because you liked {items.titles[int(anchor)]}")
                shared = shared_tags(profile_tags, tags, items.tag_labels)
                if shared:
                    why.append("shares: " + ", ".join(shared))
        if chosen_tags:
            picked = {t.lower() for t in chosen_tags}
            for why, title, tags in zip(out, titles, title_tags):
                mine = [items.tag_labels[i] for i in np.flatnonzero(tags)
                        if items.tag_ids[i].lower() in picked or items.tag_labels[i].lower() in picked]
                mine += [g for g in items.genres[title] if g.lower() in picked]
                mine = list(dict.fromkeys(mine))
                if mine:
                    why.append("matches your picks: " + ", ".join(mine[:3]))
        for why, title, parts in zip(out, titles, contributions):
            if parts["popularity"] > 0.5 and self.item_viewers[title] > 0:
                why.append(f"popular in {region}" if region else "popular now")
            if parts["freshness"] > 0.1:
                why.append("new in the catalog")
            if not why:
                why.append("popular now")
        return out

    def _recommendation(self, title: int, score: float, reasons: list[str], parts: dict) -> Recommendation:
        return Recommendation(self.items.ids[title], self.items.titles[title], score, reasons, parts)



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
            first_like.setdefault((e.user, e.title), e)
        positive = [(items.index[t], e.time_s, taste[u][t], e.region) for (u, t), e in first_like.items()
                    if taste[u][t] > 0]
        self.user_regions = {e.user: e.region for e in events if e.region}
        self._fit(items, likes, signed,
                  np.array([p[0] for p in positive], np.int64), np.array([p[1] for p in positive], float),
                  np.array([p[2] for p in positive], float), np.array([p[3] for p in positive], dtype=object))
        return self

    def fit_matrix(self, items: ItemTable, likes: sp.csr_matrix, times_s: sp.csr_matrix | None = None) -> "Recommender":
        """From a (viewers, titles) matrix of likes, with when each happened (evaluation, pipelines)."""
        likes = likes.tocsr().astype(np.float32)
        self.user_ids = [str(u) for u in range(likes.shape[0])]
        self.user_regions = {}
        coo = likes.tocoo()
        when = np.asarray(times_s.tocsr()[coo.row, coo.col]).ravel() if times_s is not None else np.zeros(coo.nnz)
        self._fit(items, likes, likes, coo.col.astype(np.int64), when, coo.data.astype(float), None)
        return self

    def _fit(self, items, likes, signed, pop_items, pop_times, pop_weights, pop_regions) -> None:
        s = self.settings
        self._set_history(items, likes, signed)
        self.taste = TasteModel(s.profile_ridge, s.item_ridge).fit(self.content, likes)
        self.popularity = Popularity(s.popularity_half_life_days).fit(
            pop_items, pop_times, pop_weights, len(items), pop_regions if pop_regions is not None and len(pop_regions) else None)
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
        unit = self.content[:, :-1]
        norms = np.linalg.norm(unit, axis=1, keepdims=True)
        self.unit_content = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
        self._content_index = self._indexes = None
        if len(self.items) > s.full_scan_up_to:
            self._pool_indexes()        # built now, not in the first query (4 s at 100k titles)
        self._newest = np.argsort(-self.items.added_s, kind="stable")
        self._genre_names = genre_names(self.items)     # the genres block's columns, in order
        # What sets the scale of each part over the whole catalog (parts, catalog_scale).
        self._content_moments = _moments(self.content)
        self._als_moments = _moments(self.als.item_factors) if self.als is not None else None
        self._appeal_scale = float(self.appeal.mean()), float(self.appeal.std())

    # -- saving ---------------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """The fitted model as named arrays and JSON-able parameters, part by part (each part's
        arrays behind its name); `from_arrays` rebuilds it. Content vectors and what queries
        derive from the parts are rebuilt, not stored."""
        arrays = {"appeal": self.appeal}
        params = {"settings": asdict(self.settings), "users": {"ids": self.user_ids, "regions": self.user_regions}}
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
        except KeyError as error:      # only reading the files here: a name they should hold
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
        scale = _moments_scale(inputs.taste, *self._content_moments) if catalog_scale else (None, None)
        everything = len(candidates) == len(self.items) and bool(np.all(candidates == np.arange(len(self.items))))

        def rows(matrix):       # no copy of the whole matrix when every title is a candidate
            return matrix if everything else matrix[candidates]

        out = {"content": _z(inputs.taste @ rows(self.content).T, *scale)}
        collab = np.zeros((n, len(candidates)), np.float32)
        trust = self.item_viewers[candidates] / (self.item_viewers[candidates] + self.settings.item_history_half)
        if self.als is not None:
            knn_scale = _sparse_scale(inputs.near) if catalog_scale else (None, None)
            als_scale = _moments_scale(inputs.factors, *self._als_moments) if catalog_scale else (None, None)
            s = self.settings
            collab = (s.knn_share * _z(inputs.near[:, candidates].toarray(), *knn_scale)
                      + (1 - s.knn_share) * _z(inputs.factors @ rows(self.als.item_factors).T, *als_scale))
            collab = collab * trust[None, :]
        out["collab"] = collab
        regions = regions or [None] * n
        pop = np.stack([self.popularity.scores(now[u], regions[u])[candidates] for u in range(n)])
        appeal = self.appeal[candidates][None, :]
        if catalog_scale:
            pop_scale = np.array([self.popularity.scale(now[u], regions[u]) for u in range(n)])
            pop, appeal = _z(pop, pop_scale[:, :1], pop_scale[:, 1:]), _z(appeal, *self._appeal_scale)
        else:
            pop, appeal = _z(pop), _z(appeal)
        out["popularity"] = trust[None, :] * pop + (1 - trust[None, :]) * appeal
        out["freshness"] = self._freshness(candidates, now)
        out["history_size"] = np.array([len(h) for h in histories], float)
        out["released"] = self._released(candidates, now)
        return out

    def blend(self, parts: dict[str, np.ndarray], settings: RecommenderSettings | None = None) -> np.ndarray:
        s = settings or self.settings
        n_u = parts["history_size"][:, None]
        total = (s.content_weight * n_u / (n_u + s.content_history_half) * parts["content"]
                 + s.collab_weight * n_u / (n_u + s.user_history_half) * parts["collab"]
                 + s.popularity_weight * s.popularity_history_half / (s.popularity_history_half + n_u)
                 * parts["popularity"]
                 + s.freshness_weight * parts["freshness"])
        return np.where(parts["released"], total, -np.inf)

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


def _z(scores: np.ndarray, mean=None, std=None) -> np.ndarray:
    """Standardise each row, by its own mean and spread unless given; a constant row becomes zeros."""
    scores = np.asarray(scores, np.float64)
    if mean is None:
        mean, std = scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True)
    std = np.broadcast_to(np.asarray(std, np.float64), (scores.shape[0], 1))
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 1e-12)


def _moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the rows (float64), in blocks to bound memory."""
    mean = rows.mean(axis=0, dtype=np.float64)
    second = np.zeros((rows.shape[1], rows.shape[1]))
    for start in range(0, rows.shape[0], 65536):
        block = rows[start:start + 65536].astype(np.float64)
        second += block.T @ block
    return mean, second / max(rows.shape[0], 1) - np.outer(mean, mean)


def _moments_scale(queries: np.ndarray, mean: np.ndarray, covariance: np.ndarray):
    """Mean and standard deviation over all rows of `queries @ rows.T`, from the rows' moments."""
    queries = queries.astype(np.float64)
    variance = ((queries @ covariance) * queries).sum(axis=1)
    return (queries @ mean)[:, None], np.sqrt(np.maximum(variance, 0.0))[:, None]


def _sparse_scale(matrix: sp.csr_matrix):
    """Mean and standard deviation of each row of a sparse matrix, zeros included."""
    columns = matrix.shape[1]
    row_of_entry = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    data = matrix.data.astype(np.float64)
    mean = np.bincount(row_of_entry, data, minlength=matrix.shape[0])[:, None] / columns
    square = np.bincount(row_of_entry, data * data, minlength=matrix.shape[0])[:, None] / columns
    return mean, np.sqrt(np.maximum(square - mean ** 2, 0.0))
