"""The catalog's connection: opening, migrations, transactions, and the row conversions the
other catalog modules share. The title-level marker of scene columns lives here and in SQL only."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tagger.catalog.records import TagRecord
from tagger.catalog.schema import MIGRATIONS
from tagger.errors import TaggerError

TITLE_SCENE = -1   # scene_idx of title-level rows; `scene` is None for them at every interface


def scene_idx_of(scene: int | None) -> int:
    return TITLE_SCENE if scene is None else scene


def scene_of(scene_idx: int) -> int | None:
    return None if scene_idx == TITLE_SCENE else scene_idx


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def tag_from_row(row: sqlite3.Row) -> TagRecord:
    return TagRecord(tag=row["tag"], facet=row["facet"], label=row["label"], confidence=row["confidence"],
                     scene=scene_of(row["scene_idx"]), status=row["status"],
                     modalities=json.loads(row["modalities"]), evidence=json.loads(row["evidence"]),
                     stages=json.loads(row["stages"]), editor=row["editor"], comment=row["comment"],
                     version=row["version"], updated_at=row["updated_at"])


class CatalogBase:
    """One SQLite file in WAL mode, migrated to the latest schema on opening."""

    def __init__(self, path: str | Path):
        self.path = str(path)
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any error. Inside an open transaction
        it joins that one, so a write that is atomic alone can be part of a larger one."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise TaggerError(f"{self.path}: catalog schema {current} is newer than this tagger "
                              f"({len(MIGRATIONS)}); upgrade tagger")
        for version in range(current, len(MIGRATIONS)):
            with self.transaction():
                for statement in _statements(MIGRATIONS[version]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {version + 1}")


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
