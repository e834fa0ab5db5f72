"""Runs (what each ingest used: pipeline, taxonomy, versions, counts) and the settings table."""
from __future__ import annotations

import json

from tagger.catalog.base import now


class RunStore:
    def start_run(self, *, tagger_version: str, pipeline: dict, versions: dict) -> int:
        cursor = self.conn.execute(
            "INSERT INTO runs (started_at, tagger_version, pipeline_name, pipeline, versions) VALUES (?,?,?,?,?)",
            (now(), tagger_version, pipeline["name"], json.dumps(pipeline), json.dumps(versions)))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, *, ok: int, failed: int, skipped: int) -> None:
        self.conn.execute("UPDATE runs SET finished_at=?, titles_ok=?, titles_failed=?, titles_skipped=? WHERE id=?",
                          (now(), ok, failed, skipped, run_id))

    def run(self, run_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["pipeline"] = json.loads(out["pipeline"])
        out["versions"] = json.loads(out["versions"])
        return out

    def title_pipeline(self, title_id: str) -> dict | None:
        """The pipeline description of the run that produced the title (None if unknown)."""
        row = self.conn.execute("SELECT r.pipeline FROM titles t LEFT JOIN runs r ON r.id = t.run_id"
                                " WHERE t.id=?", (title_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def setting(self, key: str, *, default=None) -> str | None:
        """A value from the settings table; with default (a callable), a missing one is stored once."""
        row = self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        if row is not None or default is None:
            return row[0] if row else None
        # INSERT OR IGNORE: when two processes race, the first value wins and both read it back.
        self.conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (key, default()))
        return self.conn.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()[0]
