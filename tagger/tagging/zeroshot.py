"""Zero-shot tag scores: cosine similarity of embedded text or images to each tag's prompts.

Raw cosine levels differ between models and between prompts, so a unit's similarities are
standardised across all tags of the taxonomy first (how far a tag stands out for this text),
then mapped to a confidence with a logistic curve; a floor on the raw similarity keeps tags
that merely stand out of a flat field from firing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tagger.vectors import unit


@dataclass
class PromptBank:
    """One vector per tag: the normalised mean of its embedded prompts (prompt ensembling,
    as CLIP's zero-shot classifiers do; on TMDB overviews it beat the best single prompt)."""
    tag_ids: list[str]
    vectors: np.ndarray   # (T, d), L2-normalised

    def tag_similarity(self, units: np.ndarray) -> np.ndarray:
        """(U, T) cosine similarity of each unit to each tag."""
        return units @ self.vectors.T


def build_bank(tags, prompts_of, encode) -> PromptBank:
    """`prompts_of(tag)` gives a tag's prompts; `encode(list[str])` gives normalised rows."""
    tags = [t for t in tags if prompts_of(t)]
    prompts = [list(prompts_of(tag)) for tag in tags]
    # One encoder call for every prompt: a call per tag cost most of an engine's start-up.
    encoded = np.asarray(encode([p for group in prompts for p in group]), np.float32) if tags else None
    rows, start = [], 0
    for group in prompts:
        mean = encoded[start:start + len(group)].mean(axis=0)
        start += len(group)
        rows.append(unit(mean))
    vectors = np.stack(rows) if rows else np.zeros((0, 1), np.float32)
    return PromptBank([t.id for t in tags], vectors.astype(np.float32))


def confidences(similarity: np.ndarray, *, z_center: float, z_width: float,
                min_similarity: float) -> np.ndarray:
    """(U, T) confidences in [0, 1] from (U, T) similarities."""
    mean = similarity.mean(axis=1, keepdims=True)
    std = similarity.std(axis=1, keepdims=True) + 1e-6
    z = (similarity - mean) / std
    conf = 1.0 / (1.0 + np.exp(-(z - z_center) / z_width))
    conf[similarity < min_similarity] *= 0.5   # weak absolute match: never above one half
    return conf
