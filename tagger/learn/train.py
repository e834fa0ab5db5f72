"""Fitting the tag heads, every choice made on held-out folds of the training titles.

A head has two linear parts over what a title already has: the feature rows (synopsis
embedding, zero-shot scores, ...; features.py) and the synopsis's words (TF-IDF; terms.py),
each a weighted ridge regression (ridge.py). For each tag with labels, on K folds by title:
  1. out-of-fold scores of both parts for each penalty of their grids; each tag keeps, per
     part, the penalty with the best average precision on them;
  2. Platt scaling over the two out-of-fold scores (which also learns how to mix them), so that
     a held-out 0.8 is right about 80% of the time;
  3. the threshold with the best F1 on the calibrated out-of-fold probabilities;
  4. a head only for tags with at least `min_positives` positive labels: the cut is chosen
     from a grid by out-of-fold macro F1, a tag below it scoring as its zero-shot fallback;
     the others fall back to zero-shot and rules, and the heads say why. (Falling back also
     where zero-shot beat a head on held-out folds was tried: macro F1 the same, precision
     over fired tags lower, as zero-shot fires often and wrongly.)
Then both parts are refitted on every training title with each tag's penalties.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from tagger.learn.calibration import best_threshold, f1_scores, fit_platt, sigmoid

log = logging.getLogger(__name__)
ZEROSHOT_THRESHOLD = 0.5   # the tags stage's default threshold: where the fallback fires


@dataclass(frozen=True)
class TrainSettings:
    folds: int = 5
    dense_penalties: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    text_penalties: tuple[float, ...] = (3e-5, 1e-4, 3e-4, 1e-3)
    min_positive_grid: tuple[int, ...] = (5, 10, 20, 40)
    max_terms: int = 10000
    seed: int = 0


@dataclass
class FittedHeads:
    """What train() found; heads.TagHeads.from_fit turns it into the saved heads."""
    tag_ids: list[str]
    mean: np.ndarray          # (features,) standardisation of the feature rows
    scale: np.ndarray
    coef: np.ndarray          # (features, heads) over standardised rows
    bias: np.ndarray          # (heads,)
    terms: object             # terms.Terms: vocabulary and idf
    text_coef: np.ndarray     # (terms, heads)
    text_bias: np.ndarray     # (heads,)
    platt: np.ndarray         # (heads, 3): p = sigmoid(a_rows * s_rows + a_text * s_text + b)
    thresholds: np.ndarray    # (heads,)
    fallback: dict[str, str]  # tag -> why it has no head
    report: dict              # choices made and out-of-fold numbers per tag
    # (rows, heads) calibrated probabilities of the training rows from the folds that did not
    # see them, and of `unseen` rows from one fold each: features equally noisy on both
    # sides, for models stacked on the heads
    out_of_fold: np.ndarray | None = None
    unseen: np.ndarray | None = None


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (NaN-aware); a constant column gets scale 1 and stays at 0."""
    with warnings.catch_warnings():   # a column with no value at all is expected (no video here)
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(x, axis=0))
        scale = np.nan_to_num(np.nanstd(x, axis=0))
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def standardise(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.nan_to_num((x - mean) / scale).astype(np.float32)


def folds_of(count: int, folds: int, seed: int) -> np.ndarray:
    """The fold of each row, shuffled with the seed."""
    order = np.random.default_rng(seed).permutation(count)
    fold = np.empty(count, int)
    fold[order] = np.arange(count) % folds
    return fold


def fit_parts(rows, words, labels, weights, dense_penalty, text_penalty):
    """Both linear parts on these titles: (mean, scale, coef, bias, text_coef, text_bias).
    A penalty argument that is a list gives a list of fits for that part."""
    from tagger.learn.ridge import dense_ridge, sparse_ridge

    mean, scale = standardiser(rows)
    live = np.flatnonzero(standardise(rows, mean, scale).std(axis=0) > 1e-6)   # skip blocks no title has
    dense = dense_ridge(standardise(rows, mean, scale)[:, live], labels, weights, dense_penalty)

    def widen(fit):
        coef = np.zeros((rows.shape[1], labels.shape[1]), np.float32)
        coef[live] = fit[0]
        return coef, fit[1]

    dense = [widen(f) for f in dense] if isinstance(dense, list) else widen(dense)
    text = [sparse_ridge(words, labels, weights, p) for p in text_penalty] if isinstance(text_penalty, list) \
        else sparse_ridge(words, labels, weights, text_penalty)
    return mean, scale, dense, text


def train(rows: np.ndarray, texts: list[str], labels: np.ndarray, weights: np.ndarray, tag_ids: list[str],
          zeroshot: dict[str, np.ndarray], settings: TrainSettings = TrainSettings(),
          unseen: tuple[np.ndarray, list[str]] | None = None) -> FittedHeads:
    """Heads for the tags with labels. `zeroshot[tag]` is the tag's zero-shot confidence per row
    (its fallback's prior), for the tags that have prompts. `unseen`: (rows, texts) of titles
    outside training, each scored by one fold's heads (drawn with the seed)."""
    from sklearn.metrics import average_precision_score

    from tagger.learn.terms import Terms

    known = weights > 0
    positives = ((labels > 0.5) & known).sum(axis=0)
    negatives = ((labels <= 0.5) & known).sum(axis=0)
    floor = min(settings.min_positive_grid)
    candidates = [j for j in range(len(tag_ids)) if positives[j] >= floor and negatives[j] >= floor]
    fallback = {t: (f"{positives[j]} positive labels (fewer than {floor})" if positives[j] < floor
                    else "too few negative labels") for j, t in enumerate(tag_ids) if j not in candidates}
    # The vocabulary is fitted on every training synopsis once: it reads no labels.
    terms = Terms.fit(texts, max_terms=settings.max_terms)
    words = terms.transform(texts)
    if not candidates:
        mean, scale = standardiser(rows)
        empty = np.zeros(0, np.float32)
        return FittedHeads([], mean, scale, np.zeros((rows.shape[1], 0), np.float32), empty, terms,
                           np.zeros((len(terms.vocabulary), 0), np.float32), empty, np.zeros((0, 3), np.float32),
                           empty, dict(sorted(fallback.items())), {"min_positives": None, "tags": {}})
    y, w = labels[:, candidates], weights[:, candidates]
    fold = folds_of(len(rows), settings.folds, settings.seed)
    dense_grid = [np.full(len(candidates), p) for p in settings.dense_penalties]
    text_grid = [np.full(len(candidates), p) for p in settings.text_penalties]
    dense_scores = np.zeros((len(dense_grid), *y.shape), np.float32)
    text_scores = np.zeros((len(text_grid), *y.shape), np.float32)
    unseen_rows, unseen_words = (unseen[0], terms.transform(unseen[1])) if unseen is not None \
        else (rows[:0], words[:0])
    unseen_fold = folds_of(len(unseen_rows), settings.folds, settings.seed + 1)
    dense_unseen = np.zeros((len(dense_grid), len(unseen_rows), len(candidates)), np.float32)
    text_unseen = np.zeros((len(text_grid), len(unseen_rows), len(candidates)), np.float32)
    for k in range(settings.folds):
        inside, held = fold != k, fold == k
        mean, scale, dense, text = fit_parts(rows[inside], words[inside], y[inside], w[inside], dense_grid,
                                             text_grid)
        standard = standardise(rows[held], mean, scale)
        for g, (coef, bias) in enumerate(dense):
            dense_scores[g][held] = standard @ coef + bias
        for g, (coef, bias) in enumerate(text):
            text_scores[g][held] = words[held] @ coef + bias
        mine = unseen_fold == k
        for g, (coef, bias) in enumerate(dense):
            dense_unseen[g][mine] = standardise(unseen_rows[mine], mean, scale) @ coef + bias
        for g, (coef, bias) in enumerate(text):
            text_unseen[g][mine] = unseen_words[mine] @ coef + bias
        log.info("fold %d of %d fitted", k + 1, settings.folds)

    def choose(scores, grid):   # per tag: the penalty whose out-of-fold scores rank best
        ap = np.array([[average_precision_score(y[w[:, c] > 0, c], s[w[:, c] > 0, c], sample_weight=w[w[:, c] > 0, c])
                        for c in range(len(candidates))] for s in scores])
        best = ap.argmax(axis=0)
        return np.array([grid[g] for g in best]), scores[best, :, np.arange(len(candidates))].T, ap.max(axis=0), best

    dense_penalty, dense_oof, dense_ap, dense_best = choose(dense_scores, settings.dense_penalties)
    text_penalty, text_oof, text_ap, text_best = choose(text_scores, settings.text_penalties)
    dense_unseen = dense_unseen[dense_best, :, np.arange(len(candidates))].T
    text_unseen = text_unseen[text_best, :, np.arange(len(candidates))].T
    platt = np.zeros((len(candidates), 3))
    thresholds = np.zeros(len(candidates))
    out_of_fold = np.zeros(y.shape, np.float32)
    unseen_probability = np.zeros((len(unseen_rows), len(candidates)), np.float32)
    report = {}
    for c, j in enumerate(candidates):
        rows_known = w[:, c] > 0
        scores = np.c_[dense_oof[:, c], text_oof[:, c]]
        a, b = fit_platt(scores[rows_known], y[rows_known, c], w[rows_known, c])
        platt[c] = [a[0], a[1], b]
        out_of_fold[:, c] = sigmoid(scores @ a + b)
        unseen_probability[:, c] = sigmoid(np.c_[dense_unseen[:, c], text_unseen[:, c]] @ a + b)
        probability = out_of_fold[rows_known, c]
        thresholds[c], _ = best_threshold(probability, y[rows_known, c], w[rows_known, c])
        prior = zeroshot.get(tag_ids[j])
        report[tag_ids[j]] = {
            "positives": int(positives[j]), "penalty": float(dense_penalty[c]), "text_penalty": float(text_penalty[c]),
            "average_precision": round(float(dense_ap[c]), 4), "text_average_precision": round(float(text_ap[c]), 4),
            "threshold": round(float(thresholds[c]), 4),
            "head_f1": round(_cross_fitted_f1(probability, y[rows_known, c], w[rows_known, c], fold[rows_known]), 4),
            "zeroshot_f1": round(f1_scores(prior[rows_known] >= ZEROSHOT_THRESHOLD, y[rows_known, c],
                                           w[rows_known, c])["f1"], 4) if prior is not None else 0.0}
    cut = _choose_cut(report, settings.min_positive_grid) if report else None
    heads = [c for c, j in enumerate(candidates) if report[tag_ids[j]]["positives"] >= cut]
    fallback.update({tag_ids[j]: f"{report[tag_ids[j]]['positives']} positive labels (fewer than {cut})"
                     for c, j in enumerate(candidates) if c not in heads})
    keep = [candidates[c] for c in heads]
    mean, scale, (coef, bias), (text_coef, text_bias) = fit_parts(
        rows, words, labels[:, keep], weights[:, keep], dense_penalty[heads], text_penalty[heads])
    return FittedHeads(tag_ids=[tag_ids[j] for j in keep], mean=mean, scale=scale, coef=coef, bias=bias,
                       terms=terms, text_coef=text_coef, text_bias=text_bias,
                       platt=platt[heads].astype(np.float32), thresholds=thresholds[heads].astype(np.float32),
                       fallback=dict(sorted(fallback.items())), report={"min_positives": cut, "tags": report},
                       out_of_fold=out_of_fold[:, heads], unseen=unseen_probability[:, heads])


def _cross_fitted_f1(probability, labels, weights, fold) -> float:
    """F1 with each fold's threshold chosen on the other folds: no threshold sees its own titles."""
    fired = np.zeros(len(probability), bool)
    for k in np.unique(fold):
        other = fold != k
        threshold, _ = best_threshold(probability[other], labels[other], weights[other])
        fired[fold == k] = probability[fold == k] >= threshold
    return f1_scores(fired, labels, weights)["f1"]


def _choose_cut(report: dict, grid) -> int:
    """The minimum number of positives for a head: the grid value with the best out-of-fold macro
    F1 over the tags with labels, a tag below the cut scoring as its zero-shot fallback."""
    def macro(cut):
        return np.mean([r["head_f1"] if r["positives"] >= cut else r["zeroshot_f1"] for r in report.values()])
    scores = {cut: macro(cut) for cut in grid}
    best = max(scores.values())
    return min(cut for cut, score in scores.items() if score >= best - 1e-9)
