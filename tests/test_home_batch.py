"""The home page's batch path, vectorised across viewers, against the plain paths on a small
generated world (the benchmark's, at 400 titles): the catalog's scores are the model's blend
of every part, and a viewer alone gets the page the batch gives them."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark_scripts import load_benchmark

USERS = ["u0", "u1", "u7", "u23", "u41"]


@pytest.fixture(scope="module")
def world():
    from tagger.home.page import HomeBuilder
    from tagger.recommend import Recommender

    bench = load_benchmark("home")
    items, artwork, events = bench.make_world(400, 60, seed=3)
    now_s = bench.START_S + 60 * 60 + 3600
    model = Recommender().fit(items, events, now_s=now_s)
    return HomeBuilder(model, artwork=artwork, events=events), now_s


def test_catalog_scores_are_the_blend_of_every_part(world):
    """The batch path's one matrix product scores every title as Recommender.score does."""
    home, now_s = world
    model = home.model
    rng = np.random.default_rng(0)
    histories = [rng.choice(len(model.items), size, replace=False) for size in (1, 3, 8, 20)] + [np.array([], int)]
    every = np.arange(len(model.items))
    fast = model.catalog_scores(histories, now_s=now_s)
    plain = model.blend(model.parts(histories, every, now_s=now_s, catalog_scale=True))
    assert np.array_equal(np.isfinite(fast), np.isfinite(plain))
    finite = np.isfinite(plain)
    assert np.allclose(fast[finite], plain[finite], atol=1e-4)


def test_scores_in_float32_rank_the_titles_as_float64_does(world):
    """The home page scores in float32: in its order every viewer's float64 scores never rise
    by more than a tie's width, and no score moves by more than that."""
    home, now_s = world
    model = home.model
    signed = model.signed
    histories = [signed.indices[signed.indptr[u]:signed.indptr[u + 1]] for u in range(signed.shape[0])]
    wide = model.catalog_scores(histories, now_s=now_s)
    narrow = model.catalog_scores(histories, now_s=now_s, dtype=np.float32)
    assert narrow.dtype == np.float32 and np.array_equal(np.isfinite(wide), np.isfinite(narrow))
    finite = np.isfinite(wide)
    assert np.abs(wide[finite] - narrow[finite]).max() < 1e-5
    for w, n in zip(wide, narrow):
        in_narrow_order = w[np.argsort(-n, kind="stable")]
        in_narrow_order = in_narrow_order[np.isfinite(in_narrow_order)]
        assert np.diff(in_narrow_order).max(initial=0.0) <= 1e-5


def test_one_viewer_alone_gets_the_page_the_batch_gives_them(world):
    home, now_s = world
    batch = home.pages(["u5", "u6", "u9"], now_s=now_s, per_row=6)
    for user, page in batch.items():
        _same(home.page(user, now_s=now_s, per_row=6).to_dict(), page.to_dict(), user)


def _same(got, want, where):
    """Equal, but for shown scores within one unit of their 4th decimal: one viewer's product and
    the batch's sum in another order, and a value near a rounding edge may land either side."""
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for key in want:
            if key == "score":
                assert abs(got[key] - want[key]) <= 1.5e-4, f"{where}.score"
            else:
                _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


def test_pooled_rows_rank_each_viewer_by_their_own_scores():
    """rank_pools fills every viewer's pooled draft with the pool's DEPTH best by that viewer's
    scores, best first, never a -inf one: as sorting that viewer's pool alone would."""
    from tagger.home.rows import DEPTH, rank_pools, ranked

    rng = np.random.default_rng(1)
    scores = rng.standard_normal((6, 500))
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    scores[5, :] = -np.inf                                      # a viewer with nothing to show
    big, small = rng.choice(500, 120, replace=False), rng.choice(500, 12, replace=False)
    drafts = [[ranked("a", "microgenre", "", big), ranked("b", "because", "", small)] for _ in range(6)]
    rank_pools(drafts, scores)
    for u, mine in enumerate(drafts):
        for d, pool in zip(mine, (big, small)):
            finite = pool[np.isfinite(scores[u, pool])]
            expected = finite[np.argsort(-scores[u, finite], kind="stable")][:DEPTH]
            assert d.titles.tolist() == expected.tolist()
    assert len(drafts[5][0].titles) == 0


def test_neighbours_are_the_nearest_by_content(world):
    home, _ = world
    unit = home.model.unit_content
    rows = [0, 17, 99]
    home._neighbours.clear()
    home._find_neighbours(rows, k=25)
    for row in rows:
        similarity = unit[row] @ unit.T
        similarity[row] = -np.inf
        expected = set(np.argsort(-similarity, kind="stable")[:25].tolist())
        assert set(home.neighbours(row).tolist()) == expected
    home._neighbours.clear()                  # the shared builder's cache back to its default depth


def test_catalog_scores_hold_the_parts_the_one_product_leaves_out(world):
    """With the cold-start parts on (age, words, content->factors), the batch path still scores
    as Recommender.score does."""
    import dataclasses

    from tagger.recommend import Recommender

    home, now_s = world
    fitted = home.model
    settings = dataclasses.replace(fitted.settings, age_weight=0.3, words_weight=0.4, content_collab_weight=0.3)
    model = Recommender(settings).fit(fitted.items, home.events, now_s=now_s)
    histories = [np.array([3, 7]), np.array([11])]
    fast = model.catalog_scores(histories, now_s=now_s)
    plain = model.blend(model.parts(histories, np.arange(len(model.items)), now_s=now_s, catalog_scale=True))
    finite = np.isfinite(plain)
    assert np.array_equal(np.isfinite(fast), finite) and np.allclose(fast[finite], plain[finite])


def test_no_reason_lists_a_tag_twice(world):
    """A tag that can be a micro-genre's noun and its adjective ("crime") is not paired with
    itself: its row is named from it alone and its reason lists it once."""
    home, now_s = world
    pages = home.pages([f"u{u}" for u in range(60)], now_s=now_s)
    reasons = [row.reason for page in pages.values() for row in page.rows]
    assert any(reason.startswith("your strongest tags: ") for reason in reasons)
    for reason in reasons:
        listed = reason.split(": ", 1)[-1].split(", ")
        assert len(listed) == len(set(listed)), reason


def test_a_batch_pauses_the_collector_and_blas_threads_then_puts_them_back(world):
    import gc

    import threadpoolctl

    from tagger.home.batching import batch_conditions

    home, now_s = world

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    assert gc.isenabled()
    with batch_conditions():
        with batch_conditions():                  # another batch at once (a web server's thread)
            assert not gc.isenabled() and all(n == 1 for n in blas_threads())
        assert not gc.isenabled() and all(n == 1 for n in blas_threads())
    assert gc.isenabled() and blas_threads() == before
    home.pages(["u1", "u2"], now_s=now_s)
    assert gc.isenabled() and blas_threads() == before
