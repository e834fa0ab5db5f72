"""A simulated editor: how fast decisions improve a catalog's tags, in queue order and in random order.

The test titles play a new catalog tagged by heads trained on the training titles. Its pending
tags are the (title, tag) pairs of tags with heads whose probability is at least half the tag's
threshold (the fired tags and the near misses), where the held-out label is known. An editor
answers them from those labels, in the order of heads.queue_priority or in random order. After
N decisions the decided pairs take the editor's answer, the heads are refitted with the
decisions folded in (editor weight, each tag's chosen L2, calibration and threshold kept), and
the rest of the catalog is re-tagged. Measured: macro F1 over the same tags as the main table.
"""
from __future__ import annotations

import numpy as np

DECISIONS = (0, 100, 300, 1000)


def editor_simulation(fitted, training, test, fallback_fired, settings, *, seed: int, facet_of: dict,
                      decisions=DECISIONS) -> dict:
    from tagger.learn.calibration import sigmoid
    from tagger.learn.metrics import GROUPS, evaluated_columns, score
    from tagger.learn.heads import queue_priority
    from tagger.learn.labels import EDITOR_WEIGHT
    from tagger.learn.train import fit_linear, standardise

    tag_ids = training.tag_ids
    head_cols = [tag_ids.index(t) for t in fitted.tag_ids]
    l2 = np.array([fitted.report["tags"][t]["l2"] for t in fitted.tag_ids])
    evaluated = evaluated_columns(test, facet_of, {f for group in GROUPS.values() for f in group})

    def probabilities(coef, bias, mean, scale):
        logits = standardise(test.rows, mean, scale) @ coef + bias
        return sigmoid(fitted.platt[:, 0] * logits + fitted.platt[:, 1])

    start = probabilities(fitted.coef, fitted.bias, fitted.mean, fitted.scale)
    known = test.weights[:, head_cols] > 0
    pending = np.argwhere(known & (start >= fitted.thresholds / 2))
    positives = (training.labels[:, head_cols] * (training.weights[:, head_cols] > 0)).sum(axis=0)
    priority = queue_priority(start[pending[:, 0], pending[:, 1]], fitted.thresholds[pending[:, 1]],
                              positives=positives[pending[:, 1]])
    orders = {"queue": pending[np.argsort(-priority, kind="stable")],
              "random": pending[np.random.default_rng(seed).permutation(len(pending))]}
    out = {"decisions": list(decisions), "pending": int(len(pending)), "tags": len(evaluated)}
    for name, order in orders.items():
        curve = []
        for count in decisions:
            decided = order[:count]
            if count:
                rows = np.unique(decided[:, 0])
                labels = np.concatenate([training.labels[:, head_cols], test.labels[rows][:, head_cols]])
                weights = np.concatenate([training.weights[:, head_cols], np.zeros((len(rows), len(head_cols)))])
                at = {r: k for k, r in enumerate(rows)}
                for i, k in decided:
                    weights[len(training.rows) + at[i], k] = EDITOR_WEIGHT
                x = np.concatenate([training.rows, test.rows[rows]])
                mean, scale = fitted.mean, fitted.scale
                coef, bias = fit_linear(standardise(x, mean, scale), labels, weights, l2,
                                        positive_weight_power=settings.positive_weight_power,
                                        max_iterations=settings.max_iterations)
                probability = probabilities(coef, bias, mean, scale)
            else:
                probability = start
            fired = fallback_fired.copy()
            fired[:, head_cols] = probability >= fitted.thresholds
            for i, k in decided:   # a decided tag is what the editor said
                fired[i, head_cols[k]] = test.labels[i, head_cols[k]] > 0.5
            result = score(fired[:, evaluated], fired[:, evaluated].astype(np.float32), test.labels[:, evaluated],
                           test.weights[:, evaluated], [tag_ids[j] for j in evaluated])
            curve.append(round(result["macro_f1"], 4))
        out[name] = curve
    return out
