"""Ranking metrics per user: Recall@K, NDCG@K and AUC over a candidate list.

Ties never rank by catalog order: a method with no signal gives many titles one score, and
candidate columns follow MovieLens ids, which follow time. `top_k` breaks ties at random
(seeded); AUC counts a tied pair as half.
"""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Column indices of the k best scores per row, best first; tied scores in a random order
    drawn from `seed` (never by column)."""
    k = min(k, scores.shape[1])
    rng = np.random.default_rng(seed)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(scores, part, axis=1)
    kth = picked.min(axis=1)
    # argpartition keeps whichever of the titles tied at the cut it met first: where more tie
    # with the k-th score than fit, the free places go to tied titles drawn at random.
    above = (scores > kth[:, None]).sum(axis=1)
    tied = (scores == kth[:, None]).sum(axis=1)
    for row in np.flatnonzero(above + tied > k):
        ties = np.flatnonzero(scores[row] == kth[row])
        best = np.flatnonzero(scores[row] > kth[row])
        part[row] = np.concatenate([best, rng.choice(ties, k - len(best), replace=False)])
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((rng.random(part.shape), -picked), axis=1)    # by score, ties at random
    return np.take_along_axis(part, order, axis=1)


def per_user_metrics(scores: np.ndarray, relevant: list[np.ndarray], k: int = 20, with_auc: bool = False,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Each metric per user (row); NaN for a user without a relevant candidate (and, for AUC,
    for one whose every candidate is relevant)."""
    n = len(relevant)
    out = {f"recall@{k}": np.full(n, np.nan), f"ndcg@{k}": np.full(n, np.nan)}
    if with_auc:
        out["auc"] = np.full(n, np.nan)
    keep = [u for u, r in enumerate(relevant) if len(r)]
    if not keep:
        return out
    top = top_k(scores[keep], k, seed)
    is_relevant = np.zeros((len(keep), scores.shape[1]), bool)
    is_relevant[np.repeat(np.arange(len(keep)), [len(relevant[u]) for u in keep]),
                np.concatenate([relevant[u] for u in keep]).astype(np.int64)] = True
    hit = np.take_along_axis(is_relevant, top, axis=1)
    n_rel = is_relevant.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.minimum(n_rel, k) - 1]
    out[f"recall@{k}"][keep] = hit.sum(axis=1) / n_rel
    out[f"ndcg@{k}"][keep] = (hit * discounts).sum(axis=1) / ideal
    if with_auc:
        for u in keep:
            out["auc"][u] = auc(scores[u], relevant[u])
    return out


def ranking_metrics(scores: np.ndarray, relevant: list[np.ndarray], k: int = 20,
                    with_auc: bool = False, seed: int = 0) -> dict[str, float]:
    """Mean over users. scores: (users, candidates); relevant[u]: candidate columns that are hits.

    Recall@K is hits in the top K over all of the user's relevant items; NDCG@K has binary gains.
    Users without a relevant candidate are left out.
    """
    if not any(len(r) for r in relevant):
        raise ValueError("no user has a relevant candidate")
    per_user = per_user_metrics(scores, relevant, k, with_auc, seed)
    return {name: float(np.nanmean(values)) for name, values in per_user.items()}


def auc(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Probability that a relevant candidate outscores an irrelevant one (ties count half)."""
    n = len(scores)
    n_pos = len(relevant)
    if n_pos == 0 or n_pos == n:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)          # average ranks handle ties
    return float((ranks[relevant].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos)))


def paired_interval(differences: list[np.ndarray], *, rounds: int = 2000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float]:
    """Bootstrap interval of the mean difference between two methods, paired by user.

    differences: per seed, one value per user (method minus reference; NaN: user left out).
    Each round resamples each seed's users with replacement and averages the seeds' means,
    so the interval is that of the number reported (the mean over seeds)."""
    rng = np.random.default_rng(seed)
    means = np.zeros(rounds)
    parts = [d[np.isfinite(d)] for d in differences]
    parts = [d for d in parts if len(d)]
    if not parts:
        return float("nan"), float("nan")
    for d in parts:
        picks = rng.integers(0, len(d), size=(rounds, len(d)))
        means += d[picks].mean(axis=1)
    means /= len(parts)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
