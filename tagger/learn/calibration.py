"""Calibration and thresholds: Platt scaling, the F1-best threshold, expected calibration error."""
from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, np.float64)))   # no overflow for large |z|


def fit_platt(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
              iterations: int = 100) -> tuple[np.ndarray, float]:
    """(a, b) so that sigmoid(scores @ a + b) is the probability of a positive: Platt scaling
    (Platt 1999), over one score per row (a 1-D array) or several (columns of a 2-D one, e.g. a
    head's two parts, whose mix this then also learns).

    Newton's method with step halving on the weighted log-loss, over standardised scores (raw
    ones may be tiny or huge), with Platt's smoothed targets so that a tag whose held-out
    scores separate perfectly does not get an infinite slope.
    """
    scores = np.asarray(scores, np.float64)
    one = scores.ndim == 1
    scores = scores[:, None] if one else scores
    labels = np.asarray(labels, np.float64)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, np.float64)
    centre = np.average(scores, axis=0, weights=weights)
    spread = scores.std(axis=0)
    spread[spread == 0] = 1.0
    z = np.c_[(scores - centre) / spread, np.ones(len(labels))]
    positives, negatives = weights[labels > 0.5].sum(), weights[labels <= 0.5].sum()
    target = np.where(labels > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(theta):
        m = z @ theta
        return float((weights * (np.logaddexp(0, m) - target * m)).sum())

    theta = np.zeros(z.shape[1])
    theta[-1] = np.log((positives + 1) / (negatives + 1))
    current = loss(theta)
    for _ in range(iterations):
        p = sigmoid(z @ theta)
        grad = z.T @ (weights * (p - target))
        hess = (z * (weights * p * (1 - p))[:, None]).T @ z + 1e-9 * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(theta - scale * step) > current:
            scale /= 2
        theta = theta - scale * step
        previous, current = current, loss(theta)
        if previous - current < 1e-10 * max(abs(previous), 1.0):
            break
    a = theta[:-1] / spread
    b = float(theta[-1] - a @ centre)
    return (float(a[0]) if one else a), b


def best_threshold(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
                   *, floor: float = 0.05) -> tuple[float, float]:
    """(threshold, F1): the probability cut with the best F1 on these (held-out) predictions.

    Candidates are midpoints between distinct predictions, not below `floor`, so that a tag
    never fires on a near-certain "no".
    """
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(labels, np.float64) > 0.5
    w = np.ones_like(p) if weights is None else np.asarray(weights, np.float64)
    order = np.argsort(-p, kind="stable")
    p, y, w = p[order], y[order], w[order]
    true_pos = np.cumsum(w * y)
    fired = np.cumsum(w)
    total_pos = (w * y).sum()
    if total_pos <= 0:
        return 1.0, 0.0
    f1 = 2 * true_pos / (fired + total_pos)
    last = np.r_[p[1:] != p[:-1], True] & (p >= floor)   # cut after the last of a run of equal scores
    if not last.any():
        return 1.0, 0.0
    best = int(np.argmax(np.where(last, f1, -1.0)))
    below = p[best + 1] if best + 1 < len(p) else 0.0
    return float(max((p[best] + below) / 2, floor)), float(f1[best])


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Mean |confidence - accuracy| over equal-width probability bins, weighted by bin size."""
    p = np.asarray(probabilities, np.float64).ravel()
    y = np.asarray(labels, np.float64).ravel()
    if p.size == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.sum() / p.size * abs(p[members].mean() - y[members].mean())
    return float(error)


def f1_scores(fired: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> dict:
    """Precision, recall, F1 and support of one tag's decisions where labels are known (weight > 0)."""
    fired = np.asarray(fired, bool)
    truth = np.asarray(labels, np.float64) > 0.5
    known = np.ones_like(fired) if weights is None else np.asarray(weights) > 0
    tp = float((fired & truth & known).sum())
    fp = float((fired & ~truth & known).sum())
    fn = float((~fired & truth & known).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": int(tp + fn), "fired": int(tp + fp)}
