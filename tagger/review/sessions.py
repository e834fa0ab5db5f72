"""Sign-in sessions of the web app, kept in the catalog so that signing out really ends them.

A sign-in makes a random session id; the cookie carries it and the catalog keeps only its
sha256, so a copy of the catalog opens no session. A session ends on sign-out, after IDLE_S
without a request, MAX_AGE_S after the sign-in, or when the editor's password or API token
changes (tagger.review.auth ends them all). Times are seconds since 1970 from the caller's clock.
"""
from __future__ import annotations

import secrets

from tagger.review.auth import hash_token

IDLE_S = 8 * 3600              # a working day away from the keyboard signs you out
MAX_AGE_S = 7 * 24 * 3600      # and a week after signing in, whatever happened since
TOUCH_EVERY_S = 60             # last-seen is written at most once a minute, not on every request


def start(catalog, editor: str, *, now_s: float) -> str:
    """A new session for an editor who just proved who they are; returns its id (for the cookie)."""
    catalog.end_sessions_before(created_before_unix_s=now_s - MAX_AGE_S, last_seen_before_unix_s=now_s - IDLE_S)
    session_id = secrets.token_urlsafe(32)
    catalog.create_session(hash_token(session_id), editor, at_unix_s=now_s)
    return session_id


def editor_of(catalog, session_id: str, *, now_s: float) -> str | None:
    """The editor of a live session, or None when it ended, expired or never was."""
    id_hash = hash_token(session_id)
    found = catalog.session(id_hash)
    if found is None:
        return None
    if now_s - found.last_seen_unix_s > IDLE_S or now_s - found.created_unix_s > MAX_AGE_S:
        catalog.end_session(id_hash)
        return None
    if now_s - found.last_seen_unix_s >= TOUCH_EVERY_S:
        catalog.touch_session(id_hash, at_unix_s=now_s)
    return found.editor


def end(catalog, session_id: str) -> None:
    catalog.end_session(hash_token(session_id))
