"""A people head on EfficientNet-Lite0's cells: how surely each 32 px cell of a picture shows
part of a person.

ImageNet has no "person" class; the network's cell features (EfficientNetLite0.cell_features)
still tell people apart from the rest. A small network fitted by ``benchmarks/people_head.py
--fit`` on photographs with hand-drawn person boxes (COCO subsets) and pictures of no one (see the
file's note and README "Seeing offline") reads each cell's 1280 features and gives a logit: a cell
whose centre lies in a person box is a person cell, one that no box touches is not. Its numbers
live in ``people_head.npz`` next to this file (only the fitted numbers: the photographs are not
shipped), with a note of how they were made. people.picture_head_score makes a keyframe's people
cue from its cells' logits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tagger.errors import InputError

PEOPLE_HEAD_FILE = Path(__file__).with_name("people_head.npz")
# What the file's note tells about how its numbers were made.
PEOPLE_HEAD_NOTE_KEYS = ("made_by", "date", "data_set", "labels", "model", "cells", "heights_px")


@dataclass(frozen=True)
class PeopleHead:
    """Standardise each cell's features, then dense layers with ReLU between them; one logit a cell."""
    input_mean: np.ndarray
    input_scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]    # (weight (in, out), bias (out,)) each
    note: dict

    @property
    def dimension(self) -> int:
        return len(self.input_mean)

    def cell_logits(self, features: np.ndarray) -> np.ndarray:
        """(cells,) logits of (cells, dimension) features."""
        hidden = (np.asarray(features, np.float32) - self.input_mean) / self.input_scale
        for number, (weight, bias) in enumerate(self.layers):
            hidden = hidden @ weight + bias
            if number < len(self.layers) - 1:
                hidden = np.maximum(hidden, 0.0)
        return hidden[:, 0]


def save_people_head(path: Path, head: PeopleHead) -> None:
    """Write `head` as load_people_head reads it (float32 arrays and the note as JSON)."""
    arrays = {"input_mean": head.input_mean, "input_scale": head.input_scale}
    for number, (weight, bias) in enumerate(head.layers):
        arrays[f"weight_{number}"], arrays[f"bias_{number}"] = weight, bias
    np.savez_compressed(path, note=np.array(json.dumps(head.note, sort_keys=True)),
                        **{k: np.asarray(v, np.float32) for k, v in arrays.items()})


@lru_cache(maxsize=4)
def load_people_head(path: Path = PEOPLE_HEAD_FILE) -> PeopleHead:
    """Read the fitted numbers once per process; a malformed file names the field."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as error:   # OSError, BadZipFile, ValueError...
        raise InputError(path, f"cannot read the people head: {error}") from None
    for field in ("note", "input_mean", "input_scale", "weight_0", "bias_0"):
        if field not in arrays:
            raise InputError(path, "missing", field=field)
    try:
        note = json.loads(str(arrays["note"]))
    except ValueError as error:
        raise InputError(path, f"not JSON: {error}", field="note") from None
    mean, scale = arrays["input_mean"], arrays["input_scale"]
    if mean.ndim != 1 or mean.shape != scale.shape or np.any(scale <= 0):
        raise InputError(path, "input_mean and input_scale need one value per feature, scale > 0",
                         field="input_scale")
    layers, width = [], len(mean)
    while f"weight_{len(layers)}" in arrays:
        number = len(layers)
        weight, bias = arrays[f"weight_{number}"], arrays.get(f"bias_{number}")
        if weight.ndim != 2 or weight.shape[0] != width or bias is None or bias.shape != (weight.shape[1],):
            raise InputError(path, f"expected a ({width}, n) weight and an (n,) bias", field=f"weight_{number}")
        layers.append((weight, bias))
        width = weight.shape[1]
    if width != 1:
        raise InputError(path, f"the last layer gives {width} values, not one logit", field=f"weight_{len(layers) - 1}")
    if not all(np.all(np.isfinite(a)) for a in arrays.values() if a.dtype.kind == "f"):
        raise InputError(path, "numbers that are not finite")
    return PeopleHead(mean, scale, tuple(layers), note)


def people_head_version(path: Path = PEOPLE_HEAD_FILE) -> str:
    """The file's name and the start of its SHA-256, known without reading its numbers: a
    refitted head re-examines the titles on the next ingest."""
    import hashlib

    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError as error:
        raise InputError(path, f"cannot read the people head: {error}") from None
    return f"{Path(path).stem}@{digest}"
