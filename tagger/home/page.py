"""A viewer's home page from a fitted Recommender: rows drafted (tagger.home.rows), ordered by
a Thompson sample of each row's click-through rate (tagger.home.bandits.BetaRows, prior from
the row's kind and how well its titles score for the viewer), each title shown once, and an
image chosen per title (tagger.home.artwork_policy).

    from tagger.home import HomeBuilder
    home = HomeBuilder(model, artwork=candidates_from_catalog(catalog), events=events)
    home.page("u42", region="GB", rows=6, per_row=10).to_dict()
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import numpy as np

from tagger.home import rows as kinds
from tagger.home.artwork import ArtworkTable
from tagger.home.artwork_policy import ArtworkChooser, contexts, viewer_look
from tagger.home.bandits import BetaRows
from tagger.home.feedback import ViewerFeedback, read_feedback
from tagger.recommend.queries import MOOD_WEIGHT
from tagger.tagging.taxonomy_model import ADJECTIVE, NOUN

# Click-through rate of each row kind before anything is logged (a continue-watching row is
# taken up most); replaced by the logged rate of the kind once it has MIN_LOGGED impressions.
KIND_CTR = {"mood": 0.5, "continue": 0.3, "because": 0.15, "microgenre": 0.14, "popular": 0.1, "new": 0.08,
            "explore": 0.05}
MIN_LOGGED = 200
RELEVANCE_TILT = 0.5        # a row's prior CTR x exp(tilt x how much better its titles score than the rows' median)
MIN_ITEMS = 3               # a row with fewer titles left is dropped


def row_prior(kind_ctr: np.ndarray, relevance: np.ndarray, tilt: float = RELEVANCE_TILT) -> np.ndarray:
    """Each row's prior CTR: its kind's, times exp(tilt x how much better its titles score for the
    viewer than the median row's)."""
    relevance = np.asarray(relevance, float)
    return np.clip(kind_ctr * np.exp(tilt * np.clip(relevance - np.median(relevance), -3, 3)), 0.005, 0.95)


@dataclass
class HomeItem:
    title_id: str
    title: str
    score: float
    reasons: list[str]
    artwork: dict | None

    def to_dict(self) -> dict:
        return {"id": self.title_id, "title": self.title, "score": round(self.score, 4), "reasons": self.reasons,
                "artwork": self.artwork}


@dataclass
class HomeRow:
    name: str
    kind: str
    reason: str
    items: list[HomeItem]

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "reason": self.reason,
                "items": [item.to_dict() for item in self.items]}


@dataclass
class HomePage:
    user: str
    rows: list[HomeRow]

    def to_dict(self) -> dict:
        return {"user": self.user, "rows": [row.to_dict() for row in self.rows]}


