"""Small worlds with known answers for the recommender tests.

Two groups of titles that differ in every way a recommender can see:

    A   text embeddings near e0, tags dark + thriller, genre Thriller, 1990s, "noir" words
    B   text embeddings near e1, tags upbeat + comedy, genre Comedy, 2010s, "sunny" words

and a checkerboard of viewers: a group-A viewer likes only A titles, a group-B viewer only B
titles, each a run of consecutive titles of their group (so every title is liked equally
often unless a `hit` is added), one like an hour in user order.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import scipy.sparse as sp

from tagger.recommend.events import Event
from tagger.recommend.evaluate.splits import Ratings
from tagger.recommend.items import ItemTable

DIM = 8
TAG_IDS = ["dark", "thriller", "upbeat", "comedy"]
START_S = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc).timestamp()
HOUR_S = 3600.0

# Words for synopses: six per group, each title takes three in a rotation, so each word is in
# half the titles of its group (a quarter of the catalog): inside TfidfVectorizer's and
# LightFM's CountVectorizer's document-frequency windows.
WORDS = {"A": ["detective", "murder", "shadow", "alley", "gunfire", "conspiracy"],
         "B": ["wedding", "picnic", "puppy", "sunshine", "karaoke", "bakery"]}
GROUPS = {
    "A": dict(axis=0, tags={"dark": 0.9, "thriller": 0.8}, genre="Thriller", year=1995.0),
    "B": dict(axis=1, tags={"upbeat": 0.9, "comedy": 0.8}, genre="Comedy", year=2015.0),
}


def title_spec(title_id: str, group: str, n: int, **overrides) -> dict:
    """One title of a group; `n` picks its synopsis words and its small embedding offset."""
    g = GROUPS[group]
    words = WORDS[group]
    spec = dict(id=title_id, title=f"{group} Title {n}", group=group,
                synopsis=" ".join(words[(n + i) % len(words)] for i in range(3)),
                genres=[g["genre"]], year=g["year"] + n % 5, regions=["US"], added_s=START_S - 400 * 86400.0,
                tags=dict(g["tags"]), vector=None)
    spec.update(overrides)
    return spec


def build_items(specs: list[dict], seed: int = 0) -> ItemTable:
    """An ItemTable from title specs; a spec's `vector` overrides the group direction + noise,
    and `near` (an earlier title's id) makes its text embedding that title's, nudged."""
    rng = np.random.default_rng(seed)
    text = np.zeros((len(specs), DIM), np.float32)
    r, c, v = [], [], []
    for row, spec in enumerate(specs):
        if spec.get("near") is not None:         # a near-duplicate of an earlier title
            text[row] = text[[s["id"] for s in specs].index(spec["near"])] + 0.01 * rng.standard_normal(DIM)
        elif spec["vector"] is not None:
            text[row] = spec["vector"]
        else:
            text[row, GROUPS[spec["group"]]["axis"]] = 1.0
            text[row] += 0.15 * rng.standard_normal(DIM).astype(np.float32)
        for tag, confidence in spec["tags"].items():
            r.append(row)
            c.append(TAG_IDS.index(tag))
            v.append(confidence)
    tags = sp.csr_matrix((np.array(v, np.float32), (r, c)), shape=(len(specs), len(TAG_IDS)))
    return ItemTable(ids=[s["id"] for s in specs], titles=[s["title"] for s in specs],
                     synopses=[s["synopsis"] for s in specs], genres=[list(s["genres"]) for s in specs],
                     year=np.array([s["year"] for s in specs], float), regions=[list(s["regions"]) for s in specs],
                     added_s=np.array([s["added_s"] for s in specs], float), tag_ids=list(TAG_IDS),
                     tag_labels=[t.title() for t in TAG_IDS], tags=tags, embeddings={"text": text})


def checkerboard_specs(per_group: int = 12) -> list[dict]:
    """A titles a00.. first, then B titles b00.."""
    return [title_spec(f"{g.lower()}{n:02d}", g, n) for g in "AB" for n in range(per_group)]


def checkerboard_items(per_group: int = 12) -> ItemTable:
    return build_items(checkerboard_specs(per_group))


def group_rows(items: ItemTable, group: str) -> np.ndarray:
    """Rows of the checkerboard titles of a group (ids like a07), not of titles added beside them."""
    return np.array([i for i, t in enumerate(items.ids) if re.fullmatch(group.lower() + r"\d\d", t)], np.int64)


def checkerboard_likes(items: ItemTable, users_per_group: int = 30, likes_per_user: int = 6, hit: str | None = None):
    """(likes, times, user_group): likes and times are (users, titles) CSR; group-A users first.

    User j of a group likes `likes_per_user` consecutive titles of that group starting at j
    (cyclically), one an hour. `hit`: a title every user of its group likes as well.
    """
    rows, cols, times, groups = [], [], [], []
    clock = START_S
    for g in "AB":
        mine = group_rows(items, g)
        for j in range(users_per_group):
            u = len(groups)
            groups.append(g)
            liked = [int(mine[(j + i) % len(mine)]) for i in range(likes_per_user)]
            if hit is not None and items.index[hit] in mine and items.index[hit] not in liked:
                liked.append(items.index[hit])
            for title in liked:
                rows.append(u)
                cols.append(title)
                times.append(clock)
                clock += HOUR_S
    shape = (len(groups), len(items))
    likes = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    when = sp.csr_matrix((np.array(times), (rows, cols)), shape=shape)
    return likes, when, np.array(groups)


def ratings_of(likes: sp.csr_matrix, times: sp.csr_matrix, rating: float = 5.0) -> Ratings:
    """The likes as evaluation ratings (every one a positive)."""
    coo = likes.tocoo()
    when = np.asarray(times.tocsr()[coo.row, coo.col]).ravel()
    return Ratings(user=coo.row.astype(np.int64), item=coo.col.astype(np.int64),
                   rating=np.full(coo.nnz, rating, np.float32), time_s=when.astype(np.int64),
                   n_users=likes.shape[0], n_items=likes.shape[1])


def events_of(items: ItemTable, likes: sp.csr_matrix, times: sp.csr_matrix, region: str | None = None,
              prefix: str = "u") -> list[Event]:
    """One finished viewing (completion 1.0) per like; user u is f"{prefix}{u:02d}"."""
    coo = likes.tocoo()
    when = np.asarray(times.tocsr()[coo.row, coo.col]).ravel()
    return [Event(f"{prefix}{u:02d}", items.ids[t], "completion", 1.0, float(s), region)
            for u, t, s in zip(coo.row, coo.col, when)]
