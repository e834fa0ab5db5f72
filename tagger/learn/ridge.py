"""Weighted ridge regression of 0/1 labels for many tags at once, where each tag has its own
weights (0 where its label is unknown) and its own penalty.

Each tag minimises  sum_i w_i (x_i . beta + c - y_i)^2 / sum_i w_i + penalty |beta|^2  (c free).
Ridge, not logistic regression: dense features solve in closed form from Gram matrices, shared
by every tag with the same weights (public labels give a handful of weight patterns), so a fit
takes seconds, not the minutes iterative logistic regression took on 9,000 titles. Platt
scaling (calibration.py) turns the scores into probabilities afterwards.
"""
from __future__ import annotations

import numpy as np


def dense_ridge(x: np.ndarray, labels: np.ndarray, weights: np.ndarray, penalties) -> tuple[np.ndarray, np.ndarray]:
    """(coef (features, tags), intercept (tags)). `penalties` is one penalty per tag, or a list of
    such arrays, then the result is a list of fits: one Gram matrix and one eigendecomposition
    per weight pattern serve every tag and penalty of that pattern."""
    many = isinstance(penalties, list)
    grid = [np.asarray(p, np.float64) for p in (penalties if many else [penalties])]
    xb = np.hstack([x, np.ones((len(x), 1), x.dtype)]).astype(np.float64)
    d = x.shape[1]
    coefs = [np.zeros((d, labels.shape[1])) for _ in grid]
    intercepts = [np.zeros(labels.shape[1]) for _ in grid]
    for gram, columns in _grams(xb, weights):
        total = max(gram[-1, -1], 1e-9)                     # sum of weights
        mean = gram[:-1, -1] / total                        # weighted feature means
        centred = gram[:-1, :-1] - total * np.outer(mean, mean)
        values, vectors = np.linalg.eigh(centred)
        w = weights[:, columns[0]]
        wy = w[:, None] * labels[:, columns]
        label_sums = wy.sum(axis=0)
        projected = vectors.T @ (x.T.astype(np.float64) @ wy - np.outer(mean, label_sums))
        for coef, intercept, penalty in zip(coefs, intercepts, grid):
            beta = vectors @ (projected / (np.maximum(values, 0)[:, None] + penalty[columns] * total))
            coef[:, columns] = beta
            intercept[columns] = label_sums / total - mean @ beta
    fits = [(c.astype(np.float32), b.astype(np.float32)) for c, b in zip(coefs, intercepts)]
    return fits if many else fits[0]


def _grams(xb: np.ndarray, weights: np.ndarray):
    """Yield (per-column Gram matrices, columns) by weight pattern. A column whose weights differ
    from a common pattern in a few rows (editors' decisions) gets that pattern's Gram plus those
    rows, instead of a Gram of its own."""
    patterns: dict[bytes, list[int]] = {}
    for j in range(weights.shape[1]):
        patterns.setdefault(weights[:, j].tobytes(), []).append(j)
    common = sorted(patterns.values(), key=len, reverse=True)[:8]
    bases = {}
    for columns in patterns.values():
        w = weights[:, columns[0]]
        best, differing = None, None
        for reference in common:
            rows = np.flatnonzero(weights[:, reference[0]] != w)
            if differing is None or len(rows) < len(differing):
                best, differing = reference[0], rows
        if len(differing) > len(w) // 4:   # too different: a Gram of its own
            best, differing = columns[0], np.zeros(0, int)
        if best not in bases:
            bases[best] = (xb * weights[:, best][:, None]).T @ xb
        delta = w[differing] - weights[differing, best]
        yield bases[best] + (xb[differing] * delta[:, None]).T @ xb[differing], columns


def sparse_ridge(x, labels: np.ndarray, weights: np.ndarray, penalty: np.ndarray, *,
                 iterations: int = 300, tolerance: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Ridge over sparse features (scipy CSR) for all tags at once by block conjugate gradients:
    each tag's normal equations are solved side by side, with its own weights and penalty."""
    n, d = x.shape
    w = weights / np.maximum(weights.sum(axis=0, keepdims=True), 1e-9)
    penalty = np.asarray(penalty, np.float64)

    def apply(beta):   # (X1' W X1 + diag(penalty, tiny)) beta, X1 = [X, 1]
        fitted = w * (x @ beta[:-1] + beta[-1])
        top = x.T @ fitted + penalty * beta[:-1]
        return np.vstack([top, fitted.sum(axis=0, keepdims=True) + 1e-9 * beta[-1:]])

    rhs = np.vstack([x.T @ (w * labels), (w * labels).sum(axis=0, keepdims=True)])
    beta = np.zeros_like(rhs)
    residual = rhs - apply(beta)
    direction = residual.copy()
    norms = (residual * residual).sum(axis=0)
    target = tolerance ** 2 * np.maximum((rhs * rhs).sum(axis=0), 1e-30)
    for _ in range(iterations):
        active = norms > target
        if not active.any():
            break
        product = apply(direction)
        step = np.where(active, norms / np.maximum((direction * product).sum(axis=0), 1e-30), 0.0)
        beta += step * direction
        residual -= step * product
        new_norms = (residual * residual).sum(axis=0)
        direction = residual + np.where(active, new_norms / np.maximum(norms, 1e-30), 0.0) * direction
        norms = new_norms
    return beta[:-1].astype(np.float32), beta[-1].astype(np.float32)
