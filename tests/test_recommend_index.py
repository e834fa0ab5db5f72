import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.errors import InputError
from tagger.recommend.index import VectorIndex, default_backend, top_k

# One table of tests for both backends: a test that takes `backend` runs on FAISS (the default)
# and on the numpy fallback, forced by the constructor's backend argument. IVF is FAISS's only.
BACKENDS = [pytest.param("faiss", marks=pytest.mark.skipif(default_backend() != "faiss",
                                                           reason="faiss-cpu is not installed")),
            "numpy"]
# How each backend builds an index at ann_from=0: FAISS approximate (IVF), numpy exact.
ANN_MODE = {"faiss": "ivf", "numpy": "exact"}

# Unit vectors in the plane at these angles (degrees); a query at 3 degrees ranks them by angle.
ANGLES_DEG = {"a0": 0, "a5": 5, "a15": 15, "a30": 30, "a60": 60, "a100": 100, "a170": 170, "a250": 250}


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def plane(angle_deg: float, scale: float = 1.0) -> np.ndarray:
    return scale * np.array([math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))])


def angle_index(**kwargs) -> VectorIndex:
    # Lengths differ on purpose: the index normalises, so only angles count.
    vectors = np.stack([plane(a, scale=1 + i) for i, a in enumerate(ANGLES_DEG.values())])
    return VectorIndex(list(ANGLES_DEG), vectors, **kwargs)


def clustered(n: int, dimension: int = 64, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Unit rows scattered around random cluster centres (cosine ~0.6 to the centre)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dimension))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    rows = centres[rng.integers(0, clusters, n)] + 1.3 * noise
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int, skip=(), allowed=None) -> list[int]:
    scores = vectors.astype(np.float64) @ query.astype(np.float64)
    return [int(r) for r in np.argsort(-scores, kind="stable")
            if r not in skip and (allowed is None or allowed[r])][:k]


# -- both backends ------------------------------------------------------------------------------

def test_exact_search_ranks_by_angle_with_cosine_scores(backend):
    index = angle_index(backend=backend)
    assert (index.mode, index.backend) == ("exact", backend)
    [hit] = index.search(plane(3), 8)
    assert hit.ids == ["a5", "a0", "a15", "a30", "a60", "a100", "a250", "a170"]
    expected = [math.cos(math.radians(abs(ANGLES_DEG[i] - 3) if i != "a250" else 113)) for i in hit.ids]
    np.testing.assert_allclose(hit.scores, expected, atol=1e-6)
    assert hit.scores.dtype == np.float32 and hit.rows.dtype == np.int64