class HomeBuilder:
    def __init__(self, model, *, artwork: dict | None = None, events=(), taxonomy="default",
                 row_strength: float = 20.0, artwork_ridge: float = 4.0, artwork_alpha: float = 0.1):
        from tagger.tagging.taxonomy import load_taxonomy

        self.model, self.items = model, model.items
        taxonomy = load_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy
        self.grammar = taxonomy.grammar
        known = {tag.id: tag for tag in taxonomy.tags}
        self.taxonomy_tags = {i: known[t] for i, t in enumerate(self.items.tag_ids) if t in known}
        self._by_tag = (self.items.tags >= kinds.CARRIES).astype(np.float32).tocsc()
        self.carried_by = np.diff(self._by_tag.indptr)
        self.newest = np.argsort(-self.items.added_s, kind="stable")
        self._neighbours: dict[int, np.ndarray] = {}
        self._carriers: dict[tuple, np.ndarray] = {}
        self.feedback = read_feedback(list(events), now_s=np.inf)
        self.table = ArtworkTable(self.items, artwork or {})
        self._candidate_of = {(c.title_id, c.scene, c.keyframe): i for i, c in enumerate(self.table.candidates)}
        self.rows_bandit = BetaRows(row_strength)
        self.kind_ctr = self._logged_kind_ctr()
        self.chooser = ArtworkChooser(self.table, None, ridge=artwork_ridge, alpha=artwork_alpha)
        self.chooser.bandit.prior_mean = self._artwork_prior()

    # -- what rows ask of the catalog -------------------------------------------------------
    def neighbours(self, row: int, k: int = 4 * kinds.DEPTH) -> np.ndarray:
        """The titles whose content is nearest this one's (cached per title)."""
        if row not in self._neighbours:
            similarity = self.model.unit_content @ self.model.unit_content[row]
            similarity[row] = -np.inf
            k = min(k, len(similarity) - 1)
            self._neighbours[row] = np.argpartition(-similarity, k)[:k] if k > 0 else np.zeros(0, np.int64)
        return self._neighbours[row]

    def carrying(self, columns, every: bool = True) -> np.ndarray:
        """Item rows carrying every (or any) of the tag columns (cached: viewers share combinations)."""
        key = (tuple(columns), every)
        if key not in self._carriers:
            hits = np.asarray(self._by_tag[:, list(columns)].sum(axis=1)).ravel()
            self._carriers[key] = np.flatnonzero(hits >= (len(columns) if every else 1))
        return self._carriers[key]

    def roles(self, profile_tags: np.ndarray) -> tuple[list[int], list[int]]:
        """The viewer's tag columns that can be a micro-genre's noun, and its adjective, strongest first."""
        order = [int(c) for c in np.argsort(-profile_tags, kind="stable") if profile_tags[c] > 0]
        nouns = [c for c in order if c in self.taxonomy_tags and NOUN in self.taxonomy_tags[c].microgenre]
        adjectives = [c for c in order if c in self.taxonomy_tags
                      and ADJECTIVE in self.taxonomy_tags[c].microgenre]
        return nouns, adjectives

    # -- pages ------------------------------------------------------------------------------
    def page(self, user: str, *, region: str | None = None, now_s: float | None = None, rows: int = 6,
             per_row: int = 10, mood=(), likes=(), tags=()) -> HomePage:
        """The page of a viewer known to the model, or of a new one (from likes, tags and region)."""
        return self.pages([user], region=region, now_s=now_s, rows=rows, per_row=per_row, mood=mood,
                          likes=likes, tags=tags)[user]

    def pages(self, users: list[str], *, region: str | None = None, now_s: float | None = None, rows: int = 6,
              per_row: int = 10, mood=(), likes=(), tags=(), chunk: int = 256) -> dict[str, HomePage]:
        now_s = time.time() if now_s is None else now_s
        mood_columns = self.model.tag_columns(mood)
        out = {}
        for start in range(0, len(users), chunk):
            part = users[start:start + chunk]
            viewers = self._viewers(part, region, now_s, likes, tags, mood_columns)
            for viewer in viewers:
                out[viewer.user] = self._page(viewer, rows, per_row)
        return out

    def _viewers(self, users, region, now_s, likes, tags, mood_columns) -> list[kinds.Viewer]:
        model = self.model
        index = {u: i for i, u in enumerate(model.user_ids)}
        histories, weights, seen, disliked, regions, extra = [], [], [], [], [], None
        for user in users:
            if user in index:
                signed = model.signed[index[user]]
                positive = signed.data > 0
                order = np.argsort(-signed.data[positive], kind="stable")
                histories.append(signed.indices[positive][order])
                weights.append(signed.data[positive][order])
                seen.append(signed.indices)
                disliked.append(signed.indices[signed.data < 0])
                regions.append(region or model.user_regions.get(user))
            else:
                liked = self.items.rows(list(likes)) if likes else np.zeros(0, np.int64)
                histories.append(liked)
                weights.append(np.ones(len(liked)))
                seen.append(liked)
                disliked.append(np.zeros(0, np.int64))
                regions.append(region)
        new = np.array([user not in index for user in users])
        if tags and new.any():      # the picks of a new viewer, as one more liked title (as recommend new-user)
            extra = model._tag_profile(list(tags)) * new[:, None]
        n = len(self.items)
        parts = model.parts(histories, np.arange(n), now_s=now_s, weights=weights, regions=regions,
                            extra_profiles=extra, catalog_scale=True)
        if extra is not None:
            parts["history_size"] = parts["history_size"] + new
        totals = model.blend(parts)
        picked = self.model.tag_columns(tags) if tags else []
        out = []
        for u, user in enumerate(users):
            total = totals[u]
            total[seen[u]] = -np.inf
            profile = self.items.tag_rows(histories[u][:50]).T @ np.minimum(weights[u][:50], 1.5) \
                if len(histories[u]) else np.zeros(len(self.items.tag_ids), np.float32)
            profile = np.asarray(profile, np.float64).ravel()
            if picked and user not in index:
                profile[picked] += 1.0
            if mood_columns:
                total = total + MOOD_WEIGHT * np.asarray(self.items.tags[:, mood_columns].max(axis=1).todense()).ravel()
            mine = self.feedback.get(user, ViewerFeedback())
            unclicked = model.unclicked.get(user, {})
            disliked_tags = self.items.tag_rows(disliked[u]).sum(axis=0)
            if unclicked:
                ignored = self.items.rows([t for t in unclicked if t in self.items.index])
                counts = np.array([unclicked[self.items.ids[r]] for r in ignored], float)
                disliked_tags = disliked_tags + 0.1 * counts @ self.items.tag_rows(ignored)
            started = [self.items.index[t] for t in mine.started if t in self.items.index]
            out.append(kinds.Viewer(user, total, histories[u], profile, disliked_tags, started, regions[u], now_s,
                                    mood_columns))
        return out

    def _page(self, v: kinds.Viewer, n_rows: int, per_row: int) -> HomePage:
        rng = np.random.default_rng(zlib.crc32(f"{v.user}|{int(v.now_s // 86400)}".encode()))
        drafts = (kinds.mood_row(v, self) + kinds.continue_watching(v, self) + kinds.because_you_watched(v, self)
                  + kinds.microgenre_rows(v, self) + kinds.popular(v, self) + kinds.new_releases(v, self)
                  + kinds.exploration(v, self, rng))
        # Too few good titles: fewer than MIN_ITEMS, or in a catalog smaller than that, than it can show.
        least = max(1, min(MIN_ITEMS, per_row, int(np.isfinite(v.scores).sum())))
        drafts = [d for d in drafts if len(d.titles) >= least or d.kind == "continue"]
        order = self._order(v, drafts, rng)
        feedback = self.feedback.get(v.user, ViewerFeedback())
        shown: set[int] = set()
        chosen: list[tuple[kinds.Draft, list[int]]] = []
        for d in order:
            titles = [int(t) for t in d.titles if int(t) not in shown][:per_row]
            if len(titles) < least and d.kind != "continue":     # what they started is always worth a row
                continue
            shown.update(titles)
            chosen.append((d, titles))
            if len(chosen) == n_rows:
                break
        look = viewer_look(self.table, v.liked[:20])
        taste = self.table.taste_match(v.profile_tags)
        state = self.chooser.viewer_state(look, taste, self._shown_images(feedback))
        own_clicks = sum(image.clicked for image in feedback.images)
        every = [t for _, titles in chosen for t in titles]
        images = dict(zip(every, self.chooser.choose(every, look, taste, state, own_clicks)))
        page_rows = []
        for d, titles in chosen:
            items = []
            for t in titles:
                number, why = images[t]
                art = None
                if number is not None:
                    c = self.table.candidates[number]
                    art = {"scene": c.scene, "keyframe": c.keyframe, "url": c.url, "reason": f"{c.describe()}; {why}"}
                score = float(v.scores[t]) if np.isfinite(v.scores[t]) else 0.0
                items.append(HomeItem(self.items.ids[t], self.items.titles[t], score, [d.why.get(t, d.reason)], art))
            page_rows.append(HomeRow(d.name, d.kind, d.reason, items))
        return HomePage(v.user, page_rows)

    def _order(self, v: kinds.Viewer, drafts: list[kinds.Draft], rng) -> list[kinds.Draft]:
        """Mood first (asked for now); the rest by a Thompson sample of each row's CTR."""
        if not drafts:
            return []
        relevance = np.array([np.mean(np.nan_to_num(v.scores[d.titles[:3]], neginf=0.0)) for d in drafts])
        if v.started:
            relevance[[d.kind == "continue" for d in drafts]] = np.median(relevance)
        prior = row_prior(np.array([self.kind_ctr[d.kind] for d in drafts]), relevance)
        stats = self.feedback.get(v.user, ViewerFeedback()).rows
        shown = np.array([stats.get(d.name, [0, 0])[0] for d in drafts], float)
        clicks = np.array([stats.get(d.name, [0, 0])[1] for d in drafts], float)
        theta = self.rows_bandit.sample(prior, shown, clicks, rng)
        theta[[d.kind == "mood" for d in drafts]] = 2.0
        return [drafts[i] for i in np.argsort(-theta, kind="stable")]

    # -- learning from the log ------------------------------------------------------------
    def _logged_kind_ctr(self) -> dict[str, float]:
        totals: dict[str, list[int]] = {}
        for mine in self.feedback.values():
            for name, (shown, clicks) in mine.rows.items():
                total = totals.setdefault(kinds.kind_of(name), [0, 0])
                total[0] += shown
                total[1] += clicks
        return {kind: (totals[kind][1] / totals[kind][0]) if totals.get(kind, [0])[0] >= MIN_LOGGED else ctr
                for kind, ctr in KIND_CTR.items()}

    def _shown_images(self, feedback: ViewerFeedback) -> list[tuple[int, int, bool]]:
        out = []
        for image in feedback.images:
            number = self._candidate_of.get((image.title_id, image.scene, image.keyframe))
            if number is not None:
                out.append((self.items.index[image.title_id], number, image.clicked))
        return out

    def _artwork_prior(self) -> np.ndarray:
        """theta0 from every viewer's logged images (the default prior when too few)."""
        index = {u: i for i, u in enumerate(self.model.user_ids)}
        X, r = [], []
        for user, mine in self.feedback.items():
            shown = self._shown_images(mine)
            if not shown or user not in index:
                continue
            signed = self.model.signed[index[user]]
            liked, weights = signed.indices[signed.data > 0], signed.data[signed.data > 0]
            look = viewer_look(self.table, liked, weights)
            profile = np.asarray(self.items.tag_rows(liked).T @ np.minimum(weights, 1.5), float).ravel()
            numbers = np.array([number for _, number, _ in shown])
            X.extend(contexts(self.table.features[numbers], look, self.table.taste_match(profile)[numbers]))
            r.extend(float(clicked) for _, _, clicked in shown)
        prior = ArtworkChooser.fit_prior(np.array(X), np.array(r)) if X else None
        return self.chooser.bandit.prior_mean if prior is None else prior
