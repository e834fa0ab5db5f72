"""Vector index latency and recall: VectorIndex on FAISS (exact and IVF) and on its numpy fallback.

    python benchmarks/recommend_latency.py [--sizes 10000,100000,1000000] [--queries 1000] [--json FILE]

For each catalog size a synthetic catalog of clustered, L2-normalised 384-d vectors is made from
the seed: 64 genres, topics of ~200 titles on average (sizes skewed), titles scattered around their
topic. At 100k a title's nearest neighbour has cosine ~0.42 and its 10th ~0.38; random pairs ~0.
Two query kinds:
- title: a catalog vector, excluding itself (similar titles);
- user: the normalised mean of 20 random catalog vectors, excluding those 20.
Methods, all through VectorIndex.search as the recommender calls it: exact (FAISS's brute-force
kernel over rows held in numpy), ivf (FAISS inverted file with float16 rows, what catalogs from
``ann_from`` titles get) and numpy_exact (the fallback where faiss is absent). Three references
back the choices in tagger/recommend/index_faiss.py, called on FAISS directly, asked for
k + excluded and filtered: flat_index (IndexFlatIP, rows in FAISS's own memory, one thread),
flat_index_threads (the same on FAISS's default OpenMP threads) and ivf_float32
(IndexIVFFlat on one thread, the same lists and probes as ivf but float32 rows).
One call per query, methods taking turns in rounds (see _time); median and
p99 latency in ms. A slow method stops after a time budget (with at least 100 queries, unless a
hard budget runs out first) and the count is reported. Recall@10 of every method is against
exact batched search in numpy (so numpy_exact checks single against batch, and exact checks
FAISS against numpy). The load average is recorded: other work on the machine shows up in the
tails. ``--query-seed`` picks other queries on the same catalog (a validation set for tuning).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.recommend.index import VectorIndex  # noqa: E402

DIMENSION = 384
K = 10
USER_HISTORY = 20
WARMUP_QUERIES = 5        # untimed, at the start of each method's turn in a round
ROUNDS = 10
CELL_BUDGET_S = 6.0        # per method and query kind, once it has MIN_TIMED_QUERIES
MIN_TIMED_QUERIES = 100
HARD_BUDGET_S = 15.0       # a method stops here even short of MIN_TIMED_QUERIES (n says so)
TITLE_SPREAD = 1.5         # noise norm around the topic: cosine 1/sqrt(1 + 1.5**2) ~0.55 to it


def make_catalog(n: int, dimension: int = DIMENSION, seed: int = 0) -> np.ndarray:
    """(n, dimension) float32 unit rows in genres > topics > titles; deterministic from the seed."""
    return make_catalog_with_topics(n, dimension, seed)[0]


def make_catalog_with_topics(n: int, dimension: int = DIMENSION, seed: int = 0):
    """make_catalog's vectors, each title's topic and each topic's genre."""
    rng = np.random.default_rng(seed)

    def unit(a: np.ndarray) -> np.ndarray:
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    genres = unit(rng.standard_normal((64, dimension), dtype=np.float32))
    topic_count = max(64, n // 200)
    # Topics near their genre (cosine ~0.7); topic sizes skewed (lognormal), as catalogs are.
    genre_of_topic = rng.integers(0, 64, topic_count)
    topics = unit(genres[genre_of_topic]
                  + unit(rng.standard_normal((topic_count, dimension), dtype=np.float32)))
    popularity = rng.lognormal(0.0, 1.0, topic_count)
    topic_of_title = rng.choice(topic_count, n, p=popularity / popularity.sum())
    out = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, 65536):  # in blocks: the noise for 1M rows would be another 1.5 GB
        stop = min(n, start + 65536)
        noise = unit(rng.standard_normal((stop - start, dimension), dtype=np.float32))
        out[start:stop] = unit(topics[topic_of_title[start:stop]] + TITLE_SPREAD * noise)
    return out, topic_of_title, genre_of_topic


