"""Shared tests: every scorer (the Recommender through a small adapter, and every baseline of
the evaluation) on the same checkerboard world, with answers known from how it was built."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from recommend_data import START_S, checkerboard_items, checkerboard_likes, group_rows, ratings_of
from tagger.recommend.evaluate import baselines as B
from tagger.recommend.evaluate import coldstart
from tagger.recommend.evaluate.splits import TrainSet
from tagger.recommend.model import Recommender, RecommenderSettings

HAS_LIGHTFM = importlib.util.find_spec("lightfm") is not None
QUERY_S = START_S + 90 * 86400.0        # after every training like


class RecommenderScorer(B.Baseline):
    """The Recommender as a scorer: fit_matrix on the training positives, score with now_s."""
    name = "tagger"

    def __init__(self, settings: RecommenderSettings | None = None):
        self.settings = settings or RecommenderSettings()

    def fit(self, train, items):
        self.model = Recommender(self.settings).fit_matrix(items, train.positives, train.times_s)

    def score(self, histories, times_s, candidates):
        return self.model.score(histories, candidates, now_s=times_s)


@dataclass(frozen=True)
class Method:
    make: Callable[[], B.Baseline]
    content: bool = False    # ranks a title nobody has seen from what it is
    collab: bool = False     # ranks from what other viewers of the revealed titles liked
    prior: bool = False      # ranks by popularity when nothing is revealed


# Factor models get as many factors as the world has tastes (and LightFM a few more): with more,
# ALS also fits the rotation of likes inside a group, and one revealed title's fold-in then
# spills onto titles of the other group.
METHODS = {
    "tagger": Method(lambda: RecommenderScorer(RecommenderSettings(als_factors=2)),
                     content=True, collab=True, prior=True),
    "random": Method(lambda: B.RandomScores(seed=0)),
    "genre-popularity": Method(B.GenrePopularity, content=True, prior=True),
    "tfidf": Method(B.TfidfProfile, content=True),
    "popularity": Method(B.Popularity, prior=True),
    "item-knn": Method(B.ItemKNN, collab=True),
    "als": Method(lambda: B.ALS(factors=2, seed=0), collab=True),
    "lightfm": Method(lambda: B.LightFMWarp(components=8, seed=0), content=True),
}


def names(want: Callable[[str, Method, B.Baseline], bool] = lambda name, method, scorer: True):
    out = []
    for name, method in METHODS.items():
        if name == "lightfm":
            if not want(name, method, B.LightFMWarp()):
                continue
            out.append(pytest.param(name, marks=pytest.mark.skipif(not HAS_LIGHTFM, reason="lightfm not installed")))
        elif want(name, method, method.make()):
            out.append(name)
    return out


ITEM_COLD = names(lambda n, m, s: s.item_cold)
NEW_USER = names(lambda n, m, s: s.new_user)


# -- worlds -------------------------------------------------------------------------------------
@dataclass
class World:
    items: object
    train: TrainSet
    groups: np.ndarray          # per training user, "A" or "B"


@pytest.fixture(scope="module")
def cold():
    """Every user trains; the last three A and the last three B titles are held out (no rows)."""
    items = checkerboard_items()
    likes, times, groups = checkerboard_likes(items, users_per_group=24, likes_per_user=7)
    held = np.r_[group_rows(items, "A")[-3:], group_rows(items, "B")[-3:]]
    train_items = np.ones(len(items), bool)
    train_items[held] = False
    train = TrainSet.build(ratings_of(likes, times), train_items, np.ones(len(groups), bool))
    assert train.positives[:, held].nnz == 0
    users = np.arange(len(groups))
    return dict(world=World(items, train, groups), held=held, histories=[train.history(u) for u in users],
                times=np.full(len(users), np.nan))


@pytest.fixture(scope="module")
def warm():
    """Every title and user trains; each title is liked by exactly 14 users."""
    items = checkerboard_items()
    likes, times, groups = checkerboard_likes(items, users_per_group=24, likes_per_user=7)
    assert len(set(np.asarray(likes.sum(axis=0)).ravel())) == 1
    train = TrainSet.build(ratings_of(likes, times), np.ones(len(items), bool), np.ones(len(groups), bool))
    return World(items, train, groups)


@pytest.fixture(scope="module")
def with_hit():
    """As `warm`, but every A user also likes a05: the most-liked title by far."""
    items = checkerboard_items()
    likes, times, groups = checkerboard_likes(items, users_per_group=24, likes_per_user=7, hit="a05")
    counts = np.asarray(likes.sum(axis=0)).ravel()
    assert counts.argmax() == items.index["a05"] and (counts == counts.max()).sum() == 1
    train = TrainSet.build(ratings_of(likes, times), np.ones(len(items), bool), np.ones(len(groups), bool))
    return World(items, train, groups)


_FITTED: dict = {}


def fitted(name: str, world: World) -> B.Baseline:
    """The method fitted on the world, once per module."""
    key = (name, id(world))
    if key not in _FITTED:
        scorer = METHODS[name].make()
        scorer.fit(world.train, world.items)
        _FITTED[key] = (world, scorer)      # the world is kept so that its id is not reused
    return _FITTED[key][1]


def new_user_queries(items):
    """Histories of 0, 1 and 3 titles of either group, and one of both."""
    a, b = group_rows(items, "A"), group_rows(items, "B")
    return [np.zeros(0, np.int64), a[:1], b[4:5], a[2:5], b[[0, 3, 7]], np.r_[a[:1], b[:1]]]


# -- the tests ----------------------------------------------------------------------------------
def test_every_baseline_is_covered():
    assert {cls.name for cls in B.BASELINES} | {"tagger"} == set(METHODS)
    for name, method in METHODS.items():
        if name != "lightfm" or HAS_LIGHTFM:
            assert method.make().name == name


@pytest.mark.parametrize("name", ITEM_COLD)
def test_item_cold_scores_are_users_by_candidates(name, cold):
    scores = fitted(name, cold["world"]).score(cold["histories"], cold["times"], cold["held"])
    assert scores.shape == (len(cold["histories"]), len(cold["held"]))
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NEW_USER)
def test_new_user_scores_are_users_by_candidates(name, warm):
    queries = new_user_queries(warm.items)
    candidates = np.arange(3, len(warm.items))           # a subset, in catalog order
    scores = fitted(name, warm).score(queries, np.full(len(queries), QUERY_S), candidates)
    assert scores.shape == (len(queries), len(candidates))
    assert np.isfinite(scores).all()


def as_evaluated(name: str) -> B.Baseline:
    """A fresh scorer configured as `tagger evaluate coldstart` builds it for seed 0."""
    if name == "tagger":
        return RecommenderScorer()
    return {scorer.name: scorer for scorer in coldstart.baselines(seed=0)}[name]


@pytest.mark.parametrize("name", names())
def test_same_seed_same_scores(name, cold, warm):
    """As the evaluation configures them; two fresh fits each time (RandomScores draws anew on
    every call, so a used one would differ)."""
    first, second = as_evaluated(name), as_evaluated(name)
    if first.item_cold:
        for scorer in (first, second):
            scorer.fit(cold["world"].train, cold["world"].items)
        np.testing.assert_array_equal(first.score(cold["histories"], cold["times"], cold["held"]),
                                      second.score(cold["histories"], cold["times"], cold["held"]))
    if first.new_user:
        first, second = as_evaluated(name), as_evaluated(name)
        for scorer in (first, second):
            scorer.fit(warm.train, warm.items)
        queries = new_user_queries(warm.items)
        times = np.full(len(queries), QUERY_S)
        candidates = np.arange(len(warm.items))
        np.testing.assert_array_equal(first.score(queries, times, candidates),
                                      second.score(queries, times, candidates))


@pytest.mark.parametrize("name", names(lambda n, m, s: m.content and s.item_cold))
def test_held_out_titles_of_the_users_group_come_first(name, cold):
    """Nobody has seen the held-out titles: only what they are can put a group's first."""
    held, items, groups = cold["held"], cold["world"].items, cold["world"].groups
    scores = fitted(name, cold["world"]).score(cold["histories"], cold["times"], held)
    in_a = np.array([items.ids[t].startswith("a") for t in held])
    for u, group in enumerate(groups):
        mine = in_a if group == "A" else ~in_a
        assert scores[u, mine].min() > scores[u, ~mine].max(), (u, group, scores[u])


