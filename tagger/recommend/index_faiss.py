"""FAISS behind VectorIndex: exact search for small catalogs, an inverted file from ``ann_from``.

Exact: FAISS's brute-force kernel (knn_inner_product, the one IndexFlatIP runs) over rows kept
in a numpy array. IndexFlatIP's own copy of the rows searched 1.1-5x slower on the busy 2-core
box: numpy asks the kernel for huge pages, FAISS does not (collapsing FAISS's copy into huge
pages made it as fast, and took exact search at 100k titles from 9.1 to 5.5 ms).

Approximate: an inverted file whose rows are float16 (IndexIVFScalarQuantizer, QT_fp16, not by
residual): a scan reads every probed row, so bytes per row set the pace. On the benchmark
catalog (benchmarks/recommend_latency.py, validation queries) float16 rows scanned the same
lists in 0.5-0.7x the time of float32 ones (IndexIVFFlat) at 100k and 1M titles, at the same
recall@10 and in half the memory; a score is then within about 1e-4 of the exact cosine. The
float32 lists were 1.1-1.3x slower than the numpy inverted file they replace at 1M titles.
HNSW (M 32) found 0.29-0.60 of the true top 10 for user queries (the mean of 20 titles, far
from any one title) at efSearch 32-256, where the inverted file finds 0.98.

faiss is imported inside functions, so importing this module costs nothing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# nprobe = nlist / 7 (nlist ~ sqrt(rows)): on validation queries at 100k titles recall@10 for
# user queries was 0.987 (nlist / 8: 0.983, the numpy IVF it replaced 0.984; nlist / 16: 0.94),
# ~1.0 for similar titles. 2-4 sqrt(rows) lists gained under 0.01 of recall at the same share of
# rows scanned, for 3-15x the training time.
NPROBE_FRACTION = 7
# FAISS scans float16 rows with SIMD only where the dimension is a multiple of 8 (16 for
# AVX-512); 385 columns (an InnerProductIndex over 384) scanned 10x slower than 400. Rows and
# queries get zero columns up to a multiple of 16, which changes no inner product.
_COLUMN_MULTIPLE = 16


def _pad_columns(rows: np.ndarray, dimension: int) -> np.ndarray:
    columns = -(-dimension // _COLUMN_MULTIPLE) * _COLUMN_MULTIPLE
    if rows.shape[1] == columns:
        return rows
    out = np.zeros((rows.shape[0], columns), np.float32)
    out[:, :rows.shape[1]] = rows
    return out


def _inverted_file(rows: np.ndarray, nlist: int | None, train_size: int | None, seed: int):
    import faiss

    n, columns = rows.shape
    nlist = int(nlist) if nlist is not None else max(1, int(round(np.sqrt(n))))
    if not 1 <= nlist <= n:
        raise ValueError(f"nlist must be between 1 and the row count {n}, got {nlist}")
    train_size = min(n, int(train_size) if train_size is not None else 64 * nlist)
    if train_size < nlist:
        raise ValueError(f"train_size {train_size} is smaller than nlist {nlist}")
    # Inner product makes FAISS train a spherical k-means, as cosine search wants.
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(columns), columns, nlist, faiss.ScalarQuantizer.QT_fp16,
                                          faiss.METRIC_INNER_PRODUCT, False)
    index.cp.seed = seed
    index.train(rows[np.sort(np.random.default_rng(seed).choice(n, train_size, replace=False))])
    index.add(rows)
    index.make_direct_map()  # for vector(row)
    return index


class FaissSearch:
    """Inner product over unit float32 rows with FAISS (see module doc); results are row numbers."""

    def __init__(self, vectors: np.ndarray, *, approximate: bool, nlist: int | None = None,
                 nprobe: int | None = None, train_size: int | None = None, seed: int = 0):
        self.dimension = vectors.shape[1]
        rows = _pad_columns(vectors, self.dimension)
        if approximate:
            self._use(None, _inverted_file(rows, nlist, train_size, seed), nprobe)
        else:
            self._use(rows, None, None)

    def _use(self, rows: np.ndarray | None, index, nprobe: int | None) -> None:
        """Exact over ``rows``, or IVF through ``index``."""
        import faiss

        self._faiss = faiss
        self.rows, self.index = rows, index
        self.mode = "exact" if index is None else "ivf"
        self.nlist = 0 if index is None else index.nlist
        self.nprobe = 0
        if self.mode == "ivf":
            self.nprobe = self.check_nprobe(nprobe if nprobe is not None else max(1, self.nlist // NPROBE_FRACTION))

    def check_nprobe(self, nprobe: int) -> int:
        nprobe = int(nprobe)
        if not 1 <= nprobe <= self.nlist:
            raise ValueError(f"nprobe must be between 1 and nlist {self.nlist}, got {nprobe}")
        return nprobe

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows.shape[0] if self.index is None else self.index.ntotal), self.dimension

    def search(self, queries: np.ndarray, k: int, excluded_rows: np.ndarray, allowed: np.ndarray | None,
               nprobe: int | None = None, exact: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """(scores, rows) per query, best first; filtered rows never appear.

        Excluded rows alone (a few ids): ask for k more and drop them, which measured faster
        than a FAISS selector. An allowed mask: a bitmap selector of the eligible rows. Where the
        probed lists hold fewer than k eligible rows, IVF probes twice as many and asks again.
        """
        faiss = self._faiss
        n = self.shape[0]
        dropped: set[int] = set()
        if allowed is not None:
            eligible = allowed.copy()
            eligible[excluded_rows] = False
            bits = np.packbits(eligible, bitorder="little")  # lives until the search returns
            selector, fetch, wanted = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits)), k, min(k, int(eligible.sum()))
        else:
            dropped = set(excluded_rows.tolist())
            selector, fetch, wanted = None, k + len(dropped), min(k, n - len(dropped))
        probes = self.nlist if exact else (nprobe or self.nprobe)
        found: list = [None] * queries.shape[0]
        pending = list(range(queries.shape[0]))
        while pending:
            scores, rows = self._search(_pad_columns(queries[pending], self.dimension), min(fetch, n), selector, probes)
            for i, query_scores, query_rows in zip(pending, scores, rows):
                keep = [j for j, row in enumerate(query_rows.tolist()) if row >= 0 and row not in dropped][:k]
                found[i] = (query_scores[keep], query_rows[keep])
            if self.mode == "exact" or probes >= self.nlist:
                break
            pending = [i for i in pending if found[i][1].shape[0] < wanted]
            probes = min(self.nlist, 2 * probes)
        return found

    def _search(self, queries: np.ndarray, k: int, selector, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = self._faiss
        # FAISS splits a search by query, so one query gains nothing from a second thread, and on
        # the busy 2-core box the idle OpenMP thread's spinning made single queries 2.5-50x slower
        # (benchmarks/recommend_latency.py); batches keep FAISS's default threads.
        threads = faiss.omp_get_max_threads()
        if queries.shape[0] == 1:
            faiss.omp_set_num_threads(1)
        try:
            if self.index is not None:
                return self.index.search(queries, k, params=faiss.SearchParametersIVF(sel=selector, nprobe=nprobe))
            scores = np.empty((queries.shape[0], k), np.float32)
            rows = np.empty((queries.shape[0], k), np.int64)
            faiss.knn_inner_product(faiss.swig_ptr(queries), faiss.swig_ptr(self.rows), self.rows.shape[1],
                                    queries.shape[0], self.rows.shape[0], k, faiss.swig_ptr(scores),
                                    faiss.swig_ptr(rows), selector)
            return scores, rows
        finally:
            faiss.omp_set_num_threads(threads)

    def vector(self, row: int) -> np.ndarray:
        stored = self.rows[row] if self.index is None else self.index.reconstruct(int(row))
        return stored[:self.dimension].copy()

    def save(self, folder: Path) -> None:
        """vectors.npy for exact search, index.faiss (FAISS's own format) for IVF."""
        if self.index is None:
            np.save(folder / "vectors.npy", self.rows[:, :self.dimension], allow_pickle=False)
        else:
            self._faiss.write_index(self.index, str(folder / "index.faiss"))

    @classmethod
    def load(cls, folder: Path, nprobe: int, dimension: int) -> FaissSearch:
        import faiss

        search = cls.__new__(cls)
        search.dimension = dimension
        if (folder / "index.faiss").is_file():
            search._use(None, faiss.read_index(str(folder / "index.faiss")), nprobe or None)
        else:
            rows = np.ascontiguousarray(np.load(folder / "vectors.npy", allow_pickle=False), np.float32)
            search._use(_pad_columns(rows, dimension), None, None)
        return search
