"""Finding titles (catalog page and API filters) and tags in a taxonomy (the "add tag" search)."""
from __future__ import annotations

import json

from tagger.catalog.db import TITLE_SCENE

STATUSES = ("ok", "failed")


def find_titles(catalog, *, q: str = "", tag: str = "", facet: str = "", status: str = "",
                pending: bool = False) -> list[dict]:
    """Titles matching every filter given: text in id/title/synopsis, an effective tag, a facet
    with an effective tag, ingest status, pending (auto) tags left to review."""
    sql = ("SELECT t.id, t.title, t.status, t.error, t.duration_s, t.micro_genres, t.metadata, t.updated_at,"
           " (SELECT COUNT(*) FROM scenes s WHERE s.title_id=t.id) AS scene_count,"
           " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=:title"
           "   AND g.status != 'rejected') AS tag_count,"
           " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=:title"
           "   AND g.status = 'auto') AS pending_count"
           " FROM titles t WHERE 1=1")
    args = {"title": TITLE_SCENE, "q": q.strip().lower(), "tag": tag, "facet": facet, "status": status}
    if args["q"]:
        # instr instead of LIKE: no wildcard characters to escape in what the user typed
        sql += (" AND (instr(lower(t.id), :q) OR instr(lower(t.title), :q)"
                " OR instr(lower(coalesce(json_extract(t.metadata, '$.synopsis'), '')), :q))")
    if tag:
        sql += (" AND EXISTS (SELECT 1 FROM tags g WHERE g.title_id=t.id AND g.tag=:tag"
                " AND g.status != 'rejected')")
    if facet:
        sql += (" AND EXISTS (SELECT 1 FROM tags g WHERE g.title_id=t.id AND g.facet=:facet"
                " AND g.status != 'rejected')")
    if status:
        sql += " AND t.status=:status"
    if pending:
        sql += " AND pending_count > 0"
    return [{"id": r["id"], "title": r["title"], "status": r["status"], "error": r["error"],
             "year": json.loads(r["metadata"]).get("year"), "duration_s": r["duration_s"],
             "scenes": r["scene_count"], "tags": r["tag_count"], "pending": r["pending_count"],
             "micro_genres": json.loads(r["micro_genres"]), "updated_at": r["updated_at"]}
            for r in catalog.conn.execute(sql + " ORDER BY t.id", args)]


def facets_in_catalog(catalog) -> list[str]:
    return [r[0] for r in catalog.conn.execute("SELECT DISTINCT facet FROM tags ORDER BY facet")]


def search_taxonomy(taxonomy, query: str, *, exclude: set[str] = frozenset(), limit: int = 15) -> list[dict]:
    """Tags whose id, label, facet or description contains the query; id and label matches first."""
    needle = query.strip().lower()
    if not needle:
        return []
    hits = []
    for t in taxonomy.tags:
        if t.id in exclude:
            continue
        name_at = min((s.find(needle) for s in (t.id, t.label.lower()) if needle in s), default=None)
        if name_at is not None:
            rank = 0 if name_at == 0 else 1
        elif needle in t.facet or needle in t.description.lower():
            rank = 2
        else:
            continue
        hits.append((rank, t.label.lower(), t))
    hits.sort(key=lambda h: h[:2])
    return [{"tag": t.id, "label": t.label, "facet": t.facet, "description": t.description}
            for _, _, t in hits[:limit]]
