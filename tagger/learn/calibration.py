"""Calibration and thresholds: Platt scaling, the F1-best threshold, expected calibration error."""
from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, np.float64)))   # no overflow for large |z|


def fit_platt(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None,
              iterations: int = 100) -> tuple[float, float]:
    """(a, b) so that sigmoid(a * score + b) is the probability of a positive (Platt 1999).

    Newton's method on the weighted log-loss, with Platt's smoothed targets so that a tag whose
    held-out scores separate perfectly does not get an infinite slope.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    weights = np.ones_like(scores) if weights is None else np.asarray(weights, np.float64)
    positives, negatives = weights[labels > 0.5].sum(), weights[labels <= 0.5].sum()
    target = np.where(labels > 0.5, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = 1.0, float(np.log((positives + 1) / (negatives + 1)))
    for _ in range(iterations):
        p = sigmoid(a * scores + b)
        g = weights * (p - target)
        h = weights * p * (1 - p) + 1e-12
        grad = np.array([(g * scores).sum(), g.sum()])
        hess = np.array([[(h * scores * scores).sum(), (h * scores).sum()],
                         [(h * scores).sum(), h.sum()]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


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