@pytest.mark.parametrize("name", names(lambda n, m, s: m.collab and s.new_user))
def test_one_revealed_title_brings_its_group(name, warm):
    """A new user reveals one title; the rest of its group outranks every title of the other.

    Every title is equally popular and no query time is given (no fading), so popularity is
    flat and only what viewers of the revealed title liked can separate the groups."""
    items = warm.items
    a, b = group_rows(items, "A"), group_rows(items, "B")
    revealed = np.r_[a, b]
    queries = [np.array([t]) for t in revealed]
    candidates = np.arange(len(items))
    scores = fitted(name, warm).score(queries, np.full(len(queries), np.nan), candidates)
    for row, title in enumerate(revealed):
        mine, other = (a, b) if title in a else (b, a)
        assert scores[row, np.setdiff1d(mine, [title])].min() > scores[row, other].max(), (items.ids[title])


@pytest.mark.parametrize("name", names(lambda n, m, s: m.prior and s.new_user))
def test_with_nothing_revealed_the_most_liked_title_comes_first(name, with_hit):
    items = with_hit.items
    scores = fitted(name, with_hit).score([np.zeros(0, np.int64)] * 2, np.array([QUERY_S, np.nan]),
                                          np.arange(len(items)))
    for row in scores:
        assert items.ids[int(np.argmax(row))] == "a05"
        assert (row == row.max()).sum() == 1


def test_random_scores_differ_by_seed(cold):
    first, second = B.RandomScores(seed=0), B.RandomScores(seed=1)
    for scorer in (first, second):
        scorer.fit(cold["world"].train, cold["world"].items)
    assert not np.array_equal(first.score(cold["histories"], cold["times"], cold["held"]),
                              second.score(cold["histories"], cold["times"], cold["held"]))


def test_fold_in_matches_implicit_recalculate_user():
    """Our cached-gram fold-in solves the same least squares as implicit's own."""
    import numpy as np
    import scipy.sparse as sp

    from tagger.recommend.collab import fit_als, fold_in, history_matrix

    likes = sp.random(120, 90, density=0.1, format="csr", dtype=np.float32, random_state=3)
    likes.data[:] = 1.0
    model = fit_als(likes, factors=6, regularization=0.05, alpha=2.0, iterations=4, random_state=0)
    histories = [np.array([1, 5, 9]), np.array([3]), np.array([], dtype=np.int64)]
    ours = fold_in(model, histories, 90)
    theirs = model.recalculate_user(np.arange(2), history_matrix(histories[:2], 90))
    assert np.allclose(ours[:2], theirs, atol=1e-4)
    assert not ours[2].any()
