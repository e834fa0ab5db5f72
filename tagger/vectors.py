"""L2 normalisation, written once: embeddings, prompt banks, content rows, chroma frames."""
from __future__ import annotations

import numpy as np


def unit(vectors, *, axis: int = -1) -> np.ndarray:
    """`vectors` scaled to L2 length 1 along `axis` (each row, for a matrix); a zero vector stays
    zero. A float array keeps its dtype; anything else becomes float32."""
    array = np.asarray(vectors)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    norms = np.linalg.norm(array, axis=axis, keepdims=True)
    return np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)
