"""Synopsis embeddings cached on disk, keyed by model and text hash, so retraining and
re-evaluating do not embed thousands of synopses again."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def cached_encode(encoder, texts: list[str], *, cache_dir: Path | None = None, batch: int = 512) -> np.ndarray:
    """(len(texts), dim) float32 rows of `encoder.encode`; rows already in the cache are not recomputed.

    The cache is one .npz per model under cache_dir (default: tagger's cache root/embeddings),
    holding keys and vectors; new rows are appended after each batch, so an interrupted run
    keeps what it computed.
    """
    from tagger.text.encoder import cache_root

    folder = Path(cache_dir) if cache_dir is not None else cache_root() / "embeddings"
    path = folder / f"{encoder.model_id.replace('/', '--')}.npz"
    keys, vectors = _read(path, encoder.dimension)
    index = {k: i for i, k in enumerate(keys)}
    wanted = [text_key(t) for t in texts]
    missing = list(dict.fromkeys(k for k in wanted if k not in index))
    if missing:
        by_key = dict(zip(wanted, texts))
        log.info("embedding %d new texts with %s (%d cached)", len(missing), encoder.model_id, len(keys))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            new = encoder.encode([by_key[k] for k in chunk]).astype(np.float32)
            index.update({k: len(keys) + i for i, k in enumerate(chunk)})
            keys = keys + chunk
            vectors = np.concatenate([vectors, new])
            _write(path, keys, vectors)
    if not texts:
        return np.zeros((0, encoder.dimension), np.float32)
    return vectors[[index[k] for k in wanted]]


def _read(path: Path, dimension: int) -> tuple[list[str], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, vectors = [str(k) for k in data["keys"]], data["vectors"].astype(np.float32)
        if vectors.shape == (len(keys), dimension):
            return keys, vectors
        log.warning("%s: cache of another shape, starting a new one", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as error:   # a cache is only a cache: rebuild it
        log.warning("%s: unreadable cache (%s), starting a new one", path, error)
    return [], np.zeros((0, dimension), np.float32)


def _write(path: Path, keys: list[str], vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, keys=np.array(keys), vectors=vectors)
    partial.replace(path)
