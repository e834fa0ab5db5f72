"""Nearest-neighbour search over title embeddings by inner product (cosine on normalised rows).

``VectorIndex(ids, vectors)`` keeps the rows L2-normalised in one contiguous float32 array and
answers ``search(query, k)`` exactly (a scan of every row and a top-k) below ``ann_from`` rows, and
approximately above it with an inverted-file (IVF) index: a spherical k-means coarse
quantizer trained on a sample, rows stored contiguously list by list, ``nprobe`` lists
scanned per query and their rows scored exactly. numpy only.

    index = VectorIndex(ids, vectors)
    [hit] = index.search(vectors[0], 10, exclude={ids[0]})
    hit.ids, hit.scores              # best first
    index.save("catalog.index"); VectorIndex.load("catalog.index")
"""
from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import NamedTuple

import numpy as np

# Exact p99 (2 busy cores): 6 ms at 20k, 8-11 at 30k, 21 at 100k; IVF median 0.5 ms at 20k, recall@10 0.98.
ANN_FROM_DEFAULT = 20_000
# nprobe = nlist / 8 (nlist ~ sqrt(rows)) measured recall@10 >= 0.97 for user queries, ~1.0 for
# similar titles, at 10k, 100k and 1M rows; nlist / 16 fell to 0.94 for user queries.
NPROBE_FRACTION = 8

_FORMAT_VERSION = 1
_TOPK_CHUNK = 256          # most rows per chunk in the top-k prefilter (see top_k)
_SCORE_BLOCK_FLOATS = 1 << 24  # bound on the scores matrix of one batch block (64 MB)


_vecdot = getattr(np, "vecdot", None)  # numpy >= 2.0; einsum before


class Neighbours(NamedTuple):
    """One query's results, best first: ids, their inner products with the query, and their
    row numbers in the order the index was built from (cheaper than looking ids up again)."""
    ids: list[str]
    scores: np.ndarray  # float32, same length as ids
    rows: np.ndarray    # int64, same length as ids


