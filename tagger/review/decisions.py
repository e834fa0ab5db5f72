"""Editors' decisions on tags: accept, reject, add, bulk actions, and the append-only log.

Every decision runs in one transaction that checks the tag's version (optimistic concurrency:
the caller passes the version it saw; a different one raises ConflictError), updates the
tag row, bumps its version and appends a row to ``tag_decisions``. Re-ingest never touches
a decided row (Catalog.write_title), so decisions survive ``tagger ingest --force``.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tagger.catalog.db import TITLE_SCENE, tag_dict
from tagger.errors import TaggerError

ACTIONS = {"accept": "accepted", "reject": "rejected", "add": "added"}
ADDED_CONFIDENCE = 1.0   # an editor's own tag: certain by definition


class ReviewError(TaggerError):
    """A decision that cannot be made as asked (unknown editor, bad action)."""


class NotFoundError(ReviewError):
    """The title or tag does not exist."""


class ConflictError(ReviewError):
    """The tag changed since the editor saw it, or the decision contradicts the stored row."""

    def __init__(self, message: str, current: dict | None = None):
        super().__init__(message)
        self.current = current   # the tag as stored now, for the client to show


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _where(title_id: str, tag: str, scene_idx: int) -> str:
    return f"tag {tag!r} on title {title_id!r}" + (f" scene {scene_idx}" if scene_idx != TITLE_SCENE else "")


def require_editor(catalog, editor: str | None) -> str:
    if not editor:
        raise ReviewError("no editor given: pass --editor NAME or set TAGGER_EDITOR")
    if catalog.conn.execute("SELECT 1 FROM editors WHERE name=?", (editor,)).fetchone() is None:
        raise ReviewError(f"no editor {editor!r} in {catalog.path}; create one with `tagger editors add {editor}`")
    return editor


def title_taxonomy(catalog, title_id: str):
    """The taxonomy of the run that produced the title (the bundled default if that file is gone)."""
    from tagger.tagging.taxonomy import load_taxonomy

    row = catalog.conn.execute("SELECT r.pipeline FROM titles t LEFT JOIN runs r ON r.id = t.run_id"
                               " WHERE t.id=?", (title_id,)).fetchone()
    taxonomy = json.loads(row[0]).get("taxonomy") if row and row[0] else None
    if taxonomy and taxonomy.get("path") and Path(taxonomy["path"]).is_file():
        return load_taxonomy(taxonomy["path"])
    return load_taxonomy((taxonomy or {}).get("id") or "default")


def decide(catalog, title_id: str, tag: str, action: str, *, editor: str, comment: str | None = None,
           scene_idx: int = TITLE_SCENE, expected_version: int | None = None) -> dict:
    """Record one decision; returns the tag as stored afterwards (with ``title_id``).

    expected_version: the version the editor saw (0 for a tag that was not there, as for
    ``add``); None skips the check (the command line acting on what is stored now).
    """
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
    require_editor(catalog, editor)
    if catalog.conn.execute("SELECT 1 FROM titles WHERE id=?", (title_id,)).fetchone() is None:
        raise NotFoundError(f"no title {title_id!r} in {catalog.path}")
    taxonomy_tag = None
    if action == "add":
        try:
            taxonomy_tag = title_taxonomy(catalog, title_id).tag(tag)
        except KeyError as error:
            raise NotFoundError(error.args[0]) from None
    c = catalog.conn
    c.execute("BEGIN IMMEDIATE")
    try:
        result = _decide_in_transaction(c, title_id, tag, action, editor=editor, comment=comment,
                                        scene_idx=scene_idx, expected_version=expected_version,
                                        taxonomy_tag=taxonomy_tag)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return result


def _decide_in_transaction(c, title_id, tag, action, *, editor, comment, scene_idx, expected_version,
                           taxonomy_tag) -> dict:
    where = _where(title_id, tag, scene_idx)
    row = c.execute("SELECT * FROM tags WHERE title_id=? AND tag=? AND scene_idx=?",
                    (title_id, tag, scene_idx)).fetchone()
    current = {"title_id": title_id, **tag_dict(row)} if row else None
    seen = 0 if row is None else row["version"]
    if expected_version is not None and expected_version != seen:
        if row is None:
            state = "no longer on the title (a re-ingest removed it)"
        else:
            state = f"now version {seen} ({row['status']}" + (f" by {row['editor']})" if row["editor"] else ")")
        raise ConflictError(f"{where} changed since you saw it: you saw version {expected_version}, it is "
                            f"{state}; reload and decide again", current)
    now = _now()
    after = ACTIONS[action]
    if action == "add":
        if row is not None:
            raise ConflictError(f"{where} is already there (status {row['status']}); accept or reject it instead",
                                current)
        c.execute("INSERT INTO tags (title_id, tag, scene_idx, facet, label, confidence, status, modalities,"
                  " stages, evidence, run_id, editor, comment, updated_at, version)"
                  " VALUES (?,?,?,?,?,?,'added','[]',?,'[]',NULL,?,?,?,1)",
                  (title_id, tag, scene_idx, taxonomy_tag.facet, taxonomy_tag.label, ADDED_CONFIDENCE,
                   json.dumps({"editor": {"name": editor}}), editor, comment, now))
    else:
        if row is None:
            raise NotFoundError(f"{where} does not exist; `tagger show {title_id}` lists its tags"
                                + ("" if action == "reject" else ", and `add` puts a new one on"))
        if row["status"] == after:
            return current   # already so: nothing to record
        updated = c.execute("UPDATE tags SET status=?, editor=?, comment=?, updated_at=?, version=version+1"
                            " WHERE title_id=? AND tag=? AND scene_idx=? AND version=?",
                            (after, editor, comment, now, title_id, tag, scene_idx, row["version"]))
        if updated.rowcount != 1:   # cannot happen inside BEGIN IMMEDIATE; a guard, not a code path
            raise ConflictError(f"{where} changed during the decision; try again", current)
    new = c.execute("SELECT * FROM tags WHERE title_id=? AND tag=? AND scene_idx=?",
                    (title_id, tag, scene_idx)).fetchone()
    c.execute("INSERT INTO tag_decisions (title_id, tag, scene_idx, editor, at, before_status, before_confidence,"
              " after_status, version, comment) VALUES (?,?,?,?,?,?,?,?,?,?)",
              (title_id, tag, scene_idx, editor, now, row["status"] if row else None,
               row["confidence"] if row else None, after, new["version"], comment))
    return {"title_id": title_id, **tag_dict(new)}


def bulk_decide(catalog, action: str, *, editor: str, title_id: str | None = None, facet: str | None = None,
                min_confidence: float | None = None, max_confidence: float | None = None,
                comment: str | None = None) -> list[dict]:
    """Accept or reject every pending (auto) title-level tag that matches, in one transaction."""
    if action not in ("accept", "reject"):
        raise ReviewError(f"bulk action must be accept or reject, not {action!r}")
    require_editor(catalog, editor)
    if title_id is not None and catalog.conn.execute("SELECT 1 FROM titles WHERE id=?", (title_id,)).fetchone() is None:
        raise NotFoundError(f"no title {title_id!r} in {catalog.path}")
    sql = "SELECT title_id, tag FROM tags WHERE status='auto' AND scene_idx=?"
    args: list = [TITLE_SCENE]
    for clause, value in (("title_id=?", title_id), ("facet=?", facet), ("confidence>=?", min_confidence),
                          ("confidence<=?", max_confidence)):
        if value is not None:
            sql += f" AND {clause}"
            args.append(value)
    c = catalog.conn
    c.execute("BEGIN IMMEDIATE")
    try:
        done = [_decide_in_transaction(c, t, tag, action, editor=editor, comment=comment, scene_idx=TITLE_SCENE,
                                       expected_version=None, taxonomy_tag=None)
                for t, tag in c.execute(sql + " ORDER BY title_id, confidence DESC", args).fetchall()]
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return done


def history(catalog, title_id: str, tag: str | None = None) -> list[dict]:
    """The title's decisions, oldest first."""
    if catalog.conn.execute("SELECT 1 FROM titles WHERE id=?", (title_id,)).fetchone() is None:
        raise NotFoundError(f"no title {title_id!r} in {catalog.path}")
    sql, args = "SELECT * FROM tag_decisions WHERE title_id=?", [title_id]
    if tag is not None:
        sql += " AND tag=?"
        args.append(tag)
    return [{"id": r["id"], "title_id": r["title_id"], "tag": r["tag"],
             "scene": None if r["scene_idx"] == TITLE_SCENE else r["scene_idx"], "editor": r["editor"],
             "at": r["at"], "before_status": r["before_status"], "before_confidence": r["before_confidence"],
             "after_status": r["after_status"], "version": r["version"], "comment": r["comment"]}
            for r in catalog.conn.execute(sql + " ORDER BY id", args)]
