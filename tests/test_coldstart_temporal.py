"""The time-based cold-start protocol and what keeps it honest: the temporal split, random
tie-breaking, AUC with ties, the release era relative to the query time, paired bootstrap
intervals. Small synthetic ratings with answers known from how they were built."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from recommend_data import checkerboard_items
from tagger.recommend.age import AgePrior, calendar_year
from tagger.recommend.content import ContentWeights, content_matrix
from tagger.recommend.evaluate.metrics import auc, paired_interval, ranking_metrics, top_k
from tagger.recommend.evaluate.splits import POSITIVE_RATING, Ratings, item_cold_temporal, restrict

DAY_S = 86400


def year_s(year: int, day: int = 0) -> int:
    return int(dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc).timestamp()) + day * DAY_S


@pytest.fixture(scope="module")
def ratings() -> Ratings:
    """40 users rate 12 of 30 titles each; title t is first available on day 10 t (so titles
    arrive one after another) and each rating falls on a random later day."""
    rng = np.random.default_rng(3)
    user, item, stars, times = [], [], [], []
    for u in range(40):
        for t in rng.choice(30, 12, replace=False):
            user.append(u)
            item.append(t)
            stars.append(rng.choice([2.0, 3.0, 4.0, 4.5, 5.0]))
            times.append(year_s(2010, 10 * int(t) + int(rng.integers(0, 200))))
    return Ratings(np.array(user), np.array(item), np.array(stars, np.float32), np.array(times, np.int64), 40, 30)


def first_rated(r: Ratings) -> dict[int, int]:
    out: dict[int, int] = {}
    for i, t in zip(r.item, r.time_s):
        out[int(i)] = min(out.get(int(i), t), int(t))
    return out


@pytest.mark.parametrize("variant", ["older", "before"])
def test_temporal_split_new_titles_never_train(ratings, variant):
    train, query, cutoff_s = item_cold_temporal(ratings, 0.8, variant)
    first = first_rated(ratings)
    assert cutoff_s == np.quantile(list(first.values()), 0.8)
    new = sorted(t for t, s in first.items() if s > cutoff_s)
    assert list(query.candidates) == new and len(new) == 6           # the last fifth of 30 titles
    assert train.positives[:, new].nnz == 0 and not train.train_items[new].any()
    # Query users: a positive on a new title and a training history; relevant: exactly those.
    wanted = {}
    for u, i, s in zip(ratings.user, ratings.item, ratings.rating):
        if i in new and s >= POSITIVE_RATING:
            wanted.setdefault(int(u), set()).add(int(i))
    users = [u for u in sorted(wanted) if train.positives[u].nnz > 0]
    assert len(query.histories) == len(users) > 0
    for u, history, relevant, when in zip(users, query.histories, query.relevant, query.times_s):
        assert set(query.candidates[relevant]) == wanted[u]
        assert set(history) == set(train.positives[u].indices)
        assert when == ratings.time_s[ratings.user == u].max()        # the user's last rating


def test_temporal_split_before_the_cutoff_trains_on_nothing_later(ratings):
    train, _, cutoff_s = item_cold_temporal(ratings, 0.8, "before")
    assert train.times_s.data.max() <= cutoff_s
    kept = (ratings.time_s <= cutoff_s) & (ratings.rating >= POSITIVE_RATING)
    assert train.positives.nnz == kept.sum()
    older, _, _ = item_cold_temporal(ratings, 0.8, "older")
    assert older.times_s.data.max() > cutoff_s          # the older titles' later ratings do train there
    assert older.positives.nnz > train.positives.nnz


def test_temporal_split_validation_stays_inside_training(ratings):
    train, query, _ = item_cold_temporal(ratings, 0.8, "older")
    inner, inner_query, inner_cutoff = item_cold_temporal(Ratings.from_train(train), 0.8, "older",
                                                          base_items=train.train_items)
    assert not set(inner_query.candidates) & set(query.candidates)
    assert inner.positives[:, query.candidates].nnz == 0
    assert inner_cutoff < max(first_rated(ratings).values())


def test_restrict_keeps_the_chosen_candidates_and_their_hits(ratings):
    _, query, _ = item_cold_temporal(ratings, 0.8, "older")
    keep = np.zeros(len(query.candidates), bool)
    keep[::2] = True
    part = restrict(query, keep)
    assert list(part.candidates) == list(query.candidates[keep])
    for full, mine in zip(query.relevant, part.relevant):
        assert set(part.candidates[mine]) == set(query.candidates[full]) & set(part.candidates)


def test_unknown_variant_is_an_error(ratings):
    with pytest.raises(ValueError, match="variant"):
        item_cold_temporal(ratings, 0.8, "after")


# -- ties -----------------------------------------------------------------------------------------
def test_top_k_puts_higher_scores_first_and_draws_ties_by_seed():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, -np.inf], [1.0, 1.0, 1.0, 0.0, 2.0]])
    for seed in range(20):
        top = top_k(scores, 3, seed)
        assert set(top[0, :2]) == {1, 3} and top[0, 2] == 2
        assert top[1, 0] == 4 and set(top[1, 1:]) <= {0, 1, 2} and len(set(top[1, 1:])) == 2
        np.testing.assert_array_equal(top, top_k(scores, 3, seed))       # the same seed, the same draw
    orders = {tuple(top_k(scores, 3, seed)[1]) for seed in range(20)}
    assert len(orders) > 3                  # which two of the three tied titles, in which order, varies


def test_equal_scores_never_rank_by_catalog_order():
    """Every title ties; the relevant ones are the first five columns. Ranked by column they
    would all be found (Recall@5 = 1); drawn at random about 5/50 of them are."""
    users, titles = 400, 50
    scores = np.zeros((users, titles))
    relevant = [np.arange(5)] * users
    got = ranking_metrics(scores, relevant, k=5, seed=0)
    assert got["recall@5"] == pytest.approx(5 / 50, abs=0.02)
    picked = np.bincount(top_k(scores, 5, seed=1).ravel(), minlength=titles)
    assert picked.max() < 3 * picked.mean()          # every column about as often
    assert ranking_metrics(scores, relevant, k=5, seed=0) == got


def test_auc_of_tied_scores_is_a_half_and_ties_count_half():
    assert auc(np.zeros(10), np.array([0, 1, 2])) == pytest.approx(0.5)
    # relevant 0 (score 1) beats 3 irrelevant and ties 1 (score 1): (3 + 0.5) / 4
    assert auc(np.array([1.0, 1.0, 0.0, 0.0, 0.0]), np.array([0])) == pytest.approx(3.5 / 4)


# -- release era, relative to the query time ------------------------------------------------------
def test_content_vectors_carry_no_release_year():
    items = checkerboard_items(4)
    again = checkerboard_items(4)
    again.year = again.year + 17.0
    first, _ = content_matrix(items, ContentWeights())
    second, layout = content_matrix(again, ContentWeights())
    np.testing.assert_array_equal(first, second)
    assert "era" not in layout


def test_age_prior_scores_the_age_at_the_query_time_not_the_year():
    """Viewers like titles in their release year, never old ones: a title scores high when
    recommended the year it came out and low twenty years on, whatever its year."""
    release = np.array([1990.0, 2000.0, 2010.0, 1950.0, np.nan])
    liked = np.array([0, 1, 2] * 10)
    liked_s = np.array([year_s(int(release[t]), 100) for t in liked])
    prior = AgePrior().fit(release, liked, liked_s)
    at_1990, at_2010 = prior.scores(np.arange(5), np.array([year_s(1990, 5), year_s(2010, 5)]))
    assert at_1990[0] > at_1990[3] and at_2010[2] > at_2010[0]     # new then beats old then
    assert at_1990[0] == at_2010[2]                                 # the same age, the same score
    assert at_1990[0] > at_2010[0]                                  # one title, older now: lower
    assert at_1990[4] == at_2010[4] == 0.0                          # no release year: no opinion
    assert (prior.scores(np.arange(5), np.array([np.nan])) == 0).all()   # no query time: none either


def test_calendar_year_of_unix_seconds():
    assert calendar_year([year_s(1999, 364), year_s(2000), np.nan])[:2].tolist() == [1999.0, 2000.0]


# -- paired bootstrap -----------------------------------------------------------------------------
def test_paired_interval_of_a_constant_difference_is_that_difference():
    assert paired_interval([np.full(30, 0.1), np.full(10, 0.1)]) == pytest.approx((0.1, 0.1))
    assert paired_interval([np.zeros(30)]) == (0.0, 0.0)


def test_paired_interval_covers_the_mean_and_narrows_with_users():
    rng = np.random.default_rng(0)
    small = paired_interval([0.05 + 0.2 * rng.standard_normal(50)], seed=1)
    large = paired_interval([0.05 + 0.2 * rng.standard_normal(5000)], seed=1)
    assert small[0] < 0.05 < small[1] and large[0] < 0.05 < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 5
    assert large[0] > 0                                     # 5000 users: the gain is clear
    assert paired_interval([np.array([np.nan, 0.2, 0.2])]) == pytest.approx((0.2, 0.2))   # NaN: left out


def test_paired_interval_averages_seeds():
    lo, hi = paired_interval([np.full(20, 0.0), np.full(20, 0.2)])
    assert lo == pytest.approx(0.1) and hi == pytest.approx(0.1)


# -- content parts for titles nobody has seen ------------------------------------------------------
def test_factors_from_content_recover_a_linear_map_and_skip_untrusted_titles():
    from tagger.recommend.collab import factors_from_content

    rng = np.random.default_rng(0)
    content = rng.standard_normal((60, 6)).astype(np.float32)
    factors = content @ rng.standard_normal((6, 3)).astype(np.float32)
    weights = np.ones(60)
    weights[50:] = 0.0                              # nobody watched these: their factors are noise
    noisy = factors.copy()
    noisy[50:] = 100 * rng.standard_normal((10, 3))
    predicted = factors_from_content(content, noisy, weights, ridge=1e-6)
    np.testing.assert_allclose(predicted, factors, atol=1e-3)      # the unseen ones too, from content


def test_words_part_brings_the_title_sharing_rare_words():
    """a03 and a sequel alone share "zeppelin lighthouse"; a viewer of a03 gets the sequel first
    from the words part, and without it (weight 0) the part is not even built."""
    from recommend_data import build_items, checkerboard_likes, checkerboard_specs
    from tagger.recommend.model import Recommender, RecommenderSettings

    specs = checkerboard_specs()
    a03 = next(spec for spec in specs if spec["id"] == "a03")
    a03["synopsis"] += " zeppelin lighthouse"
    items = build_items(specs + [dict(a03, id="a03-sequel", title="A Title 3 Returns", synopsis="zeppelin lighthouse")])
    likes, times, _ = checkerboard_likes(items, users_per_group=12, likes_per_user=5)
    only_words = RecommenderSettings(content_weight=0.0, collab_weight=0.0, popularity_weight=0.0,
                                     freshness_weight=0.0, words_weight=1.0)
    model = Recommender(only_words).fit_matrix(items, likes, times)
    candidates = np.flatnonzero(np.array(items.ids) != "a03")
    scores = model.score([np.array([items.index["a03"]])], candidates)[0]
    assert items.ids[candidates[np.argmax(scores)]] == "a03-sequel" and (scores == scores.max()).sum() == 1
    assert Recommender().fit_matrix(items, likes, times).words is None
