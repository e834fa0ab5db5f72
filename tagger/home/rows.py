"""The kinds of home-page row and how each is filled, for a batch of viewers (draft_rows).

Each builder gives drafts per viewer (the micro-genre, popular, new and exploration rows for
the whole batch at once, from its (viewers, tags) profiles and (viewers, titles) scores): a row's name, kind, reason and its titles best first (more than a
row shows, so a title taken by an earlier row can be replaced), with each title's own reason.
A row filled from a pool of candidates (neighbours, a tag's carriers) leaves its titles to
`rank_pools`, which ranks each pool for every viewer of a batch who drafted it at once.
Scores are the recommender's blended scores for the viewer (-inf: seen or not yet released).
An impression's `row` says the row's kind and name ("microgenre:Dark Thrillers", row_value);
older events files give the name alone, whose kind `kind_of` reads back from its wording.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("mood", "continue", "because", "microgenre", "popular", "new", "explore")
DEPTH = 40                  # titles drafted per row
CARRIES = 0.3               # a title carries a tag at this confidence or more
BECAUSE_ROWS = 2
MICROGENRE_ROWS = 3
MIN_CARRIERS = 3            # an exploration tag carried by fewer titles cannot fill a row


@dataclass
class Draft:
    name: str
    kind: str
    reason: str
    titles: np.ndarray                     # item rows, best first
    why: dict[int, str] = field(default_factory=dict)     # item row -> its own reason (else the row's)
    pool: np.ndarray | None = None         # candidates for rank_pools to rank into titles (a cached array)


@dataclass
class Viewer:
    user: str
    scores: np.ndarray                     # (titles,) blended; -inf where not to show
    liked: np.ndarray                      # item rows, strongest first
    profile_tags: np.ndarray               # (tags,) summed confidences of liked (and picked) titles
    disliked_tags: np.ndarray
    started: list[int]                     # continue watching, latest first
    region: str | None
    now_s: float
    mood: list[int] = field(default_factory=list)      # tag columns


def row_value(kind: str, name: str) -> str:
    """What an impression's `row` says: the kind, then the name ("microgenre:Dark Thrillers")."""
    return f"{kind}:{name}"


def read_row(value: str) -> tuple[str, str]:
    """(kind, name) of an impression's `row`: "kind:name", or in older events files the name
    alone, whose kind is read back from its wording."""
    kind, _, name = value.partition(":")
    if name and kind in KINDS:
        return kind, name
    return kind_of(value), value


def kind_of(name: str) -> str:
    """The kind of a row from its name (older events files name only the row)."""
    for prefix, kind in (("In the mood for", "mood"), ("Continue watching", "continue"),
                         ("Because you watched", "because"), ("Popular", "popular"),
                         ("New in the catalog", "new"), ("Something different", "explore")):
        if name.startswith(prefix):
            return kind
    return "microgenre"


def ranked(name: str, kind: str, reason: str, pool: np.ndarray) -> Draft:
    """A draft whose titles are the pool's best for the viewer (filled by rank_pools)."""
    return Draft(name, kind, reason, np.zeros(0, np.int64), {}, pool)


def rank_pools(drafts: list[list[Draft]], scores: np.ndarray, depth: int = DEPTH) -> None:
    """Fill each pooled draft's titles: its pool's DEPTH best for viewer u by scores[u], best
    first, without -inf ones; one block for every pool of a length (a title's neighbours are
    all one length, and viewers share tags' carriers)."""
    groups: dict[int, tuple[list[int], list[np.ndarray], list[Draft]]] = {}
    for u, mine in enumerate(drafts):
        for d in mine:
            if d.pool is not None:           # pools of one length stack into one block
                group = groups.setdefault(len(d.pool), ([], [], []))
                group[0].append(u)
                group[1].append(d.pool)
                group[2].append(d)
    for size, (viewers, pools, members) in groups.items():
        pool = np.array(pools, np.int64).reshape(len(pools), size)
        block = -scores[np.array(viewers)[:, None], pool]               # -inf (not to show) -> +inf
        if size > depth:
            top = np.argpartition(block, depth, axis=1)[:, :depth]
            block = np.take_along_axis(block, top, axis=1)
        else:
            top = np.broadcast_to(np.arange(size), block.shape)
        order = np.argsort(block, axis=1, kind="stable")
        rows = np.take_along_axis(pool, np.take_along_axis(top, order, axis=1), axis=1)
        keep = np.isfinite(block).sum(axis=1).tolist()
        for d, row, n in zip(members, rows, keep):
            d.titles = row[:n]


def draft_rows(viewers: list[Viewer], scores: np.ndarray, home, rngs: list) -> list[list[Draft]]:
    """Every row each viewer of a batch could get (pooled ones still to rank: rank_pools), in
    the order their Thompson draws take them. scores: (viewers, titles) as each Viewer's;
    rngs: each viewer's generator (only the exploration draw uses it here)."""
    n = len(viewers)
    profiles = np.array([v.profile_tags for v in viewers], np.float64).reshape(n, -1)
    explore = exploration(viewers, profiles, home, rngs)
    micro = microgenre_rows(viewers, profiles, home)
    popular = popular_rows(viewers, scores, home)
    new = new_releases(scores, home)
    return [mood_row(v, home) + continue_watching(v) + because_you_watched(v, home) + micro[u] + popular[u]
            + new[u] + explore[u] for u, v in enumerate(viewers)]


