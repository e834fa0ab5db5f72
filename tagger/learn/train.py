"""Fitting the tag heads: per-tag logistic regression, chosen and calibrated on held-out folds.

For each tag with labels, on K folds of the training titles (by title):
  1. out-of-fold scores for each L2 strength; each tag keeps the strength with the best average
     precision on them;
  2. Platt scaling fitted on those out-of-fold scores (a held-out 0.8 is right 80% of the time);
  3. the threshold with the best F1 on the calibrated out-of-fold probabilities;
  4. a head only for tags with at least `min_positives` positive labels, the cut chosen from a
     grid by out-of-fold macro F1 where a tag below it scores as its zero-shot prior; the others
     fall back to zero-shot and rules, and the heads say why.
Then each head is refitted on every training title with its chosen strength.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tagger.learn.calibration import best_threshold, f1_scores, fit_platt, sigmoid

log = logging.getLogger(__name__)
ZEROSHOT_THRESHOLD = 0.5   # the tags stage's default threshold: what the fallback fires at


@dataclass(frozen=True)
class TrainSettings:
    folds: int = 5
    l2_grid: tuple[float, ...] = (3e-4, 1e-3, 3e-3, 1e-2)
    min_positive_grid: tuple[int, ...] = (5, 10, 20, 40)
    positive_weight_power: float = 0.5    # positives weigh (negatives / positives) ** power
    max_iterations: int = 200
    seed: int = 0


@dataclass
class FittedHeads:
    """What train() found; heads.TagHeads.from_fit turns it into the saved heads."""
    tag_ids: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray          # (features, heads) over standardised features
    bias: np.ndarray
    platt: np.ndarray         # (heads, 2): a, b
    thresholds: np.ndarray
    fallback: dict[str, str]  # tag -> why it has no head
    report: dict              # validation numbers per tag, choices made


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (NaN-aware); a constant column gets scale 1 and stays at 0."""
    with np.errstate(all="ignore"):
        mean = np.nan_to_num(np.nanmean(x, axis=0))
        scale = np.nan_to_num(np.nanstd(x, axis=0))
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def standardise(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.nan_to_num((x - mean) / scale).astype(np.float32)


def fit_linear(x: np.ndarray, labels: np.ndarray, weights: np.ndarray, l2: np.ndarray, *,
               positive_weight_power: float = 0.5, max_iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(coef (features, tags), bias (tags)): every tag's weighted logistic regression at once.

    Each tag's loss is its mean weighted log-loss plus l2[tag] * |coef|^2 / 2; the tags do not
    share parameters, so one L-BFGS run over the sum fits them all. Columns that are constant
    here (a block no training title has) keep weight 0.
    """
    import torch

    live = np.flatnonzero(x.std(axis=0) > 1e-6)
    positives = (weights * labels).sum(axis=0)
    negatives = (weights * (1 - labels)).sum(axis=0)
    boost = np.power(np.maximum(negatives, 1) / np.maximum(positives, 1), positive_weight_power)
    w = weights * np.where(labels > 0.5, boost[None, :], 1.0)
    w = w / np.maximum(w.sum(axis=0, keepdims=True), 1e-9)
    X = torch.from_numpy(np.ascontiguousarray(x[:, live], np.float32))
    Y = torch.from_numpy(labels.astype(np.float32))
    Wt = torch.from_numpy(w.astype(np.float32))
    L2 = torch.from_numpy(np.asarray(l2, np.float32))
    coef = torch.zeros((len(live), labels.shape[1]), requires_grad=True)
    bias = torch.zeros(labels.shape[1], requires_grad=True)
    optimiser = torch.optim.LBFGS([coef, bias], lr=1.0, max_iter=max_iterations, history_size=20,
                                  tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        logits = X @ coef + bias
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none") * Wt).sum() \
            + 0.5 * (L2 * (coef * coef).sum(dim=0)).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    full = np.zeros((x.shape[1], labels.shape[1]), np.float32)
    full[live] = coef.detach().numpy()
    return full, bias.detach().numpy().astype(np.float32)


def folds_of(count: int, folds: int, seed: int) -> np.ndarray:
    """The fold of each row, shuffled with the seed."""
    order = np.random.default_rng(seed).permutation(count)
    fold = np.empty(count, int)
    fold[order] = np.arange(count) % folds
    return fold


def out_of_fold(x, labels, weights, l2, fold, settings: TrainSettings) -> np.ndarray:
    """(rows, tags) logits, each row scored by the model fitted without its fold."""
    scores = np.zeros(labels.shape, np.float32)
    for k in range(settings.folds):
        train, held = fold != k, fold == k
        mean, scale = standardiser(x[train])
        coef, bias = fit_linear(standardise(x[train], mean, scale), labels[train], weights[train], l2,
                                positive_weight_power=settings.positive_weight_power,
                                max_iterations=settings.max_iterations)
        scores[held] = standardise(x[held], mean, scale) @ coef + bias
    return scores


def train(x: np.ndarray, labels: np.ndarray, weights: np.ndarray, tag_ids: list[str],
          zeroshot: dict[str, np.ndarray], settings: TrainSettings = TrainSettings()) -> FittedHeads:
    """Heads for the tags with labels. `zeroshot[tag]` is the tag's zero-shot confidence per row
    (the fallback's prior), for the tags that have prompts."""
    from sklearn.metrics import average_precision_score

    known = weights > 0
    positives = ((labels > 0.5) & known).sum(axis=0)
    negatives = ((labels <= 0.5) & known).sum(axis=0)
    floor = min(settings.min_positive_grid)
    candidates = [j for j in range(len(tag_ids)) if positives[j] >= floor and negatives[j] >= floor]
    fallback = {t: f"{positives[j]} positive labels (fewer than {floor})" for j, t in enumerate(tag_ids)
                if j not in candidates and positives[j] < floor}
    fallback.update({tag_ids[j]: "no negative labels" for j in range(len(tag_ids))
                     if j not in candidates and tag_ids[j] not in fallback})
    if not candidates:
        return _empty(x, fallback)
    y, w = labels[:, candidates], weights[:, candidates]
    fold = folds_of(len(x), settings.folds, settings.seed)
    best_ap = np.full(len(candidates), -1.0)
    best_l2 = np.zeros(len(candidates))
    best_scores = np.zeros(y.shape, np.float32)
    for l2 in settings.l2_grid:
        scores = out_of_fold(x, y, w, np.full(len(candidates), l2), fold, settings)
        for c in range(len(candidates)):
            rows = w[:, c] > 0
            ap = average_precision_score(y[rows, c], scores[rows, c], sample_weight=w[rows, c])
            if ap > best_ap[c]:
                best_ap[c], best_l2[c], best_scores[:, c] = ap, l2, scores[:, c]
        log.info("L2 %g: out-of-fold mean average precision %.3f", l2, float(best_ap.mean()))
    report, heads = {}, []
    platt = np.zeros((len(candidates), 2))
    thresholds = np.zeros(len(candidates))
    for c, j in enumerate(candidates):
        tag, rows = tag_ids[j], w[:, c] > 0
        platt[c] = fit_platt(best_scores[rows, c], y[rows, c], w[rows, c])
        probability = sigmoid(platt[c, 0] * best_scores[:, c] + platt[c, 1])
        thresholds[c], _ = best_threshold(probability[rows], y[rows, c], w[rows, c])
        head_f1 = _cross_fitted_f1(probability[rows], y[rows, c], w[rows, c], fold[rows])
        prior = zeroshot.get(tag)
        prior_f1 = f1_scores(prior[rows] >= ZEROSHOT_THRESHOLD, y[rows, c], w[rows, c])["f1"] \
            if prior is not None else 0.0
        report[tag] = {"positives": int(positives[j]), "l2": float(best_l2[c]), "average_precision": float(best_ap[c]),
                       "threshold": float(thresholds[c]), "head_f1": head_f1, "zeroshot_f1": prior_f1}
    cut = _choose_cut(report, settings.min_positive_grid)
    for c, j in enumerate(candidates):
        r = report[tag_ids[j]]
        if r["positives"] < cut:
            fallback[tag_ids[j]] = f"{r['positives']} positive labels (fewer than {cut})"
        else:
            heads.append(c)
    mean, scale = standardiser(x)
    keep = [candidates[c] for c in heads]
    coef, bias = fit_linear(standardise(x, mean, scale), labels[:, keep], weights[:, keep], best_l2[heads],
                            positive_weight_power=settings.positive_weight_power,
                            max_iterations=settings.max_iterations)
    return FittedHeads(tag_ids=[tag_ids[j] for j in keep], mean=mean, scale=scale, coef=coef, bias=bias,
                       platt=platt[heads].astype(np.float32), thresholds=thresholds[heads].astype(np.float32),
                       fallback=dict(sorted(fallback.items())),
                       report={"min_positives": cut, "tags": report})


def _cross_fitted_f1(probability, labels, weights, fold) -> float:
    """F1 with each fold's threshold chosen on the other folds: no threshold sees its own titles."""
    fired = np.zeros(len(probability), bool)
    for k in np.unique(fold):
        other = fold != k
        threshold, _ = best_threshold(probability[other], labels[other], weights[other])
        fired[fold == k] = probability[fold == k] >= threshold
    return f1_scores(fired, labels, weights)["f1"]


def _choose_cut(report: dict, grid) -> int:
    """The minimum number of positives for a head: the grid value with the best out-of-fold macro F1
    over the tags with labels (a tag below the cut scores as its zero-shot fallback)."""
    def macro(cut):
        return np.mean([r["head_f1"] if r["positives"] >= cut else r["zeroshot_f1"]
                        for r in report.values()])
    scores = {cut: macro(cut) for cut in grid}
    best = max(scores.values())
    return min(cut for cut, score in scores.items() if score >= best - 1e-9)


def _empty(x, fallback) -> FittedHeads:
    mean, scale = standardiser(x)
    return FittedHeads([], mean, scale, np.zeros((x.shape[1], 0), np.float32), np.zeros(0, np.float32),
                       np.zeros((0, 2), np.float32), np.zeros(0, np.float32), dict(sorted(fallback.items())),
                       {"min_positives": None, "tags": {}})
