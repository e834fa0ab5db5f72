"""The review queue kept ready: each pending (auto) title-level tag's priority and its parts,
as of one date, in the review_queue table, so that a page of the queue is an indexed range read.

What the priority is belongs to tagger.review.queue; here is only when it is computed and how
it is kept: for one title whenever its tags, metadata or run change (write_title, write_failure,
a decision: _requeue), and for every title when the date changes (refresh_queue).
"""
from __future__ import annotations

import datetime as dt
import json

from tagger.catalog.base import TITLE_SCENE
from tagger.review.queue import tag_decision_parts, tag_parts, title_parts

QUEUE_DATE = "review_queue_date"   # settings key: the date the stored recencies are for
REBUILD_TITLES = 5000              # titles per step of a rebuild
REBUILD_CACHE_KIB = 256 * 1024     # SQLite page cache while a rebuild runs (the default is 2 MB)


class QueueStore:
    def title_review_facts(self, *, first: str | None = None, last: str | None = None) -> dict[str, dict]:
        """Per title id (from `first` to `last`, when given): title, metadata, created_at, the
        producing run's pipeline (None if unknown), its scene count and its effective
        title-level tag count."""
        sql = ("SELECT t.id, t.title, t.metadata, t.created_at, t.run_id,"
               " (SELECT COUNT(*) FROM scenes s WHERE s.title_id=t.id) AS scene_count,"
               " (SELECT COUNT(*) FROM tags g WHERE g.title_id=t.id AND g.scene_idx=? AND g.status!='rejected')"
               "   AS tag_count FROM titles t WHERE t.id >= ? AND t.id <= coalesce(?, t.id)")
        pipelines: dict = {}   # run id -> its pipeline, read once however many titles it made
        out = {}
        for r in self.conn.execute(sql, (TITLE_SCENE, first or "", last)):
            run_id = r["run_id"]
            if run_id not in pipelines:
                run = self.run(run_id) if run_id is not None else None
                pipelines[run_id] = run["pipeline"] if run else None
            out[r["id"]] = {"title": r["title"], "metadata": json.loads(r["metadata"]), "created_at": r["created_at"],
                            "pipeline": pipelines[run_id], "scenes": r["scene_count"], "tags": r["tag_count"]}
        return out

    # -- keeping it ---------------------------------------------------------------------------
    def refresh_queue(self, today: dt.date) -> int:
        """Recompute every pending tag's priority unless the stored ones are already for `today`;
        returns how many queue rows changed."""
        if self.setting(QUEUE_DATE) == today.isoformat():
            return 0
        with self.transaction():
            stored = self.setting(QUEUE_DATE)
            if stored != today.isoformat():   # another process may have done it meanwhile
                # A new day changes no tags; a catalog without a date has no queue rows yet.
                return self._rebuild_queue(today, tags_changed=stored is None)
        return 0

    def _requeue(self, title_id: str) -> None:
        """Recompute one title's queue rows as of the stored date; call inside the write's transaction."""
        stored = self.setting(QUEUE_DATE)
        if stored is None:   # a new or just migrated catalog: build the queue of every title
            self._rebuild_queue(dt.date.today(), tags_changed=True)
        else:
            self._sync_queue(dt.date.fromisoformat(stored), title_id, title_id)

    def _rebuild_queue(self, today: dt.date, *, tags_changed: bool) -> int:
        """Bring every title's queue rows to `today`, REBUILD_TITLES titles at a time (so memory
        stays small however large the catalog); returns how many rows changed."""
        ids = self.conn.cursor()
        ids.row_factory = None
        last, written = "", 0
        # The rows a new day moves are all over the queue's indexes: with SQLite's default 2 MB
        # page cache, writing them took three times as long at 100k titles.
        cache_pages = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size = {-REBUILD_CACHE_KIB}")
        try:
            while chunk := ids.execute("SELECT id FROM titles WHERE id > ? ORDER BY id LIMIT ?",
                                       (last, REBUILD_TITLES)).fetchall():
                written += self._sync_queue(today, chunk[0][0], chunk[-1][0], tags_changed=tags_changed)
                last = chunk[-1][0]
        finally:
            self.conn.execute(f"PRAGMA cache_size = {int(cache_pages)}")
        self.conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (QUEUE_DATE, today.isoformat()))
        return written

    def _sync_queue(self, today: dt.date, first: str, last: str, *, tags_changed: bool = True) -> int:
        """Bring the queue rows of the titles with ids from `first` to `last` to `today`, writing
        only what changed; returns how many rows were written. Without `tags_changed` (a new
        day) the pending tags are the stored rows themselves, which mirror them."""
        parts = {known: title_parts(facts, today=today)
                 for known, facts in self.title_review_facts(first=first, last=last).items()}
        plain = self.conn.cursor()
        plain.row_factory = None   # plain tuples: a rebuild reads every pending tag
        stored = {row[:2]: row for row in plain.execute(
            "SELECT title_id, tag, facet, confidence, priority, uncertainty, gain, recency, reach FROM review_queue"
            " WHERE title_id BETWEEN ? AND ?", (first, last))}
        if tags_changed:
            pending = [(tagged, tag, facet, confidence, *tag_decision_parts(confidence, parts[tagged], tag, learned))
                       for tagged, tag, facet, confidence, learned in plain.execute(
                           "SELECT title_id, tag, facet, confidence, instr(modalities, '\"learned\"') > 0 FROM tags"
                           f" WHERE status='auto' AND scene_idx={TITLE_SCENE} AND title_id BETWEEN ? AND ?",
                           (first, last))]
        else:   # a new day moves recency only: each tag keeps its stored uncertainty and gain
            pending = [(*r[:4], r[5], r[6]) for r in stored.values()]
        fresh = {(tagged, tag): (tagged, tag, facet, confidence, *tag_parts(uncertain, taught, parts[tagged]))
                 for tagged, tag, facet, confidence, uncertain, taught in pending}
        new, moved, changed = [], [], []   # rows to add; rows whose indexed columns changed; the rest
        for key, row in fresh.items():
            before = stored.pop(key, None)
            if before is None:
                new.append(row)
            elif before[2:5] != row[2:5]:   # facet, confidence or priority: the row moves in the indexes
                moved.append((*row[2:], *key))
            elif before[5:] != row[5:]:     # a new day changes the shown recency of recent titles
                changed.append((*row[5:], *key))
        self.conn.executemany("DELETE FROM review_queue WHERE title_id=? AND tag=?", stored.keys())
        self.conn.executemany("INSERT INTO review_queue (title_id, tag, facet, confidence, priority, uncertainty,"
                              " gain, recency, reach) VALUES (?,?,?,?,?,?,?,?,?)", new)
        self.conn.executemany("UPDATE review_queue SET facet=?, confidence=?, priority=?, uncertainty=?, gain=?,"
                              " recency=?, reach=? WHERE title_id=? AND tag=?", moved)
        # In place: these columns are in no index, so the indexes are left alone.
        self.conn.executemany("UPDATE review_queue SET uncertainty=?, gain=?, recency=?, reach=? WHERE title_id=?"
                              " AND tag=?", changed)
        return len(stored) + len(new) + len(moved) + len(changed)

    # -- reading it -----------------------------------------------------------------------
    def queue_page(self, *, limit: int | None, after: list | None = None, title_id: str | None = None,
                   facet: str | None = None) -> list[dict]:
        """Up to `limit` pending title-level tags in the queue's order (priority, then the lower
        confidence, title id, tag) after `after`, the [priority, confidence, title_id, tag] of the
        previous page's last item; each with its title, version, evidence and priority's parts."""
        where, args = [], []
        if title_id is not None:
            where.append("q.title_id=?")
            args.append(title_id)
        if facet is not None:
            where.append("q.facet=?")
            args.append(facet)
        if after is not None:
            # `priority <= ?` starts the index range; the rest only sorts out ties.
            after_priority, after_confidence, after_title, after_tag = after
            where.append("q.priority <= ? AND (q.priority < ? OR (q.confidence, q.title_id, q.tag) > (?, ?, ?))")
            args += [after_priority, after_priority, after_confidence, after_title, after_tag]
        # CROSS JOIN keeps review_queue the outer loop, so the order comes from its index.
        sql = ("SELECT q.title_id, t.title, q.tag, q.facet, g.label, q.confidence, g.version, g.evidence,"
               " q.priority, q.uncertainty, q.gain, q.recency, q.reach FROM review_queue q"
               f" CROSS JOIN tags g ON g.title_id=q.title_id AND g.tag=q.tag AND g.scene_idx={TITLE_SCENE}"
               " CROSS JOIN titles t ON t.id=q.title_id"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY q.priority DESC, q.confidence, q.title_id, q.tag LIMIT ?")
        rows = self.conn.execute(sql, [*args, -1 if limit is None else limit])
        return [{"title_id": r["title_id"], "title": r["title"], "tag": r["tag"], "facet": r["facet"],
                 "label": r["label"], "confidence": r["confidence"], "version": r["version"],
                 "evidence": json.loads(r["evidence"]), "priority": r["priority"], "uncertainty": r["uncertainty"],
                 "gain": r["gain"], "recency": r["recency"], "reach": r["reach"]} for r in rows]
