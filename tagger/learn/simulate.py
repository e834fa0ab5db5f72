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
    from scipy.sparse import vstack

    from tagger.learn.calibration import sigmoid
    from tagger.learn.heads import queue_priority
    from tagger.learn.labels import EDITOR_WEIGHT
    from tagger.learn.metrics import GROUPS, evaluated_columns, score
    from tagger.learn.train import fit_parts, standardise

    tag_ids = training.tag_ids
    heads = [tag_ids.index(t) for t in fitted.tag_ids]
    penalties = [np.array([fitted.report["tags"][t][key] for t in fitted.tag_ids]) for key in ("penalty", "text_penalty")]
    evaluated = evaluated_columns(test, facet_of, {f for group in GROUPS.values() for f in group})
    train_words, test_words = fitted.terms.transform(training.synopses), fitted.terms.transform(test.synopses)

    def probabilities(mean, scale, coef, bias, text_coef, text_bias):
        rows = standardise(test.rows, mean, scale) @ coef + bias
        text = test_words @ text_coef + text_bias
        return sigmoid(fitted.platt[:, 0] * rows + fitted.platt[:, 1] * text + fitted.platt[:, 2])

    start = probabilities(fitted.mean, fitted.scale, fitted.coef, fitted.bias, fitted.text_coef, fitted.text_bias)
    known = test.weights[:, heads] > 0
    pending = np.argwhere(known & (start >= fitted.thresholds / 2))
    positives = ((training.labels[:, heads] > 0.5) & (training.weights[:, heads] > 0)).sum(axis=0)
    priority = queue_priority(start[pending[:, 0], pending[:, 1]], fitted.thresholds[pending[:, 1]],
                              positives=positives[pending[:, 1]])
    orders = {"queue": pending[np.argsort(-priority, kind="stable")],
              "random": pending[np.random.default_rng(seed).permutation(len(pending))]}
    out = {"decisions": list(decisions), "pending": int(len(pending)), "tags": len(evaluated)}
    for name, order in orders.items():
        curve = []
        for count in decisions:
            decided = order[:count]
            probability = start
            if count:
                rows = np.unique(decided[:, 0])
                at = {r: k for k, r in enumerate(rows)}
                weights = np.concatenate([training.weights[:, heads], np.zeros((len(rows), len(heads)))])
                for i, k in decided:
                    weights[len(training.rows) + at[i], k] = EDITOR_WEIGHT
                labels = np.concatenate([training.labels[:, heads], test.labels[rows][:, heads]])
                mean, scale, dense, text = fit_parts(np.concatenate([training.rows, test.rows[rows]]),
                                                     vstack([train_words, test_words[rows]]).tocsr(), labels,
                                                     weights, *penalties)
                probability = probabilities(mean, scale, *dense, *text)
            fired = fallback_fired.copy()
            fired[:, heads] = probability >= fitted.thresholds
            for i, k in decided:   # a decided tag is what the editor said
                fired[i, heads[k]] = test.labels[i, heads[k]] > 0.5
            result = score(fired[:, evaluated], fired[:, evaluated].astype(np.float32), test.labels[:, evaluated],
                           test.weights[:, evaluated], [tag_ids[j] for j in evaluated])
            curve.append(round(result["macro_f1"], 4))
        out[name] = curve
    # The measure: how many decisions queue order needs to match random order's last point.
    enough = [n for n, f1 in zip(decisions, out["queue"]) if n and f1 >= out["random"][-1]]
    out["queue_decisions_to_match_random"] = {"random_decisions": decisions[-1],
                                              "queue_decisions": enough[0] if enough else None}
    return out
