"""The evaluation's parts: metrics on hand-computed cases, the two cold-start splits, and the
harness end to end on a tiny synthetic dataset (the MovieLens data is never read here)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from recommend_data import START_S, checkerboard_items, checkerboard_likes, group_rows
from tagger.recommend.evaluate import coldstart
from tagger.recommend.evaluate.metrics import auc, ranking_metrics
from tagger.recommend.evaluate.movielens import RatingsData
from tagger.recommend.evaluate.splits import POSITIVE_RATING, Ratings, TrainSet, item_cold, new_user


# -- metrics --------------------------------------------------------------------------------------
def test_recall_and_ndcg_with_binary_gains():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4],     # top 3: 0 1 2; relevant 0, 2, 5
                       [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],     # no relevant candidate: left out
                       [0.1, 0.2, 0.3, 0.4, 0.9, 0.0]])    # top 3: 4 3 2; relevant 4
    relevant = [np.array([0, 2, 5]), np.array([], int), np.array([4])]
    got = ranking_metrics(scores, relevant, k=3)
    ndcg_first = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert got["recall@3"] == pytest.approx((2 / 3 + 1) / 2)
    assert got["ndcg@3"] == pytest.approx((ndcg_first + 1) / 2)
    assert "auc" not in got


def test_ndcg_ideal_is_cut_at_k_and_recall_counts_every_relevant():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]])
    got = ranking_metrics(scores, [np.array([0, 1, 2, 3, 4])], k=2)
    assert got == {"recall@2": pytest.approx(2 / 5), "ndcg@2": pytest.approx(1.0)}
    got = ranking_metrics(scores, [np.array([1])], k=2)
    assert got["ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert ranking_metrics(scores, [np.array([5])], k=2) == {"recall@2": 0.0, "ndcg@2": 0.0}


def test_auc_counts_ties_as_half():
    assert auc(np.array([3.0, 1.0, 2.0, 2.0]), np.array([0, 2])) == pytest.approx(3.5 / 4)
    assert auc(np.array([1.0, 1.0, 1.0]), np.array([1])) == pytest.approx(0.5)
    assert auc(np.array([0.0, 1.0, 2.0]), np.array([0])) == pytest.approx(0.0)
    assert math.isnan(auc(np.array([1.0, 2.0]), np.array([0, 1])))
    got = ranking_metrics(np.array([[3.0, 1.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]]),
                          [np.array([0, 2]), np.array([0, 1, 2, 3])], k=2, with_auc=True)
    assert got["auc"] == pytest.approx(3.5 / 4)         # the all-relevant user has no AUC


def test_metrics_need_a_user_with_a_relevant_candidate():
    with pytest.raises(ValueError, match="no user"):
        ranking_metrics(np.zeros((2, 3)), [np.array([], int), np.array([], int)])


# -- splits ---------------------------------------------------------------------------------------
N_USERS, N_ITEMS = 30, 25


@pytest.fixture(scope="module")
def ratings() -> Ratings:
    """Each user rates 8 of the titles 1-5 stars; times are distinct and not in title order."""
    rng = np.random.default_rng(7)
    user, item, stars = [], [], []
    for u in range(N_USERS):
        for t in rng.choice(N_ITEMS, 8, replace=False):
            user.append(u)
            item.append(t)
            stars.append(rng.choice([1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0]))
    times = START_S + rng.permutation(len(user)) * 3600
    return Ratings(np.array(user), np.array(item), np.array(stars, np.float32), times.astype(np.int64),
                   N_USERS, N_ITEMS)


def positives_of(r: Ratings, u: int) -> list[tuple[int, int]]:
    """(time, title) of a user's positives, by hand."""
    return sorted((int(r.time_s[i]), int(r.item[i])) for i in range(len(r.user))
                  if r.user[i] == u and r.rating[i] >= POSITIVE_RATING)


def test_train_set_holds_positives_with_their_times_oldest_first(ratings):
    train = TrainSet.build(ratings, np.ones(N_ITEMS, bool), np.ones(N_USERS, bool))
    assert train.positives.nnz == int((ratings.rating >= POSITIVE_RATING).sum())
    for u in range(N_USERS):
        mine = positives_of(ratings, u)
        assert list(train.history(u)) == [t for _, t in mine]
        for when, title in mine:
            assert train.times_s[u, title] == when


