"""Editors' decisions as training labels for the learned tag models (tagger/learn/labels.py)."""
from __future__ import annotations

from tagger.catalog.db import TITLE_SCENE


def editor_decisions(catalog) -> list[dict]:
    """Title-level tags whose current status an editor set (accepted, added, rejected), by title."""
    rows = catalog.conn.execute(
        "SELECT title_id, tag, status FROM tags WHERE scene_idx=? AND status IN ('accepted', 'added', 'rejected')"
        " ORDER BY title_id, tag", (TITLE_SCENE,)).fetchall()
    return [{"title_id": r["title_id"], "tag": r["tag"], "status": r["status"]} for r in rows]
