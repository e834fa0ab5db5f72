"""A saved Recommender loads in another process and answers exactly as the one that was fitted."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recommend_data import START_S, build_items, checkerboard_likes, checkerboard_specs, events_of, title_spec
from tagger.errors import InputError
from tagger.recommend import Event, Recommender, RecommenderSettings
from tagger.recommend.popularity import Popularity

QUERY_S = START_S + 400 * 86400.0


@pytest.fixture(scope="module")
def world():
    specs = checkerboard_specs(30) + [title_spec("new-a", "A", 3, added_s=QUERY_S - 86400.0)]
    items = build_items(specs)
    likes, times, _ = checkerboard_likes(items, users_per_group=25, likes_per_user=6, hit="a05")
    events = events_of(items, likes, times)
    events += [Event(f"gb{i}", "b03", "completion", 1.0, START_S + 3600.0 * i, "GB") for i in range(6)]
    events += [Event("u00", "a08", "rating", 1.0, START_S + 86400.0)]
    return items, events


def answers(model) -> list:
    """Every kind of query, as comparable values."""
    out = []
    for user in ("u00", "u30", "gb1"):
        out.append([(r.title_id, round(r.score, 6), tuple(r.reasons)) for r in model.recommend_user(user, 8, now_s=QUERY_S)])
    out.append([(r.title_id, round(r.score, 6)) for r in model.recommend_new_user(["a01"], ["thriller"], region="GB",
                                                                                  k=8, now_s=QUERY_S)])
    out.append([(r.title_id, round(r.score, 6)) for r in model.similar("b04", 6)])
    return out


@pytest.mark.parametrize("settings", [{}, {"full_scan_up_to": 10, "ann_from": 30, "exploration": 0.3}],
                         ids=["full-scan", "candidate-pool-ivf"])
def test_a_loaded_model_answers_as_the_fitted_one(world, tmp_path, settings):
    items, events = world
    fitted = Recommender(RecommenderSettings(**settings)).fit(items, events, now_s=QUERY_S)
    fitted.save(tmp_path / "model")
    loaded = Recommender.load(tmp_path / "model")
    assert loaded.settings == fitted.settings
    assert answers(loaded) == answers(fitted)


def test_a_model_without_viewers_saves_and_loads(world, tmp_path):
    items, _ = world
    fitted = Recommender().fit(items, [])
    assert fitted.als is None
    loaded = Recommender.load(fitted.save(tmp_path / "content-only"))
    assert [r.title_id for r in loaded.similar("a02", 5)] == [r.title_id for r in fitted.similar("a02", 5)]
    assert [r.title_id for r in loaded.recommend_new_user(["a02"], k=5, now_s=QUERY_S)] == \
           [r.title_id for r in fitted.recommend_new_user(["a02"], k=5, now_s=QUERY_S)]


def test_every_part_saves_as_plain_arrays_and_json(world):
    """No pickle: numbers in arrays of plain dtypes, the rest in parameters JSON can hold."""
    items, events = world
    fitted = Recommender().fit(items, events, now_s=QUERY_S)
    arrays, params = fitted.to_arrays()
    assert {name.split(".")[0] for name in arrays} >= {"items", "taste", "popularity", "als", "likes", "knn"}
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays.values())
    assert json.loads(json.dumps(params)) == params
    for part in (fitted.items, fitted.taste, fitted.popularity, fitted.als):
        part_arrays, part_params = part.to_arrays()
        again = type(part).from_arrays(part_arrays, json.loads(json.dumps(part_params)))
        for name, array in again.to_arrays()[0].items():
            np.testing.assert_array_equal(array, part_arrays[name])
    assert list(fitted.popularity.regions) == list(Popularity.from_arrays(*fitted.popularity.to_arrays()).regions)


def test_loading_something_else_names_the_folder_and_the_reason(world, tmp_path):
    with pytest.raises(InputError, match="not a saved recommender"):
        Recommender.load(tmp_path / "nothing-here")
    folder = Recommender().fit(world[0], []).save(tmp_path / "old")
    meta = json.loads((folder / "model.json").read_text())
    version = meta["version"]
    meta["version"] = 0
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"model.json.*version 0.*fit the model again"):
        Recommender.load(folder)
    meta["version"] = version
    (folder / "model.json").write_text(json.dumps(meta))
    with np.load(folder / "arrays.npz") as stored:
        arrays = {name: stored[name] for name in stored.files if name != "taste.S"}
    np.savez(folder / "arrays.npz", **arrays)
    with pytest.raises(InputError, match=r"old.*incomplete saved model.*'S'.*fit the model again"):
        Recommender.load(folder)
    (folder / "arrays.npz").write_bytes(b"not a zip file")
    with pytest.raises(InputError, match=r"arrays.npz.*unreadable.*fit the model again"):
        Recommender.load(folder)
    (folder / "model.json").write_text('{"format": ')
    with pytest.raises(InputError, match=r"model.json.*invalid JSON"):
        Recommender.load(folder)
