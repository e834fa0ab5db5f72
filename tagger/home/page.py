"""A viewer's home page from a fitted Recommender: rows drafted (tagger.home.rows), ordered by
a Thompson sample of each row's click-through rate (tagger.home.bandits.BetaRows, prior from
the row's kind and how well its titles score for the viewer), each title shown once, and an
image chosen per title (tagger.home.artwork_policy).

    from tagger.home import HomeBuilder
    home = HomeBuilder(model, artwork=candidates_from_catalog(catalog), events=events)
    home.page("u42", region="GB", rows=6, per_row=10).to_dict()
"""
from __future__ import annotations

import datetime as dt
import time
import warnings
import zlib
from dataclasses import dataclass
from functools import partial
from itertools import islice

import numpy as np

from tagger.home import rows as kinds
from tagger.home.artwork import ArtworkTable
from tagger.home.artwork_policy import DEFAULT_PRIOR, REASON_WORDS, ArtworkChooser, contexts, viewer_look, viewer_looks
from tagger.home.bandits import BetaRows
from tagger.home.batching import batch_conditions
from tagger.home.feedback import ViewerFeedback, read_feedback
from tagger.recommend.queries import MOOD_WEIGHT
from tagger.tagging.microgenre import micro_genres
from tagger.tagging.taxonomy_model import ADJECTIVE, NOUN

# Click-through rate of each row kind before anything is logged (a continue-watching row is
# taken up most); replaced by the logged rate of the kind once it has MIN_LOGGED impressions.
KIND_CTR = {"mood": 0.5, "continue": 0.3, "because": 0.15, "microgenre": 0.14, "popular": 0.1, "new": 0.08,
            "explore": 0.05}
MIN_LOGGED = 200
RELEVANCE_TILT = 0.5        # a row's prior CTR x exp(tilt x how much better its titles score than the rows' median)
INF = float("inf")
NONE_SHOWN = (np.zeros(0, np.int64), np.zeros(0, bool))
MIN_ITEMS = 3               # a row with fewer titles left is dropped


def row_prior(kind_ctr: np.ndarray, relevance: np.ndarray, tilt: float = RELEVANCE_TILT) -> np.ndarray:
    """Each row's prior CTR: its kind's, times exp(tilt x how much better its titles score for the
    viewer than the median row's). One viewer's rows, or (viewers, rows) with NaN past each's last."""
    relevance = np.asarray(relevance, float)
    with warnings.catch_warnings():        # a viewer without rows: all NaN, nothing drawn from it
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(relevance, axis=-1, keepdims=True)
    return np.clip(kind_ctr * np.exp(tilt * np.clip(relevance - median, -3, 3)), 0.005, 0.95)


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


class HomePage:
    """A viewer's page: `rows` (HomeRow, HomeItem) are made when first asked for, from the
    arrays the batch chose (a batch of pages is mostly stored, not all read)."""

    def __init__(self, user: str, rows: list[HomeRow] | None = None, render=None):
        self.user, self._rows, self._render = user, rows, render

    @property
    def rows(self) -> list[HomeRow]:
        if self._rows is None:
            self._rows, self._render = self._render(), None
        return self._rows

    def to_dict(self) -> dict:
        return {"user": self.user, "rows": [row.to_dict() for row in self.rows]}

    def __eq__(self, other) -> bool:
        return isinstance(other, HomePage) and (self.user, self.rows) == (other.user, other.rows)

    def __repr__(self) -> str:
        return f"HomePage(user={self.user!r}, rows={self.rows!r})"


