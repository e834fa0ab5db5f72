"""Collaborative signals: implicit ALS with fold-in for new users, and item-item cosine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class ItemFactors:
    """What fold-in needs of a fitted ALS model: the recommender keeps only this."""
    item_factors: np.ndarray
    regularization: float
    alpha: float

    @classmethod
    def of(cls, model) -> "ItemFactors":
        """From implicit's fitted AlternatingLeastSquares."""
        return cls(np.asarray(model.item_factors, np.float32), float(model.regularization), float(model.alpha))

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        return {"item_factors": self.item_factors}, {"regularization": self.regularization, "alpha": self.alpha}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> "ItemFactors":
        return cls(arrays["item_factors"], **params)


def fit_als(positives: sp.csr_matrix, *, factors, regularization, alpha, iterations, random_state):
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    # implicit runs its own threads; a multi-threaded BLAS underneath only fights them
    # (implicit warns about exactly this).
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                        iterations=iterations, random_state=random_state,
                                        calculate_training_loss=False)
        model.fit(positives.tocsr(), show_progress=False)
    if hasattr(model, "to_cpu"):
        model = model.to_cpu()
    return model


def fold_in(model, histories: list[np.ndarray], n_items: int) -> np.ndarray:
    """User factors solved against fixed item factors from each history (zero for an empty one).

    The same least squares as implicit's recalculate_user (confidence alpha for each liked
    title): (B + (alpha - 1) Y_h'Y_h) u = alpha Y_h'1 with B = Y'Y + reg I, checked against it
    in the tests. B and its inverse are computed once per model (implicit recomputes Y'Y per
    call: 16 ms at 100k). Histories go in slices of like length, padded with zero rows (which
    add nothing); one shorter than half the factors is solved by the Woodbury identity, an
    L x L system per viewer instead of a factors x factors one."""
    Y = model.item_factors
    f, c = Y.shape[1], model.alpha - 1.0
    cached = getattr(model, "_tagger_base", None)
    if cached is None:
        base = (Y.T @ Y).astype(np.float64) + model.regularization * np.eye(f)
        cached = model._tagger_base = (base, np.linalg.inv(base))
    base, base_inv = cached
    factors = np.zeros((len(histories), f), np.float32)
    some = np.array([u for u, history in enumerate(histories) if len(history)], np.int64)
    if not len(some):
        return factors
    lengths = np.array([len(histories[u]) for u in some])
    some, lengths = some[np.argsort(lengths, kind="stable")], np.sort(lengths, kind="stable")
    per_slice = max(1, (1 << 16) // int(lengths[-1]))
    for start in range(0, len(some), per_slice):
        part, width = some[start:start + per_slice], int(lengths[start:start + per_slice].max())
        rows = np.zeros((len(part), width), np.int64)
        real = np.arange(width) < lengths[start:start + per_slice, None]
        for i, u in enumerate(part.tolist()):
            rows[i, :len(histories[u])] = histories[u]
        Yh = np.where(real[:, :, None], Y[rows], 0.0).astype(np.float64)          # (viewers, width, f)
        sums = model.alpha * Yh.sum(axis=1)
        if c > 0 and 2 * width <= f:
            # (B + c Yh'Yh)^-1 r = s - V'(I/c + Yh V')^-1 Yh s, with V = Yh B^-1 and s = B^-1 r.
            V, s = Yh @ base_inv, sums @ base_inv
            small = np.eye(width) / c + V @ Yh.transpose(0, 2, 1)
            factors[part] = s - (V.transpose(0, 2, 1) @ np.linalg.solve(small, Yh @ s[:, :, None]))[:, :, 0]
        else:
            systems = base + c * (Yh.transpose(0, 2, 1) @ Yh)
            factors[part] = np.linalg.solve(systems, sums[:, :, None])[:, :, 0]
    return factors


def factors_from_content(content: np.ndarray, item_factors: np.ndarray, weights: np.ndarray,
                         ridge: float) -> np.ndarray:
    """ALS item factors predicted from content by a ridge regression over the titles with a
    weight above zero (the recommender weighs each title by its viewers: the more, the better
    its factors), so that a title nobody has watched gets a place in the collaborative space."""
    seen = weights > 0
    if seen.sum() < 2:
        return np.zeros_like(item_factors)
    X = content[seen].astype(np.float64)
    w = weights[seen][:, None]
    coef = np.linalg.solve(X.T @ (w * X) + ridge * np.eye(X.shape[1]), X.T @ (w * item_factors[seen]))
    return (content @ coef).astype(np.float32)


def item_cosine(positives: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
    """Item-item cosine over user columns, keeping each item's `neighbours` most similar.

    Sparse throughout: only items that share a viewer get an entry (a dense matrix would be
    37 GB at 100k titles)."""
    m = positives.T.tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = (sp.diags(1.0 / np.maximum(norms, 1e-9)) @ m).tocsr()
    sim = (m @ m.T).tocsr()
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    rows, cols, vals = [], [], []
    for row in range(sim.shape[0]):
        start, end = sim.indptr[row], sim.indptr[row + 1]
        data, index = sim.data[start:end], sim.indices[start:end]
        if len(data) > neighbours:
            keep = np.argpartition(-data, neighbours - 1)[:neighbours]
            data, index = data[keep], index[keep]
        rows.append(np.full(len(data), row))
        cols.append(index)
        vals.append(data)
    if not rows:
        return sp.csr_matrix(sim.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=sim.shape)


def history_matrix(histories, n_items) -> sp.csr_matrix:
    """One row per history, 1.0 at its titles."""
    indptr = np.cumsum([0] + [len(h) for h in histories])
    indices = np.concatenate(histories).astype(np.int32) if indptr[-1] else np.zeros(0, np.int32)
    return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(histories), n_items))