def test_huge_and_tiny_rows_normalise_without_overflow(backend):
    index = VectorIndex(["big", "small"], np.array([[3e30, 4e30], [3e-30, -4e-30]]), backend=backend)
    np.testing.assert_allclose(index.vector("big"), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(index.vector("small"), [0.6, -0.8], rtol=1e-6)


def test_zero_rows_stay_zero_and_score_zero(backend):
    vectors = np.stack([plane(0), np.zeros(2), plane(120)])
    index = VectorIndex(["east", "none", "far"], vectors, backend=backend)
    [hit] = index.search(plane(10), 3)
    assert hit.ids == ["east", "none", "far"]  # cos 10 > 0 > cos 110
    assert hit.scores[1] == 0.0
    assert np.all(index.vector("none") == 0)


def test_exclude_removes_ids_and_still_returns_k(backend):
    index = angle_index(backend=backend)
    [hit] = index.search(plane(3), 3, exclude={"a5", "a0", "not-in-index"})
    assert hit.ids == ["a15", "a30", "a60"]
    [hit] = index.search(plane(3), 10, exclude={"a5"})
    assert len(hit.ids) == 7 and "a5" not in hit.ids  # fewer only when fewer rows are eligible


def test_allowed_mask_limits_results(backend):
    index = angle_index(backend=backend)
    allowed = np.array([angle >= 60 for angle in ANGLES_DEG.values()])
    [hit] = index.search(plane(3), 2, allowed=allowed)
    assert hit.ids == ["a60", "a100"]
    [hit] = index.search(plane(3), 5, allowed=allowed, exclude={"a100"})
    assert hit.ids == ["a60", "a250", "a170"]  # both filters at once; fewer than k are eligible


def test_exact_matches_brute_force_with_and_without_filters(backend):
    vectors = clustered(5000, dimension=48, seed=3)
    index = VectorIndex([str(i) for i in range(5000)], vectors, ann_from=None, backend=backend)
    allowed = np.random.default_rng(0).random(5000) < 0.3
    for row in (0, 17, 4999):
        [hit] = index.search(vectors[row], 10, exclude={str(row)})
        assert [int(i) for i in hit.ids] == brute_force(vectors, vectors[row], 10, skip={row})
        [hit] = index.search(vectors[row], 10, exclude={str(row), "3"}, allowed=allowed)
        assert [int(i) for i in hit.ids] == brute_force(vectors, vectors[row], 10, skip={row, 3}, allowed=allowed)
        np.testing.assert_allclose(hit.scores, vectors[hit.rows] @ vectors[row], atol=1e-5)
    # A batch (FAISS multiplies matrices from 20 queries on) keeps to the same filters.
    rows = list(range(100, 125))
    for row, hit in zip(rows, index.search(vectors[rows], 10, exclude={"3"}, allowed=allowed)):
        assert [int(i) for i in hit.ids] == brute_force(vectors, vectors[row], 10, skip={3}, allowed=allowed)


def test_rows_are_construction_order_whatever_the_ids(backend):
    vectors = clustered(3000, seed=8)
    ids = [f"title-{i}" for i in np.random.default_rng(1).permutation(3000)]  # ids not in row order
    for ann_from in (None, 0):
        index = VectorIndex(ids, vectors, ann_from=ann_from, backend=backend)
        precision = 1e-5 if index.mode == "exact" else 1e-3  # IVF keeps float16 rows
        queries = vectors[:5] + 0.02
        for query, hit in zip(queries, index.search(queries, 10, exclude={ids[0]})):
            assert len(hit.ids) == 10 and ids[0] not in hit.ids
            assert hit.ids == [ids[r] for r in hit.rows]
            np.testing.assert_allclose(hit.scores, vectors[hit.rows] @ (query / np.linalg.norm(query)),
                                       atol=precision)
        np.testing.assert_allclose(index.vector(ids[7]), vectors[7], atol=precision)


def test_batch_and_single_queries_agree_and_float64_queries_match_float32(backend):
    vectors = clustered(3000)
    ids = [f"t{i}" for i in range(len(vectors))]
    for ann_from in (None, 0):
        index = VectorIndex(ids, vectors, ann_from=ann_from, backend=backend)
        queries = vectors[:20] + 0.01
        batch = index.search(queries, 10, exclude={"t0", "t7"})
        assert len(batch) == 20
        for query, together in zip(queries, batch):
            [alone] = index.search(query, 10, exclude={"t0", "t7"})
            assert alone.ids == together.ids
            np.testing.assert_allclose(alone.scores, together.scores, rtol=1e-5)
            [as_float64] = index.search(query.astype(np.float64), 10, exclude={"t0", "t7"})
            assert as_float64.ids == alone.ids


def test_empty_and_tiny_catalogs(backend):
    empty = VectorIndex([], np.zeros((0, 8), dtype=np.float32), backend=backend)
    [hit] = empty.search(np.ones(8), 5)
    assert hit.ids == [] and hit.scores.shape == (0,) and hit.rows.shape == (0,)
    one = VectorIndex(["only"], np.ones((1, 3)), ann_from=0, backend=backend)
    assert one.mode == "exact"  # one row is never worth an IVF index
    assert one.search(np.ones(3), 5)[0].ids == ["only"]
    assert one.search(np.ones(3), 5, exclude={"only"})[0].ids == []
    two = VectorIndex(["east", "north"], np.array([[1.0, 0.0], [0.0, 1.0]]), ann_from=0, backend=backend)
    assert two.mode == ANN_MODE[backend]
    assert two.search(plane(80), 5)[0].ids == ["north", "east"]
    assert two.search(plane(80), 5, exclude={"north"})[0].ids == ["east"]


@pytest.mark.parametrize("ann_from", [None, 0])
def test_save_and_load_give_identical_results(tmp_path, backend, ann_from):
    vectors = clustered(3000, seed=6)
    ids = [f"title-{i}" for i in range(len(vectors))]
    index = VectorIndex(ids, vectors, ann_from=ann_from, nprobe=3 if ann_from == 0 else None, backend=backend)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert ((loaded.backend, loaded.mode, loaded.nlist, loaded.nprobe, len(loaded), loaded.ids)
            == (backend, index.mode, index.nlist, index.nprobe, 3000, ids))
    queries = vectors[::300] + 0.05
    for before, after in zip(index.search(queries, 10, exclude={"title-0"}),
                             loaded.search(queries, 10, exclude={"title-0"})):
        assert before.ids == after.ids
        assert np.array_equal(before.scores, after.scores)
    np.testing.assert_array_equal(loaded.vector("title-5"), index.vector("title-5"))


def test_load_rejects_a_folder_that_is_not_an_index(tmp_path):
    with pytest.raises(InputError, match="index.json: cannot read"):
        VectorIndex.load(tmp_path)
    (tmp_path / "index.json").write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="index.json: not a VectorIndex folder of format version 2"):
        VectorIndex.load(tmp_path)


