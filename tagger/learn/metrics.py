"""What `tagger evaluate tags` and the editor simulation measure, defined once."""
from __future__ import annotations

import numpy as np

from tagger.learn.calibration import expected_calibration_error, f1_scores

# Which facets each macro F1 covers: the genres, and its fine-grained tags
# (sub-genres, themes, settings, moods).
GROUPS = {"genres": ("genre",), "fine": ("subgenre", "themes", "setting", "mood")}
MIN_TEST_POSITIVES = 5   # a tag counts in a macro F1 with at least this many positive test titles


def evaluated_columns(test, facet_of: dict, facets) -> list[int]:
    """The tags of these facets with enough positive test titles: the same for every method."""
    return [j for j, tag in enumerate(test.tag_ids) if facet_of[tag] in facets
            and ((test.labels[:, j] > 0.5) & (test.weights[:, j] > 0)).sum() >= MIN_TEST_POSITIVES]


def score(fired, probability, labels, weights, tag_ids, *, calibrated=None) -> dict:
    """Per-tag and macro numbers of one method on one group of tags. ECE over the known labels of
    the tags `calibrated` marks (all tags when None)."""
    per_tag = {tag: f1_scores(fired[:, j], labels[:, j], weights[:, j]) for j, tag in enumerate(tag_ids)}
    fired_tags = [r for r in per_tag.values() if r["fired"]]
    cols = np.ones(len(tag_ids), bool) if calibrated is None else np.asarray(calibrated, bool)
    known = weights[:, cols] > 0
    ece = expected_calibration_error(probability[:, cols][known], labels[:, cols][known]) if known.any() else None
    mean = (lambda key: float(np.mean([r[key] for r in per_tag.values()]))) if per_tag else (lambda key: 0.0)
    return {"macro_f1": mean("f1"), "macro_precision": mean("precision"), "macro_recall": mean("recall"),
            "precision_fired": float(np.mean([r["precision"] for r in fired_tags])) if fired_tags else 0.0,
            "tags_fired": len(fired_tags), "tags": len(per_tag), "ece": ece,
            "per_tag": {t: {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                        for t, r in per_tag.items()}}