class HomeBuilder:
    def __init__(self, model, *, artwork: dict | None = None, events=(), taxonomy="default",
                 row_strength: float = 20.0, artwork_ridge: float = 4.0, artwork_alpha: float = 0.1):
        from tagger.tagging.taxonomy import load_taxonomy

        self.model, self.items = model, model.items
        taxonomy = load_taxonomy(taxonomy) if isinstance(taxonomy, str) else taxonomy
        self.grammar = taxonomy.grammar
        known = {tag.id: tag for tag in taxonomy.tags}
        self.taxonomy_tags = {i: known[t] for i, t in enumerate(self.items.tag_ids) if t in known}
        self.is_noun, self.is_adjective = (
            np.array([i in self.taxonomy_tags and role in self.taxonomy_tags[i].microgenre
                      for i in range(len(self.items.tag_ids))], bool) for role in (NOUN, ADJECTIVE))
        self._by_tag = (self.items.tags >= kinds.CARRIES).astype(np.float32).tocsc()
        self.rare_tags = np.diff(self._by_tag.indptr) < kinds.MIN_CARRIERS       # too few titles to fill a row
        self.newest = np.argsort(-self.items.added_s, kind="stable")
        self.added_on = {int(t): "added " + dt.datetime.fromtimestamp(self.items.added_s[t], dt.timezone.utc)
                         .date().isoformat() for t in self.newest[:4 * kinds.DEPTH]}     # the new row's reasons
        self._names: dict[tuple, list[str]] = {}
        self.user_index = {u: i for i, u in enumerate(model.user_ids)}
        self._neighbours: dict[int, np.ndarray] = {}
        self._carriers: dict[tuple, np.ndarray] = {}
        self.events = list(events)
        self._last_event_s = max((e.time_s for e in self.events), default=-np.inf)
        self._learned_at = None
        self.table = ArtworkTable(self.items, artwork or {})
        self._candidate_of = {(c.title_id, c.scene, c.keyframe): i for i, c in enumerate(self.table.candidates)}
        self.rows_bandit = BetaRows(row_strength)
        self.chooser = ArtworkChooser(self.table, None, ridge=artwork_ridge, alpha=artwork_alpha)
        self.learn(np.inf)

    def learn(self, now_s: float) -> None:
        """Feedback, row kinds' click-through rates and the artwork prior from the events up to
        `now_s` (a page as of a past time must not learn from what came after it)."""
        as_of = np.inf if now_s >= self._last_event_s else float(now_s)
        if as_of == self._learned_at:
            return
        self.feedback = read_feedback(self.events, now_s=as_of)
        # Each viewer's shown images (candidate numbers, clicked) and clicks on any image.
        self._images = {user: (self._shown_images(mine), sum(image.clicked for image in mine.images))
                        for user, mine in self.feedback.items()}
        self.kind_ctr = self._logged_kind_ctr()
        self.chooser.bandit.prior_mean = DEFAULT_PRIOR
        self.chooser.bandit.prior_mean = self._artwork_prior()
        self._learned_at = as_of

    # -- what rows ask of the catalog -------------------------------------------------------
    def neighbours(self, row: int, k: int = 4 * kinds.DEPTH) -> np.ndarray:
        """The titles whose content is nearest this one's (cached per title)."""
        if row not in self._neighbours:
            self._find_neighbours([row], k)
        return self._neighbours[row]

    def _find_neighbours(self, rows: list[int], k: int = 4 * kinds.DEPTH) -> None:
        """neighbours of many titles at once (one matrix product), into the cache."""
        rows = np.array(sorted({r for r in rows if r not in self._neighbours}), np.int64)
        unit = self.model.unit_content
        k = min(k, len(unit) - 1)
        for start in range(0, len(rows), 128):         # blocks of 128: 5 MB, in cache
            part = rows[start:start + 128]
            similarity = unit[part] @ unit.T
            similarity[np.arange(len(part)), part] = -np.inf
            if k == 0:
                self._neighbours.update((r, np.zeros(0, np.int64)) for r in part.tolist())
                continue
            # Each row's k largest: its k-th largest value by a partition of values (twice as
            # fast as argpartition), then the titles at or above it, in catalog order.
            kth = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k]
            hit_row, hit_col = np.nonzero(similarity >= kth[:, None])
            counts = np.bincount(hit_row, minlength=len(part))
            if (counts == k).all():
                near = hit_col.reshape(len(part), k)
            else:       # ties at the k-th value: each row's first k of them
                near = [cols[:k] for cols in np.split(hit_col, np.cumsum(counts)[:-1])]
            self._neighbours.update(zip(part.tolist(), near))

    def carrying(self, columns, every: bool = True) -> np.ndarray:
        """Item rows carrying every (or any) of the tag columns (cached: viewers share combinations)."""
        key = (tuple(columns), every)
        if key not in self._carriers:
            hits = np.asarray(self._by_tag[:, list(columns)].sum(axis=1)).ravel()
            self._carriers[key] = np.flatnonzero(hits >= (len(columns) if every else 1))
        return self._carriers[key]

    def micro_genre_name(self, columns: list[int], profile_tags: np.ndarray) -> list[str]:
        """[the grammar's name] for these tag columns with the viewer's strengths (cached: it
        depends only on the tags and which is stronger, as micro_genres ranks them)."""
        key = tuple(sorted(columns, key=lambda c: (-float(profile_tags[c]), self.items.tag_ids[c])))
        if key not in self._names:
            scored = [(self.taxonomy_tags[c], float(profile_tags[c])) for c in columns]
            self._names[key] = micro_genres(scored, self.grammar, max_names=1)
        return self._names[key]

    # -- pages ------------------------------------------------------------------------------
    def page(self, user: str, *, region: str | None = None, now_s: float | None = None, rows: int = 6,
             per_row: int = 10, mood=(), likes=(), tags=()) -> HomePage:
        """The page of a viewer known to the model, or of a new one (from likes, tags and region)."""
        return self.pages([user], region=region, now_s=now_s, rows=rows, per_row=per_row, mood=mood,
                          likes=likes, tags=tags)[user]

    def pages(self, users: list[str], *, region: str | None = None, now_s: float | None = None, rows: int = 6,
              per_row: int = 10, mood=(), likes=(), tags=(), chunk: int = 256) -> dict[str, HomePage]:
        """Pages for many viewers, a chunk at a time: the chunk's scores in one float32 matrix
        product, shared by every row kind; its rows drafted, ranked and ordered for the chunk at
        once; its artwork chosen for every (viewer, title) at once."""
        now_s = time.time() if now_s is None else now_s
        mood_columns = self.model.tag_columns(mood)
        self.learn(now_s)
        with batch_conditions():
            return self._pages(users, region, now_s, rows, per_row, mood_columns, likes, tags, chunk)

    def _pages(self, users, region, now_s, rows, per_row, mood_columns, likes, tags, chunk) -> dict[str, HomePage]:
        out = {}
        for start in range(0, len(users), chunk):
            viewers, scores = self._viewers(users[start:start + chunk], region, now_s, likes, tags, mood_columns)
            self._find_neighbours([int(a) for v in viewers for a in v.liked[:kinds.BECAUSE_ROWS]])
            rngs = [np.random.default_rng(zlib.crc32(f"{v.user}|{int(v.now_s // 86400)}".encode())) for v in viewers]
            drafts = kinds.draft_rows(viewers, scores, self, rngs)
            kinds.rank_pools(drafts, scores)
            # Too few good titles: fewer than MIN_ITEMS, or in a catalog smaller than that, than it can show.
            least = np.maximum(1, np.minimum(min(MIN_ITEMS, per_row), np.isfinite(scores).sum(axis=1))).tolist()
            drafts = [[d for d in mine if len(d.titles) >= n or d.kind == "continue"] for mine, n in zip(drafts, least)]
            ordered = self._order(viewers, drafts, scores, rngs)
            chosen = [self._rows(mine, n, rows, per_row) for mine, n in zip(ordered, least)]
            images = [self._images.get(v.user, (NONE_SHOWN, 0)) for v in viewers]
            looks = viewer_looks(self.table, [v.liked[:20] for v in viewers])
            numbers, codes = self.chooser.choose_pages(
                [[t for _, titles in mine for t in titles] for mine in chosen], looks,
                [v.profile_tags for v in viewers], [shown for shown, _ in images],
                np.array([clicked for _, clicked in images]))
            for u, v in enumerate(viewers):
                out[v.user] = self._page(v, chosen[u], numbers[u], codes[u])
        return out

    def _viewers(self, users, region, now_s, likes, tags, mood_columns) -> tuple[list[kinds.Viewer], np.ndarray]:
        """The chunk's viewers, and their scores of every title (viewers, titles)."""
        model, index = self.model, self.user_index
        signed = model.signed
        histories, weights, seen, disliked, regions, extra = [], [], [], [], [], None
        for user in users:
            if user in index:
                at = slice(signed.indptr[index[user]], signed.indptr[index[user] + 1])
                indices, data = signed.indices[at], signed.data[at]
                positive = data > 0
                order = np.argsort(-data[positive], kind="stable")
                histories.append(indices[positive][order])
                weights.append(data[positive][order])
                seen.append(indices)
                disliked.append(indices[data < 0])
                regions.append(region or model.user_regions.get(user))
            else:
                liked = self.items.rows(list(likes)) if likes else np.zeros(0, np.int64)
                histories.append(liked)
                weights.append(np.ones(len(liked)))
                seen.append(liked)
                disliked.append(np.zeros(0, np.int64))
                regions.append(region)
        new = np.array([user not in index for user in users])
        size = np.array([len(h) for h in histories], float)
        if tags and new.any():      # the picks of a new viewer, as one more liked title (as recommend new-user)
            extra = model.tag_profile(list(tags)) * new[:, None]
            size = size + new
        totals = model.catalog_scores(histories, now_s=now_s, weights=weights, regions=regions,
                                      extra_profiles=extra, history_size=size, dtype=np.float32)
        totals[np.repeat(np.arange(len(users)), [len(s) for s in seen]), np.concatenate(seen + [[]]).astype(np.int64)] \
            = -np.inf
        if mood_columns:
            totals += MOOD_WEIGHT * np.asarray(self.items.tags[:, mood_columns].max(axis=1).todense()).ravel()
        # Tag profiles (the 50 strongest liked titles, each counted up to 1.5) and dislikes
        # (disliked titles, and 0.1 per impression never opened) for the chunk in two products.
        n_items = len(self.items)
        liked_top = [h[:50] for h in histories]
        profiles = self._by_viewer([np.minimum(w[:50], 1.5) for w in weights], liked_top, n_items)
        ignored_rows, ignored_counts = [], []
        for user in users:
            unclicked = model.unclicked.get(user, {})
            rows = [self.items.index[t] for t in unclicked if t in self.items.index]
            ignored_rows.append(np.array(rows, np.int64))
            ignored_counts.append(np.array([0.1 * unclicked[self.items.ids[r]] for r in rows], float))
        dislikes = self._by_viewer([np.ones(len(d)) for d in disliked], disliked, n_items) \
            + self._by_viewer(ignored_counts, ignored_rows, n_items)
        picked = self.model.tag_columns(tags) if tags else []
        if picked:
            profiles[np.ix_(new, picked)] += 1.0
        out = []
        for u, user in enumerate(users):
            mine = self.feedback.get(user, ViewerFeedback())
            started = [self.items.index[t] for t in mine.started if t in self.items.index]
            out.append(kinds.Viewer(user, totals[u], histories[u], profiles[u], dislikes[u], started, regions[u],
                                    now_s, mood_columns))
        return out, totals

    def _by_viewer(self, weights: list[np.ndarray], rows: list[np.ndarray], n_items: int) -> np.ndarray:
        """(viewers, tags): each viewer's weighted sum of the tag rows of their titles."""
        import scipy.sparse as sp

        matrix = sp.csr_matrix((np.concatenate([np.asarray(w, np.float64) for w in weights] + [np.zeros(0)]),
                                np.concatenate([np.asarray(r, np.int64) for r in rows] + [np.zeros(0, np.int64)]),
                                np.concatenate([[0], np.cumsum([len(r) for r in rows])])),
                               shape=(len(rows), n_items))
        return np.asarray((matrix @ self.items.tags).todense(), np.float64)

    @staticmethod
    def _rows(ordered: list[kinds.Draft], least: int, n_rows: int, per_row: int) -> list[tuple[kinds.Draft, list[int]]]:
        """The viewer's rows in order, each with the titles it shows (none shown twice)."""
        shown: set[int] = set()
        chosen: list[tuple[kinds.Draft, list[int]]] = []
        for d in ordered:
            titles = list(islice((t for t in d.titles.tolist() if t not in shown), per_row))
            if len(titles) < least and d.kind != "continue":     # what they started is always worth a row
                continue
            shown.update(titles)
            chosen.append((d, titles))
            if len(chosen) == n_rows:
                break
        return chosen

    def _page(self, v: kinds.Viewer, chosen, numbers: np.ndarray, codes: np.ndarray) -> HomePage:
        """The page from its rows and each title's image (candidate number, reason code; -1: none),
        kept as arrays and plain tuples until its rows are asked for: a batch of pages holds few
        Python objects (each one the garbage collector would walk again and again)."""
        heads = tuple((d.name, d.kind, d.reason, d.why) for d, _ in chosen)
        ends = np.cumsum([len(titles) for _, titles in chosen], dtype=np.int64)
        shown = np.array([t for _, titles in chosen for t in titles], np.int64)
        return HomePage(v.user, render=partial(self._render, heads, ends, shown, v.scores[shown], numbers, codes))

    def _render(self, heads: tuple, ends: np.ndarray, shown: np.ndarray, scores: np.ndarray, numbers: np.ndarray,
                codes: np.ndarray) -> list[HomeRow]:
        numbers, codes, scores, shown = numbers.tolist(), codes.tolist(), scores.tolist(), shown.tolist()
        ids, names, table = self.items.ids, self.items.titles, self.table
        page_rows, at = [], 0
        for (name, kind, reason, why), end in zip(heads, ends.tolist()):
            items = []
            for at in range(at, end):
                t, number, score = shown[at], numbers[at], scores[at]
                art = None
                if number >= 0:
                    c = table.candidates[number]
                    url, looks = table.looks(number)
                    art = {"scene": c.scene, "keyframe": c.keyframe, "url": url,
                           "reason": f"{looks}; {REASON_WORDS[codes[at]]}"}
                items.append(HomeItem(ids[t], names[t], score if score > -INF else 0.0, [why.get(t, reason)], art))
            at = end
            page_rows.append(HomeRow(name, kind, reason, items))
        return page_rows

    def _order(self, viewers: list[kinds.Viewer], drafts: list[list[kinds.Draft]], scores: np.ndarray,
               rngs: list) -> list[list[kinds.Draft]]:
        """Each viewer's drafts in order: mood first (asked for now), the rest by a Thompson
        sample of each row's CTR; the priors for the whole chunk at once, (viewers, most drafts)
        padded with NaN, then each viewer's draw from their own generator."""
        n, width = len(viewers), max([len(mine) for mine in drafts] + [1])
        top = np.zeros((n, width, 3), np.int64)
        has = np.zeros((n, width, 3), bool)
        kind_ctr, shown, clicks = np.full((n, width), np.nan), np.zeros((n, width)), np.zeros((n, width))
        continuing, mood = np.zeros((n, width), bool), np.zeros((n, width), bool)
        # Every draft of the chunk as one list, (viewer, place) its cell in the arrays.
        viewer = np.repeat(np.arange(n), [len(mine) for mine in drafts])
        place = np.concatenate([np.arange(len(mine)) for mine in drafts] + [np.zeros(0, np.int64)])
        flat = [d for mine in drafts for d in mine]
        stats = [self.feedback[v.user].rows if v.user in self.feedback else {} for v in viewers]
        kind_ctr[viewer, place] = [self.kind_ctr[d.kind] for d in flat]
        logged = np.array([stats[u].get(d.name, (0, 0)) for u, d in zip(viewer.tolist(), flat)], float).reshape(-1, 2)
        shown[viewer, place], clicks[viewer, place] = logged[:, 0], logged[:, 1]
        continuing[viewer, place] = [d.kind == "continue" for d in flat]
        mood[viewer, place] = [d.kind == "mood" for d in flat]
        firsts = [d.titles[:3] for d in flat]              # each row's first three titles
        sizes = np.array([len(f) for f in firsts], np.int64)
        at = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        top[np.repeat(viewer, sizes), np.repeat(place, sizes), at] = np.concatenate(firsts + [np.zeros(0, np.int64)])
        has[np.repeat(viewer, sizes), np.repeat(place, sizes), at] = True
        top_scores = scores[np.arange(n)[:, None, None], top]
        top_scores = np.where(has & ~np.isneginf(top_scores), top_scores, 0.0)
        count = has.sum(axis=2)
        relevance = np.divide(top_scores.sum(axis=2), count, out=np.full(count.shape, np.nan), where=count > 0)
        relevance = np.where(continuing, np.nanmedian(relevance, axis=1, keepdims=True), relevance)
        prior = row_prior(kind_ctr, relevance)
        a, b = self.rows_bandit.beta_parameters(prior, shown, clicks)
        out = []
        for u, mine in enumerate(drafts):
            if not mine:
                out.append([])
                continue
            theta = rngs[u].beta(a[u, :len(mine)], b[u, :len(mine)])
            theta[mood[u, :len(mine)]] = 2.0
            out.append([mine[i] for i in np.argsort(-theta, kind="stable")])
        return out

    # -- learning from the log ------------------------------------------------------------
    def _logged_kind_ctr(self) -> dict[str, float]:
        totals: dict[str, list[int]] = {}
        for mine in self.feedback.values():
            for name, (shown, clicks) in mine.rows.items():
                total = totals.setdefault(mine.row_kinds[name], [0, 0])
                total[0] += shown
                total[1] += clicks
        return {kind: (totals[kind][1] / totals[kind][0]) if totals.get(kind, [0])[0] >= MIN_LOGGED else ctr
                for kind, ctr in KIND_CTR.items()}

    def _shown_images(self, feedback: ViewerFeedback) -> tuple[np.ndarray, np.ndarray]:
        """(candidate numbers, clicked) of the images the viewer was shown that are candidates."""
        shown = [(self._candidate_of.get((image.title_id, image.scene, image.keyframe)), image.clicked)
                 for image in feedback.images]
        shown = [(number, clicked) for number, clicked in shown if number is not None]
        return (np.array([number for number, _ in shown], np.int64), np.array([clicked for _, clicked in shown], bool))

    def _artwork_prior(self) -> np.ndarray:
        """theta0 from every viewer's logged images (the default prior when too few)."""
        index = {u: i for i, u in enumerate(self.model.user_ids)}
        X, r = [], []
        for user, mine in self.feedback.items():
            numbers, clicked = self._images[user][0]
            if not len(numbers) or user not in index:
                continue
            signed = self.model.signed[index[user]]
            liked, weights = signed.indices[signed.data > 0], signed.data[signed.data > 0]
            look = viewer_look(self.table, liked, weights)
            profile = np.asarray(self.items.tag_rows(liked).T @ np.minimum(weights, 1.5), float).ravel()
            X.extend(contexts(self.table.features[numbers], look, self.table.taste_match(profile)[numbers]))
            r.extend(clicked.astype(float).tolist())
        prior = ArtworkChooser.fit_prior(np.array(X), np.array(r)) if X else None
        return self.chooser.bandit.prior_mean if prior is None else prior