def test_load_names_the_folder_when_the_backend_arrays_are_missing(tmp_path, backend):
    VectorIndex(["a", "b"], np.eye(2), backend=backend).save(tmp_path)
    for name in ("index.faiss", "vectors.npy"):
        (tmp_path / name).unlink(missing_ok=True)
    with pytest.raises(InputError, match=f"{tmp_path}: cannot read the {backend} index"):
        VectorIndex.load(tmp_path)


@pytest.mark.parametrize("call, message", [
    (lambda idx: idx.search(np.ones(3), 2), r"dimension 2, got \(3,\)"),
    (lambda idx: idx.search(np.ones((4, 5)), 2), r"dimension 2, got \(4, 5\)"),
    (lambda idx: idx.search(plane(0), 0), "k must be positive, got 0"),
    (lambda idx: idx.search(plane(0), -3), "k must be positive, got -3"),
    (lambda idx: idx.search(plane(0), 2.5), "k must be an integer"),
    (lambda idx: idx.search(np.array([np.nan, 1.0]), 2), "query must be finite"),
    (lambda idx: idx.search(plane(0), 2, exclude="a0"), "collection of ids, not a single string"),
    (lambda idx: idx.search(plane(0), 2, allowed=np.ones(3, dtype=bool)), r"shape \(8,\)"),
    (lambda idx: idx.search(plane(0), 2, allowed=np.ones(8)), "boolean mask"),
    (lambda idx: setattr(idx, "nprobe", 2), "nprobe only applies to an IVF index"),
])
def test_bad_search_input_says_what_is_wrong(backend, call, message):
    with pytest.raises(ValueError, match=message):
        call(angle_index(backend=backend))


@pytest.mark.parametrize("ids, vectors, message", [
    (["a", "b"], np.ones((3, 4)), "2 ids for 3 vectors"),
    (["a", "a"], np.ones((2, 4)), "'a' appears more than once"),
    (["a"], np.ones(4), "2-d array"),
    (["a"], np.array([[1.0, np.inf]]), "must be finite"),
    (["a"], np.array([[1e300, 1.0]]), "too large for float32"),
    (["a"], np.array([["x", "y"]]), "must be numbers, got dtype <U1"),
])
def test_bad_build_input_says_what_is_wrong(backend, ids, vectors, message):
    with pytest.raises(ValueError, match=message):
        VectorIndex(ids, vectors, backend=backend)


def test_the_default_backend_is_faiss_where_it_imports_and_an_unknown_one_is_refused():
    pytest.importorskip("faiss")
    assert default_backend() == "faiss"
    assert VectorIndex(["a"], np.ones((1, 2))).backend == "faiss"
    with pytest.raises(ValueError, match=r"backend must be one of \['faiss', 'numpy'\], got 'annoy'"):
        VectorIndex(["a"], np.ones((1, 2)), backend="annoy")


def test_without_faiss_the_default_is_numpy_said_once_at_debug_level():
    # A fresh interpreter where `import faiss` fails, as where faiss-cpu is not installed.
    script = ("import logging, sys; sys.modules['faiss'] = None\n"
              "logging.basicConfig(level=logging.DEBUG, format='%(name)s %(levelname)s %(message)s')\n"
              "import numpy as np\n"
              "from tagger.recommend.index import VectorIndex\n"
              "a = VectorIndex(['x', 'y'], np.eye(2), ann_from=0)\n"
              "b = VectorIndex(['x', 'y'], np.eye(2))\n"
              "print(a.backend, a.mode, b.backend, a.search(np.array([0.2, 1.0]), 1)[0].ids)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numpy", "exact", "numpy", "['y']"]
    said = [line for line in done.stderr.splitlines() if "faiss" in line]
    assert said == ["tagger.recommend.index DEBUG faiss cannot be imported: vector indexes search exactly with numpy"]


def test_top_k_prefilter_is_exact_on_large_arrays_with_masked_scores():
    rng = np.random.default_rng(5)
    scores = rng.standard_normal(200_000).astype(np.float32)
    scores[rng.choice(200_000, 1000, replace=False)] = -np.inf
    scores[123] = scores.max() + 1  # a clear winner
    top = top_k(scores, 25)
    assert top[0] == 123
    assert list(top) == list(np.argsort(-scores, kind="stable")[:25])


# -- IVF (FAISS only) ---------------------------------------------------------------------------

needs_faiss = pytest.mark.skipif(default_backend() != "faiss", reason="faiss-cpu is not installed")


@needs_faiss
def test_mode_follows_ann_from():
    vectors = clustered(500)
    ids = [str(i) for i in range(500)]
    assert VectorIndex(ids, vectors, ann_from=501).mode == "exact"
    assert VectorIndex(ids, vectors, ann_from=500).mode == "ivf"
    assert VectorIndex(ids, vectors, ann_from=None).mode == "exact"
    assert VectorIndex(ids, vectors, ann_from=0, backend="numpy").mode == "exact"  # the fallback is exact only


