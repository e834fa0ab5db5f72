"""What a title is, as one vector, and a taste model over those vectors learned from viewers.

The content vector stacks blocks (text, visual and audio embeddings, reviewed tags, the
provider's genres), each L2-normalised and scaled by the square root of its weight, plus a
constant. Release year is not a block: as a fixed feature it stands in for exposure (see
tagger.recommend.age, where it enters relative to the query time instead). The affinity of
a profile p (the mean content vector of what a viewer liked) for a title x is p' S x, with S
fitted by ridge regression so that training viewers' profiles predict the titles they liked
(two solves of d x d systems: cheap and closed form). S = I would be plain cosine to the
profile; the learned S weighs what predicts taste across viewers (genre, tone) and, through
the constant, how broadly a kind of title appeals, so a title nobody has watched yet is
ranked from what it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from tagger.recommend.items import ItemTable
from tagger.vectors import unit

BIAS = 0.5     # the constant feature; its row and column of S carry broad appeal


@dataclass
class ContentWeights:
    text: float = 1.0
    visual: float = 0.5
    audio: float = 0.3
    tags: float = 0.5
    genres: float = 1.0


def content_matrix(items: ItemTable, weights: ContentWeights) -> tuple[np.ndarray, dict[str, slice]]:
    """(titles, d) float32 content vectors and where each block sits."""
    blocks, names = [], []
    for space in ("text", "visual", "audio"):
        if space in items.embeddings:
            blocks.append(unit(np.asarray(items.embeddings[space], np.float32)) * np.sqrt(getattr(weights, space)))
            names.append(space)
    if items.tags.shape[1] and weights.tags > 0:      # weight 0: no block, the same vectors as without tags
        blocks.append(unit(np.asarray(items.tags.toarray(), np.float32)) * np.sqrt(weights.tags))
        names.append("tags")
    genres, _ = genre_matrix(items)
    if genres.shape[1]:
        blocks.append(unit(np.asarray(genres, np.float32)) * np.sqrt(weights.genres))
        names.append("genres")
    blocks.append(np.full((len(items), 1), BIAS, np.float32))
    names.append("bias")
    layout, start = {}, 0
    for name, block in zip(names, blocks):
        layout[name] = slice(start, start + block.shape[1])
        start += block.shape[1]
    return np.hstack(blocks).astype(np.float32), layout


def genre_names(items: ItemTable) -> list[str]:
    """The genres block's columns, in order."""
    return sorted({g for gs in items.genres for g in gs})


def genre_matrix(items: ItemTable) -> tuple[np.ndarray, list[str]]:
    names = genre_names(items)
    index = {g: i for i, g in enumerate(names)}
    out = np.zeros((len(items), len(names)), np.float32)
    for row, gs in enumerate(items.genres):
        out[row, [index[g] for g in gs]] = 1.0
    return out, names


class TasteModel:
    """p' S x, with S = (P'P + a I)^-1 P' R X (X'X + b I)^-1 over training viewers."""

    def __init__(self, profile_ridge: float = 1.0, item_ridge: float = 1.0):
        self.profile_ridge = profile_ridge
        self.item_ridge = item_ridge
        self.S: np.ndarray | None = None

    def fit(self, content: np.ndarray, likes: sp.csr_matrix) -> "TasteModel":
        """likes: (viewers, titles) non-negative weights; viewers without likes are skipped."""
        X = content.astype(np.float64)
        d = X.shape[1]
        counts = np.asarray(likes.sum(axis=1)).ravel()
        keep = counts > 0
        if keep.sum() == 0:
            self.S = np.eye(d)      # nobody to learn from: plain cosine to the profile
            return self
        R = likes[keep].astype(np.float64)
        RX = R @ X                                     # (viewers, d): summed content of their likes
        P = RX / counts[keep][:, None]                 # profiles
        # P' R X is d x d: multiplying in this order never forms a (d, titles) matrix (at 100k
        # titles that order cost two 45-GFLOP products, most of the fit).
        left = np.linalg.solve(P.T @ P + self.profile_ridge * np.eye(d), P.T @ RX)
        right = np.linalg.inv(X.T @ X + self.item_ridge * np.eye(d))
        self.S = (left @ right).astype(np.float32)
        return self

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        return {"S": self.S}, {"profile_ridge": self.profile_ridge, "item_ridge": self.item_ridge}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> "TasteModel":
        model = cls(**params)
        model.S = arrays["S"]
        return model

    def queries(self, profiles: np.ndarray) -> np.ndarray:
        """(n, d) taste queries of (n, d) profiles (mean content vectors with the bias set):
        a profile's affinity for a title x is its query . x."""
        return profiles @ self.S


def profile_vectors(content: np.ndarray, histories: list[np.ndarray], weights: list[np.ndarray] | None = None,
                    extra: np.ndarray | None = None) -> np.ndarray:
    """Weighted mean content vector per history; `extra` rows (e.g. chosen tags) are added as
    one more liked title each. An empty history keeps only the constant."""
    d = content.shape[1]
    out = np.zeros((len(histories), d), np.float32)
    for u, history in enumerate(histories):
        w = np.ones(len(history), np.float32) if weights is None else np.asarray(weights[u], np.float32)
        total = content[history].T @ w if len(history) else np.zeros(d, np.float32)
        mass = float(w.sum())
        if extra is not None and np.any(extra[u]):
            total = total + extra[u]
            mass += 1.0
        out[u] = total / mass if mass > 0 else 0.0
        out[u, -1] = BIAS
    return out
