"""The head of a ranking: diversity by maximal marginal relevance, exploration by Thompson
sampling over tag arms, and the reasons shown beside each title."""
from __future__ import annotations

import numpy as np


def mmr(relevance: np.ndarray, unit_vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Greedy picks maximising (1 - diversity) x relevance - diversity x max cosine to the picks.

    relevance is rescaled to [0, 1] over the pool so the trade-off means the same everywhere.
    """
    n = len(relevance)
    k = min(k, n)
    if k == 0:
        return []
    finite = np.isfinite(relevance)
    rel = np.where(finite, relevance, np.nan)
    low, high = np.nanmin(rel), np.nanmax(rel)
    rel = np.where(finite, (rel - low) / (high - low) if high > low else 1.0, -np.inf)
    if diversity <= 0:
        order = np.argsort(-rel, kind="stable")
        return [int(i) for i in order[finite[order]][:k]]     # never a -inf (excluded) entry
    picked: list[int] = []
    closest = np.zeros(n)          # max cosine to anything picked so far
    available = finite.copy()
    for _ in range(k):
        gain = np.where(available, (1 - diversity) * rel - diversity * closest, -np.inf)
        best = int(np.argmax(gain))
        if not np.isfinite(gain[best]):
            break
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, unit_vectors @ unit_vectors[best])
    return picked


def explore(order: list[int], pool_tags: np.ndarray, liked_tags: np.ndarray, disliked_tags: np.ndarray,
            share: float, rng: np.random.Generator, k: int,
            skip: np.ndarray | None = None) -> tuple[list[int], dict[int, int]]:
    """Give about `share` of the first k slots to titles drawn by Thompson sampling over tags.

    Each tag is an arm with a Beta(1 + likes, 1 + dislikes) posterior from the viewer's history;
    a slot takes the best-ranked title not yet shown that carries the sampled arm, so a profile
    keeps testing tags it has little evidence on instead of closing into a bubble.
    pool_tags: dense (pool, tags) confidences; skip: pool positions never to explore (shown often
    and never opened). Returns the new order of pool positions and, for
    explored ones, the arm that chose them.
    """
    slots = min(int(round(share * k)), k)
    if slots == 0 or pool_tags.shape[1] == 0:
        return order[:k], {}
    head = list(order[:k])
    carries = pool_tags > 0
    tagged = carries.any(axis=1) & (True if skip is None else ~np.asarray(skip, bool))
    shown = set(order)
    rest = [i for i in list(order[k:]) + [i for i in range(len(pool_tags)) if i not in shown] if tagged[i]]
    explored: dict[int, int] = {}
    # Explored titles go to evenly spaced, distinct positions in the second half of the list
    # (further up when there are more of them than the second half holds).
    positions = np.linspace(min(k // 2, k - slots), k - 1, slots).astype(int)
    for position in positions:
        if not rest:
            break
        theta = rng.beta(1.0 + liked_tags, 1.0 + disliked_tags)
        theta = np.where(carries[rest].any(axis=0), theta, -1.0)
        arm = int(np.argmax(theta))
        pick = next(i for i in rest if carries[i, arm])
        rest.remove(pick)
        if position < len(head):
            head[position] = pick
        else:
            head.append(pick)
        explored[pick] = arm
    return head[:k], explored


def shared_tags(a: np.ndarray, b: np.ndarray, labels: list[str], top: int = 3) -> list[str]:
    """Labels of the tags two tag-confidence vectors share most strongly, each label once (a
    genre and a sub-genre may both be "Horror")."""
    both = np.minimum(a, b)
    order = np.argsort(-both, kind="stable")
    out: list[str] = []
    for i in order[both[order] > 0].tolist():
        if labels[i] not in out:
            out.append(labels[i])
            if len(out) == top:
                break
    return out
