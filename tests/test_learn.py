"""Learned tag models: the label map and labels readers, calibration, thresholds, the fallback for
tags without enough labels, saving and loading heads, and mismatch errors. No shared data needed."""
import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tagger.cli import cli
from tagger.errors import InputError
from tagger.learn.calibration import best_threshold, expected_calibration_error, fit_platt, sigmoid
from tagger.learn.embed_cache import cached_encode
from tagger.learn.features import (CATEGORIES, MEASURED, FeatureBuilder, FeatureLayout, TitleInputs,
                                   dialogue_from_text, measured_values)
from tagger.learn.heads import TagHeads, queue_priority
from tagger.learn.label_map import label_map_path, load_label_map
from tagger.learn.labels import EDITOR_WEIGHT, read_catalog_labels, read_public_labels
from tagger.learn.train import TrainSettings, train
from tagger.tagging.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy("default")


class HashEncoder:
    """A stand-in text encoder for unit tests of the parts around it: a unit vector per text."""
    model_id = "test/hash-encoder"
    dimension = 8

    def __init__(self):
        self.encoded = []

    def encode(self, texts):
        self.encoded.extend(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], np.uint8)[:8].astype(np.float32) - 127.5
                for t in texts]
        rows = np.array(rows, np.float32).reshape(len(texts), 8)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# -- the label map ---------------------------------------------------------------------------

def write_map(tmp_path, text):
    path = tmp_path / "labels.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_label_map_loads_and_maps_public_labels():
    label_map = load_label_map(label_map_path(TAXONOMY), TAXONOMY)
    assert label_map.tags_for("movielens-genre", "Sci-Fi") == ("science-fiction",)
    assert label_map.tags_for("tmdb-keyword", "  Time   TRAVEL ") == ("time-travel",)
    assert label_map.tags_for("tmdb-genre", "TV Movie") == ()
    assert "heist" in label_map.tags_of_source("tmdb-keyword")
    assert "heist" not in label_map.tags_of_source("movielens-genre")


