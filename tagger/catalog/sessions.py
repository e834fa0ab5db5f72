"""The web app's sign-in sessions: stored by the sha256 of their id, with when each began and
was last used. How long a session lives is tagger.review.sessions'; here is only how it is kept."""
from __future__ import annotations

from tagger.catalog.records import SessionRecord


class SessionStore:
    def create_session(self, id_hash: str, editor: str, *, at_unix_s: float) -> None:
        self.conn.execute("INSERT INTO sessions (id_hash, editor, created_unix_s, last_seen_unix_s)"
                          " VALUES (?,?,?,?)", (id_hash, editor, at_unix_s, at_unix_s))

    def session(self, id_hash: str) -> SessionRecord | None:
        row = self.conn.execute("SELECT editor, created_unix_s, last_seen_unix_s FROM sessions WHERE id_hash=?",
                                (id_hash,)).fetchone()
        return SessionRecord(row["editor"], row["created_unix_s"], row["last_seen_unix_s"]) if row else None

    def touch_session(self, id_hash: str, *, at_unix_s: float) -> None:
        self.conn.execute("UPDATE sessions SET last_seen_unix_s=? WHERE id_hash=?", (at_unix_s, id_hash))

    def end_session(self, id_hash: str) -> bool:
        """Delete one session; False when it was not there."""
        return self.conn.execute("DELETE FROM sessions WHERE id_hash=?", (id_hash,)).rowcount == 1

    def end_editor_sessions(self, editor: str) -> int:
        """Delete every session of an editor (signed out everywhere); returns how many there were."""
        return self.conn.execute("DELETE FROM sessions WHERE editor=?", (editor,)).rowcount

    def end_sessions_before(self, *, created_before_unix_s: float, last_seen_before_unix_s: float) -> int:
        """Delete the sessions created or last used before the given times (expired ones)."""
        return self.conn.execute("DELETE FROM sessions WHERE created_unix_s < ? OR last_seen_unix_s < ?",
                                 (created_before_unix_s, last_seen_before_unix_s)).rowcount