def _dot_rows(rows: np.ndarray, query: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """rows @ query on one thread with numpy's own SIMD loop, not BLAS gemv.

    Measured on the 2-core box, 100k x 384: this ~12 ms, OpenBLAS sgemv ~34 ms on one thread and
    worse on two while other work holds a core (its threads wait for each other).
    """
    if _vecdot is not None:
        return _vecdot(rows, query, out=out)
    return np.einsum("ij,j->i", rows, query, out=out)


def _normalise_rows(vectors: np.ndarray, what: str = "vectors") -> np.ndarray:
    """A float32 C-contiguous copy with unit-length rows; zero rows stay zero.

    Block by block, so each block is cast, measured and scaled while in cache (1M x 384: one
    pass over memory, not three). Raises ValueError on NaN or inf.
    """
    out = np.empty(vectors.shape, dtype=np.float32)
    rows_per_block = max(1, (1 << 22) // max(1, vectors.shape[1]))  # 16 MB of float32
    for start in range(0, vectors.shape[0], rows_per_block):
        block = out[start:start + rows_per_block]
        # Overflow (a float64 beyond float32, squares beyond float32) gives inf, handled below.
        with np.errstate(over="ignore", invalid="ignore"):
            block[...] = vectors[start:start + rows_per_block]
            norms = np.sqrt(_vecdot(block, block) if _vecdot is not None else np.einsum("ij,ij->i", block, block))
        # NaN/inf rows, and rows whose squares overflow or underflow float32, take the slow path.
        odd = np.flatnonzero(~np.isfinite(norms) | (norms == 0))
        if odd.size:
            rows = block[odd]
            if not np.isfinite(rows).all():
                raise ValueError(f"{what} must be finite numbers (found NaN or inf, or a value too large "
                                 f"for float32)")
            largest = np.abs(rows).max(axis=1, keepdims=True)
            largest[largest == 0] = 1.0  # zero rows stay zero
            rows /= largest
            block[odd] = rows
            norms[odd] = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        norms[norms == 0] = 1.0
        block /= norms[:, None]
    return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest finite-or-not scores of a 1-d array, best first.

    Exact, and ~15x faster than argpartition on 1M scores: the k-th largest of the chunk
    maxima is a lower bound for the k-th largest score (k chunks each hold a score at least
    that high), so one vectorised compare leaves ~k candidates to partition.
    """
    n = scores.shape[0]
    k = min(k, n)
    if k == 0:
        return np.empty(0, dtype=np.intp)
    chunk = min(_TOPK_CHUNK, n // (8 * k))  # at least 8k chunks, so ~k of them hold the top k
    if chunk >= 8:
        chunks = n // chunk
        chunk_max = scores[: chunks * chunk].reshape(chunks, chunk).max(axis=1)
        bound = np.partition(chunk_max, chunks - k)[chunks - k]
        candidates = np.flatnonzero(scores >= bound)
    else:
        candidates = np.arange(n)
    if candidates.shape[0] > 4 * k:  # a few candidates are cheaper to sort than to partition
        part = np.argpartition(scores[candidates], candidates.shape[0] - k)[candidates.shape[0] - k:]
        candidates = candidates[part]
    return candidates[np.argsort(-scores[candidates], kind="stable")[:k]]


def spherical_kmeans(sample: np.ndarray, clusters: int, *, iterations: int = 12,
                     seed: int = 0) -> np.ndarray:
    """(clusters, d) unit centroids of unit rows, assigned by largest inner product.

    Starts from distinct random sample rows; an emptied cluster restarts at the row its
    centroid explains worst, so every list stays in use.
    """
    rng = np.random.default_rng(seed)
    centroids = sample[rng.choice(sample.shape[0], clusters, replace=False)].copy()
    for _ in range(iterations):
        assign, best = _assign(sample, centroids)
        sums = np.zeros_like(centroids)
        _add_by_label(sums, assign, sample)
        counts = np.bincount(assign, minlength=clusters)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            worst = np.argsort(best)[: empty.size]
            sums[empty] = sample[worst]
        centroids = _normalise_rows(sums)
    return centroids


def _add_by_label(sums: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> None:
    """sums[l] += rows[labels == l] for all l, by sorting once (np.add.at is slow on large rows)."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums[sorted_labels[starts]] += np.add.reduceat(rows[order], starts, axis=0)


def _assign(rows: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid of each row and its score, in blocks so the scores stay small."""
    block = max(1, _SCORE_BLOCK_FLOATS // max(1, centroids.shape[0]))
    labels = np.empty(rows.shape[0], dtype=np.int64)
    best = np.empty(rows.shape[0], dtype=np.float32)
    for start in range(0, rows.shape[0], block):
        scores = rows[start:start + block] @ centroids.T
        labels[start:start + block] = scores.argmax(axis=1)
        best[start:start + block] = scores[np.arange(scores.shape[0]), labels[start:start + block]]
    return labels, best


class VectorIndex:
    """Inner-product search over L2-normalised float32 rows, exact or IVF (see module doc).

    ``ann_from``: row count from which an IVF index is built (``None``: always exact).
    ``nlist``: IVF lists (default ~sqrt(rows)); ``nprobe``: lists scanned per query (default
    nlist / 8); ``train_size``: rows sampled to train the quantizer (default 64 per list).
    """

    def __init__(self, ids: list[str], vectors: np.ndarray, *, ann_from: int | None = ANN_FROM_DEFAULT,
                 nlist: int | None = None, nprobe: int | None = None, train_size: int | None = None,
                 seed: int = 0):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-d array (rows, dimension), got shape {vectors.shape}")
        ids = [str(i) for i in ids]
        if len(ids) != vectors.shape[0]:
            raise ValueError(f"{len(ids)} ids for {vectors.shape[0]} vectors: need one id per row")
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            duplicate = next(i for i in ids if i in seen or seen.add(i))
            raise ValueError(f"ids must be unique, {duplicate!r} appears more than once")
        if vectors.shape[1] == 0:
            raise ValueError("vectors have dimension 0")
        if not (np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(vectors.dtype, np.integer)):
            raise ValueError(f"vectors must be numbers, got dtype {vectors.dtype}")
        self._ids = ids
        self._row_of_id = {i: row for row, i in enumerate(ids)}
        self._vectors = _normalise_rows(vectors)
        # IVF state; exact mode keeps rows in input order and these stay None.
        self._centroids: np.ndarray | None = None
        self._list_starts: np.ndarray | None = None
        self._row_of_position: np.ndarray | None = None
        self._position_of_row: np.ndarray | None = None
        self._nprobe = 0
        if ann_from is not None and len(ids) >= max(ann_from, 2):
            self._build_ivf(nlist, nprobe, train_size, seed)

    # -- building ---------------------------------------------------------------------------

    def _build_ivf(self, nlist: int | None, nprobe: int | None, train_size: int | None, seed: int) -> None:
        n = self._vectors.shape[0]
        nlist = int(nlist) if nlist is not None else max(1, int(round(np.sqrt(n))))
        if not 1 <= nlist <= n:
            raise ValueError(f"nlist must be between 1 and the row count {n}, got {nlist}")
        train_size = min(n, int(train_size) if train_size is not None else 64 * nlist)
        if train_size < nlist:
            raise ValueError(f"train_size {train_size} is smaller than nlist {nlist}")
        rng = np.random.default_rng(seed)
        sample_rows = np.sort(rng.choice(n, train_size, replace=False))
        centroids = spherical_kmeans(self._vectors[sample_rows], nlist, seed=seed)
        labels, _ = _assign(self._vectors, centroids)
        order = np.argsort(labels, kind="stable")
        counts = np.bincount(labels, minlength=nlist)
        self._set_ivf(centroids, np.concatenate([[0], np.cumsum(counts)]), order)
        self._vectors = self._vectors[order]  # list by list, so a list is one contiguous slice
        self._nprobe = self._check_nprobe(nprobe if nprobe is not None else max(1, nlist // NPROBE_FRACTION))

    def _set_ivf(self, centroids: np.ndarray, list_starts: np.ndarray, row_of_position: np.ndarray) -> None:
        self._centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        self._list_starts = np.asarray(list_starts, dtype=np.int64)
        self._row_of_position = np.asarray(row_of_position, dtype=np.int64)
        self._position_of_row = np.empty_like(self._row_of_position)
        self._position_of_row[self._row_of_position] = np.arange(self._row_of_position.shape[0])

    def _check_nprobe(self, nprobe: int) -> int:
        nprobe = int(nprobe)
        if not 1 <= nprobe <= self._centroids.shape[0]:
            raise ValueError(f"nprobe must be between 1 and nlist {self._centroids.shape[0]}, got {nprobe}")
        return nprobe

    # -- properties -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def dimension(self) -> int:
        return self._vectors.shape[1]

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    @property
    def mode(self) -> str:
        """"exact" or "ivf"."""
        return "exact" if self._centroids is None else "ivf"

    @property
    def nlist(self) -> int:
        return 0 if self._centroids is None else self._centroids.shape[0]

    @property
    def nprobe(self) -> int:
        """Lists an IVF search scans unless told otherwise (0 for an exact index); settable."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self._centroids is None:
            raise ValueError("nprobe only applies to an IVF index")
        self._nprobe = self._check_nprobe(value)

    def vector(self, id_: str) -> np.ndarray:
        """The stored (normalised) vector of an id, a copy."""
        row = self._row_of_id[id_]
        position = row if self._position_of_row is None else self._position_of_row[row]
        return self._vectors[position].copy()

    # -- searching --------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, *, exclude: Collection[str] | None = None,
               allowed: np.ndarray | None = None, exact: bool = False,
               nprobe: int | None = None) -> list[Neighbours]:
        """The k rows with the largest inner product with each query, best first.

        ``query``: (d,) or (q, d); it is normalised, so scores are cosines. Returns one
        :class:`Neighbours` per query row (a list of one for a (d,) query). ``exclude``: ids
        never returned (unknown ids are ignored); ``allowed``: boolean mask over the rows in
        construction order, only True rows are returned. Fewer than k results only when fewer
        than k rows are eligible. ``exact``: scan every row even on an IVF index; ``nprobe``:
        lists scanned this time (IVF). Either filter can leave the probed lists short of k, in
        which case IVF probes more lists until it has k or has scanned them all.
        """
        queries = self._check_queries(query)
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise ValueError(f"k must be an integer, got {k!r}")
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        if isinstance(exclude, (str, bytes)):
            raise ValueError("exclude must be a collection of ids, not a single string")
        excluded_rows = np.array(sorted({self._row_of_id[i] for i in exclude or () if i in self._row_of_id}),
                                 dtype=np.int64)
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_ or allowed.shape != (len(self),):
                raise ValueError(f"allowed must be a boolean mask of shape ({len(self)},), "
                                 f"got {allowed.dtype} {allowed.shape}")
        if len(self) == 0:
            return [Neighbours([], np.empty(0, np.float32), np.empty(0, np.int64)) for _ in range(queries.shape[0])]
        if self._centroids is None or exact:
            return self._search_exact(queries, k, excluded_rows, allowed)
        probes = self._nprobe if nprobe is None else self._check_nprobe(nprobe)
        return [self._search_ivf(q, k, excluded_rows, allowed, probes) for q in queries]

    def _check_queries(self, query: np.ndarray) -> np.ndarray:
        query = np.asarray(query)
        if query.ndim not in (1, 2) or query.shape[-1] != self.dimension:
            raise ValueError(f"query must have shape ({self.dimension},) or (q, {self.dimension}) "
                             f"to match the index dimension {self.dimension}, got {query.shape}")
        if not (np.issubdtype(query.dtype, np.floating) or np.issubdtype(query.dtype, np.integer)):
            raise ValueError(f"query must be numbers, got dtype {query.dtype}")
        # float32 always: a float64 query would upcast the whole catalog inside the matmul.
        if query.ndim == 1:  # the common case, without _normalise_rows' per-block machinery
            with np.errstate(over="ignore", invalid="ignore"):
                single = query.astype(np.float32).reshape(1, -1)
                length = float(np.sqrt(np.dot(single[0], single[0])))
            if 0.0 < length < np.inf:
                single /= length
                return single
        return _normalise_rows(query.reshape(-1, self.dimension), "query")

    def _results(self, top: np.ndarray, scores: np.ndarray, positions: np.ndarray | None = None) -> Neighbours:
        """Neighbours from indices ``top`` into ``scores``; ``positions``: the storage position
        of each score where it is not its index (IVF candidates)."""
        top = top[scores[top] > -np.inf]  # filtered rows were set to -inf
        stored = top if positions is None else positions[top]
        rows = stored if self._row_of_position is None else self._row_of_position[stored]
        return Neighbours([self._ids[r] for r in rows], scores[top].copy(), np.asarray(rows, np.int64))

    def _search_exact(self, queries: np.ndarray, k: int, excluded_rows: np.ndarray,
                      allowed: np.ndarray | None) -> list[Neighbours]:
        n = len(self)
        excluded = excluded_rows if self._position_of_row is None else self._position_of_row[excluded_rows]
        blocked = None
        if allowed is not None:
            blocked = ~allowed if self._row_of_position is None else ~allowed[self._row_of_position]
        out = []
        block = max(1, _SCORE_BLOCK_FLOATS // n)  # queries per matmul
        for start in range(0, queries.shape[0], block):
            batch = queries[start:start + block]
            # One query: a single-threaded dot per row; several: one BLAS gemm, where threads pay.
            # No copy of the catalog either way (the catalog is float32 and so are the queries).
            scores = _dot_rows(self._vectors, batch[0])[None] if batch.shape[0] == 1 else batch @ self._vectors.T
            scores[:, excluded] = -np.inf
            if blocked is not None:
                scores[:, blocked] = -np.inf
            out.extend(self._results(top_k(row, k), row) for row in scores)
        return out

    def _search_ivf(self, query: np.ndarray, k: int, excluded_rows: np.ndarray,
                    allowed: np.ndarray | None, nprobe: int) -> Neighbours:
        lists = np.argsort(-_dot_rows(self._centroids, query), kind="stable")  # nlist is small
        starts, vectors = self._list_starts, self._vectors
        while True:
            probed = np.sort(lists[:nprobe])
            # Each probed list is one slice of the storage; neighbouring lists merge.
            slices: list[tuple[int, int]] = []
            for a, b in zip(starts[probed].tolist(), starts[probed + 1].tolist()):
                if slices and slices[-1][1] == a:
                    slices[-1] = (slices[-1][0], b)
                elif b > a:
                    slices.append((a, b))
            total = sum(b - a for a, b in slices)
            positions = np.empty(total, dtype=np.int64)
            scores = np.empty(total, dtype=np.float32)
            at = 0
            for a, b in slices:
                positions[at:at + b - a] = np.arange(a, b)
                _dot_rows(vectors[a:b], query, out=scores[at:at + b - a])
                at += b - a
            eligible = total
            if excluded_rows.size:
                # positions ascend (lists are stored in order), so a binary search finds the excluded.
                wanted = self._position_of_row[excluded_rows]
                slot = np.minimum(np.searchsorted(positions, wanted), max(0, positions.shape[0] - 1))
                hit = slot[positions[slot] == wanted] if positions.shape[0] else slot[:0]
                scores[hit] = -np.inf
                eligible -= hit.shape[0]
            if allowed is not None:
                blocked = ~allowed[self._row_of_position[positions]]
                scores[blocked] = -np.inf
                eligible = int(np.count_nonzero(scores > -np.inf))
            if eligible >= k or nprobe >= lists.shape[0]:
                break
            nprobe = min(lists.shape[0], nprobe * 2)
        return self._results(top_k(scores, k), scores, positions)

    # -- storage ----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Writes the folder ``path`` with index.json (ids, parameters) and arrays.npz; no pickle."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"vectors": self._vectors}
        if self._centroids is not None:
            arrays.update(centroids=self._centroids, list_starts=self._list_starts,
                          row_of_position=self._row_of_position)
        np.savez(folder / "arrays.npz", **arrays)
        meta = {"format": "tagger.recommend.VectorIndex", "version": _FORMAT_VERSION, "mode": self.mode,
                "dimension": self.dimension, "nprobe": self._nprobe, "ids": self._ids}
        (folder / "index.json").write_text(json.dumps(meta))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """An index written by :meth:`save`, searching exactly as it did."""
        folder = Path(path)
        meta = json.loads((folder / "index.json").read_text())
        if meta.get("format") != "tagger.recommend.VectorIndex" or meta.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{folder}: not a VectorIndex folder of format version {_FORMAT_VERSION}")
        with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
            parts = {name: arrays[name] for name in arrays.files}
        index = cls.__new__(cls)
        index._ids = list(meta["ids"])
        index._row_of_id = {i: row for row, i in enumerate(index._ids)}
        index._vectors = np.ascontiguousarray(parts["vectors"], dtype=np.float32)
        if index._vectors.shape != (len(index._ids), meta["dimension"]):
            raise ValueError(f"{folder}: arrays.npz holds {index._vectors.shape} vectors for "
                             f"{len(index._ids)} ids of dimension {meta['dimension']}")
        index._centroids = index._list_starts = index._row_of_position = None
        index._position_of_row = None
        index._nprobe = 0
        if meta["mode"] == "ivf":
            index._set_ivf(parts["centroids"], parts["list_starts"], parts["row_of_position"])
            index._nprobe = index._check_nprobe(meta["nprobe"])
        return index


class InnerProductIndex:
    """The rows with the largest inner product (not cosine) with a query, through a VectorIndex.

    Each row gets one more coordinate, sqrt(M^2 - |x|^2) with M the largest row norm, so every
    row has norm M; the query gets 0 there. Cosine to the query is then q.x / (|q| M), which
    ranks rows exactly as the inner product does (the reduction of maximum inner product search
    to nearest neighbours in Bachrach et al., 2014). Scores returned are those cosines.
    """

    def __init__(self, ids: list[str], vectors: np.ndarray, **kwargs):
        vectors = np.asarray(vectors, np.float32)
        squares = np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64)
        padding = np.sqrt(np.maximum(squares.max(initial=0.0) - squares, 0.0)).astype(np.float32)
        self.index = VectorIndex(ids, np.hstack([vectors, padding[:, None]]), **kwargs)

    def search(self, query: np.ndarray, k: int, **kwargs) -> list[Neighbours]:
        query = np.asarray(query, np.float32)
        padded = np.concatenate([query, np.zeros(query.shape[:-1] + (1,), np.float32)], axis=-1)
        return self.index.search(padded, k, **kwargs)

    @property
    def nprobe(self) -> int:
        return self.index.nprobe