def first_finite(candidates: np.ndarray, block: np.ndarray, depth: int = DEPTH) -> list[np.ndarray]:
    """Per row of block (a viewer's scores of the candidates): the first `depth` candidates
    whose score is finite (not seen, released), in the candidates' order."""
    finite = np.isfinite(block)
    keep = finite & (np.cumsum(finite, axis=1) <= depth)
    picked = np.broadcast_to(candidates, keep.shape)[keep]
    return np.split(picked, np.cumsum(keep.sum(axis=1))[:-1])


def continue_watching(v: Viewer) -> list[Draft]:
    if not v.started:
        return []
    return [Draft("Continue watching", "continue", "you started these and did not finish",
                  np.array(v.started, np.int64), {})]


def because_you_watched(v: Viewer, home) -> list[Draft]:
    out = []
    for anchor in v.liked[:BECAUSE_ROWS].tolist():
        title = home.items.titles[anchor]
        out.append(ranked(f"Because you watched {title}", "because", f"titles like {title}, which you liked",
                          home.neighbours(anchor)))
    return out


def microgenre_rows(viewers: list[Viewer], profiles: np.ndarray, home) -> list[list[Draft]]:
    """Rows named by the taxonomy's grammar from each viewer's two strongest noun and two
    strongest adjective tags (ties: catalog order), for the batch's (viewers, tags) profiles."""
    order = np.argsort(-profiles, axis=1, kind="stable")
    positive = np.take_along_axis(profiles, order, axis=1) > 0
    roles = []
    for is_role in (home.is_noun, home.is_adjective):
        mask = positive & is_role[order]
        viewer, at = np.nonzero(mask & (np.cumsum(mask, axis=1) <= 2))
        strongest = [[] for _ in viewers]
        for u, column in zip(viewer.tolist(), order[viewer, at].tolist()):
            strongest[u].append(column)
        roles.append(strongest)
    out = []
    for u, v in enumerate(viewers):
        mine, seen = [], set()
        for noun in roles[0][u]:
            for adjective in roles[1][u] + [None]:
                if len(mine) >= MICROGENRE_ROWS:
                    break
                columns = list(dict.fromkeys([noun] + ([adjective] if adjective is not None else [])))
                names = home.micro_genre_name(columns, v.profile_tags)
                if not names or names[0] in seen:
                    continue
                labels = ", ".join(unique_labels(home.items.tag_labels[c] for c in columns))
                mine.append(ranked(names[0], "microgenre", f"your strongest tags: {labels}", home.carrying(columns)))
                seen.add(names[0])
        out.append(mine)
    return out


def popular_rows(viewers: list[Viewer], scores: np.ndarray, home) -> list[list[Draft]]:
    """The most popular titles in each viewer's region, those they may be shown."""
    groups: dict[tuple, list[int]] = {}
    for u, v in enumerate(viewers):
        groups.setdefault((v.region, v.now_s), []).append(u)
    out: list[list[Draft]] = [[] for _ in viewers]
    for (region, now_s), members in groups.items():
        top = home.model.popularity.top(4 * DEPTH, now_s, region)
        where = f"in {region}" if region else "now"
        for u, titles in zip(members, first_finite(top, scores[np.ix_(members, top)])):
            out[u] = [Draft(f"Popular {where}", "popular", f"what viewers {where} are watching", titles, {})]
    return out


def new_releases(scores: np.ndarray, home) -> list[list[Draft]]:
    newest = home.newest[:4 * DEPTH]
    return [[Draft("New in the catalog", "new", "the latest titles in the catalog", titles, home.added_on)]
            for titles in first_finite(newest, scores[:, newest])]


def exploration(viewers: list[Viewer], profiles: np.ndarray, home, rngs: list) -> list[list[Draft]]:
    """A tag each viewer has little evidence on, drawn by Thompson sampling over tag arms
    (Beta(1 + likes, 1 + dislikes and ignored impressions)) among tags they do not already
    favour; the draws from each viewer's own generator, the rest for the batch at once."""
    n, n_tags = profiles.shape
    if n_tags == 0:
        return [[] for _ in viewers]
    theta = np.array([rng.beta(1.0 + v.profile_tags, 1.0 + v.disliked_tags) for v, rng in zip(viewers, rngs)])
    strongest = np.argsort(-profiles, axis=1)[:, :3]
    rows = np.arange(n)[:, None]
    theta[rows, strongest] = np.where(profiles[rows, strongest] > 0, -1.0, theta[rows, strongest])
    theta[:, home.rare_tags] = -1.0
    arms = np.argmax(theta, axis=1)
    out = []
    for arm, fits in zip(arms.tolist(), (theta[np.arange(n), arms] >= 0).tolist()):
        label = home.items.tag_labels[arm]
        out.append([ranked(f"Something different: {label}", "explore", f"exploring {label}, which you have not tried much",
                           home.carrying([arm]))] if fits else [])
    return out


def unique_labels(labels) -> list[str]:
    """Tag labels once each, first first (a genre and a sub-genre can share a label: "Horror")."""
    return list(dict.fromkeys(labels))


def mood_row(v: Viewer, home) -> list[Draft]:
    if not v.mood:
        return []
    labels = ", ".join(unique_labels(home.items.tag_labels[c] for c in v.mood))
    return [ranked(f"In the mood for: {labels}", "mood", f"you asked for {labels} today",
                   home.carrying(v.mood, every=False))]