def make_queries(vectors: np.ndarray, count: int, seed: int) -> dict[str, tuple[np.ndarray, list[np.ndarray]]]:
    """kind -> (queries (count, d), excluded rows per query)."""
    rng = np.random.default_rng(seed + 1)
    n = vectors.shape[0]
    title_rows = rng.choice(n, count, replace=count > n)
    histories = [rng.choice(n, USER_HISTORY, replace=False) for _ in range(count)]
    users = np.stack([vectors[h].mean(axis=0) for h in histories])
    users /= np.linalg.norm(users, axis=1, keepdims=True)
    return {"title": (vectors[title_rows].copy(), [np.array([r]) for r in title_rows]),
            "user": (users.astype(np.float32), histories)}


def _time(methods: dict, queries: np.ndarray, excluded: list) -> tuple[dict, dict]:
    """Per-query seconds and results (query index -> rows) of each method, one call per query.

    The queries run in rounds, each method taking its turn at every round's slice, so that load
    from other work on the machine falls on all methods alike; each turn starts with a few
    untimed queries so thread pools and caches are warm. A method that has used its budget
    (and has MIN_TIMED_QUERIES) sits out the remaining rounds.
    """
    seconds = {name: [] for name in methods}
    found: dict[str, dict[int, list]] = {name: {} for name in methods}
    spent_s = dict.fromkeys(methods, 0.0)
    for round_queries in np.array_split(np.arange(len(queries)), ROUNDS):
        for name, search in methods.items():
            if spent_s[name] > HARD_BUDGET_S or (spent_s[name] > CELL_BUDGET_S
                                                 and len(seconds[name]) >= MIN_TIMED_QUERIES):
                continue
            for i in round_queries[:WARMUP_QUERIES]:
                search(queries[i], excluded[i])
            for i in round_queries:
                t0 = time.perf_counter()
                found[name][int(i)] = search(queries[i], excluded[i])
                seconds[name].append(time.perf_counter() - t0)
                spent_s[name] += seconds[name][-1]
                if spent_s[name] > HARD_BUDGET_S:
                    break
    return seconds, found


def _stats(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "queries": int(ms.size)}


def _recall(found: dict[int, list[int]], truth: dict[int, list[int]]) -> float:
    """Mean recall@K over the queries a method answered."""
    return float(np.mean([len(set(rows) & set(truth[i])) / len(truth[i]) for i, rows in found.items()]))


