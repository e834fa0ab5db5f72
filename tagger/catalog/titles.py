"""A title's records in the catalog: the one transaction that stores an analysis, the failure
that keeps it, and the readers that give the same records back."""
from __future__ import annotations

import json
import sqlite3

import numpy as np

from tagger.catalog.base import TITLE_SCENE, now, scene_idx_of, tag_from_row
from tagger.catalog.records import (AssetRecord, EmbeddingRecord, KeyframeRecord, SceneRecord, TagRecord,
                                    TitleResult)


class TitleStore:
    # -- skip checks ----------------------------------------------------------------------
    def fingerprint(self, title_id: str) -> tuple[str, str | None] | None:
        row = self.conn.execute("SELECT status, fingerprint FROM titles WHERE id=?", (title_id,)).fetchone()
        return (row["status"], row["fingerprint"]) if row else None

    def known_sha256(self, path: str, size_bytes: int, mtime_ns: int) -> str | None:
        row = self.conn.execute("SELECT sha256 FROM assets WHERE path=? AND size_bytes=? AND mtime_ns=? LIMIT 1",
                                (path, size_bytes, mtime_ns)).fetchone()
        return row["sha256"] if row else None

    # -- writes ---------------------------------------------------------------------------
    def write_title(self, result: TitleResult, *, run_id: int) -> None:
        """Replace the title's automatic results in one transaction; editors' tags stay."""
        stamp = now()
        title_id = result.id
        c = self.conn
        with self.transaction():
            self._upsert_title(result, run_id=run_id, stamp=stamp)
            for table in ("assets", "scenes", "keyframes", "features", "embeddings"):
                c.execute(f"DELETE FROM {table} WHERE title_id=?", (title_id,))
            c.execute("DELETE FROM tags WHERE title_id=? AND status='auto'", (title_id,))
            c.executemany("INSERT OR REPLACE INTO assets VALUES (?,?,?,?,?,?,?)",
                          [(title_id, a.kind, a.path, a.size_bytes, a.mtime_ns, a.sha256, a.language)
                           for a in result.assets])
            c.executemany("INSERT INTO scenes VALUES (?,?,?,?,?,?)",
                          [(title_id, s.index, s.start_s, s.end_s, s.start_frame, s.end_frame) for s in result.scenes])
            c.executemany("INSERT OR REPLACE INTO keyframes VALUES (?,?,?,?,?,?)",
                          [(title_id, s.index, k.frame, k.time_s, k.sharpness, k.jpeg)
                           for s in result.scenes for k in s.keyframes])
            rows = [(title_id, TITLE_SCENE, name, json.dumps(value)) for name, value in result.features.items()]
            for scene in result.scenes:
                rows += [(title_id, scene.index, name, json.dumps(value)) for name, value in scene.features.items()]
            c.executemany("INSERT INTO features VALUES (?,?,?,?)", rows)
            # A tag an editor decided on keeps the editor's row.
            decided = {(r[0], r[1]) for r in c.execute(
                "SELECT tag, scene_idx FROM tags WHERE title_id=? AND status != 'auto'", (title_id,))}
            c.executemany("INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities,"
                          " stages, evidence, run_id, updated_at) VALUES (?,?,?,?,?,?,'auto',?,?,?,?,?)",
                          [(title_id, t.tag, scene_idx_of(t.scene), t.facet, t.label, t.confidence,
                            json.dumps(t.modalities), json.dumps(t.stages), json.dumps(t.evidence), run_id, stamp)
                           for t in result.tags if (t.tag, scene_idx_of(t.scene)) not in decided])
            c.executemany("INSERT INTO embeddings VALUES (?,?,?,?,?,?)",
                          [(title_id, e.space, e.model_id, e.dim, e.version, np.asarray(e.vector, "<f4").tobytes())
                           for e in result.embeddings])
            self._requeue(title_id)

    def write_failure(self, result: TitleResult, *, run_id: int) -> None:
        """Mark the title failed with its error; what an earlier run stored is kept."""
        with self.transaction():
            self._upsert_title(result, run_id=run_id, stamp=now(), keep_previous=True)
            self._requeue(result.id)   # its metadata and run changed; the priorities depend on them

    def _upsert_title(self, r: TitleResult, *, run_id: int, stamp: str, keep_previous: bool = False) -> None:
        exists = self.title_exists(r.id)
        values = {"title": r.title, "metadata": json.dumps(r.metadata), "status": r.status, "error": r.error,
                  "source": r.source, "run_id": run_id, "fingerprint": r.fingerprint, "analysis_s": r.analysis_s,
                  "modalities": json.dumps(r.modalities), "updated_at": stamp}
        if not keep_previous or not exists:
            values.update({"duration_s": r.duration_s, "media": json.dumps(r.media),
                           "micro_genres": json.dumps(r.micro_genres)})
        if exists:
            assignments = ", ".join(f"{k}=?" for k in values)
            self.conn.execute(f"UPDATE titles SET {assignments} WHERE id=?", (*values.values(), r.id))
        else:
            values.update({"id": r.id, "created_at": stamp})
            self.conn.execute(f"INSERT INTO titles ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                              tuple(values.values()))

    # -- one title's records --------------------------------------------------------------
    def title_exists(self, title_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM titles WHERE id=?", (title_id,)).fetchone() is not None

    def title_ids(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT id FROM titles ORDER BY id")]

    def _title_row(self, title_id: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM titles WHERE id=?", (title_id,)).fetchone()

    def read_title(self, title_id: str, *, jpeg: bool = False) -> TitleResult | None:
        """The title as stored, in the records Catalog.write_title takes (keyframe images when `jpeg`)."""
        row = self._title_row(title_id)
        return self._title_record(row, jpeg=jpeg) if row is not None else None

    def _title_record(self, row: sqlite3.Row, *, jpeg: bool = False) -> TitleResult:
        title_id = row["id"]
        features = self._features(title_id)
        return TitleResult(
            id=title_id, title=row["title"], source=row["source"], metadata=json.loads(row["metadata"]),
            status=row["status"], error=row["error"], analysis_s=row["analysis_s"] or 0.0,
            duration_s=row["duration_s"], media=json.loads(row["media"]) if row["media"] else None,
            modalities=json.loads(row["modalities"]), scenes=self._scenes(title_id, features, jpeg=jpeg),
            features=features.get(TITLE_SCENE, {}), tags=self.tags(title_id),
            micro_genres=json.loads(row["micro_genres"]), embeddings=self.title_embeddings(title_id),
            assets=self.assets(title_id), fingerprint=row["fingerprint"])

    def tags(self, title_id: str) -> list[TagRecord]:
        """Title tags first, then each scene's; the most confident first within each."""
        return [tag_from_row(t) for t in self.conn.execute(
            "SELECT * FROM tags WHERE title_id=? ORDER BY scene_idx, confidence DESC", (title_id,))]

    def tag(self, title_id: str, tag: str, scene: int | None) -> TagRecord | None:
        row = self.conn.execute("SELECT * FROM tags WHERE title_id=? AND tag=? AND scene_idx=?",
                                (title_id, tag, scene_idx_of(scene))).fetchone()
        return tag_from_row(row) if row else None

    def _scenes(self, title_id: str, features: dict[int, dict], *, jpeg: bool) -> list[SceneRecord]:
        keyframes: dict[int, list[KeyframeRecord]] = {}
        columns = "scene_idx, frame, time_s, sharpness" + (", jpeg" if jpeg else "")
        for k in self.conn.execute(f"SELECT {columns} FROM keyframes WHERE title_id=? ORDER BY scene_idx, frame",
                                   (title_id,)):
            keyframes.setdefault(k["scene_idx"], []).append(
                KeyframeRecord(k["frame"], k["time_s"], k["sharpness"], bytes(k["jpeg"]) if jpeg else b""))
        return [SceneRecord(s["idx"], s["start_s"], s["end_s"], s["start_frame"], s["end_frame"],
                            keyframes=keyframes.get(s["idx"], []), features=features.get(s["idx"], {}))
                for s in self.conn.execute("SELECT * FROM scenes WHERE title_id=? ORDER BY idx", (title_id,))]

    def _features(self, title_id: str) -> dict[int, dict]:
        """scene_idx -> {"visual.brightness": value, ...}, TITLE_SCENE for the title's own."""
        out: dict[int, dict] = {}
        for f in self.conn.execute("SELECT scene_idx, name, value FROM features WHERE title_id=?"
                                   " ORDER BY scene_idx, name", (title_id,)):
            out.setdefault(f["scene_idx"], {})[f["name"]] = json.loads(f["value"])
        return out

    def assets(self, title_id: str) -> list[AssetRecord]:
        return [AssetRecord(a["kind"], a["path"], a["size_bytes"], a["mtime_ns"], a["sha256"], a["language"])
                for a in self.conn.execute("SELECT * FROM assets WHERE title_id=? ORDER BY path", (title_id,))]

    def title_embeddings(self, title_id: str) -> list[EmbeddingRecord]:
        return [EmbeddingRecord(e["space"], e["model_id"], e["version"], np.frombuffer(e["vector"], "<f4").copy())
                for e in self.conn.execute("SELECT * FROM embeddings WHERE title_id=? ORDER BY space", (title_id,))]

    def keyframe_jpeg(self, title_id: str, scene: int, frame: int) -> bytes | None:
        row = self.conn.execute("SELECT jpeg FROM keyframes WHERE title_id=? AND scene_idx=? AND frame=?",
                                (title_id, scene, frame)).fetchone()
        return bytes(row[0]) if row else None

    def video_paths(self, title_id: str) -> list[str]:
        """The title's video files, by path."""
        return [r[0] for r in self.conn.execute(
            "SELECT path FROM assets WHERE title_id=? AND kind='video' ORDER BY path", (title_id,))]

    # -- every title at once (the recommender) --------------------------------------------
    def analysed_titles(self) -> list[dict]:
        """Titles whose last ingest succeeded, by id: id, title, metadata, created_at."""
        return [{"id": r["id"], "title": r["title"], "metadata": json.loads(r["metadata"]),
                 "created_at": r["created_at"]}
                for r in self.conn.execute("SELECT id, title, metadata, created_at FROM titles"
                                           " WHERE status='ok' ORDER BY id")]

    def effective_title_tags(self) -> list[tuple[str, str, str, float, str]]:
        """(title_id, tag, label, confidence, status) of every title-level tag nobody rejected."""
        cursor = self.conn.cursor()
        cursor.row_factory = None   # plain tuples: this can be millions of rows
        return cursor.execute("SELECT title_id, tag, label, confidence, status FROM tags"
                              " WHERE scene_idx=? AND status != 'rejected'", (TITLE_SCENE,)).fetchall()

    def embedding_vectors(self, space: str) -> list[tuple[str, np.ndarray]]:
        """(title_id, float32 vector) of every title with an embedding in `space`, by title id."""
        return [(r[0], np.frombuffer(r[1], "<f4")) for r in self.conn.execute(
            "SELECT title_id, vector FROM embeddings WHERE space=? ORDER BY title_id", (space,))]

    def embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        """Title ids and their stacked vectors in `space` (one model, so one size)."""
        found = self.embedding_vectors(space)
        if not found:
            return [], np.zeros((0, 0), np.float32)
        return [title_id for title_id, _ in found], np.stack([vector for _, vector in found])

    # -- every title's scenes at once (artwork candidates) --------------------------------
    def scenes_of_titles(self, feature_names: tuple[str, ...]) -> dict[str, list[SceneRecord]]:
        """title id -> its scenes with keyframes (no images) and only the named scene features,
        for every title whose last ingest succeeded: one pass per table, not one per title."""
        ok = "SELECT id FROM titles WHERE status='ok'"
        features: dict[tuple[str, int], dict] = {}
        marks = ",".join("?" * len(feature_names))
        for title_id, scene_idx, name, value in self.conn.execute(
                f"SELECT title_id, scene_idx, name, value FROM features WHERE scene_idx != ? AND name IN ({marks})"
                f" AND title_id IN ({ok})", (TITLE_SCENE, *feature_names)):
            features.setdefault((title_id, scene_idx), {})[name] = json.loads(value)
        keyframes: dict[tuple[str, int], list[KeyframeRecord]] = {}
        for title_id, scene_idx, frame, time_s, sharpness in self.conn.execute(
                f"SELECT title_id, scene_idx, frame, time_s, sharpness FROM keyframes WHERE title_id IN ({ok})"
                " ORDER BY title_id, scene_idx, frame"):
            keyframes.setdefault((title_id, scene_idx), []).append(KeyframeRecord(frame, time_s, sharpness))
        out: dict[str, list[SceneRecord]] = {}
        for s in self.conn.execute(f"SELECT * FROM scenes WHERE title_id IN ({ok}) ORDER BY title_id, idx"):
            key = (s["title_id"], s["idx"])
            out.setdefault(s["title_id"], []).append(SceneRecord(
                s["idx"], s["start_s"], s["end_s"], s["start_frame"], s["end_frame"],
                keyframes=keyframes.get(key, []), features=features.get(key, {})))
        return out

    def scene_tags_of_titles(self) -> list[tuple[str, int, str, str, float]]:
        """(title_id, scene, tag, facet, confidence) of every scene-level tag nobody rejected."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor.execute("SELECT title_id, scene_idx, tag, facet, confidence FROM tags"
                              " WHERE scene_idx != ? AND status != 'rejected'", (TITLE_SCENE,)).fetchall()
