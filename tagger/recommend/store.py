"""A fitted Recommender on disk: model.json (settings, titles, viewers) and arrays.npz, no pickle.

Fitting reads the catalog and every event and takes seconds to minutes (21 s at 100k titles);
a saved model answers from the next process at once. What queries derive cheaply from the fitted
arrays (unit vectors, scale moments, vector indexes) is rebuilt on load, not stored.

    model.save("model/")                      # or: tagger recommend fit --out model/
    model = Recommender.load("model/")
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tagger.errors import InputError
from tagger.recommend.collab import ItemFactors
from tagger.recommend.content import TasteModel
from tagger.recommend.items import ItemTable
from tagger.recommend.popularity import Popularity

FORMAT = "tagger.recommend.Recommender"
VERSION = 1
SPARSE = ("likes", "signed", "knn", "tags")


def save_model(model, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    items, pop = model.items, model.popularity
    arrays = {"content": model.content, "taste_S": model.taste.S, "item_viewers": model.item_viewers,
              "appeal": model.appeal, "year": items.year, "added_s": items.added_s,
              "pop_items": pop.items, "pop_times_s": pop.times_s, "pop_weights": pop.weights}
    sparse = {"likes": model.likes, "signed": model.signed, "knn": model.knn, "tags": items.tags}
    for name, matrix in sparse.items():
        if matrix is not None:
            matrix = matrix.tocsr()
            arrays.update({f"{name}_data": matrix.data, f"{name}_indices": matrix.indices,
                           f"{name}_indptr": matrix.indptr, f"{name}_shape": np.array(matrix.shape)})
    if model.als is not None:
        arrays["als_item_factors"] = np.asarray(model.als.item_factors, np.float32)
    meta = {"format": FORMAT, "version": VERSION, "settings": asdict(model.settings),
            "layout": {name: [part.start, part.stop] for name, part in model.layout.items()},
            "taste": {"profile_ridge": model.taste.profile_ridge, "item_ridge": model.taste.item_ridge},
            "als": None if model.als is None else {"regularization": float(model.als.regularization),
                                                   "alpha": float(model.als.alpha)},
            "popularity": {"half_life_days": pop.half_life_days, "region_share": pop.region_share,
                           "refresh_s": pop.refresh_s, "n_items": pop.n_items,
                           "regions": None if pop.regions is None else [str(r) if r else None for r in pop.regions]},
            "users": {"ids": model.user_ids, "regions": model.user_regions},
            "items": {"ids": items.ids, "titles": items.titles, "synopses": items.synopses, "genres": items.genres,
                      "regions": items.regions, "tag_ids": items.tag_ids, "tag_labels": items.tag_labels}}
    # Written under temporary names and renamed last, so a crash never leaves half a model.
    np.savez(folder / "arrays.tmp.npz", **arrays)
    (folder / "model.tmp.json").write_text(json.dumps(meta, ensure_ascii=False))
    (folder / "arrays.tmp.npz").replace(folder / "arrays.npz")
    (folder / "model.tmp.json").replace(folder / "model.json")
    return folder


def load_model(cls, folder: str | Path):
    from tagger.recommend.model import RecommenderSettings

    folder = Path(folder)
    path = folder / "model.json"
    if not path.is_file() or not (folder / "arrays.npz").is_file():
        raise InputError(folder, "not a saved recommender (model.json and arrays.npz expected; "
                                 "make one with `tagger recommend fit --out DIR`)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON: {error.msg}") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise InputError(path, f"format {meta.get('format')!r} version {meta.get('version')!r}; this tagger reads "
                               f"{FORMAT!r} version {VERSION} (fit the model again)")
    try:
        with np.load(folder / "arrays.npz", allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(folder / "arrays.npz", f"unreadable ({error}); fit the model again") from None

    def sparse(name):
        if f"{name}_data" not in arrays:
            return None
        return sp.csr_matrix((arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]),
                             shape=tuple(arrays[f"{name}_shape"]))

    info = meta["items"]
    items = ItemTable(ids=info["ids"], titles=info["titles"], synopses=info["synopses"], genres=info["genres"],
                      year=arrays["year"], regions=info["regions"], added_s=arrays["added_s"],
                      tag_ids=info["tag_ids"], tag_labels=info["tag_labels"], tags=sparse("tags"))
    model = cls(RecommenderSettings.from_dict(meta["settings"]))
    model.items = items
    model.user_ids = meta["users"]["ids"]
    model.user_regions = meta["users"]["regions"]
    model.likes, model.signed, model.knn = sparse("likes"), sparse("signed"), sparse("knn")
    model.content = arrays["content"]
    model.layout = {name: slice(start, stop) for name, (start, stop) in meta["layout"].items()}
    model.taste = TasteModel(**meta["taste"])
    model.taste.S = arrays["taste_S"]
    p = meta["popularity"]
    model.popularity = Popularity(p["half_life_days"], p["region_share"], p["refresh_s"]).fit(
        arrays["pop_items"], arrays["pop_times_s"], arrays["pop_weights"], p["n_items"],
        None if p["regions"] is None else np.array(p["regions"], dtype=object))
    model.item_viewers, model.appeal = arrays["item_viewers"], arrays["appeal"]
    model.als = None if meta["als"] is None else ItemFactors(arrays["als_item_factors"], **meta["als"])
    model._prepare_queries()
    return model