@pytest.mark.parametrize("text, line, words", [
    ('[tmdb-genre]\n"Action" = ["action"]\n"Horror" = ["horrror"]\n', 3, ["unknown tag 'horrror'", "Horror"]),
    ('[tmdb-genre]\n"Action" = ["action"]\n\n[imdb-genre]\n"Drama" = ["drama"]\n', 4, ["unknown source [imdb-genre]"]),
    ('[movielens-tag]\n"dark" = 3\n', 2, ["must be a tag id or a list", "dark"]),
    ('[movielens-tag]\n"dark" = ["dark"]\n"Dark" = ["dark"]\n', 3, ["given twice"]),
    ('[movielens-tag]\n"dark" = \n', 2, ["invalid TOML"]),
])
def test_label_map_errors_name_the_file_and_line(tmp_path, text, line, words):
    path = write_map(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_label_map(path, TAXONOMY)
    assert caught.value.path == str(path) and caught.value.line == line
    for word in words:
        assert word in str(caught.value)


# -- labels from public data and from a catalog ------------------------------------------------

def write_csv(path, header, rows, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_public_data(root: Path) -> Path:
    ml, tmdb = root / "movielens-small", root / "tmdb"
    write_csv(ml / "movies.csv", ["movieId", "title", "genres"],
              [[1, "Heat (1995)", "Action|Crime|Thriller"], [2, "Toy Story (1995)", "Animation|Children|Comedy"],
               [3, "No Overview (1990)", "Drama"]])
    write_csv(ml / "links.csv", ["movieId", "imdbId", "tmdbId"], [[1, 113277, 949], [2, 114709, 862], [3, 1, 5]])
    write_csv(ml / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], [[1, 1, 4.0, 1], [1, 2, 5.0, 2]])
    write_csv(ml / "tags.csv", ["userId", "movieId", "tag", "timestamp"],
              [[1, 1, "heist", 1], [2, 1, "in netflix queue", 2]])
    genres = lambda *names: json.dumps([{"id": i, "name": n} for i, n in enumerate(names)])  # noqa: E731
    write_csv(tmdb / "tmdb_5000_movies.csv", ["id", "title", "overview", "genres", "keywords", "original_language",
                                              "release_date"],
              [[949, "Heat", "A crew of thieves plans one last score.", genres("Action", "Crime"),
                genres("bank robbery", "los angeles"), "en", "1995-12-15"],
               [862, "Toy Story", "Toys come alive when nobody looks.", genres("Animation", "Family"), "[]", "en",
                "1995-10-30"],
               [77, "Stalker", "Three men cross a forbidden zone.", genres("Science Fiction"),
                genres("dystopia"), "ru", "1979-05-25"]])
    write_csv(tmdb / "top10K-TMDB-movies.csv", ["id", "title", "genre", "original_language", "overview"],
              [[88, "Amélie", "Comedy,Romance", "fr", "Une serveuse décide de changer la vie des autres."]],
              encoding="cp1252")
    return root


def test_public_labels_keep_the_coldstart_ids_and_add_implicit_negatives(tmp_path):
    data = write_public_data(tmp_path / "data")
    label_map = load_label_map(label_map_path(TAXONOMY), TAXONOMY)
    labels = read_public_labels(data, label_map)
    assert sorted(labels.titles) == ["ml-1", "ml-2", "tmdb-77", "tmdb-88"]   # ml-3 has no overview
    assert labels.titles["tmdb-88"].synopsis.startswith("Une serveuse")    # cp1252 read as such
    positives = {(r.title_id, r.tag, r.source) for r in labels.rows if r.label}
    assert ("ml-1", "heist", "movielens-tag") in positives
    assert ("ml-1", "heist", "tmdb-keyword") in positives
    assert ("ml-2", "family", "movielens-genre") in positives and ("ml-2", "family", "tmdb-genre") in positives
    assert ("tmdb-77", "dystopian", "tmdb-keyword") in positives
    tags = ["heist", "dystopian", "comedy", "romance", "time-travel"]
    y, w = labels.matrix(["ml-1", "ml-2", "tmdb-77", "tmdb-88"], tags)
    assert y[0, 0] == 1 and w[0, 0] == 1
    assert y[2, 1] == 1 and (w[0, 1], y[0, 1]) == (1, 0)   # Heat has keywords: not dystopian
    assert w[1, 1] == 0                                    # Toy Story has no keywords: unknown
    assert (y[3, 2], y[3, 3]) == (1, 1) and w[3, 4] == 0    # top-10K: genres only


def test_editor_decisions_are_labels_that_outweigh_public_ones(tmp_path):
    from test_review import make_result, write

    from tagger.catalog.db import Catalog
    from tagger.review import auth
    from tagger.review.decisions import decide

    path = tmp_path / "c.db"
    with Catalog(path) as catalog:
        write(catalog, make_result("ml-1"))   # tags thriller, tense, heist (auto)
        auth.add_editor(catalog, "alice", "alice-password")
        decide(catalog, "ml-1", "thriller", "accept", editor="alice")
        decide(catalog, "ml-1", "heist", "reject", editor="alice")
        decide(catalog, "ml-1", "comedy", "add", editor="alice")
    editor = read_catalog_labels(path, TAXONOMY)
    assert sorted((r.tag, r.label) for r in editor.rows) == [("comedy", 1), ("heist", 0), ("thriller", 1)]
    assert editor.titles["ml-1"].features["visual.brightness"] == 0.2
    label_map = load_label_map(label_map_path(TAXONOMY), TAXONOMY)
    merged = read_public_labels(write_public_data(tmp_path / "data"), label_map).merge(editor)
    y, w = merged.matrix(["ml-1"], ["heist", "thriller", "comedy", "tense", "slow-burn"])
    assert list(y[0]) == [0, 1, 1, 0, 0]   # heist: the editor's "no" beats two public "yes"
    # tense: undecided, a public negative (user tags name it); slow-burn: no source names it
    assert list(w[0]) == [EDITOR_WEIGHT, EDITOR_WEIGHT, EDITOR_WEIGHT, 1, 0]


# -- features --------------------------------------------------------------------------------

def test_dialogue_is_recovered_from_the_stored_text_embedding():
    rng = np.random.default_rng(0)
    synopsis, dialogue = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 16)))
    text = 0.6 * synopsis + 0.4 * dialogue
    text /= np.linalg.norm(text)
    assert np.allclose(dialogue_from_text(text, synopsis, 0.6), dialogue, atol=1e-5)
    assert np.allclose(dialogue_from_text(text, None, 0.6), text)