def measure_size(n: int, queries: int, seed: int, query_seed: int | None = None) -> dict:
    import faiss

    vectors = make_catalog(n, seed=seed)
    ids = [f"title-{i:07d}" for i in range(n)]
    out: dict = {"titles": n, "dimension": DIMENSION, "load_average_before": os.getloadavg()[0],
                 "build_s": {}, "methods": {}, "recall_at_10": {}}

    def build(name: str, make):
        started = time.perf_counter()
        made = make()
        out["build_s"][name] = time.perf_counter() - started
        return made

    exact = build("exact", lambda: VectorIndex(ids, vectors, ann_from=None, backend="faiss"))
    ivf = build("ivf", lambda: VectorIndex(ids, vectors, ann_from=0, seed=seed, backend="faiss"))
    numpy_exact = build("numpy_exact", lambda: VectorIndex(ids, vectors, ann_from=None, backend="numpy"))
    out["nlist"], out["nprobe"] = ivf.nlist, ivf.nprobe

    def flat():
        index = faiss.IndexFlatIP(DIMENSION)
        index.add(vectors)
        return index

    def ivf_float32():
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIMENSION), DIMENSION, ivf.nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(vectors[np.sort(np.random.default_rng(seed).choice(n, min(n, 64 * ivf.nlist), replace=False))])
        index.add(vectors)
        index.nprobe = ivf.nprobe
        return index

    def ours(index):
        def search(query, excluded_rows):
            [hit] = index.search(query, K, exclude={ids[r] for r in excluded_rows})
            return hit.rows.tolist()
        return search

    def raw(index, threads: int):
        def search(query, excluded_rows):
            default = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(threads)
            try:
                _, found = index.search(query[None], K + len(excluded_rows))
            finally:
                faiss.omp_set_num_threads(default)
            drop = set(excluded_rows.tolist())
            return [int(r) for r in found[0] if r >= 0 and r not in drop][:K]
        return search

    out["faiss_threads"] = threads = faiss.omp_get_max_threads()
    flat_index = build("flat_index", flat)
    methods = {"exact": ours(exact), "ivf": ours(ivf), "numpy_exact": ours(numpy_exact),
               "flat_index": raw(flat_index, 1), "flat_index_threads": raw(flat_index, threads),
               "ivf_float32": raw(build("ivf_float32", ivf_float32), 1)}
    query_seed = seed if query_seed is None else query_seed
    for kind, (query_vectors, excluded) in make_queries(vectors, queries, query_seed).items():
        seconds, found = _time(methods, query_vectors, excluded)
        # Ground truth for the queries any method answered: exact, batched (numpy gemm per block).
        answered = sorted(set().union(*(f.keys() for f in found.values())))
        truth: dict[int, list[int]] = {}
        for start in range(0, len(answered), 256):
            chunk = answered[start:start + 256]
            for i, hit in zip(chunk, numpy_exact.search(query_vectors[chunk], K + USER_HISTORY)):
                dropped = set(excluded[i].tolist())
                truth[i] = [r for r in hit.rows.tolist() if r not in dropped][:K]
        for name in methods:
            out["methods"].setdefault(name, {})[kind] = _stats(seconds[name])
            out["recall_at_10"].setdefault(name, {})[kind] = _recall(found[name], truth)
    out["load_average_after"] = os.getloadavg()[0]
    return out


def run(sizes=(10_000, 100_000, 1_000_000), queries: int = 1000, seed: int = 0,
        query_seed: int | None = None) -> dict:
    """Measures every size; JSON-serialisable."""
    import faiss

    report = {"cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
              "numpy": np.__version__, "faiss": faiss.__version__, "k": K, "queries": queries, "seed": seed,
              "query_seed": seed if query_seed is None else query_seed,
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "sizes": []}
    for n in sizes:
        print(f"measuring {n} titles ...", file=sys.stderr, flush=True)
        report["sizes"].append(measure_size(int(n), queries, seed, query_seed))
    return report


def print_table(results: dict) -> None:
    print(f"k={results['k']}, {results['cpu_count']} cores, numpy {results['numpy']}, faiss {results['faiss']}, "
          f"queries from seed {results.get('query_seed', results['seed'])}")
    print(f"{'':24}{'---- ms per query ----':^31}  {'recall@10':^11}")
    print(f"{'titles':>9} {'method':18} {'title med':>9} {'p99':>6} {'user med':>8} {'p99':>6}  "
          f"{'title':>5} {'user':>5} {'build s':>8} {'n':>5}")
    for size in results["sizes"]:
        for name, cells in size["methods"].items():
            t, u = cells["title"], cells["user"]
            recall = size["recall_at_10"][name]
            print(f"{size['titles']:9d} {name:18} {t['median_ms']:9.2f} {t['p99_ms']:6.2f} {u['median_ms']:8.2f} "
                  f"{u['p99_ms']:6.2f}  {recall['title']:5.3f} {recall['user']:5.3f} "
                  f"{size['build_s'].get(name, 0):8.1f} {min(t['queries'], u['queries']):5d}")
        print(f"{'':10}IVF nlist={size['nlist']} nprobe={size['nprobe']}; load average "
              f"{size['load_average_before']:.1f} before, {size['load_average_after']:.1f} after")
    print("single queries through VectorIndex (flat_index, flat_index_threads, ivf_float32: FAISS called directly); "
          "recall@10 against exact batched search in numpy; n: timed queries (fewest of the two kinds)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated catalog sizes")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--query-seed", type=int, help="queries from another seed (default: --seed)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = run(sizes, args.queries, args.seed, args.query_seed)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
