"""How many wrong passwords and API tokens the web app takes before it stops listening.

Failures are counted per client address and, for sign-ins, per editor name tried. The first
FREE_FAILURES of a key cost nothing; after that the key is refused for FIRST_DELAY_S, doubling
with each further failure up to MAX_DELAY_S. A key's count is forgotten WINDOW_S after its last
failure, and an editor name's count when that editor signs in (a client's count is not: one
good account must not buy more guesses at the others). While refused, a credential is not even
checked, so a guess that happens to be right is refused like the others.

The counts live in this process's memory: `tagger serve` runs one process (waitress threads),
so they are shared by every request. Several processes would each count on their own (an
attacker gets that many times the tries), and a restart forgets them.
"""
from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger(__name__)

FREE_FAILURES = 5
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 15 * 60.0
WINDOW_S = 60 * 60.0
MAX_KEYS = 10_000        # memory bound: beyond it, counts of the least recent failures are dropped
NAME_CHARS = 100         # a name tried is cut to this in keys and logs (editors' names have at most 64)


class Throttle:
    """Failed sign-ins and API tokens; thread-safe. `clock` gives seconds (tests pass their own)."""

    def __init__(self, *, clock=time.monotonic):
        self._clock = clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}   # key -> (count, last failure time)
        self._lock = threading.Lock()

    def retry_after_s(self, client: str, editor: str | None = None) -> int:
        """Whole seconds until this client (and editor name) may try again; 0: now."""
        now = self._clock()
        with self._lock:
            wait_s = max(self._wait_s(key, now) for key in _keys(client, editor))
        return math.ceil(wait_s)

    def refused(self, what: str, client: str, editor: str | None, retry_after_s: int) -> None:
        """Log an attempt turned away because of earlier failures."""
        log.warning("%s refused%s from %s: too many failures, retry in %d s", what, _for(editor), client,
                    retry_after_s)

    def failed(self, what: str, client: str, editor: str | None = None) -> None:
        """Count (and log) a wrong password or token; `what` names it in the log."""
        now = self._clock()
        with self._lock:
            counts = []
            for key in _keys(client, editor):
                count, last = self._failures.pop(key, (0, now))
                count = 1 if now - last > WINDOW_S else count + 1
                self._failures[key] = (count, now)   # re-inserted: the dict stays in order of last failure
                counts.append(count)
            while len(self._failures) > MAX_KEYS:
                del self._failures[next(iter(self._failures))]
        log.warning("%s failed%s from %s (%s)", what, _for(editor), client,
                    ", ".join(f"{n} failure(s) of this {kind}" for (kind, _), n in zip(_keys(client, editor), counts)))

    def succeeded(self, editor: str) -> None:
        """An editor signed in: forget the failures counted against that name."""
        with self._lock:
            self._failures.pop(_editor_key(editor), None)

    def _wait_s(self, key: tuple[str, str], now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        if count < FREE_FAILURES or now - last > WINDOW_S:
            return 0.0
        delay_s = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** min(count - FREE_FAILURES, 32))
        return max(0.0, last + delay_s - now)


def _keys(client: str, editor: str | None) -> list[tuple[str, str]]:
    return [("client address", client)] + ([_editor_key(editor)] if editor is not None else [])


def _editor_key(editor: str) -> tuple[str, str]:
    return ("editor name", editor[:NAME_CHARS])


def _for(editor: str | None) -> str:
    # repr: a name tried with a newline or escape codes in it stays one harmless log line
    return "" if editor is None else f" for editor {editor[:NAME_CHARS]!r}"
