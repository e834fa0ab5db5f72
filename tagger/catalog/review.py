"""What the editors' review stores: editors and their hashed credentials, decisions on tags with
their append-only log, and the pending tags bulk decisions act on (the queue's stored order is
queue.py's). What a decision means, and how passwords are hashed, is tagger.review's; here is
only how it is kept."""
from __future__ import annotations

import json

from tagger.catalog.base import TITLE_SCENE, now, scene_idx_of, scene_of, tag_from_row
from tagger.catalog.records import TagRecord


class ReviewStore:
    # -- editors --------------------------------------------------------------------------
    def editor_exists(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM editors WHERE name=?", (name,)).fetchone() is not None

    def create_editor(self, name: str, *, password_hash: str, token_hash: str) -> None:
        self.conn.execute("INSERT INTO editors (name, password_hash, token_hash, created_at) VALUES (?,?,?,?)",
                          (name, password_hash, token_hash, now()))

    def set_editor_token_hash(self, name: str, token_hash: str) -> bool:
        """Replace an editor's token hash; False when there is no such editor."""
        cursor = self.conn.execute("UPDATE editors SET token_hash=? WHERE name=?", (token_hash, name))
        return cursor.rowcount == 1

    def set_editor_password_hash(self, name: str, password_hash: str) -> bool:
        """Replace an editor's password hash; False when there is no such editor."""
        cursor = self.conn.execute("UPDATE editors SET password_hash=? WHERE name=?", (password_hash, name))
        return cursor.rowcount == 1

    def editors(self) -> list[dict]:
        """name and created_at of every editor, by name."""
        return [dict(r) for r in self.conn.execute("SELECT name, created_at FROM editors ORDER BY name")]

    def editor_password_hash(self, name: str) -> str | None:
        row = self.conn.execute("SELECT password_hash FROM editors WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def editor_with_token_hash(self, token_hash: str) -> str | None:
        row = self.conn.execute("SELECT name FROM editors WHERE token_hash=?", (token_hash,)).fetchone()
        return row[0] if row else None

    # -- decisions ------------------------------------------------------------------------
    def record_decision(self, title_id: str, decided: TagRecord, *, before: TagRecord | None) -> TagRecord | None:
        """Store an editor's decision on a tag and append it to the log, in one transaction.

        `decided` carries the new status, editor and comment (for an added tag, the whole tag);
        `before` is the tag as the caller read it, None when the decision adds it. Returns the
        tag as stored now, or None when its row changed since `before` was read.
        """
        stamp = now()
        where = (title_id, decided.tag, scene_idx_of(decided.scene))
        with self.transaction():
            if before is None:
                self.conn.execute(
                    "INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities,"
                    " stages, evidence, run_id, editor, comment, updated_at, version)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?,?,?,1)",
                    (*where, decided.facet, decided.label, decided.confidence, decided.status,
                     json.dumps(decided.modalities), json.dumps(decided.stages), json.dumps(decided.evidence),
                     decided.editor, decided.comment, stamp))
            else:
                updated = self.conn.execute(
                    "UPDATE tags SET status=?, editor=?, comment=?, updated_at=?, version=version+1"
                    " WHERE title_id=? AND tag=? AND scene_idx=? AND version=?",
                    (decided.status, decided.editor, decided.comment, stamp, *where, before.version))
                if updated.rowcount != 1:
                    return None
            stored = self.tag(title_id, decided.tag, decided.scene)
            self.conn.execute(
                "INSERT INTO tag_decisions (title_id, tag, scene_idx, editor, at, before_status, before_confidence,"
                " after_status, version, comment) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*where, decided.editor, stamp, before.status if before else None,
                 before.confidence if before else None, stored.status, stored.version, decided.comment))
            self._requeue(title_id)
        return stored

    def pending_tags(self, *, title_id: str | None = None, facet: str | None = None,
                     min_confidence: float | None = None,
                     max_confidence: float | None = None) -> list[tuple[str, TagRecord]]:
        """(title id, tag) of the automatic title-level tags nobody decided on yet that match every
        filter given, by title id, most confident first."""
        sql = "SELECT * FROM tags WHERE status='auto' AND scene_idx=?"
        args: list = [TITLE_SCENE]
        for clause, value in (("title_id=?", title_id), ("facet=?", facet), ("confidence>=?", min_confidence),
                              ("confidence<=?", max_confidence)):
            if value is not None:
                sql += f" AND {clause}"
                args.append(value)
        return [(r["title_id"], tag_from_row(r))
                for r in self.conn.execute(sql + " ORDER BY title_id, confidence DESC", args)]

    def decided_tags(self) -> list[tuple[str, str, str]]:
        """(title id, tag, status) of every title-level tag whose current status an editor set
        (accepted, added, rejected), by title: the labels the learned tag models take from a catalog."""
        return [(r["title_id"], r["tag"], r["status"]) for r in self.conn.execute(
            "SELECT title_id, tag, status FROM tags WHERE scene_idx=? AND status IN ('accepted', 'added', 'rejected')"
            " ORDER BY title_id, tag", (TITLE_SCENE,))]

    def decisions(self, title_id: str, tag: str | None = None, *, after_id: int | None = None,
                  limit: int | None = None, newest_first: bool = False) -> list[dict]:
        """The title's logged decisions (of one tag, when given), oldest first (newest first with
        `newest_first`); up to `limit` of them, after the decision `after_id` in that order."""
        sql, args = "SELECT * FROM tag_decisions WHERE title_id=?", [title_id]
        if tag is not None:
            sql += " AND tag=?"
            args.append(tag)
        if after_id is not None:
            sql += " AND id < ?" if newest_first else " AND id > ?"
            args.append(after_id)
        sql += " ORDER BY id DESC LIMIT ?" if newest_first else " ORDER BY id LIMIT ?"
        args.append(-1 if limit is None else limit)
        return [{"id": r["id"], "title_id": r["title_id"], "tag": r["tag"], "scene": scene_of(r["scene_idx"]),
                 "editor": r["editor"], "at": r["at"], "before_status": r["before_status"],
                 "before_confidence": r["before_confidence"], "after_status": r["after_status"],
                 "version": r["version"], "comment": r["comment"]}
                for r in self.conn.execute(sql, args)]
