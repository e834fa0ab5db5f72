"""Large-catalog paths of the recommender, made to run on small catalogs by their settings: a
retrieved candidate pool instead of scoring every title, parts standardised over the whole
catalog, largest-inner-product search, popularity refreshed hourly."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommend_data import START_S, build_items, checkerboard_likes, checkerboard_specs, events_of, title_spec
from tagger.recommend import Recommender, RecommenderSettings
from tagger.recommend.index import InnerProductIndex, default_backend
from tagger.recommend.popularity import Popularity

BACKENDS = {"numpy", default_backend()}   # the numpy fallback, and FAISS where it is installed
QUERY_S = START_S + 400 * 86400.0
HOUR_S = 3600.0


@pytest.fixture(scope="module")
def world():
    """60 titles a group (and a few new ones), 40 viewers a group with 8 likes each."""
    specs = checkerboard_specs(60) + [title_spec(f"new-{n}", "AB"[n % 2], n, added_s=QUERY_S - 86400.0 * n)
                                      for n in range(6)]
    items = build_items(specs)
    likes, times, _ = checkerboard_likes(items, users_per_group=40, likes_per_user=8, hit="a05")
    return items, events_of(items, likes, times)


def fitted(world, **settings) -> Recommender:
    items, events = world
    return Recommender(RecommenderSettings(**settings)).fit(items, events, now_s=QUERY_S)


# Diversity off: it re-ranks the best `rerank_pool` titles scaled over them, so it follows the
# pool's head rather than the scoring.
@pytest.fixture(scope="module")
def full(world):
    return fitted(world, full_scan_up_to=10**6, diversity=0.0, knn_neighbours=10)


@pytest.mark.parametrize("ann_from", [10**6, 40], ids=["exact-indexes", "ivf-indexes"])
def test_a_candidate_pool_ranks_as_scoring_every_title(world, full, ann_from):
    """Whenever the pool holds the full scan's top 5, it ranks them alike. (How often it holds
    them is measured on a realistic catalog in benchmarks/recommender_queries.py: here every
    title of a group is alike, so the top is decided by small differences.)"""
    pooled = fitted(world, full_scan_up_to=10, candidates_per_part=15, ann_from=ann_from, diversity=0.0,
                    knn_neighbours=10)
    held, pool_sizes = [], []
    for user in pooled.user_ids:
        signed = pooled.signed[pooled._user_index[user]]
        inputs = pooled.query_inputs([signed.indices[signed.data > 0]], [signed.data[signed.data > 0]])
        pool = set(pooled._candidates(inputs, QUERY_S, None).tolist())
        pool_sizes.append(len(pool))
        want = [r.title_id for r in full.recommend_user(user, 5, now_s=QUERY_S)]
        held.append(all(pooled.items.index[t] in pool for t in want))
        if held[-1]:
            assert [r.title_id for r in pooled.recommend_user(user, 5, now_s=QUERY_S)] == want, user
    assert max(pool_sizes) < len(world[0]) * 0.6      # a real subset of the catalog
    assert sum(held) >= 20                            # and the check above ran for many viewers


def test_catalog_scale_standardises_a_subset_as_the_whole_catalog(full):
    histories = [full.signed[u].indices for u in (0, 41, 79)]
    everything = np.arange(len(full.items))
    subset = np.array([3, 17, 64, 90, 121, 124])
    whole = full.parts(histories, everything, now_s=QUERY_S)
    scaled = full.parts(histories, subset, now_s=QUERY_S, catalog_scale=True)
    plain = full.parts(histories, subset, now_s=QUERY_S)
    for name in ("content", "collab", "popularity"):
        np.testing.assert_allclose(scaled[name], whole[name][:, subset], atol=1e-5, err_msg=name)
        assert not np.allclose(plain[name], whole[name][:, subset], atol=1e-3), name   # the scale matters


@pytest.mark.parametrize("backend, ann_from", [("faiss", None), ("faiss", 0), ("numpy", None)],
                         ids=["faiss-exact", "faiss-ivf", "numpy-exact"])
def test_inner_product_index_ranks_by_inner_product_not_cosine(backend, ann_from):
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((400, 16)).astype(np.float32) * rng.uniform(0.1, 3.0, (400, 1)).astype(np.float32)
    ids = [f"t{i}" for i in range(400)]
    if backend not in BACKENDS:
        pytest.skip("faiss-cpu is not installed")
    index = InnerProductIndex(ids, vectors, ann_from=ann_from, backend=backend)
    assert index.index.mode == ("ivf" if ann_from == 0 else "exact")
    for query in rng.standard_normal((20, 16)).astype(np.float32):
        kwargs = {"nprobe": index.index.nlist} if ann_from == 0 else {}
        [hit] = index.search(query, 10, **kwargs)
        products = vectors @ query
        np.testing.assert_array_equal(hit.rows, np.argsort(-products, kind="stable")[:10])
        cosine_top = np.argsort(-(products / np.linalg.norm(vectors, axis=1)))[:10]
        assert set(hit.rows) != set(cosine_top) or np.allclose(products[hit.rows], products[cosine_top])


def test_popularity_refreshes_hourly_and_never_sees_later_events():
    hour = np.floor(QUERY_S / HOUR_S) * HOUR_S
    items = np.array([0, 1, 1, 2])
    times = np.array([hour - 5 * HOUR_S, hour - 4 * HOUR_S, hour + 600.0, hour + 2 * HOUR_S])
    popularity = Popularity(half_life_days=30.0).fit(items, times, np.ones(4), 3)
    this_hour = popularity.counts(hour)
    assert popularity.scores(hour + 1800.0) is popularity.scores(hour + 3000.0)     # one refresh, cached
    same_hour = popularity.scores(hour + 1800.0)
    assert same_hour[1] == pytest.approx(np.log1p(this_hour[1] / this_hour.sum() * 1e4))  # not the 10:00 event
    next_hour = popularity.scores(hour + HOUR_S + 60.0)
    assert next_hour[1] > same_hour[1] and next_hour[2] == 0.0                      # now it counts; 2h later not yet
    assert popularity.top(1, hour + HOUR_S + 60.0).tolist() == [1]
    mean, std = popularity.scale(hour + HOUR_S + 60.0)
    assert (mean, std) == pytest.approx((next_hour.mean(), next_hour.std()))
    exact = Popularity(half_life_days=30.0, refresh_s=0).fit(items, times, np.ones(4), 3)
    assert exact.scores(hour + 1800.0)[1] > same_hour[1]                            # to the second


def test_tag_rows_reads_the_sparse_rows_it_is_asked_for(world):
    items = world[0]
    rows = np.array([5, 0, 5, len(items) - 1], np.int64)
    np.testing.assert_array_equal(items.tag_rows(rows), items.tags[rows].toarray())
    assert items.tag_rows(np.zeros(0, np.int64)).shape == (0, items.tags.shape[1])


def test_an_item_table_sums_repeated_tag_entries():
    specs = checkerboard_specs(2)
    items = build_items(specs)
    doubled = sp.csr_matrix((np.full(2, 0.25, np.float32), ([0, 0], [1, 1])), shape=items.tags.shape)
    items.tags = doubled
    items.__post_init__()
    assert items.tag_rows([0])[0, 1] == pytest.approx(0.5)
