"""The catalog: schema versions, one transaction per title, failures that lose nothing."""
import dataclasses
import sqlite3

import numpy as np
import pytest

from tagger.catalog.db import Catalog
from tagger.catalog.records import (AssetRecord, EmbeddingRecord, KeyframeRecord, SceneRecord, TagRecord,
                                    TitleResult)
from tagger.catalog.schema import MIGRATIONS


def _result(title_id="t1", *, confidence=0.8, scenes=2, tag="thriller"):
    vector = np.arange(4, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    return TitleResult(
        id=title_id, title="T", metadata={"synopsis": "s", "year": 2020}, source="x",
        status="ok", duration_s=10.0, media={"fps": 24.0}, modalities={"probe": {"status": "ran"}},
        analysis_s=1.0, fingerprint="f1", micro_genres=["Dark Thrillers"],
        assets=[AssetRecord("video", "/v.mp4", 3, 1, "abc")],
        scenes=[SceneRecord(i, i * 5.0, i * 5.0 + 5, i * 120, i * 120 + 120, features={"visual.brightness": 0.2},
                            keyframes=[KeyframeRecord(i * 120 + 60, i * 5 + 2.5, 9.0, b"jpg")])
                for i in range(scenes)],
        features={"visual.brightness": 0.2, "audio.mode": "minor"},
        tags=[TagRecord(tag, "genre", "Thriller", confidence, modalities=["text"], stages={"text": {"model": "m"}},
                        evidence=[{"modality": "text"}])],
        embeddings=[EmbeddingRecord("fused", "m", "1", vector)],
    )


def test_new_catalog_is_at_the_latest_schema_in_wal_mode(tmp_path):
    with Catalog(tmp_path / "c.db") as catalog:
        assert catalog.schema_version == len(MIGRATIONS)
        assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.db"
    Catalog(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(Exception, match="newer"):
        Catalog(path)


def test_write_and_read_back(tmp_path):
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(_result(), run_id=run)
        data = catalog.title("t1")
        assert [s["start_frame"] for s in data["scenes"]] == [0, 120]
        assert data["features"]["visual"]["brightness"] == 0.2
        assert data["scenes"][1]["features"]["visual"]["brightness"] == 0.2
        assert data["tags"][0]["tag"] == "thriller" and data["tags"][0]["status"] == "auto"
        ids, vectors = catalog.embeddings("fused")
        assert ids == ["t1"] and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-6)


def test_a_crash_mid_title_leaves_the_previous_version(tmp_path):
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(_result(scenes=2), run_id=run)
        broken = _result(scenes=5, confidence=0.9)
        broken.tags[0].confidence = 7.0   # violates the CHECK: the write fails mid-way
        with pytest.raises(sqlite3.IntegrityError):
            catalog.write_title(broken, run_id=run)
        data = catalog.title("t1")
        assert len(data["scenes"]) == 2 and data["tags"][0]["confidence"] == 0.8


def test_failure_keeps_what_was_stored(tmp_path):
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(_result(), run_id=run)
        failed = TitleResult(id="t1", title="T", source="x", metadata={}, status="failed", error="/v.mp4: broken",
                             analysis_s=0.1)
        catalog.write_failure(failed, run_id=run)
        data = catalog.title("t1")
        assert data["status"] == "failed" and data["error"] == "/v.mp4: broken"
        assert len(data["scenes"]) == 2 and data["tags"] and data["micro_genres"] == ["Dark Thrillers"]


def test_rewrite_keeps_editor_decisions(tmp_path):
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(_result(), run_id=run)
        catalog.conn.execute("UPDATE tags SET status='rejected', editor='ed' WHERE tag='thriller'")
        catalog.write_title(_result(confidence=0.95), run_id=run)
        [tag] = catalog.title("t1")["tags"]
        assert tag["status"] == "rejected" and tag["editor"] == "ed"


def test_a_written_title_result_reads_back_as_the_same_records(tmp_path):
    written = _result()
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(written, run_id=run)
        read = catalog.read_title("t1", jpeg=True)
        without_images = catalog.read_title("t1")
        assert catalog.read_title("nope") is None
    # The catalog adds what it owns to each tag: when it was stored, and the version editors check.
    assert all(t.updated_at and t.version == 1 and t.status == "auto" for t in read.tags)
    read.tags = [dataclasses.replace(t, updated_at=None) for t in read.tags]
    [embedding] = read.embeddings
    assert (embedding.space, embedding.model_id, embedding.version, embedding.dim) == ("fused", "m", "1", 4)
    np.testing.assert_array_equal(embedding.vector, written.embeddings[0].vector)
    assert dataclasses.replace(read, embeddings=[]) == dataclasses.replace(written, embeddings=[])
    assert [k.jpeg for s in without_images.scenes for k in s.keyframes] == [b"", b""]


def test_a_failure_built_outside_the_engine_keeps_the_earlier_analysis(tmp_path):
    from tagger.executors.base import failure_result
    from tagger.titles import TitleInput

    title = TitleInput("t1", "T", "x", synopsis="s", year=2021)
    failed = failure_result(title, "x: the worker process analysing it died", analysis_s=0.5)
    assert (failed.status, failed.ok, failed.scenes, failed.tags, failed.media) == ("failed", False, [], [], None)
    with Catalog(tmp_path / "c.db") as catalog:
        run = catalog.start_run(tagger_version="0", pipeline={"name": "default"}, versions={})
        catalog.write_title(_result(), run_id=run)
        catalog.write_failure(failed, run_id=run)
        read = catalog.read_title("t1")
        assert catalog.fingerprint("t1") == ("failed", None)   # the next ingest analyses it again
    assert (read.status, read.error, read.analysis_s) == ("failed", "x: the worker process analysing it died", 0.5)
    assert read.metadata == title.metadata() and read.metadata["year"] == 2021
    assert len(read.scenes) == 2 and [t.tag for t in read.tags] == ["thriller"] and len(read.embeddings) == 1
    assert (read.duration_s, read.media, read.micro_genres) == (10.0, {"fps": 24.0}, ["Dark Thrillers"])
