"""The catalog as its public JSON shows it: `tagger show --json`, `tagger list --json` and the
review app's title search. Field names and order are a stable interface (tests pin them)."""
from __future__ import annotations

import json

from tagger.catalog.base import TITLE_SCENE
from tagger.catalog.records import SceneRecord

SHOWN_METADATA = ("synopsis", "year", "original_language", "regions", "release_date", "cast", "genres")
FEATURE_GROUPS = ("visual", "audio", "dialogue")   # always present in `features`, empty when not measured
LISTED = ("id", "title", "status", "error", "duration_s", "scenes", "tags", "micro_genres", "updated_at")


class Views:
    def title(self, title_id: str) -> dict | None:
        """Everything about a title in the shape of `tagger show --json`."""
        row = self._title_row(title_id)
        if row is None:
            return None
        record = self._title_record(row)
        tags = [t.to_dict() for t in record.tags]
        out = {"id": record.id, "title": record.title, "status": record.status}
        if record.error:
            out["error"] = record.error
        out.update({
            **{k: record.metadata.get(k) for k in SHOWN_METADATA},
            "duration_s": record.duration_s, "media": record.media,
            "assets": [{"kind": a.kind, "path": a.path, "size_bytes": a.size_bytes, "sha256": a.sha256,
                        "language": a.language} for a in record.assets],
            "scenes": [_scene_view(s) for s in record.scenes],
            "tags": [t for t in tags if t["scene"] is None],
            "scene_tags": [t for t in tags if t["scene"] is not None],
            "micro_genres": record.micro_genres, "features": _by_group(record.features),
            "embeddings": {e.space: e.dim for e in record.embeddings},
            "embedding_models": {e.space: {"model_id": e.model_id, "dim": e.dim, "version": e.version}
                                 for e in record.embeddings},
            "modalities": record.modalities, "run": self._run_summary(row["run_id"]),
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

    def list_titles(self, **filters) -> list[dict]:
        """Titles as `tagger list --json` gives them: every one, or those `find_titles` finds
        with `filters`."""
        return [{k: found[k] for k in LISTED} for found in self.find_titles(**filters)]

    def find_titles(self, *, q: str = "", tag: str = "", facet: str = "", status: str = "",
                    pending: bool = False, after: str | None = None, limit: int | None = None) -> list[dict]:
        """Titles matching every filter given: text in id/title/synopsis, an effective tag, a facet
        with an effective tag, ingest status, pending (auto) tags left to review. By id: up to
        `limit` of them after the id `after` (a keyset page: ids inserted meanwhile do not shift it)."""
        args = {"title": TITLE_SCENE, "q": q.strip().lower(), "tag": tag, "facet": facet, "status": status,
                "after": after, "limit": -1 if limit is None else limit}
        # A search reads the narrow title_search rows in id order and the titles it finds.
        by_id = "ts.id" if args["q"] else "t.id"
        sql = ("SELECT t.id, t.title, t.status, t.error, t.duration_s, t.micro_genres, t.metadata, t.updated_at,"
               " (SELECT COUNT(*) FROM scenes s WHERE s.title_id=t.id) AS scene_count,"
               " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=:title"
               "   AND g.status != 'rejected') AS tag_count,"
               " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=:title"
               "   AND g.status = 'auto') AS pending_count"
               + (" FROM title_search ts CROSS JOIN titles t ON t.id=ts.id" if args["q"] else " FROM titles t")
               + " WHERE 1=1")
        if args["q"]:
            # instr instead of LIKE: no wildcard characters to escape in what the user typed
            sql += " AND instr(ts.text, :q)"
        if tag:
            sql += (" AND EXISTS (SELECT 1 FROM tags g WHERE g.title_id=t.id AND g.tag=:tag"
                    " AND g.status != 'rejected')")
        if facet:
            sql += (" AND EXISTS (SELECT 1 FROM tags g WHERE g.title_id=t.id AND g.facet=:facet"
                    " AND g.status != 'rejected')")
        if status:
            sql += " AND t.status=:status"
        if pending:
            sql += (" AND EXISTS (SELECT 1 FROM tags g WHERE g.title_id=t.id AND g.scene_idx=:title"
                    " AND g.status = 'auto')")
        if after is not None:
            sql += f" AND {by_id} > :after"
        return [{"id": r["id"], "title": r["title"], "status": r["status"], "error": r["error"],
                 "year": json.loads(r["metadata"]).get("year"), "duration_s": r["duration_s"],
                 "scenes": r["scene_count"], "tags": r["tag_count"], "pending": r["pending_count"],
                 "micro_genres": json.loads(r["micro_genres"]), "updated_at": r["updated_at"]}
                for r in self.conn.execute(sql + f" ORDER BY {by_id} LIMIT :limit", args)]

    def tag_facets(self) -> list[str]:
        """Facets of the tags in the catalog, by name."""
        # One index seek per facet (tags_by_facet) instead of reading every tag row.
        return [r[0] for r in self.conn.execute(
            "WITH RECURSIVE f(facet) AS (SELECT min(facet) FROM tags UNION ALL"
            " SELECT (SELECT min(facet) FROM tags WHERE facet > f.facet) FROM f WHERE f.facet IS NOT NULL)"
            " SELECT facet FROM f WHERE facet IS NOT NULL")]


def _by_group(features: dict) -> dict:
    """{"visual.brightness": v} -> {"visual": {"brightness": v}, "audio": {}, "dialogue": {}}."""
    out: dict[str, dict] = {group: {} for group in FEATURE_GROUPS}
    for name, value in features.items():
        group, _, short = name.partition(".")
        out.setdefault(group, {})[short] = value
    return out


def _scene_view(scene: SceneRecord) -> dict:
    # Times as stored, unrounded: the same numbers as the Parquet export's.
    return {"index": scene.index, "start_s": scene.start_s, "end_s": scene.end_s,
            "start_frame": scene.start_frame, "end_frame": scene.end_frame,
            "keyframes": [{"frame": k.frame, "time_s": k.time_s, "sharpness": k.sharpness}
                          for k in scene.keyframes],
            # A scene without features shows {}, one with any shows every group.
            "features": _by_group(scene.features) if scene.features else {}}
