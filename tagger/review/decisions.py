"""Editors' decisions on tags: accept, reject, add, bulk actions, and the append-only log.

Every decision runs in one transaction that checks the tag's version (optimistic concurrency:
the caller passes the version it saw; a different one raises ConflictError), updates the
tag row, bumps its version and appends a row to ``tag_decisions``. Re-ingest never touches
a decided row (Catalog.write_title), so decisions survive ``tagger ingest --force``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tagger.catalog.records import TagRecord
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


def _where(title_id: str, tag: str, scene: int | None) -> str:
    return f"tag {tag!r} on title {title_id!r}" + (f" scene {scene}" if scene is not None else "")


def _shown(title_id: str, tag: TagRecord) -> dict:
    """A tag as decisions return it: the public tag fields with its title."""
    return {"title_id": title_id, **tag.to_dict()}


def require_editor(catalog, editor: str | None) -> str:
    if not editor:
        raise ReviewError("no editor given: pass --editor NAME or set TAGGER_EDITOR")
    if not catalog.editor_exists(editor):
        raise ReviewError(f"no editor {editor!r} in {catalog.path}; create one with `tagger editors add {editor}`")
    return editor


def _require_title(catalog, title_id: str) -> None:
    if not catalog.title_exists(title_id):
        raise NotFoundError(f"no title {title_id!r} in {catalog.path}")


def title_taxonomy(catalog, title_id: str):
    """The taxonomy of the run that produced the title (the bundled default if that file is gone)."""
    from tagger.tagging.taxonomy import load_taxonomy

    taxonomy = (catalog.title_pipeline(title_id) or {}).get("taxonomy")
    if taxonomy and taxonomy.get("path") and Path(taxonomy["path"]).is_file():
        return load_taxonomy(taxonomy["path"])
    return load_taxonomy((taxonomy or {}).get("id") or "default")


def decide(catalog, title_id: str, tag: str, action: str, *, editor: str, comment: str | None = None,
           scene: int | None = None, expected_version: int | None = None) -> dict:
    """Record one decision on a title's tag (a scene's, with `scene`); returns the tag as stored
    afterwards (with ``title_id``).

    expected_version: the version the editor saw (0 for a tag that was not there, as for
    ``add``); None skips the check (the command line acting on what is stored now).
    """
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
    require_editor(catalog, editor)
    _require_title(catalog, title_id)
    taxonomy_tag = None
    if action == "add":
        try:
            taxonomy_tag = title_taxonomy(catalog, title_id).tag(tag)
        except KeyError as error:
            raise NotFoundError(error.args[0]) from None
    with catalog.transaction():
        return _decide_in_transaction(catalog, title_id, tag, action, editor=editor, comment=comment, scene=scene,
                                      expected_version=expected_version, taxonomy_tag=taxonomy_tag)


def _decide_in_transaction(catalog, title_id, tag, action, *, editor, comment, scene, expected_version,
                           taxonomy_tag) -> dict:
    where = _where(title_id, tag, scene)
    before = catalog.tag(title_id, tag, scene)
    current = _shown(title_id, before) if before else None
    seen = 0 if before is None else before.version
    if expected_version is not None and expected_version != seen:
        if before is None:
            state = "no longer on the title (a re-ingest removed it)"
        else:
            state = f"now version {seen} ({before.status}" + (f" by {before.editor})" if before.editor else ")")
        raise ConflictError(f"{where} changed since you saw it: you saw version {expected_version}, it is "
                            f"{state}; reload and decide again", current)
    after = ACTIONS[action]
    if action == "add":
        if before is not None:
            raise ConflictError(f"{where} is already there (status {before.status}); accept or reject it instead",
                                current)
        decided = TagRecord(tag=tag, facet=taxonomy_tag.facet, label=taxonomy_tag.label,
                            confidence=ADDED_CONFIDENCE, scene=scene, status=after,
                            stages={"editor": {"name": editor}}, editor=editor, comment=comment)
    else:
        if before is None:
            raise NotFoundError(f"{where} does not exist; `tagger show {title_id}` lists its tags"
                                + ("" if action == "reject" else ", and `add` puts a new one on"))
        if before.status == after:
            return current   # already so: nothing to record
        decided = dataclasses.replace(before, status=after, editor=editor, comment=comment)
    stored = catalog.record_decision(title_id, decided, before=before)
    if stored is None:   # cannot happen inside the caller's transaction; a guard, not a code path
        raise ConflictError(f"{where} changed during the decision; try again", current)
    return _shown(title_id, stored)


def bulk_decide(catalog, action: str, *, editor: str, title_id: str | None = None, facet: str | None = None,
                min_confidence: float | None = None, max_confidence: float | None = None,
                comment: str | None = None) -> list[dict]:
    """Accept or reject every pending (auto) title-level tag that matches, in one transaction."""
    if action not in ("accept", "reject"):
        raise ReviewError(f"bulk action must be accept or reject, not {action!r}")
    require_editor(catalog, editor)
    if title_id is not None:
        _require_title(catalog, title_id)
    with catalog.transaction():
        pending = catalog.pending_tags(title_id=title_id, facet=facet, min_confidence=min_confidence,
                                       max_confidence=max_confidence)
        return [_decide_in_transaction(catalog, t, tag.tag, action, editor=editor, comment=comment, scene=None,
                                       expected_version=None, taxonomy_tag=None)
                for t, tag in pending]


def history(catalog, title_id: str, tag: str | None = None, *, after_id: int | None = None,
            limit: int | None = None, newest_first: bool = False) -> list[dict]:
    """The title's decisions, oldest first (newest first with `newest_first`); up to `limit`
    after the decision `after_id`."""
    _require_title(catalog, title_id)
    return catalog.decisions(title_id, tag, after_id=after_id, limit=limit, newest_first=newest_first)