def test_item_cold_holds_out_titles_with_all_their_ratings(ratings):
    train, query = item_cold(ratings, seed=3)
    held = query.candidates
    assert len(held) == round(0.2 * N_ITEMS) and list(held) == sorted(held)
    assert train.positives[:, held].nnz == 0 and train.times_s[:, held].nnz == 0
    assert not train.train_items[held].any() and train.train_items.sum() == N_ITEMS - len(held)
    # Training positives are every positive on the other titles.
    kept = np.isin(ratings.item, held, invert=True) & (ratings.rating >= POSITIVE_RATING)
    assert train.positives.nnz == kept.sum()
    # Query users: exactly those with a held-out positive; relevant: those titles, as columns.
    wanted = {}
    for i in np.flatnonzero(np.isin(ratings.item, held) & (ratings.rating >= POSITIVE_RATING)):
        wanted.setdefault(int(ratings.user[i]), set()).add(int(ratings.item[i]))
    assert len(query.histories) == len(wanted) == len(query.relevant)
    for history, relevant, (u, titles) in zip(query.histories, query.relevant, sorted(wanted.items())):
        assert set(held[relevant]) == titles
        assert list(history) == [t for _, t in positives_of(ratings, u) if t not in held]
    for u, when in zip(sorted(wanted), query.times_s):     # the query time: the user's last rating
        assert when == ratings.time_s[ratings.user == u].max()


def test_item_cold_differs_by_seed_and_repeats_for_the_same_seed(ratings):
    assert list(item_cold(ratings, 1)[1].candidates) == list(item_cold(ratings, 1)[1].candidates)
    assert list(item_cold(ratings, 1)[1].candidates) != list(item_cold(ratings, 2)[1].candidates)


def test_new_user_reveals_the_first_k_positives_in_time_order(ratings):
    ks = (0, 1, 3)
    train, queries = new_user(ratings, seed=5, ks=ks)
    held = np.flatnonzero(~train.train_users)
    assert len(held) == round(0.2 * N_USERS)
    assert train.positives[held].nnz == 0 and train.times_s[held].nnz == 0
    kept = [u for u in held if len(positives_of(ratings, u)) > max(ks)]
    assert kept, "the fixture should leave some held-out users with enough positives"
    for k in ks:
        q = queries[k]
        assert len(q.histories) == len(kept)
        assert list(q.candidates) == list(range(N_ITEMS))
        for history, when, relevant, u in zip(q.histories, q.times_s, q.relevant, kept):
            mine = positives_of(ratings, u)
            assert list(history) == [t for _, t in mine[:k]]
            assert sorted(relevant) == sorted(t for _, t in mine[k:])
            first_rating = ratings.time_s[ratings.user == u].min()
            assert when == (mine[k - 1][0] if k else first_rating)


def test_validation_splits_stay_inside_the_training_data(ratings):
    train, query = item_cold(ratings, seed=0)
    inner, inner_query = item_cold(Ratings.from_train(train), seed=1000, base_items=train.train_items)
    test_titles = set(query.candidates)
    assert not test_titles & set(inner_query.candidates)
    assert not inner.train_items[list(test_titles)].any()
    assert inner.positives[:, list(test_titles)].nnz == 0
    assert len(inner_query.candidates) == round(0.2 * train.train_items.sum())

    train, queries = new_user(ratings, seed=0, ks=(0, 1))
    test_users = np.flatnonzero(~train.train_users)
    inner, inner_queries = new_user(Ratings.from_train(train), seed=1000, ks=(0, 1), base_users=train.train_users)
    inner_held = np.flatnonzero(~inner.train_users & train.train_users)
    assert not inner.train_users[test_users].any()
    assert inner.positives[test_users].nnz == 0
    assert len(inner_held) == round(0.2 * train.train_users.sum())
    # The inner queries are built from training rows only: none of them reveals a test user's title set.
    for history in inner_queries[1].histories:
        assert len(history) == 1