def test_feature_rows_have_the_layout_and_no_prior_without_a_synopsis():
    encoder = HashEncoder()
    builder = FeatureBuilder(encoder, TAXONOMY)
    layout = builder.layout
    vector = encoder.encode(["a synopsis"])[0]
    rows = builder.rows([TitleInputs(synopsis_vector=vector, features={"audio.mode": "minor", "visual.brightness": 0.3}),
                         TitleInputs(dialogue_vector=vector)])
    assert rows.shape == (2, layout.width)
    zeroshot = slice(layout.blocks()[0][1], layout.blocks()[0][1] + len(layout.zeroshot_tags))
    assert rows[0, zeroshot].max() > 0 and not rows[1, zeroshot].any()
    measured = measured_values({"audio.mode": "minor", "visual.brightness": 0.3}, layout)
    assert measured[MEASURED.index("visual.brightness")] == pytest.approx(0.3)
    assert np.isnan(measured[MEASURED.index("audio.tempo_bpm")])
    assert measured[len(MEASURED) + CATEGORIES.index(("audio.mode", "minor"))] == 1
    assert list(measured[-3:]) == [1, 1, 0]   # visual, audio measured; no dialogue metrics


def test_embeddings_are_cached_on_disk(tmp_path):
    encoder = HashEncoder()
    first = cached_encode(encoder, ["one", "two", "one"], cache_dir=tmp_path)
    assert encoder.encoded == ["one", "two"]
    again = cached_encode(HashEncoder(), ["two", "one", "three"], cache_dir=tmp_path)
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0])
    fresh = HashEncoder()
    cached_encode(fresh, ["three", "one"], cache_dir=tmp_path)
    assert fresh.encoded == []


def test_synopsis_words_are_tf_idf_as_scikit_learn_computes_it():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tagger.learn.terms import Terms

    texts = ["A heist crew plans one last bank job.", "The crew of a starship finds a derelict ship.",
             "Two sisters run a bakery; the bakery fails.", "A bank clerk plans a heist of her own bank.",
             "Zombies overrun the bakery and the bank."]
    terms = Terms.fit(texts, max_terms=6, min_titles=2)
    reference = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2, max_features=6)
    expected = reference.fit_transform(texts).toarray()
    assert list(terms.vocabulary) == list(reference.get_feature_names_out())
    assert np.allclose(terms.transform(texts).toarray(), expected, atol=1e-6)
    assert terms.transform(["", "nothing known here"]).nnz == 0


# -- calibration and thresholds ----------------------------------------------------------------

def test_platt_scaling_recovers_a_known_curve_and_calibrates():
    rng = np.random.default_rng(1)
    scores = rng.uniform(-3, 3, 40000)
    labels = (rng.uniform(size=scores.size) < sigmoid(2.0 * scores - 1.0)).astype(float)
    a, b = fit_platt(scores, labels)
    assert a == pytest.approx(2.0, abs=0.1) and b == pytest.approx(-1.0, abs=0.1)
    calibrated = sigmoid(a * scores + b)
    assert expected_calibration_error(calibrated, labels) < 0.02
    assert expected_calibration_error(sigmoid(6 * scores), labels) > 0.05   # overconfident


def test_expected_calibration_error_of_a_known_case():
    # 0.9 said 100 times, right 50 times: off by 0.4; 0.1 said 100 times, right in 90: exact
    probabilities = np.r_[np.full(100, 0.9), np.full(100, 0.1)]
    labels = np.r_[np.ones(50), np.zeros(50), np.ones(10), np.zeros(90)]
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.2)


def test_threshold_with_the_best_f1():
    threshold, f1 = best_threshold(np.array([0.9, 0.8, 0.7, 0.3, 0.2]), np.array([1, 1, 0, 1, 0]))
    assert threshold == pytest.approx(0.25) and f1 == pytest.approx(6 / 7)
    threshold, _ = best_threshold(np.array([0.02, 0.01, 0.0]), np.array([1, 0, 0]))
    assert threshold >= 0.05   # never fire on a near-certain no


