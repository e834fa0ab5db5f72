"""Queries on a fitted Recommender: similar titles, a known viewer's row, a new viewer's row.

Each query blends the model's scored parts over its candidates (every title, or in a large
catalog a retrieved pool: see `_candidates`), then re-ranks the head for diversity (MMR) and
exploration (Thompson sampling over tag arms), and says why each title is there.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from tagger.errors import UnknownIdError
from tagger.recommend.index import InnerProductIndex, VectorIndex
from tagger.recommend.rank import explore, mmr, shared_tags
from tagger.recommend.standardise import zscore
from tagger.vectors import unit

# Impressions never opened count against exploring: each as this much of a dislike of the
# title's tags, and a title shown this many times unopened is not explored again.
IGNORED_WEIGHT = 0.1
IGNORED_ENOUGH = 5
MOOD_WEIGHT = 1.0           # score units a mood tag's full confidence adds (recommend_user, home pages)


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
    """The query half of Recommender, its base class: it reads what fit or load set (items,
    settings, content and unit_content, likes and signed, knn, popularity, user_ids...) and
    scores through the model's query_inputs, parts and blend. Each recommendation carries its
    reasons."""

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
            relevance = zscore(relevance[None, :])[0] + self.settings.collab_weight * trust * zscore(collab[None, :])[0]
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
                       region: str | None = None, mood: list[str] = ()) -> list[Recommendation]:
        """A viewer with events in the fitted data; titles they liked or disliked are left out.
        mood: tags (by id or label) to lean this one answer toward; the profile is unchanged."""
        if user not in self._user_index:
            raise UnknownIdError("user", user, "no events for them in the interactions file")
        u = self._user_index[user]
        signed = self.signed[u]
        liked = signed.indices[signed.data > 0]
        weights = signed.data[signed.data > 0]
        seen = signed.indices
        shown = self.unclicked.get(user, {})      # impressions since they last opened each title
        unclicked = {int(self.items.index[t]): n for t, n in shown.items() if t in self.items.index}
        return self._recommend(liked, weights, seen, k=k, now_s=now_s,
                               region=region or self.user_regions.get(user), seed_key=user,
                               disliked=signed.indices[signed.data < 0], unclicked=unclicked, mood=mood)

    def recommend_new_user(self, likes: list[str] = (), tags: list[str] = (), *, region: str | None = None,
                           k: int = 10, now_s: float | None = None) -> list[Recommendation]:
        """Zero to a few liked titles and chosen tags at sign-up; popularity is the prior."""
        liked = self.items.rows(likes) if likes else np.zeros(0, np.int64)
        extra = None
        if tags:
            extra = self.tag_profile(tags)
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

    def tag_columns(self, names: list[str]) -> list[int]:
        """Columns of the item table's tags by id or label, case-insensitively; UnknownIdError
        for one no title carries (moods, home-page picks)."""
        by_name = {}
        for i, (tag_id, label) in enumerate(zip(self.items.tag_ids, self.items.tag_labels)):
            by_name[tag_id.lower()] = by_name[label.lower()] = i
        missing = [m for m in names if str(m).strip().lower() not in by_name]
        if missing:
            some = ", ".join(sorted(self.items.tag_ids)[:12])
            raise UnknownIdError("tag", missing[0], f"no title in the catalog carries it (some that do: {some})")
        return [by_name[str(m).strip().lower()] for m in names]

    def tag_profile(self, tags: list[str]) -> np.ndarray:
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
                row[self.layout["tags"]] = unit(block) * np.sqrt(self.settings.content.tags)
        if "genres" in self.layout:
            block = np.array([1.0 if g.lower() in wanted else 0.0 for g in self._genre_names], np.float32)
            if block.any():
                row[self.layout["genres"]] = unit(block) * np.sqrt(self.settings.content.genres)
        return row[None, :]

    def _recommend(self, liked, weights, seen, *, k, now_s, region, seed_key, extra=None, disliked=(),
                   chosen_tags=(), unclicked=None, mood=()) -> list[Recommendation]:
        s = self.settings
        now_s = time.time() if now_s is None else now_s      # no time given: now (release, popularity)
        liked = np.asarray(liked, np.int64)
        inputs = self.query_inputs([liked], [np.asarray(weights, float)], extra)
        candidates = self._candidates(inputs, now_s, region)
        history_size = len(liked) + (1 if extra is not None else 0)
        parts = self.parts([liked], candidates, now_s=now_s, regions=[region], inputs=inputs, catalog_scale=True)
        parts["history_size"] = np.array([float(history_size)])
        total = self.blend(parts)[0]
        if mood:        # each mood tag's confidence adds up to MOOD_WEIGHT score units, this query only
            columns = self.tag_columns(mood)
            total = total + MOOD_WEIGHT * self.items.tag_rows(candidates)[:, columns].max(axis=1)
        total[np.isin(candidates, np.asarray(seen, np.int64))] = -np.inf
        head = np.argsort(-total, kind="stable")[:max(k, s.rerank_pool)]
        head = head[np.isfinite(total[head])]              # positions in `candidates`
        pool = candidates[head]                            # title rows
        order = mmr(total[head], self.unit_content[pool], k, s.diversity)
        picked = set(order)
        order += [i for i in range(len(pool)) if i not in picked]   # the rest, by relevance
        liked_tags = self.items.tag_rows(liked).sum(axis=0)
        disliked_tags = self.items.tag_rows(np.asarray(disliked, np.int64)).sum(axis=0)
        pool_tags = self.items.tag_rows(pool)
        ignored = np.array([(unclicked or {}).get(int(t), 0) for t in pool], float)
        disliked_tags = disliked_tags + IGNORED_WEIGHT * (ignored[:, None] * pool_tags).sum(axis=0)
        # Same viewer, same day, same draws: crc32, not hash(), which changes with every process.
        rng = np.random.default_rng(zlib.crc32(f"{seed_key}|{int(now_s // 86400)}".encode()))
        order, explored = explore(order, pool_tags, liked_tags, disliked_tags, s.exploration, rng, k,
                                  skip=ignored >= IGNORED_ENOUGH)
        weights_now = s.part_weights(history_size)
        titles, positions = pool[order], head[order]
        contributions = [{name: float(weight * parts[name][0, position]) for name, weight in weights_now.items()}
                         for position in positions]
        reasons = self._reasons(titles, liked, contributions, region, list(chosen_tags) + list(mood))
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