def test_ratings_from_train_keeps_positives_and_times(ratings):
    train = TrainSet.build(ratings, np.ones(N_ITEMS, bool), np.ones(N_USERS, bool))
    back = Ratings.from_train(train)
    assert len(back.user) == train.positives.nnz and (back.rating >= POSITIVE_RATING).all()
    again = TrainSet.build(back, np.ones(N_ITEMS, bool), np.ones(N_USERS, bool))
    assert (again.positives != train.positives).nnz == 0
    assert (again.times_s != train.times_s).nnz == 0


# -- the harness end to end ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_movielens():
    """A RatingsData-like pair of frames over a 20-title checkerboard: 24 viewers who rate
    7 titles of their group 5 stars and 2 of the other group 2 stars."""
    items = checkerboard_items(10)
    likes, times, groups = checkerboard_likes(items, users_per_group=12, likes_per_user=7)
    coo = likes.tocoo()
    when = np.asarray(times.tocsr()[coo.row, coo.col]).ravel()
    rows = [dict(user_id=int(u) + 100, title_id=items.ids[t], rating=5.0, timestamp=int(s))
            for u, t, s in zip(coo.row, coo.col, when)]
    rng = np.random.default_rng(0)
    for u, group in enumerate(groups):
        for t in rng.choice(group_rows(items, "B" if group == "A" else "A"), 2, replace=False):
            rows.append(dict(user_id=u + 100, title_id=items.ids[t], rating=2.0, timestamp=int(START_S + 1e6 + u)))
    ratings = pd.DataFrame(rows)
    movies = pd.DataFrame(dict(title_id=items.ids, movie_id=range(len(items)), title=items.titles,
                               synopsis=items.synopses, year=items.year, genres=items.genres,
                               original_language="en", release_date=""))
    return RatingsData(movies=movies, ratings=ratings), items


def test_coldstart_evaluate_reports_every_method_for_every_protocol(tiny_movielens):
    data, items = tiny_movielens
    lines = []
    results = coldstart.evaluate(data, items, seeds=(0,), log=lines.append)
    json.dumps(results)
    assert len(lines) == 4          # random, temporal (two trainings), new users
    methods = {"tagger", *(b.name for b in coldstart.baselines(0))}
    new_user_methods = {m for m in methods if m not in ("lightfm", "year-prior")}

    def check(result, metrics):
        result = {k: v for k, v in result.items() if k != "ci95_vs_tfidf"}
        assert set(result) == set(metrics) | {"std"}
        assert set(result["std"]) == set(metrics)
        assert all(0.0 <= result[m] <= 1.0 for m in metrics)
        assert all(result["std"][m] == 0.0 for m in metrics)      # one seed

    for name in ("item_cold", "item_cold_temporal", "item_cold_temporal_before"):
        assert set(results[name]) == methods, name
        for method, result in results[name].items():
            interval = result.pop("ci95_vs_tfidf", None)
            assert (interval is None) == (method == "tfidf")
            assert interval is None or interval[0] <= interval[1]
            check(result, ("recall@20", "ndcg@20", "auc"))
    # No title of the tiny catalog is released in the cutoff's year or later: no recent results.
    assert results["meta"]["temporal_older"]["new_titles_recent"] == 0
    assert set(results["new_user"]) == {"0", "1", "3", "5"}
    for k, per_method in results["new_user"].items():
        expected = new_user_methods - (coldstart.NEEDS_HISTORY if k == "0" else set())
        assert set(per_method) == expected, k
        for result in per_method.values():
            check(result, ("recall@20", "ndcg@20"))
    meta = results["meta"]
    assert meta["seeds"] == [0] and meta["titles"] == len(items) and meta["users"] == 24
    assert meta["ratings"] == len(data.ratings)
    assert set(meta["tagger_settings_chosen"]) == {"item_cold", "new_user", "temporal_older", "temporal_before"}
    assert meta["temporal_older"]["new_titles"] == meta["temporal_before"]["new_titles"] > 0


def test_coldstart_evaluate_runs_only_the_protocols_asked_for(tiny_movielens):
    data, items = tiny_movielens
    results = coldstart.evaluate(data, items, seeds=(0,), protocols=("temporal",), log=lambda line: None)
    assert {k for k in results if k != "meta"} == {"item_cold_temporal", "item_cold_temporal_recent",
                                                    "item_cold_temporal_before", "item_cold_temporal_before_recent"}