# -- training, fallback, saving ----------------------------------------------------------------

LAYOUT = FeatureLayout(encoder_id="test/hash-encoder", dimension=8, zeroshot_tags=("drama", "heist"))


WORDS = ("storm", "harbour", "letter", "garden", "train", "winter", "market", "violin")


def synthetic(count, seed):
    """Rows of LAYOUT and synopses: the first synopsis column decides 'drama', the word "heist"
    in the synopsis decides 'crime'; 'heist' (the tag) has 3 positives."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((count, LAYOUT.width), np.float32)
    rows[:, :8] = rng.normal(size=(count, 8))
    rows[:, 8] = 1.0
    rows[:, 9:11] = rng.uniform(size=(count, 2))
    crime = rng.uniform(size=count) < 0.3
    synopses = [" ".join(rng.choice(WORDS, 6)) + (" heist" if c else "") for c in crime]
    labels = np.zeros((count, 3), np.float32)
    labels[:, 0] = rows[:, 0] + 0.3 * rng.normal(size=count) > 0.5
    labels[:, 1] = crime
    labels[:3, 2] = 1
    return rows, synopses, labels, np.ones_like(labels)


@pytest.fixture(scope="module")
def fitted():
    rows, synopses, labels, weights = synthetic(400, 0)
    settings = TrainSettings(folds=3, dense_penalties=(0.01, 0.1), text_penalties=(1e-4, 1e-3),
                             min_positive_grid=(5, 10))
    return train(rows, synopses, labels, weights, ["drama", "crime", "heist"],
                 {"drama": rows[:, 9], "heist": rows[:, 10]}, settings)


def test_heads_learn_from_rows_and_words_and_a_tag_without_enough_labels_falls_back(fitted):
    assert fitted.tag_ids == ["drama", "crime"]
    assert "heist" in fitted.fallback and "3 positive labels" in fitted.fallback["heist"]
    rows, synopses, labels, _ = synthetic(2000, 5)
    heads = TagHeads.from_fit(fitted, LAYOUT, TAXONOMY, {"data": "synthetic"})
    probability = heads.probabilities(rows, synopses)
    for k in range(2):
        fired = probability[:, k] >= heads.thresholds[k]
        truth = labels[:, k] > 0.5
        assert (fired & truth).sum() / max(fired.sum(), 1) > 0.8 and (fired & truth).sum() / truth.sum() > 0.8
        assert expected_calibration_error(probability[:, k], labels[:, k]) < 0.06


def test_heads_round_trip_without_pickle(fitted, tmp_path):
    heads = TagHeads.from_fit(fitted, LAYOUT, TAXONOMY, {"data": "synthetic"})
    heads.save(tmp_path / "heads")
    loaded = TagHeads.load(tmp_path / "heads", taxonomy=TAXONOMY, encoder_id="test/hash-encoder")
    rows, synopses, _, _ = synthetic(50, 9)
    assert np.allclose(loaded.probabilities(rows, synopses), heads.probabilities(rows, synopses))
    assert loaded.version == heads.version and loaded.fallback == heads.fallback
    first = heads.probabilities(rows[:1], synopses[:1])[0]
    assert loaded.predict(rows[:1], synopses[:1])[0] == {
        tag: (pytest.approx(float(p)), bool(p >= t)) for tag, p, t in zip(heads.tag_ids, first, heads.thresholds)}
    with np.load(tmp_path / "heads" / "heads.npz", allow_pickle=False) as arrays:
        assert arrays["coef"].dtype == np.float32 and "heist" in arrays["vocabulary"]


def test_heads_of_another_taxonomy_or_encoder_are_an_error(fitted, tmp_path):
    """Heads fit a taxonomy with their tag ids and prompts: a changed prompt is an error, a
    changed rule, label or version is not (only the heads' inputs count)."""
    import json
    import re

    TagHeads.from_fit(fitted, LAYOUT, TAXONOMY, {}).save(tmp_path / "heads")
    text = Path(TAXONOMY.path).read_text(encoding="utf-8")

    def variant(name, changed):
        assert changed != text
        path = tmp_path / name
        path.write_text(changed, encoding="utf-8")
        return load_taxonomy(path)

    prompt = re.search(r'prompts = \["([^"]+)"', text).group(1)
    other_prompt = variant("prompt.toml", text.replace(prompt, prompt + " at night", 1))
    with pytest.raises(InputError, match=r"taxonomy 'default' \(digest .*tags or prompts differ.*tagger train tags"):
        TagHeads.load(tmp_path / "heads", taxonomy=other_prompt)
    rule = re.search(r"below = ([0-9.]+)", text).group(0)
    edited = variant("rules.toml", text.replace('version = "1"', 'version = "2"', 1)
                     .replace(rule, "below = 0.123", 1).replace('label = "', 'label = "New ', 1))
    assert edited.digest != TAXONOMY.digest and edited.heads_digest() == TAXONOMY.heads_digest()
    assert TagHeads.load(tmp_path / "heads", taxonomy=edited).tag_ids == fitted.tag_ids
    # Heads saved before the heads digest was recorded need the very file they were trained for.
    meta = json.loads((tmp_path / "heads" / "heads.json").read_text())
    del meta["taxonomy"]["heads_digest"]
    (tmp_path / "heads" / "heads.json").write_text(json.dumps(meta))
    TagHeads.load(tmp_path / "heads", taxonomy=TAXONOMY)
    with pytest.raises(InputError, match="tagger train tags"):
        TagHeads.load(tmp_path / "heads", taxonomy=edited)
    with pytest.raises(InputError, match="test/hash-encoder.*all-MiniLM-L6-v2.*train them again"):
        TagHeads.load(tmp_path / "heads", encoder_id="sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(InputError, match="no tag heads here"):
        TagHeads.load(tmp_path / "nothing")


def test_queue_priority_puts_likely_mistakes_and_rare_tags_first():
    assert queue_priority(0.55, 0.5) > queue_priority(0.95, 0.5)      # fired but unsure
    assert queue_priority(0.45, 0.5) > queue_priority(0.05, 0.5)      # nearly fired
    assert queue_priority(0.6, 0.5, positives=3) > queue_priority(0.6, 0.5, positives=3000)


def test_train_tags_needs_labels(tmp_path):
    result = CliRunner().invoke(cli, ["train", "tags", "--out", str(tmp_path / "heads")])
    assert result.exit_code == 2 and "--data" in result.output
    from tagger.catalog.db import Catalog

    Catalog(tmp_path / "empty.db").close()
    result = CliRunner().invoke(cli, ["train", "tags", "--catalog", str(tmp_path / "empty.db"), "--out",
                                      str(tmp_path / "heads")])
    assert result.exit_code == 1 and "no editors' decisions" in result.output
    assert not (tmp_path / "heads").exists()


def test_train_tags_on_public_data_and_a_catalog_records_how(tmp_path, monkeypatch):
    from test_review import make_result, write

    from tagger.catalog.db import Catalog
    from tagger.review import auth
    from tagger.review.decisions import decide

    monkeypatch.setenv("TAGGER_CACHE", str(tmp_path / "cache"))
    # the encoder is not what this tests: a stand-in keeps it fast
    monkeypatch.setattr("tagger.text.encoder.get_encoder", lambda *args: HashEncoder())
    data = write_public_data(tmp_path / "data")
    with Catalog(tmp_path / "c.db") as catalog:
        write(catalog, make_result("ml-1"))
        auth.add_editor(catalog, "alice", "alice-password")
        decide(catalog, "ml-1", "heist", "reject", editor="alice")
    out = tmp_path / "heads"
    result = CliRunner().invoke(cli, ["train", "tags", "--data", str(data), "--catalog", str(tmp_path / "c.db"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    heads = TagHeads.load(out, taxonomy=TAXONOMY, encoder_id="test/hash-encoder")
    assert heads.tag_ids == [] and "positive labels" in heads.fallback["heist"]   # four titles teach nothing
    record = heads.record
    assert record["command"] == f"tagger train tags --data {data} --catalog {tmp_path / 'c.db'} --out {out}"
    assert record["labels"]["rows"]["editor"] == 1 and record["catalogs"][0]["sha256"]
    assert record["data"]["files"]["movielens-small/movies.csv"] == hashlib.sha256(
        (data / "movielens-small" / "movies.csv").read_bytes()).hexdigest()
