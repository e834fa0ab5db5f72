"""Shared tests: every scorer of the evaluation (the Recommender and every baseline), called
alike, on the same checkerboard worlds, with answers known from how they were built."""
from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from recommend_data import (DIM, START_S, build_items, checkerboard_items, checkerboard_likes, checkerboard_specs,
                            group_rows, ratings_of)
from tagger.recommend.evaluate import baselines as B
from tagger.recommend.evaluate import coldstart
from tagger.recommend.evaluate.splits import TrainSet
from tagger.recommend.model import RecommenderSettings

HAS_LIGHTFM = importlib.util.find_spec("lightfm") is not None
QUERY_S = START_S + 90 * 86400.0        # after every training like


def tagger(settings: RecommenderSettings | None = None) -> coldstart.TaggerMethod:
    """The evaluation's tagger method with fixed settings instead of its tuning."""
    return coldstart.TaggerMethod(lambda train, items: settings or RecommenderSettings())


@dataclass(frozen=True)
class Method:
    make: Callable[[], B.Baseline | coldstart.TaggerMethod]     # fit(train, items) returns the scorer
    content: bool = False    # ranks a title nobody has seen from what it is
    collab: bool = False     # ranks from what other viewers of the revealed titles liked
    prior: bool = False      # ranks by popularity when nothing is revealed
    twin: bool = False       # ranks a revealed title's twin (same content, same viewers) first
    by_id: bool = False      # tells titles apart by id alone (random draws, per-title features)


# Factor models get as many factors as the world has tastes (and LightFM a few more): with more,
# ALS also fits the rotation of likes inside a group, and one revealed title's fold-in then
# spills onto titles of the other group.
METHODS = {
    "tagger": Method(lambda: tagger(RecommenderSettings(als_factors=2)), content=True, collab=True, prior=True,
                     twin=True),
    "random": Method(lambda: B.RandomScores(seed=0), by_id=True),
    "genre-popularity": Method(B.GenrePopularity, content=True, prior=True),
    "tfidf": Method(B.TfidfProfile, content=True, twin=True),
    "popularity": Method(B.Popularity, prior=True),
    "item-knn": Method(B.ItemKNN, collab=True, twin=True),
    "als": Method(lambda: B.ALS(factors=2, seed=0), collab=True, twin=True),
    "lightfm": Method(lambda: B.LightFMWarp(components=8, seed=0), content=True, by_id=True),
    "year-prior": Method(B.YearPrior),
}


def names(want: Callable[[str, Method, object], bool] = lambda name, method, scorer: True):
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


@pytest.fixture(scope="module")
def twins():
    """As `warm`, plus a03-twin: a03 again under another id (same embedding, words, tags, genre,
    year, and the same viewers at the same times). Only they two carry the words "zeppelin
    lighthouse", so no other title reads exactly like a03."""
    specs = checkerboard_specs()
    a03 = next(spec for spec in specs if spec["id"] == "a03")
    a03.update(synopsis=a03["synopsis"] + " zeppelin lighthouse",
               vector=np.eye(DIM, dtype=np.float32)[0] + np.float32(0.15) * np.sin(np.arange(DIM, dtype=np.float32)))
    items = build_items(specs + [dict(a03, id="a03-twin", title="A Title 3 Again")])
    likes, times, groups = checkerboard_likes(items, users_per_group=24, likes_per_user=7)
    original, twin = items.index["a03"], items.index["a03-twin"]
    likes, times = likes.tolil(), times.tolil()
    likes[:, twin], times[:, twin] = likes[:, original], times[:, original]
    train = TrainSet.build(ratings_of(likes.tocsr(), times.tocsr()), np.ones(len(items), bool),
                           np.ones(len(groups), bool))
    assert train.positives[:, original].nnz == train.positives[:, twin].nnz == 14
    return World(items, train, groups)


_FITTED: dict = {}


def fitted(name: str, world: World) -> B.Baseline:
    """The method fitted on the world, once per module: what its fit returned, which scores."""
    key = (name, id(world))
    if key not in _FITTED:
        _FITTED[key] = (world, METHODS[name].make().fit(world.train, world.items))   # the world is kept
    return _FITTED[key][1]                                                          # so its id is not reused


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


def test_every_scorer_takes_the_same_arguments():
    """One call for all: histories, candidates, then the query times by keyword."""
    from tagger.recommend.model import Recommender

    expected = ["self", "histories", "candidates", "now_s"]
    for scorer in (Recommender, B.Baseline, *B.BASELINES):
        signature = inspect.signature(scorer.score)
        assert list(signature.parameters) == expected, scorer
        assert signature.parameters["now_s"].kind is inspect.Parameter.KEYWORD_ONLY, scorer
        assert signature.parameters["now_s"].default is None, scorer


@pytest.mark.parametrize("name", ITEM_COLD)
def test_item_cold_scores_are_users_by_candidates(name, cold):
    scores = fitted(name, cold["world"]).score(cold["histories"], cold["held"], now_s=cold["times"])
    assert scores.shape == (len(cold["histories"]), len(cold["held"]))
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NEW_USER)
def test_new_user_scores_are_users_by_candidates(name, warm):
    queries = new_user_queries(warm.items)
    candidates = np.arange(3, len(warm.items))           # a subset, in catalog order
    scores = fitted(name, warm).score(queries, candidates, now_s=np.full(len(queries), QUERY_S))
    assert scores.shape == (len(queries), len(candidates))
    assert np.isfinite(scores).all()


