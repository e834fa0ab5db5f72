"""Faults on a real `tagger ingest` process: SIGTERM and kill -9 mid-batch, then a resume; editors'
decisions through the API while a forced re-ingest rewrites the same titles."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import TWO_SHOTS as SHOTS, write_light_pipeline, write_title

ROOT = Path(__file__).resolve().parents[1]
TITLES = [f"title-{i}" for i in range(6)]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults")
    for title_id in TITLES:
        write_title(folder / "titles" / title_id, shots=SHOTS)
    write_light_pipeline(folder)
    return folder


def _start_ingest(library: Path, db: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "tagger", "ingest", str(library / "titles"), "--catalog", str(db),
                             "--pipeline", str(library / "light.toml"), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _query(db: Path, sql: str) -> list[tuple]:
    """A read-only look at the catalog from outside the writing process (None while it is being made)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []


def _wait_for_titles(db: Path, process: subprocess.Popen, count: int, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = _query(db, "SELECT count(*) FROM titles WHERE status='ok'")
        if rows and rows[0][0] >= count:
            return
        assert process.poll() is None, f"ingest ended early: {process.communicate()}"
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no {count} titles stored within {timeout_s} s")


def _whole_titles(db: Path) -> set[str]:
    """Titles stored ok with their scenes, tags and embeddings all there."""
    ok = {r[0] for r in _query(db, "SELECT id FROM titles WHERE status='ok'")}
    for table in ("scenes", "tags", "embeddings"):
        ok &= {r[0] for r in _query(db, f"SELECT DISTINCT title_id FROM {table}")}
    return ok


def _resume(library: Path, db: Path, stored: set[str]) -> None:
    again = _start_ingest(library, db)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _whole_titles(db) == set(TITLES)
    skipped = {r[0] for r in _query(db, "SELECT id FROM titles")} & stored
    # What the interrupted run stored is not analysed again.
    last_run = _query(db, "SELECT titles_ok, titles_skipped FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert last_run == (len(TITLES) - len(skipped), len(skipped))


def test_sigterm_stops_between_titles_closes_the_run_and_a_rerun_goes_on(library, tmp_path):
    db = tmp_path / "c.db"
    process = _start_ingest(library, db)
    _wait_for_titles(db, process, 1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    stored = _whole_titles(db)
    assert 1 <= len(stored) < len(TITLES), "stopped mid-batch"
    assert {r[0] for r in _query(db, "SELECT id FROM titles")} == stored, "only whole titles"
    [(finished_at, titles_ok)] = _query(db, "SELECT finished_at, titles_ok FROM runs")
    assert finished_at is not None and titles_ok == len(stored)
    _resume(library, db, stored)


def test_kill_9_leaves_only_whole_titles_and_a_rerun_goes_on(library, tmp_path):
    db = tmp_path / "c.db"
    process = _start_ingest(library, db)
    _wait_for_titles(db, process, 2)
    process.kill()
    process.communicate(timeout=60)
    stored = _whole_titles(db)
    assert 2 <= len(stored) < len(TITLES)
    assert {r[0] for r in _query(db, "SELECT id FROM titles")} == stored, "only whole titles"
    _resume(library, db, stored)


def test_decisions_made_during_a_forced_reingest_are_all_kept(library, tmp_path):
    from tagger.catalog.db import Catalog
    from tagger.review.auth import add_editor
    from tagger.review.web import create_app

    db = tmp_path / "c.db"
    first = _start_ingest(library, db)
    assert first.wait(timeout=600) == 0
    with Catalog(db) as catalog:
        token = add_editor(catalog, "ed", "a long password")
    client = create_app(str(db)).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    kept: dict[tuple[str, str], str] = {}   # (title, tag) -> status the API confirmed
    stop = threading.Event()

    def decide_while_ingesting():
        turn = 0
        while not stop.is_set() or turn < 10:
            title_id = TITLES[turn % len(TITLES)]
            tags = client.get(f"/api/titles/{title_id}", headers=headers).get_json()["tags"]
            pending = [t for t in tags if t["status"] == "auto"]
            if pending:
                tag = pending[turn % len(pending)]
                action = "accept" if turn % 2 else "reject"
                answer = client.post(f"/api/titles/{title_id}/decisions", headers=headers,
                                     json={"tag": tag["tag"], "action": action, "version": tag["version"]})
                # 409: the re-ingest replaced the tag since it was read; the editor reloads.
                assert answer.status_code in (200, 409), answer.get_json()
                if answer.status_code == 200:
                    kept[(title_id, tag["tag"])] = answer.get_json()["status"]
            turn += 1

    forced = _start_ingest(library, db, "--force")
    worker = threading.Thread(target=decide_while_ingesting)
    worker.start()
    try:
        out, err = forced.communicate(timeout=600)
    finally:
        stop.set()
        worker.join(timeout=120)
    assert forced.returncode == 0, err
    assert len(kept) >= 10
    with Catalog(db) as catalog:
        for (title_id, tag), status in kept.items():
            stored = {t["tag"]: t["status"] for t in catalog.title(title_id)["tags"]}
            assert stored.get(tag) == status, (title_id, tag)
    logged = _query(db, "SELECT title_id, tag, after_status FROM tag_decisions")
    assert {(t, g): s for t, g, s in logged} == kept
