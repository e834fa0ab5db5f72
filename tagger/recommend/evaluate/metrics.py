"""Ranking metrics per user: Recall@K, NDCG@K and AUC over a candidate list."""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first (ties by column order)."""
    k = min(k, scores.shape[1])
    part = np.sort(np.argpartition(-scores, k - 1, axis=1)[:, :k], axis=1)
    picked = np.take_along_axis(scores, part, axis=1)
    # argpartition picks among scores tied at the cut in no set order: where it left one of
    # them out, take that row's first k by a stable sort instead.
    kth = picked.min(axis=1, keepdims=True)
    cut = (scores == kth).sum(axis=1) != (picked == kth).sum(axis=1)
    if cut.any():
        part[cut] = np.sort(np.argsort(-scores[cut], axis=1, kind="stable")[:, :k], axis=1)
        picked = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-picked, axis=1, kind="stable")       # part is in column order
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(scores: np.ndarray, relevant: list[np.ndarray], k: int = 20,
                    with_auc: bool = False) -> dict[str, float]:
    """Mean over users. scores: (users, candidates); relevant[u]: candidate columns that are hits.

    Recall@K is hits in the top K over all of the user's relevant items; NDCG@K has binary gains.
    Users without a relevant candidate are left out.
    """
    keep = [u for u, r in enumerate(relevant) if len(r)]
    if not keep:
        raise ValueError("no user has a relevant candidate")
    top = top_k(scores[keep], k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs, aucs = [], [], []
    for row, u in enumerate(keep):
        hit = np.isin(top[row], relevant[u])
        n_rel = len(relevant[u])
        recalls.append(hit.sum() / n_rel)
        ndcgs.append((hit * discounts[:len(hit)]).sum() / discounts[:min(n_rel, k)].sum())
        if with_auc:
            aucs.append(auc(scores[u], relevant[u]))
    out = {f"recall@{k}": float(np.mean(recalls)), f"ndcg@{k}": float(np.mean(ndcgs))}
    if with_auc:
        out["auc"] = float(np.nanmean(aucs))
    return out


def auc(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Probability that a relevant candidate outscores an irrelevant one (ties count half)."""
    n = len(scores)
    n_pos = len(relevant)
    if n_pos == 0 or n_pos == n:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(scores)          # average ranks handle ties
    return float((ranks[relevant].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos)))