def as_evaluated(name: str):
    """A fresh method configured as `tagger evaluate coldstart` builds it for seed 0 (the tagger
    method with default settings: its tuning is not under test here)."""
    if name == "tagger":
        return tagger()
    return {scorer.name: scorer for scorer in coldstart.baselines(seed=0)}[name]


@pytest.mark.parametrize("name", names())
def test_same_seed_same_scores(name, cold, warm):
    """As the evaluation configures them; two fresh fits each time (RandomScores draws anew on
    every call, so a used one would differ)."""
    method = as_evaluated(name)
    if method.item_cold:
        first, second = (as_evaluated(name).fit(cold["world"].train, cold["world"].items) for _ in range(2))
        np.testing.assert_array_equal(first.score(cold["histories"], cold["held"], now_s=cold["times"]),
                                      second.score(cold["histories"], cold["held"], now_s=cold["times"]))
    if method.new_user:
        first, second = (as_evaluated(name).fit(warm.train, warm.items) for _ in range(2))
        queries = new_user_queries(warm.items)
        times = np.full(len(queries), QUERY_S)
        candidates = np.arange(len(warm.items))
        np.testing.assert_array_equal(first.score(queries, candidates, now_s=times),
                                      second.score(queries, candidates, now_s=times))


@pytest.mark.parametrize("name", names(lambda n, m, s: not m.by_id and s.new_user))
def test_scores_follow_their_candidates_in_any_order(name, warm):
    """Shuffling the candidates shuffles the score columns alike (standardising over the
    candidates sums them in another order: equal to rounding)."""
    queries = new_user_queries(warm.items)
    candidates = np.arange(len(warm.items))
    shuffled = np.random.default_rng(7).permutation(candidates)
    scorer, times = fitted(name, warm), np.full(len(queries), QUERY_S)
    np.testing.assert_allclose(scorer.score(queries, shuffled, now_s=times),
                               scorer.score(queries, candidates, now_s=times)[:, shuffled], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", names(lambda n, m, s: not m.by_id and s.new_user))
def test_titles_alike_in_all_but_their_id_tie(name, twins):
    """a03 and a03-twin differ only in their ids: every score of one is the other's (to float32
    rounding: matrix products sum a column in an order that depends on where it sits)."""
    items = twins.items
    a, b = group_rows(items, "A"), group_rows(items, "B")
    queries = [np.zeros(0, np.int64), a[:1], b[4:5], a[[0, 5, 7]], b[[0, 3]]]
    pair = [items.index["a03"], items.index["a03-twin"]]
    for now_s in (QUERY_S, np.nan):
        scores = fitted(name, twins).score(queries, np.arange(len(items)), now_s=np.full(len(queries), now_s))
        np.testing.assert_allclose(scores[:, pair[0]], scores[:, pair[1]], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", names(lambda n, m, s: m.twin and s.new_user))
def test_a_revealed_titles_twin_comes_first(name, twins):
    """Revealing a03 alone, its twin outranks every other title, alone at the top."""
    items = twins.items
    candidates = np.flatnonzero(np.array(items.ids) != "a03")
    scores = fitted(name, twins).score([np.array([items.index["a03"]])], candidates, now_s=np.array([np.nan]))[0]
    assert items.ids[candidates[np.argmax(scores)]] == "a03-twin"
    assert (scores == scores.max()).sum() == 1


@pytest.mark.parametrize("name", names(lambda n, m, s: m.content and s.item_cold))
def test_held_out_titles_of_the_users_group_come_first(name, cold):
    """Nobody has seen the held-out titles: only what they are can put a group's first."""
    held, items, groups = cold["held"], cold["world"].items, cold["world"].groups
    scores = fitted(name, cold["world"]).score(cold["histories"], held, now_s=cold["times"])
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
    scores = fitted(name, warm).score(queries, candidates, now_s=np.full(len(queries), np.nan))
    for row, title in enumerate(revealed):
        mine, other = (a, b) if title in a else (b, a)
        assert scores[row, np.setdiff1d(mine, [title])].min() > scores[row, other].max(), (items.ids[title])


@pytest.mark.parametrize("name", names(lambda n, m, s: m.prior and s.new_user))
def test_with_nothing_revealed_the_most_liked_title_comes_first(name, with_hit):
    items = with_hit.items
    scores = fitted(name, with_hit).score([np.zeros(0, np.int64)] * 2, np.arange(len(items)),
                                          now_s=np.array([QUERY_S, np.nan]))
    for row in scores:
        assert items.ids[int(np.argmax(row))] == "a05"
        assert (row == row.max()).sum() == 1


def test_random_scores_differ_by_seed(cold):
    first, second = (B.RandomScores(seed).fit(cold["world"].train, cold["world"].items) for seed in (0, 1))
    assert not np.array_equal(first.score(cold["histories"], cold["held"], now_s=cold["times"]),
                              second.score(cold["histories"], cold["held"], now_s=cold["times"]))


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
    # Short histories go through the Woodbury identity, long ones a full solve: both the same.
    long = [np.arange(0, 90, 7), np.array([2, 4])]
    theirs = model.recalculate_user(np.arange(2), history_matrix(long, 90))
    assert np.allclose(fold_in(model, long, 90), theirs, atol=1e-4)
    assert np.allclose(fold_in(model, long[1:], 90), theirs[1:], atol=1e-4)