@needs_faiss
def test_ivf_recall_at_10_against_exact_on_clustered_data():
    vectors = clustered(4000, dimension=64, clusters=40, seed=1)
    ids = [f"t{i}" for i in range(len(vectors))]
    exact = VectorIndex(ids, vectors, ann_from=None)
    ivf = VectorIndex(ids, vectors, ann_from=1000)  # defaults for nlist and nprobe
    assert ivf.mode == "ivf" and ivf.nlist == 63 and ivf.nprobe == 9
    rng = np.random.default_rng(2)
    recalls = []
    for row in rng.choice(len(vectors), 200, replace=False):
        [truth] = exact.search(vectors[row], 10, exclude={ids[row]})
        [found] = ivf.search(vectors[row], 10, exclude={ids[row]})
        assert len(found.ids) == 10 and ids[row] not in found.ids
        recalls.append(len(set(truth.ids) & set(found.ids)) / 10)
    assert np.mean(recalls) >= 0.95
    # The same index with one probe is measurably worse: nprobe is doing something.
    one_probe = [len(set(exact.search(vectors[r], 10)[0].ids) & set(ivf.search(vectors[r], 10, nprobe=1)[0].ids))
                 / 10 for r in range(100)]
    assert np.mean(one_probe) < np.mean(recalls)


@needs_faiss
def test_ivf_probes_more_lists_when_filters_leave_too_few():
    vectors = clustered(4000, dimension=64, clusters=40, seed=1)
    ids = [f"t{i}" for i in range(len(vectors))]
    ivf = VectorIndex(ids, vectors, ann_from=0, nlist=40, nprobe=1)
    query = vectors[0]
    # Allow only the 15 rows least like the query: none of them sit in the query's list.
    allowed_rows = np.argsort(vectors @ query)[:15]
    allowed = np.zeros(len(vectors), dtype=bool)
    allowed[allowed_rows] = True
    [hit] = ivf.search(query, 10, allowed=allowed)
    assert len(hit.ids) == 10
    assert {int(i[1:]) for i in hit.ids} <= set(allowed_rows.tolist())
    assert np.all(np.diff(hit.scores) <= 0)
    # Exclusions alone: a list holds ~100 rows, so excluding the 150 nearest empties the first probes.
    nearest = [ids[r] for r in np.argsort(-(vectors @ query))[:150]]
    [hit] = ivf.search(query, 10, exclude=nearest)
    assert len(hit.ids) == 10 and not set(hit.ids) & set(nearest)


@needs_faiss
def test_exact_on_an_ivf_index_equals_the_exact_index():
    vectors = clustered(2000, seed=4)
    ids = [f"t{i}" for i in range(len(vectors))]
    ivf = VectorIndex(ids, vectors, ann_from=0)
    exact = VectorIndex(ids, vectors, ann_from=None)
    allowed = np.arange(2000) % 3 == 0
    a = ivf.search(vectors[:5], 10, exact=True, exclude={"t3"}, allowed=allowed)
    b = exact.search(vectors[:5], 10, exclude={"t3"}, allowed=allowed)
    assert [x.ids for x in a] == [x.ids for x in b]


@needs_faiss
def test_bad_ivf_parameters_say_what_is_wrong():
    vectors = clustered(100)
    ids = [str(i) for i in range(100)]
    with pytest.raises(ValueError, match="nlist must be between 1 and the row count 100, got 500"):
        VectorIndex(ids, vectors, ann_from=0, nlist=500)
    with pytest.raises(ValueError, match="train_size 5 is smaller than nlist 10"):
        VectorIndex(ids, vectors, ann_from=0, nlist=10, train_size=5)
    with pytest.raises(ValueError, match="nprobe must be between 1 and nlist 10, got 11"):
        VectorIndex(ids, vectors, ann_from=0, nlist=10, nprobe=11)
    ivf = VectorIndex(ids, vectors, ann_from=0, nlist=10)
    with pytest.raises(ValueError, match="nprobe must be between 1 and nlist 10, got 0"):
        ivf.nprobe = 0
    with pytest.raises(ValueError, match="nprobe must be between 1 and nlist 10, got 12"):
        ivf.search(vectors[0], 3, nprobe=12)
    ivf.nprobe = 10
    assert ivf.nprobe == 10
    # nprobe means nothing to an exact index (ann_from may have picked exact): ignored, not an error.
    exact = VectorIndex(ids, vectors, ann_from=None, nprobe=2)
    assert exact.search(vectors[0], 3, nprobe=2)[0].ids == exact.search(vectors[0], 3)[0].ids
