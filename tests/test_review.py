"""Editors' review: decisions, the audit log, versions, the queue, bulk actions, editors, CLI."""
import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagger.catalog.db import Catalog
from tagger.catalog.records import AssetRecord, KeyframeRecord, SceneRecord, TagRecord, TitleResult
from tagger.catalog.schema import MIGRATIONS
from tagger.cli import cli
from tagger.review import auth
from tagger.review.decisions import ConflictError, NotFoundError, ReviewError, bulk_decide, decide, history
from tagger.review.queue import priority, reach, review_queue, uncertainty

TAXONOMY = Path(__file__).resolve().parents[1] / "taxonomies" / "default.toml"
PIPELINE = {"name": "default", "settings": {"tags": {"threshold": 0.5}},
            "taxonomy": {"id": "default", "version": "1", "path": str(TAXONOMY)}}
TAGS = (("thriller", "genre", "Thriller", 0.9), ("tense", "mood", "Tense", 0.6), ("heist", "subgenre", "Heist", 0.52))


def make_result(title_id="t1", *, title=None, tags=TAGS, scenes=2, metadata=None, video=None, status="ok",
                keyframe=b"\xff\xd8jpeg"):
    """A title as the ingest engine hands it to Catalog.write_title."""
    return TitleResult(
        id=title_id, title=title or title_id.title(), status=status, source="test",
        metadata=metadata if metadata is not None else {"synopsis": "A nurse on the night shift.", "year": 2020},
        duration_s=5.0 * scenes, media={"fps": 24.0}, modalities={"probe": {"status": "ran"}},
        analysis_s=0.1, fingerprint="f", micro_genres=["Dark Thrillers"],
        assets=[AssetRecord("video", str(video), 1, 1, "x")] if video else [],
        scenes=[SceneRecord(i, 5.0 * i, 5.0 * i + 5, 120 * i, 120 * i + 120, features={"visual.brightness": 0.2},
                            keyframes=[KeyframeRecord(120 * i + 60, 5.0 * i + 2.5, 9.0, keyframe)])
                for i in range(scenes)],
        features={"visual.brightness": 0.2, "visual.palette": [{"hex": "#112233", "share": 0.6}],
                  "audio.arousal": 0.3, "audio.valence": 0.2},
        tags=[TagRecord(tag, facet, label, confidence, modalities=["text"], stages={"text": {"model": "m"}},
                        evidence=[{"modality": "text", "score": confidence, "source": "subtitles", "scene": 1,
                                   "cue": "Don't open the door."}])
              for tag, facet, label, confidence in tags],
    )


def write(catalog, *results):
    run = catalog.start_run(tagger_version="0", pipeline=PIPELINE, versions={})
    for result in results:
        catalog.write_title(result, run_id=run)


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "c.db") as opened:
        write(opened, make_result())
        auth.add_editor(opened, "alice", "alice-password")
        auth.add_editor(opened, "bob", "bob-password")
        yield opened


def _statuses(catalog, title_id="t1"):
    return {t["tag"]: t["status"] for t in catalog.title(title_id)["tags"]}


# -- schema ---------------------------------------------------------------------------------------

