"""Reads and writes of the catalog. Each title is written in one transaction."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

import numpy as np

from tagger.catalog.schema import MIGRATIONS
from tagger.errors import TaggerError

DEFAULT_PATH = "tagger.db"
TITLE_SCENE = -1   # scene_idx of title-level rows


def default_path() -> str:
    return os.environ.get("TAGGER_CATALOG") or DEFAULT_PATH


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Catalog:
    def __init__(self, path: str | Path | None = None):
        self.path = str(path or default_path())
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except sqlite3.Error as error:
            raise TaggerError(f"{self.path}: cannot open catalog: {error}") from None
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise TaggerError(f"{self.path}: not a tagger catalog: {error}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- schema ---------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise TaggerError(f"{self.path}: catalog schema {current} is newer than this tagger "
                              f"({len(MIGRATIONS)}); upgrade tagger")
        for version in range(current, len(MIGRATIONS)):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[version]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {version + 1}")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, *, tagger_version: str, pipeline: dict, versions: dict) -> int:
        cursor = self.conn.execute(
            "INSERT INTO runs (started_at, tagger_version, pipeline_name, pipeline, versions) VALUES (?,?,?,?,?)",
            (_now(), tagger_version, pipeline["name"], json.dumps(pipeline), json.dumps(versions)))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, *, ok: int, failed: int, skipped: int) -> None:
        self.conn.execute("UPDATE runs SET finished_at=?, titles_ok=?, titles_failed=?, titles_skipped=? WHERE id=?",
                          (_now(), ok, failed, skipped, run_id))

    def run(self, run_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["pipeline"] = json.loads(out["pipeline"])
        out["versions"] = json.loads(out["versions"])
        return out

    # -- skip checks ----------------------------------------------------------------------
    def fingerprint(self, title_id: str) -> tuple[str, str | None] | None:
        row = self.conn.execute("SELECT status, fingerprint FROM titles WHERE id=?", (title_id,)).fetchone()
        return (row["status"], row["fingerprint"]) if row else None

    def known_sha256(self, path: str, size_bytes: int, mtime_ns: int) -> str | None:
        row = self.conn.execute("SELECT sha256 FROM assets WHERE path=? AND size_bytes=? AND mtime_ns=? LIMIT 1",
                                (path, size_bytes, mtime_ns)).fetchone()
        return row["sha256"] if row else None

    # -- writes ---------------------------------------------------------------------------
    def write_title(self, result: dict, *, run_id: int) -> None:
        """Replace the title's automatic results in one transaction; editors' tags stay."""
        now = _now()
        title_id = result["id"]
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            self._upsert_title(result, run_id=run_id, now=now)
            for table in ("assets", "scenes", "keyframes", "features", "embeddings"):
                c.execute(f"DELETE FROM {table} WHERE title_id=?", (title_id,))
            c.execute("DELETE FROM tags WHERE title_id=? AND status='auto'", (title_id,))
            self._insert_assets(title_id, result["assets"])
            c.executemany("INSERT INTO scenes VALUES (?,?,?,?,?,?)",
                          [(title_id, s["index"], s["start_s"], s["end_s"], s["start_frame"], s["end_frame"])
                           for s in result["scenes"]])
            c.executemany("INSERT OR REPLACE INTO keyframes VALUES (?,?,?,?,?,?)",
                          [(title_id, s["index"], k["frame"], k["time_s"], k["sharpness"], k["jpeg"])
                           for s in result["scenes"] for k in s["keyframes"]])
            rows = [(title_id, TITLE_SCENE, name, json.dumps(value)) for name, value in result["features"].items()]
            for scene in result["scenes"]:
                rows += [(title_id, scene["index"], name, json.dumps(value))
                         for name, value in scene["features"].items()]
            c.executemany("INSERT INTO features VALUES (?,?,?,?)", rows)
            # A tag an editor decided on keeps the editor's row.
            decided = {(r[0], r[1]) for r in c.execute(
                "SELECT tag, scene_idx FROM tags WHERE title_id=? AND status != 'auto'", (title_id,))}
            tag_rows = []
            for t in result["tags"]:
                scene = TITLE_SCENE if t["scene"] is None else t["scene"]
                if (t["tag"], scene) not in decided:
                    tag_rows.append((title_id, t["tag"], scene, t["facet"], t["label"], t["confidence"],
                                     json.dumps(t["modalities"]), json.dumps(t["stages"]),
                                     json.dumps(t["evidence"]), run_id, now))
            c.executemany("INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities,"
                          " stages, evidence, run_id, updated_at) VALUES (?,?,?,?,?,?,'auto',?,?,?,?,?)", tag_rows)
            c.executemany("INSERT INTO embeddings VALUES (?,?,?,?,?,?)",
                          [(title_id, e["space"], e["model_id"], e["dim"], e["version"],
                            np.asarray(e["vector"], "<f4").tobytes()) for e in result["embeddings"]])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def write_failure(self, result: dict, *, run_id: int) -> None:
        """Mark the title failed with its error; what an earlier run stored is kept."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            self._upsert_title(result, run_id=run_id, now=_now(), keep_previous=True)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def _upsert_title(self, r: dict, *, run_id: int, now: str, keep_previous: bool = False) -> None:
        exists = self.conn.execute("SELECT 1 FROM titles WHERE id=?", (r["id"],)).fetchone()
        values = {"title": r["title"], "metadata": json.dumps(r["metadata"]), "status": r["status"],
                  "error": r.get("error"), "source": r.get("source"), "run_id": run_id,
                  "fingerprint": r.get("fingerprint"), "analysis_s": r.get("analysis_s"),
                  "modalities": json.dumps(r.get("modalities", {})), "updated_at": now}
        if not keep_previous or not exists:
            values.update({"duration_s": r.get("duration_s"), "media": json.dumps(r.get("media")),
                           "micro_genres": json.dumps(r.get("micro_genres", []))})
        if exists:
            assignments = ", ".join(f"{k}=?" for k in values)
            self.conn.execute(f"UPDATE titles SET {assignments} WHERE id=?", (*values.values(), r["id"]))
        else:
            values.update({"id": r["id"], "created_at": now})
            self.conn.execute(f"INSERT INTO titles ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                              tuple(values.values()))

    def _insert_assets(self, title_id: str, assets: list[dict]) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO assets VALUES (?,?,?,?,?,?,?)",
                              [(title_id, a["kind"], a["path"], a["size_bytes"], a["mtime_ns"], a["sha256"],
                                a.get("language")) for a in assets])

    # -- reads ----------------------------------------------------------------------------
    def title_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM titles ORDER BY id")]

    def list_titles(self) -> list[dict]:
        rows = self.conn.execute(
            "SELECT t.id, t.title, t.status, t.error, t.duration_s, t.micro_genres, t.updated_at,"
            " (SELECT COUNT(*) FROM scenes s WHERE s.title_id=t.id) AS scene_count,"
            " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=-1"
            "   AND g.status != 'rejected') AS tag_count"
            " FROM titles t ORDER BY t.id").fetchall()
        return [{"id": r["id"], "title": r["title"], "status": r["status"], "error": r["error"],
                 "duration_s": r["duration_s"], "scenes": r["scene_count"], "tags": r["tag_count"],
                 "micro_genres": json.loads(r["micro_genres"]), "updated_at": r["updated_at"]}
                for r in rows]

    def title(self, title_id: str) -> dict | None:
        """Everything about a title in the shape of `tagger show --json`."""
        row = self.conn.execute("SELECT * FROM titles WHERE id=?", (title_id,)).fetchone()
        if row is None:
            return None
        features = {"visual": {}, "audio": {}, "dialogue": {}}
        scene_features: dict[int, dict] = {}
        for f in self.conn.execute("SELECT scene_idx, name, value FROM features WHERE title_id=?", (title_id,)):
            modality, _, name = f["name"].partition(".")
            target = features if f["scene_idx"] == TITLE_SCENE else scene_features.setdefault(
                f["scene_idx"], {"visual": {}, "audio": {}, "dialogue": {}})
            target.setdefault(modality, {})[name] = json.loads(f["value"])
        keyframes: dict[int, list] = {}
        for k in self.conn.execute("SELECT scene_idx, frame, time_s, sharpness FROM keyframes WHERE title_id=?"
                                   " ORDER BY scene_idx, frame", (title_id,)):
            keyframes.setdefault(k["scene_idx"], []).append(
                {"frame": k["frame"], "time_s": round(k["time_s"], 3), "sharpness": round(k["sharpness"], 1)})
        scenes = [{"index": s["idx"], "start_s": round(s["start_s"], 3), "end_s": round(s["end_s"], 3),
                   "start_frame": s["start_frame"], "end_frame": s["end_frame"],
                   "keyframes": keyframes.get(s["idx"], []),
                   "features": scene_features.get(s["idx"], {})}
                  for s in self.conn.execute("SELECT * FROM scenes WHERE title_id=? ORDER BY idx", (title_id,))]
        tags = [tag_dict(t) for t in self.conn.execute(
            "SELECT * FROM tags WHERE title_id=? ORDER BY scene_idx, confidence DESC", (title_id,))]
        embeddings = {e["space"]: e["dim"] for e in self.conn.execute(
            "SELECT space, dim FROM embeddings WHERE title_id=?", (title_id,))}
        embedding_models = {e["space"]: {"model_id": e["model_id"], "dim": e["dim"], "version": e["version"]}
                            for e in self.conn.execute("SELECT space, model_id, dim, version FROM embeddings"
                                                       " WHERE title_id=?", (title_id,))}
        assets = [dict(a) for a in self.conn.execute(
            "SELECT kind, path, size_bytes, sha256, language FROM assets WHERE title_id=?", (title_id,))]
        metadata = json.loads(row["metadata"])
        out = {"id": row["id"], "title": row["title"], "status": row["status"]}
        if row["error"]:
            out["error"] = row["error"]
        out.update({
            **{k: metadata.get(k) for k in ("synopsis", "year", "original_language", "regions",
                                            "release_date", "cast", "genres")},
            "duration_s": row["duration_s"], "media": json.loads(row["media"]) if row["media"] else None,
            "assets": assets, "scenes": scenes,
            "tags": [t for t in tags if t["scene"] is None],
            "scene_tags": [t for t in tags if t["scene"] is not None],
            "micro_genres": json.loads(row["micro_genres"]), "features": features,
            "embeddings": embeddings, "embedding_models": embedding_models,
            "modalities": json.loads(row["modalities"]), "run": self._run_summary(row["run_id"]),
            "analysis_s": row["analysis_s"], "updated_at": row["updated_at"],
        })
        return out

    def _run_summary(self, run_id: int | None) -> dict | None:
        run = self.run(run_id) if run_id is not None else None
        if run is None:
            return None
        return {"id": run["id"], "started_at": run["started_at"], "tagger_version": run["tagger_version"],
                "pipeline": run["pipeline"].get("name"), "taxonomy": run["pipeline"].get("taxonomy"),
                "settings": run["pipeline"].get("settings"), "versions": run["versions"]}

    def embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        rows = self.conn.execute("SELECT title_id, vector FROM embeddings WHERE space=? ORDER BY title_id",
                                 (space,)).fetchall()
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        return [r[0] for r in rows], np.stack([np.frombuffer(r[1], "<f4") for r in rows])

    def setting(self, key: str, *, default=None) -> str | None:
        """A value from the settings table; with default (a callable), a missing one is stored once."""
        row = self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        if row is not None or default is None:
            return row[0] if row else None
        # INSERT OR IGNORE: when two processes race, the first value wins and both read it back.
        self.conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (key, default()))
        return self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()[0]

    def keyframe_jpeg(self, title_id: str, scene_idx: int, frame: int) -> bytes | None:
        row = self.conn.execute("SELECT jpeg FROM keyframes WHERE title_id=? AND scene_idx=? AND frame=?",
                                (title_id, scene_idx, frame)).fetchone()
        return bytes(row[0]) if row else None


def tag_dict(t: sqlite3.Row) -> dict:
    return {"tag": t["tag"], "facet": t["facet"], "label": t["label"], "confidence": t["confidence"],
            "status": t["status"], "scene": None if t["scene_idx"] == TITLE_SCENE else t["scene_idx"],
            "modalities": json.loads(t["modalities"]), "stages": json.loads(t["stages"]),
            "evidence": json.loads(t["evidence"]), "editor": t["editor"], "comment": t["comment"],
            "version": t["version"], "updated_at": t["updated_at"]}


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement keeps a `;` inside a string
    or a trigger body where it belongs (executescript would commit the open transaction)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
