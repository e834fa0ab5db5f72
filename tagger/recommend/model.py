"""The recommender: content taste, collaborative signals, popularity and freshness, blended.

A candidate's score adds z-scored parts (each standardised over the candidates of one query):

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
"""
from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass, field, fields

import numpy as np
import scipy.sparse as sp

from tagger.recommend.collab import fit_als, fold_in, history_matrix, item_cosine
from tagger.recommend.content import ContentWeights, TasteModel, content_matrix, profile_vectors
from tagger.recommend.events import Event, affinities
from tagger.recommend.index import VectorIndex
from tagger.recommend.items import ItemTable
from tagger.recommend.popularity import Popularity
from tagger.recommend.rank import explore, mmr, shared_tags

PARTS = ("content", "collab", "popularity", "freshness")


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
    full_scan_up_to: int = 20_000             # larger catalogs score a retrieved candidate pool
    candidates_per_part: int = 300

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
        pool = self.items.rows(hits.ids)
        collab_row = self.knn[row] if self.knn is not None and self.item_viewers[row] > 0 else None
        if collab_row is not None:
            pool = np.union1d(pool, collab_row.indices[collab_row.indices != row])
        relevance = self.unit_content[pool] @ self.unit_content[row]
        if collab_row is not None:
            collab = collab_row[:, pool].toarray().ravel()
            trust = self.item_viewers[pool] / (self.item_viewers[pool] + self.settings.item_history_half)
            relevance = _z(relevance[None, :])[0] + self.settings.collab_weight * trust * _z(collab[None, :])[0]
        picks = mmr(relevance, self.unit_content[pool], k, self.settings.diversity)
        tags = self.items.tags
        out = []
        for p in picks:
            title = int(pool[p])
            reasons = []
            shared = shared_tags(tags[row].toarray().ravel(), tags[title].toarray().ravel(), self.items.tag_labels)
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
            raise KeyError(f"unknown user {user!r}: no events for them in the interactions file")
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
            self._content_index = VectorIndex(self.items.ids, self.unit_content)
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
        genres = {g.lower() for gs in self.items.genres for g in gs}
        wanted = set()
        for name in tags:
            key = name.strip().lower()
            if key not in by_name and key not in genres:
                some = ", ".join(sorted(self.items.tag_ids)[:12])
                raise KeyError(f"unknown tag {name!r}: no title in the catalog carries it (some that do: {some})")
            wanted.add(by_name.get(key, key))
        row = np.zeros(self.content.shape[1], np.float32)
        if "tags" in self.layout:
            block = np.array([1.0 if t.lower() in wanted else 0.0 for t in self.items.tag_ids], np.float32)
            if block.any():
                row[self.layout["tags"]] = block / np.linalg.norm(block) * np.sqrt(self.settings.content.tags)
        if "genres" in self.layout:
            from tagger.recommend.content import genre_matrix

            _, names = genre_matrix(self.items)
            block = np.array([1.0 if g.lower() in wanted else 0.0 for g in names], np.float32)
            if block.any():
                row[self.layout["genres"]] = block / np.linalg.norm(block) * np.sqrt(self.settings.content.genres)
        return row[None, :]

    def _recommend(self, liked, weights, seen, *, k, now_s, region, seed_key, extra=None, disliked=(),
                   chosen_tags=()) -> list[Recommendation]:
        s = self.settings
        now_s = time.time() if now_s is None else now_s      # no time given: now (release, popularity)
        liked = np.asarray(liked, np.int64)
        candidates = self._candidates(liked, np.asarray(weights, float), extra, now_s, region)
        history_size = len(liked) + (1 if extra is not None else 0)
        parts = self.parts([liked], candidates, now_s=now_s, weights=[np.asarray(weights)],
                           extra_profiles=extra, regions=[region])
        parts["history_size"] = np.array([float(history_size)])
        total = self.blend(parts)[0]
        total[np.isin(candidates, np.asarray(seen, np.int64))] = -np.inf
        head = np.argsort(-total, kind="stable")[:max(k, s.rerank_pool)]
        head = head[np.isfinite(total[head])]              # positions in `candidates`
        pool = candidates[head]                            # title rows
        order = mmr(total[head], self.unit_content[pool], k, s.diversity)
        picked = set(order)
        order += [i for i in range(len(pool)) if i not in picked]   # the rest, by relevance
        tags = self.items.tags
        liked_tags = np.asarray(tags[liked].sum(axis=0)).ravel() if len(liked) else np.zeros(tags.shape[1])
        disliked_tags = np.asarray(tags[list(disliked)].sum(axis=0)).ravel() if len(disliked) else np.zeros(tags.shape[1])
        # Same viewer, same day, same draws: crc32, not hash(), which changes with every process.
        rng = np.random.default_rng(zlib.crc32(f"{seed_key}|{int(now_s // 86400)}".encode()))
        order, explored = explore(order, tags[pool], liked_tags, disliked_tags, s.exploration, rng, k)
        weights_now = self._part_weights(history_size)
        out = []
        for p in order:
            title, position = int(pool[p]), int(head[p])
            contributions = {name: float(weights_now[name] * parts[name][0, position]) for name in PARTS}
            reasons = self._reasons(title, liked, contributions, region, chosen_tags)
            if p in explored:
                reasons.insert(0, f"exploring: {self.items.tag_labels[explored[p]]}")
            out.append(self._recommendation(title, float(total[position]), reasons, contributions))
        return out

    def _candidates(self, liked, weights, extra, now_s, region) -> np.ndarray:
        """Every title in a small catalog; in a large one, the union of the best few hundred by
        each part (taste-model search through the index, popularity, ALS and co-viewing,
        the newest), which the full blend then ranks."""
        n = len(self.items)
        if n <= self.settings.full_scan_up_to:
            return np.arange(n)
        size = self.settings.candidates_per_part
        profile = profile_vectors(self.content, [liked], [weights], extra)[0]
        found = [self.items.rows(self.taste_index.search(profile @ self.taste.S, size)[0].ids),
                 _top(self.popularity.scores(now_s, region), size),
                 self._newest[:size]]
        if self.als is not None and len(liked):
            found.append(_top(fold_in(self.als, [liked], n)[0] @ self.als.item_factors.T, size))
            found.append((history_matrix([liked], n) @ self.knn).indices)
        return np.unique(np.concatenate(found).astype(np.int64))

    @property
    def taste_index(self) -> VectorIndex:
        """Content rows (bias included) for retrieving by the taste model's query p' S."""
        if getattr(self, "_taste_index", None) is None:
            self._taste_index = VectorIndex(self.items.ids, self.content)
        return self._taste_index

    def _part_weights(self, n_u: float) -> dict[str, float]:
        s = self.settings
        return {"content": s.content_weight * n_u / (n_u + s.content_history_half),
                "collab": s.collab_weight * n_u / (n_u + s.user_history_half),
                "popularity": s.popularity_weight * s.popularity_history_half / (s.popularity_history_half + n_u),
                "freshness": s.freshness_weight}

    def _reasons(self, title, liked, contributions, region, chosen_tags) -> list[str]:
        reasons = []
        if len(liked):
            closeness = self.unit_content[liked] @ self.unit_content[title]
            if self.knn is not None:
                closeness = closeness + self.knn[liked][:, title].toarray().ravel()
            anchor = int(liked[int(np.argmax(closeness))])
            reasons.append(f"because you liked {self.items.titles[anchor]}")
            profile_tags = self._profile_tags(tuple(int(x) for x in liked))
            shared = shared_tags(profile_tags, self.items.tags[title].toarray().ravel(), self.items.tag_labels)
            if shared:
                reasons.append("shares: " + ", ".join(shared))
        if chosen_tags:
            picked = {t.lower() for t in chosen_tags}
            mine = [self.items.tag_labels[i] for i in self.items.tags[title].indices
                    if self.items.tag_ids[i].lower() in picked or self.items.tag_labels[i].lower() in picked]
            mine += [g for g in self.items.genres[title] if g.lower() in picked and g not in mine]
            mine = list(dict.fromkeys(mine))
            if mine:
                reasons.append("matches your picks: " + ", ".join(mine[:3]))
        if contributions["popularity"] > 0.5 and self.item_viewers[title] > 0:
            reasons.append(f"popular in {region}" if region else "popular now")
        if contributions["freshness"] > 0.1:
            reasons.append("new in the catalog")
        return reasons or ["popular now"]

    def _profile_tags(self, liked: tuple[int, ...]) -> np.ndarray:
        """Strongest confidence of each tag over the liked titles (cached for one query's reasons)."""
        if getattr(self, "_profile_tags_for", (None,))[0] != liked:
            value = np.asarray(self.items.tags[list(liked)].max(axis=0).todense()).ravel()
            self._profile_tags_for = (liked, value)
        return self._profile_tags_for[1]

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
        self.items = items
        self.likes, self.signed = likes, signed
        self.content, self.layout = content_matrix(items, s.content)
        self.taste = TasteModel(s.profile_ridge, s.item_ridge).fit(self.content, likes)
        self.popularity = Popularity(s.popularity_half_life_days).fit(
            pop_items, pop_times, pop_weights, len(items), pop_regions if pop_regions is not None and len(pop_regions) else None)
        self.item_viewers = np.diff(likes.tocsc().indptr).astype(float)
        self.appeal = self._appeal()
        viewers = int((np.diff(likes.indptr) > 0).sum())
        self.als = self.knn = None
        if viewers >= s.min_viewers_for_collab:
            self.als = fit_als(likes, factors=s.als_factors, regularization=s.als_regularization,
                               alpha=s.als_alpha, iterations=s.als_iterations, random_state=0)
            self.knn = item_cosine(likes, s.knn_neighbours)
        unit = self.content[:, :-1]
        norms = np.linalg.norm(unit, axis=1, keepdims=True)
        self.unit_content = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
        self._content_index = self._taste_index = None
        self._newest = np.argsort(-self.items.added_s, kind="stable")

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
    def parts(self, histories: list[np.ndarray], candidates: np.ndarray, *, now_s=None,
              weights: list[np.ndarray] | None = None, extra_profiles: np.ndarray | None = None,
              regions: list[str | None] | None = None) -> dict[str, np.ndarray]:
        """z-scored parts per (query, candidate), before weighting; see the module docstring."""
        n = len(histories)
        now = np.full(n, np.nan) if now_s is None else np.broadcast_to(np.asarray(now_s, float), (n,))
        profiles = profile_vectors(self.content, histories, weights, extra_profiles)
        out = {"content": _z(self.taste.profile_scores(profiles, self.content[candidates]))}
        collab = np.zeros((n, len(candidates)), np.float32)
        if self.als is not None:
            knn = (history_matrix(histories, len(self.items)) @ self.knn[:, candidates]).toarray()
            als = fold_in(self.als, histories, len(self.items)) @ self.als.item_factors[candidates].T
            s = self.settings
            collab = s.knn_share * _z(knn) + (1 - s.knn_share) * _z(als)
            trust = self.item_viewers[candidates] / (self.item_viewers[candidates] + s.item_history_half)
            collab = collab * trust[None, :]
        out["collab"] = collab
        pop = np.zeros((n, len(candidates)))
        regions = regions or [None] * n
        cache = {}
        for u in range(n):
            key = (None if not np.isfinite(now[u]) else float(now[u]), regions[u])
            if key not in cache:
                cache[key] = self.popularity.scores(key[0], key[1])[candidates]
            pop[u] = cache[key]
        trust = self.item_viewers[candidates] / (self.item_viewers[candidates] + self.settings.item_history_half)
        out["popularity"] = trust[None, :] * _z(pop) + (1 - trust[None, :]) * _z(self.appeal[candidates][None, :])
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

    def score(self, histories, candidates, **kwargs) -> np.ndarray:
        return self.blend(self.parts(histories, candidates, **kwargs))

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


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    return np.argpartition(-scores, k - 1)[:k] if k else np.zeros(0, np.int64)


def _z(scores: np.ndarray) -> np.ndarray:
    """Standardise each row; a constant row becomes zeros."""
    scores = np.asarray(scores, np.float64)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 1e-12)