def test_a_schema_1_catalog_upgrades_and_keeps_its_tags(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO titles (id, title, metadata, status, created_at, updated_at)"
                 " VALUES ('old', 'Old', '{}', 'ok', '2020-01-01', '2020-01-01')")
    conn.execute("INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities, stages,"
                 " evidence, editor, updated_at) VALUES ('old', 'thriller', -1, 'genre', 'Thriller', 0.7, 'rejected',"
                 " '[]', '{}', '[]', 'ed', '2020-01-01')")
    conn.execute("INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities, stages,"
                 " evidence, updated_at) VALUES ('old', 'dark', -1, 'mood', 'Dark', 0.6, 'auto',"
                 " '[]', '{}', '[]', '2020-01-01')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Catalog(path) as catalog:
        assert catalog.schema_version == 5 == len(MIGRATIONS)
        rejected = {t["tag"]: t for t in catalog.title("old")["tags"]}["thriller"]
        assert rejected["status"] == "rejected" and rejected["editor"] == "ed" and rejected["version"] == 1
        assert [t["id"] for t in catalog.find_titles(q="OL")] == ["old"]   # its search text is there too
        # The stored queue of an upgraded catalog is built on its first read.
        assert [(i["title_id"], i["tag"], i["version"], i["gain"]) for i in review_queue(catalog)] == \
            [("old", "dark", 1, 1.0)]
        tables = {r[0] for r in catalog.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"editors", "tag_decisions", "settings", "sessions", "review_queue", "title_search"} <= tables


# -- decisions ------------------------------------------------------------------------------------

def test_accept_reject_add_are_logged_and_survive_a_rewrite(catalog):
    accepted = decide(catalog, "t1", "thriller", "accept", editor="alice", comment="clearly", expected_version=1)
    assert accepted["status"] == "accepted" and accepted["version"] == 2 and accepted["editor"] == "alice"
    decide(catalog, "t1", "tense", "reject", editor="bob")
    added = decide(catalog, "t1", "hospital", "add", editor="alice", expected_version=0)
    assert (added["facet"], added["label"], added["confidence"]) == ("setting", "Hospital", 1.0)

    # The engine runs again (as `ingest --force` does): new confidences, "tense" scored again.
    write(catalog, make_result(tags=(("thriller", "genre", "Thriller", 0.7), ("tense", "mood", "Tense", 0.95),
                                     ("heist", "subgenre", "Heist", 0.6), ("dark", "mood", "Dark", 0.8))))
    tags = {t["tag"]: t for t in catalog.title("t1")["tags"]}
    assert {k: v["status"] for k, v in tags.items()} == {
        "thriller": "accepted", "tense": "rejected", "hospital": "added", "heist": "auto", "dark": "auto"}
    assert tags["thriller"]["confidence"] == 0.9 and tags["thriller"]["comment"] == "clearly"
    assert tags["heist"]["confidence"] == 0.6
    log = history(catalog, "t1")
    assert [(h["tag"], h["editor"], h["before_status"], h["after_status"], h["version"]) for h in log] == [
        ("thriller", "alice", "auto", "accepted", 2), ("tense", "bob", "auto", "rejected", 2),
        ("hospital", "alice", None, "added", 1)]
    assert log[0]["before_confidence"] == 0.9 and log[0]["comment"] == "clearly"
    # The log is append-only in the database itself, not only by convention.
    for statement in ("UPDATE tag_decisions SET editor='mallory'", "DELETE FROM tag_decisions"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            catalog.conn.execute(statement)
    assert len(history(catalog, "t1")) == 3


def test_export_carries_effective_tags_with_their_status(catalog, tmp_path):
    pd = pytest.importorskip("pandas")
    from tagger.catalog.export import export

    decide(catalog, "t1", "tense", "reject", editor="bob")
    decide(catalog, "t1", "hospital", "add", editor="alice")
    export(catalog, tmp_path / "out")
    tags = pd.read_parquet(tmp_path / "out" / "tags.parquet")
    assert dict(zip(tags["tag"], tags["status"])) == {"thriller": "auto", "heist": "auto", "hospital": "added"}


def test_a_stale_version_is_a_conflict_and_changes_nothing(catalog):
    decide(catalog, "t1", "heist", "accept", editor="alice", expected_version=1)
    with pytest.raises(ConflictError, match="you saw version 1, it is now version 2 \\(accepted by alice\\)") as caught:
        decide(catalog, "t1", "heist", "reject", editor="bob", expected_version=1)
    assert caught.value.current["status"] == "accepted"
    assert _statuses(catalog)["heist"] == "accepted"
    assert len(history(catalog, "t1")) == 1
    # Deciding again on what is there now works.
    assert decide(catalog, "t1", "heist", "reject", editor="bob", expected_version=2)["version"] == 3


def test_a_tag_a_reingest_removed_is_a_conflict_for_whoever_saw_it(catalog):
    write(catalog, make_result(tags=TAGS[:1]))
    with pytest.raises(ConflictError, match="no longer on the title"):
        decide(catalog, "t1", "heist", "accept", editor="alice", expected_version=1)


def test_add_checks_the_taxonomy_and_what_is_already_there(catalog):
    with pytest.raises(NotFoundError, match="thriler.*thriller"):
        decide(catalog, "t1", "thriler", "add", editor="alice")
    with pytest.raises(ConflictError, match="already there \\(status auto\\)"):
        decide(catalog, "t1", "thriller", "add", editor="alice")
    with pytest.raises(NotFoundError, match="'comedy' on title 't1' does not exist"):
        decide(catalog, "t1", "comedy", "accept", editor="alice")
    with pytest.raises(NotFoundError, match="no title 'nope'"):
        decide(catalog, "nope", "thriller", "accept", editor="alice")


def test_only_known_editors_decide(catalog):
    with pytest.raises(ReviewError, match="no editor 'mallory'.*tagger editors add mallory"):
        decide(catalog, "t1", "thriller", "accept", editor="mallory")
    with pytest.raises(ReviewError, match="TAGGER_EDITOR"):
        decide(catalog, "t1", "thriller", "accept", editor=None)


def test_bulk_accept_per_title_facet_and_confidence(catalog):
    write(catalog, make_result("t2", tags=(("dark", "mood", "Dark", 0.95), ("comedy", "genre", "Comedy", 0.97))))
    done = bulk_decide(catalog, "accept", editor="alice", facet="mood", min_confidence=0.6)
    assert sorted((t["title_id"], t["tag"]) for t in done) == [("t1", "tense"), ("t2", "dark")]
    assert _statuses(catalog, "t2") == {"dark": "accepted", "comedy": "auto"}
    done = bulk_decide(catalog, "reject", editor="bob", title_id="t1", max_confidence=0.55)
    assert [t["tag"] for t in done] == ["heist"]
    assert _statuses(catalog) == {"thriller": "auto", "tense": "accepted", "heist": "rejected"}
    assert len(history(catalog, "t1")) == 2


# -- queue ----------------------------------------------------------------------------------------

def test_uncertainty_is_highest_at_the_threshold():
    assert uncertainty(0.5, 0.5) == 1.0 and uncertainty(1.0, 0.5) == 0.0
    assert uncertainty(0.75, 0.5) == pytest.approx(0.5) and uncertainty(0.3, 0.5) == 1.0


def test_queue_puts_uncertain_tags_on_new_large_titles_first(tmp_path):
    today = dt.date(2024, 6, 1)
    with Catalog(tmp_path / "q.db") as catalog:
        write(catalog,
              make_result("new", tags=(("thriller", "genre", "Thriller", 0.55), ("dark", "mood", "Dark", 0.95)),
                          metadata={"release_date": "2024-06-01"}, scenes=8),
              make_result("old", tags=(("thriller", "genre", "Thriller", 0.55), ("tense", "mood", "Tense", 0.56)),
                          metadata={"year": 1990}, scenes=1))
        queue = review_queue(catalog, today=today)
        assert [(i["title_id"], i["tag"]) for i in queue] == [
            ("new", "thriller"), ("old", "thriller"), ("old", "tense"), ("new", "dark")]
        first = queue[0]
        # known answer: uncertainty 0.9, recency 1 (released today), reach ln(1 + 8 + 2) / ln(101)
        assert first["uncertainty"] == pytest.approx(0.9) and first["recency"] == 1.0
        assert first["reach"] == pytest.approx(math.log(11) / math.log(101), abs=1e-4)
        assert first["priority"] == pytest.approx(0.9 * (2 + math.log(11) / math.log(101)) / 3, abs=1e-4)
        assert queue[1]["recency"] == pytest.approx(0.5 ** ((today - dt.date(1990, 7, 1)).days / 365), abs=1e-4)
        assert priority(0.55, 0.5, 1.0, reach(8, 2)) == pytest.approx(first["priority"], abs=1e-4)
        assert [i["tag"] for i in review_queue(catalog, facet="mood", today=today)] == ["tense", "dark"]
        auth.add_editor(catalog, "ed", "ed-password")   # decided tags leave the queue
        bulk_decide(catalog, "accept", editor="ed", title_id="new")
        assert {i["title_id"] for i in review_queue(catalog, today=today)} == {"old"}


# -- editors --------------------------------------------------------------------------------------

def test_passwords_are_salted_hashes_and_tokens_are_stored_hashed(tmp_path):
    with Catalog(tmp_path / "e.db") as catalog:
        token_a = auth.add_editor(catalog, "a", "same-password")
        token_b = auth.add_editor(catalog, "b", "same-password")
        rows = {r["name"]: dict(r) for r in catalog.conn.execute("SELECT * FROM editors")}
        assert rows["a"]["password_hash"] != rows["b"]["password_hash"]
        assert rows["a"]["password_hash"].startswith("scrypt$") and "same-password" not in rows["a"]["password_hash"]
        assert token_a not in json.dumps(rows) and rows["a"]["token_hash"] == auth.hash_token(token_a)
        assert auth.editor_by_password(catalog, "a", "same-password") == "a"
        assert auth.editor_by_password(catalog, "a", "wrong-password") is None
        assert auth.editor_by_password(catalog, "nobody", "same-password") is None
        assert auth.editor_by_token(catalog, token_b) == "b" and auth.editor_by_token(catalog, "tgr_x") is None
        new = auth.new_editor_token(catalog, "b")
        assert auth.editor_by_token(catalog, token_b) is None and auth.editor_by_token(catalog, new) == "b"
        with pytest.raises(ReviewError, match="already exists"):
            auth.add_editor(catalog, "a", "another-password")
        with pytest.raises(ReviewError, match="at least 8"):
            auth.add_editor(catalog, "c", "short")
        with pytest.raises(ReviewError, match="editor name"):
            auth.add_editor(catalog, "<b>", "long-enough")
        assert auth.session_secret(catalog) == auth.session_secret(catalog)


# -- command line ---------------------------------------------------------------------------------

def test_review_commands_end_to_end(tmp_path):
    db = str(tmp_path / "cli.db")
    with Catalog(db) as catalog:
        write(catalog, make_result())
    runner = CliRunner()
    added = runner.invoke(cli, ["editors", "add", "carol", "--password-stdin", "--catalog", db],
                          input="carol-password\n")
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("tgr_")
    with Catalog(db) as catalog:
        assert auth.editor_by_token(catalog, token) == "carol"
    env = {"TAGGER_EDITOR": "carol", "TAGGER_CATALOG": db}
    queue = runner.invoke(cli, ["review", "queue", "--json"], env=env)
    assert [i["tag"] for i in json.loads(queue.output)] == ["heist", "tense", "thriller"]
    accept = runner.invoke(cli, ["review", "accept", "t1", "thriller", "heist", "--comment", "seen it"], env=env)
    assert accept.exit_code == 0 and "t1 heist: accepted by carol (version 2)" in accept.output
    reject = runner.invoke(cli, ["review", "reject", "t1", "tense", "--expect-version", "1"], env=env)
    assert reject.exit_code == 0, reject.output
    stale = runner.invoke(cli, ["review", "accept", "t1", "tense", "--expect-version", "1"], env=env)
    assert stale.exit_code == 1 and "you saw version 1, it is now version 2" in stale.output
    add = runner.invoke(cli, ["review", "add", "t1", "hospital"], env=env)
    assert add.exit_code == 0 and "hospital: added" in add.output
    log = runner.invoke(cli, ["review", "history", "t1"], env=env)
    assert log.exit_code == 0
    assert [line.split()[1:] for line in log.output.splitlines()] == [
        ["carol", "thriller:", "auto", "->", "accepted", '"seen', 'it"'],
        ["carol", "heist:", "auto", "->", "accepted", '"seen', 'it"'],
        ["carol", "tense:", "auto", "->", "rejected"], ["carol", "hospital:", "new", "->", "added"]]
    nobody = runner.invoke(cli, ["review", "accept", "t1", "thriller", "--catalog", db])
    assert nobody.exit_code == 1 and "TAGGER_EDITOR" in nobody.output
    assert runner.invoke(cli, ["review", "accept-all"], env=env).exit_code == 2
    assert "0 tag(s) accepted" in runner.invoke(cli, ["review", "accept-all", "--title", "t1"], env=env).output
