"""Zero-shot tag scores: cosine similarity of embedded text or images to each tag's prompts.

Raw cosine levels differ between models and between prompts, so a unit's similarities are
standardised across all tags of the taxonomy first (how far a tag stands out for this text),
then mapped to a confidence with a logistic curve; a floor on the raw similarity keeps tags
that merely stand out of a flat field from firing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PromptBank:
    """All prompts of a taxonomy, embedded once; `owner[i]` is the tag index of prompt i."""
    tag_ids: list[str]
    vectors: np.ndarray   # (P, d), L2-normalised
    owner: np.ndarray     # (P,) int

    def tag_similarity(self, units: np.ndarray) -> np.ndarray:
        """(U, T) best cosine over each tag's prompts; tags without prompts get NaN."""
        sims = units @ self.vectors.T
        out = np.full((units.shape[0], len(self.tag_ids)), np.nan, np.float32)
        for tag_index in np.unique(self.owner):
            out[:, tag_index] = sims[:, self.owner == tag_index].max(axis=1)
        return out


def build_bank(tags, prompts_of, encode) -> PromptBank:
    """`prompts_of(tag)` gives the prompts to use; `encode(list[str])` gives normalised rows."""
    texts, owner, tag_ids = [], [], []
    for tag in tags:
        tag_ids.append(tag.id)
        for prompt in prompts_of(tag):
            texts.append(prompt)
            owner.append(len(tag_ids) - 1)
    vectors = encode(texts) if texts else np.zeros((0, 1), np.float32)
    return PromptBank(tag_ids, np.asarray(vectors, np.float32), np.asarray(owner, int))


def confidences(similarity: np.ndarray, *, z_center: float, z_width: float,
                min_similarity: float) -> np.ndarray:
    """(U, T) confidences in [0, 1] from (U, T) similarities (NaN for tags without prompts)."""
    mean = np.nanmean(similarity, axis=1, keepdims=True)
    std = np.nanstd(similarity, axis=1, keepdims=True) + 1e-6
    z = (similarity - mean) / std
    conf = 1.0 / (1.0 + np.exp(-(z - z_center) / z_width))
    conf[similarity < min_similarity] *= 0.5   # weak absolute match: never above one half
    return np.nan_to_num(conf, nan=0.0)
