"""Fitted parts on disk: a folder of model.json (format, version, parameters) and arrays.npz
(named arrays), no pickle.

Each part of the recommender says what it is as `to_arrays()`: a dict of numpy arrays and a
small JSON-able dict of parameters, which its classmethod `from_arrays` turns back into the
part (as the `implicit` library's models do). A whole model is those of its parts, with each
part's array names behind a prefix ("items.year"); this module only writes and reads them.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tagger.errors import InputError

MODEL_FILE, ARRAYS_FILE = "model.json", "arrays.npz"


def write_folder(folder: str | Path, format_name: str, version: int, arrays: dict[str, np.ndarray],
                 params: dict) -> Path:
    """Writes `folder`/model.json and arrays.npz; under temporary names, renamed last, so a
    crash never leaves half a model."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"format": format_name, "version": version, **params}
    np.savez(folder / "arrays.tmp.npz", **arrays)
    (folder / "model.tmp.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    (folder / "arrays.tmp.npz").replace(folder / ARRAYS_FILE)
    (folder / "model.tmp.json").replace(folder / MODEL_FILE)
    return folder


def read_folder(folder: str | Path, format_name: str, version: int) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and parameters `write_folder` wrote; InputError naming the file for anything
    missing, unreadable or of another format or version."""
    folder = Path(folder)
    path = folder / MODEL_FILE
    if not path.is_file() or not (folder / ARRAYS_FILE).is_file():
        raise InputError(folder, f"not a saved recommender ({MODEL_FILE} and {ARRAYS_FILE} expected; "
                                 "make one with `tagger recommend fit --out DIR`)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"invalid JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != format_name or meta.get("version") != version:
        found = meta if isinstance(meta, dict) else {}
        raise InputError(path, f"format {found.get('format')!r} version {found.get('version')!r}; this tagger "
                               f"reads {format_name!r} version {version} (fit the model again)")
    try:
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(folder / ARRAYS_FILE, f"unreadable ({error}); fit the model again") from None
    params = {k: v for k, v in meta.items() if k not in ("format", "version")}
    return arrays, params


def prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A part's arrays under `prefix.`, to sit beside other parts' in one file."""
    return {f"{prefix}.{name}": array for name, array in arrays.items()}


def unprefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays `prefixed` put under `prefix.`, with their own names."""
    start = prefix + "."
    return {name[len(start):]: array for name, array in arrays.items() if name.startswith(start)}


def sparse_arrays(matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    """A sparse matrix as the arrays of its CSR form; `sparse_matrix` rebuilds it."""
    matrix = sp.csr_matrix(matrix)
    return {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "shape": np.array(matrix.shape)}


def sparse_matrix(arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
