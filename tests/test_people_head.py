"""The people head's file: the shipped numbers load and fit the encoder; a hand-made head gives
the logits its layers say; a broken file is an error naming the file and the field."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark_scripts import load_benchmark
from tagger.errors import InputError
from tagger.vision.efficientnet import DIMENSION
from tagger.vision.people_head import (PEOPLE_HEAD_FILE, PEOPLE_HEAD_NOTE_KEYS, PeopleHead, load_people_head,
                                       people_head_version, save_people_head)


def test_the_shipped_head_reads_the_encoders_cells_and_says_how_it_was_made():
    head = load_people_head()
    assert head.dimension == DIMENSION
    assert head.layers[-1][0].shape[1] == 1
    assert set(PEOPLE_HEAD_NOTE_KEYS) <= set(head.note), sorted(head.note)
    logits = head.cell_logits(np.zeros((3, DIMENSION), np.float32))
    assert logits.shape == (3,) and np.all(np.isfinite(logits)) and np.ptp(logits) < 1e-5
    assert people_head_version().startswith(f"{PEOPLE_HEAD_FILE.stem}@")


def test_a_hand_made_head_gives_the_logits_of_its_layers(tmp_path):
    """Two inputs, two hidden units with ReLU, one logit: known answers."""
    head = PeopleHead(np.array([1.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32),
                      ((np.array([[1.0, -1.0], [0.0, 1.0]], np.float32), np.array([0.0, 0.5], np.float32)),
                       (np.array([[2.0], [3.0]], np.float32), np.array([-1.0], np.float32))), {"made_by": "a test"})
    features = np.array([[3.0, 0.0], [1.0, 4.0], [-5.0, 0.0]], np.float32)
    # standardised: (1, 0), (0, 4), (-3, 0); hidden: relu(1, -0.5) = (1, 0), (0, 4.5), relu(-3, 3.5) = (0, 3.5)
    expected = [2 * 1 - 1, 3 * 4.5 - 1, 3 * 3.5 - 1]
    np.testing.assert_allclose(head.cell_logits(features), expected, atol=1e-6)
    path = tmp_path / "head.npz"
    save_people_head(path, head)
    loaded = load_people_head(path)
    np.testing.assert_allclose(loaded.cell_logits(features), expected, atol=1e-6)
    assert loaded.note == {"made_by": "a test"}
    assert people_head_version(path) != people_head_version()


def _write(path, **arrays):
    base = {"note": np.array("{}"), "input_mean": np.zeros(2, np.float32), "input_scale": np.ones(2, np.float32),
            "weight_0": np.ones((2, 1), np.float32), "bias_0": np.zeros(1, np.float32)}
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


@pytest.mark.parametrize("change, field", [
    ({"weight_0": None}, "weight_0"),
    ({"input_scale": np.zeros(2, np.float32)}, "input_scale"),
    ({"weight_0": np.ones((3, 1), np.float32)}, "weight_0"),
    ({"weight_0": np.ones((2, 2), np.float32), "bias_0": np.zeros(2, np.float32)}, "weight_0"),
    ({"note": np.array("not json")}, "note"),
])
def test_a_broken_head_file_names_the_file_and_the_field(tmp_path, change, field):
    path = _write(tmp_path / f"broken-{field}.npz", **change)
    with pytest.raises(InputError) as raised:
        load_people_head(path)
    assert str(path) in str(raised.value) and field in str(raised.value)


def test_a_file_that_is_not_a_head_is_an_error_naming_it(tmp_path):
    path = tmp_path / "head.npz"
    path.write_text("not a zip")
    with pytest.raises(InputError, match="head.npz"):
        load_people_head(path)
    with pytest.raises(InputError, match="missing.npz"):
        people_head_version(tmp_path / "missing.npz")


# -- how benchmarks/people_head.py labels cells and fits (the shipped head's recipe) -----------

def test_cells_under_a_person_box_are_person_cells_and_its_border_is_left_out():
    """A 4x6 grid, one cell per picture pixel: a box over columns 1..3.5 and rows 0.5..3."""
    labels = load_benchmark("people_head").cell_labels([(1.0, 0.5, 3.5, 3.0)], 4, 6, 1.0, 1.0)
    # Centres on the box's edge (row 0 at y 0.5, column 3 at x 3.5) count as inside.
    expected = np.array([[0, 1, 1, 1, 0, 0],
                         [0, 1, 1, 1, 0, 0],
                         [0, 1, 1, 1, 0, 0],
                         [0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(labels, expected)
    # Cells the box only partly covers, their centres outside, are left out (-1).
    offset = load_benchmark("people_head").cell_labels([(1.2, 0.0, 2.4, 2.0)], 2, 4, 1.0, 1.0)
    assert offset.tolist() == [[0, 1, -1, 0], [0, 1, -1, 0]]
    # A box smaller than a cell marks the cell that holds its centre; a cell it only touches is left out.
    small = load_benchmark("people_head").cell_labels([(2.6, 1.2, 3.3, 1.6)], 3, 5, 1.0, 1.0)
    assert small[1, 2] == 1 and small[1, 3] == -1 and (small == 1).sum() == 1
    assert load_benchmark("people_head").cell_labels([], 2, 2, 1.0, 1.0).tolist() == [[0, 0], [0, 0]]


def test_an_ensemble_is_one_wider_head_giving_the_mean_logit(monkeypatch):
    script = load_benchmark("people_head")
    for name, value in (("EPOCHS", 20), ("HIDDEN", 8), ("BATCH", 64)):   # small and quick; undone after
        monkeypatch.setattr(script, name, value)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 16)).astype(np.float16)
    labels = (features[:, 0] > 0).astype(np.int8)
    members = [script.fit_network(features, labels, seed=seed) for seed in range(3)]
    head = script.fit_head(features, labels, networks=3)
    singles = [PeopleHead(mean, scale, tuple(layers), {}).cell_logits(features) for mean, scale, layers in members]
    assert head.layers[0][0].shape == (16, 24)
    np.testing.assert_allclose(head.cell_logits(features), np.mean(singles, axis=0), atol=1e-4)
    assert np.mean((head.cell_logits(features) > 0) == labels.astype(bool)) > 0.9   # it learned the rule
