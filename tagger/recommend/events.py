"""Viewing events and what each says about taste.

An events file (CSV with a header, or JSONL) has one event per row: user, title, kind, value,
timestamp, and optionally region. Kinds and their values:

    play        started the title (value unused)
    completion  share of the title watched, 0..1
    watch       seconds watched
    rating      stars, 0.5..5
    rewatch     started it again after finishing (value unused)
    abandon     stopped for good after `value` seconds
    impression  the title was shown on a home page: `row` (its name), `position` (0 = first in
                the row) and `artwork` (scene:keyframe of the image shown), value unused
    click       the viewer opened the title from a page (row, position, artwork as shown)

Impressions and clicks say what a page showed and what it got; they are feedback for the home
page's bandits and for exploration (`unclicked_impressions`), not taste: affinities skip them.
Each taste event becomes a signed weight (finishing says more than clicking; abandoning after five
minutes says the title did not work), weights fade with a half-life, and a user's weights per
title add up. A positive sum is a like, a negative one a dislike.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.errors import InputError
from tagger.rows import read_rows

TASTE_KINDS = ("play", "completion", "watch", "rating", "rewatch", "abandon")
FEEDBACK_KINDS = ("impression", "click")
KINDS = TASTE_KINDS + FEEDBACK_KINDS
OPENED_KINDS = ("click", "play", "completion", "watch", "rewatch")   # the viewer took up what was shown
FIELDS = ("user", "title", "kind", "value", "timestamp")
FULL_WATCH_S = 1800.0      # watching this long counts as much as finishing
TRIED_S = 300.0            # abandoning after this long is a considered "no"


@dataclass(frozen=True)
class Event:
    user: str
    title: str
    kind: str
    value: float
    time_s: float           # unix seconds
    region: str | None = None
    row: str | None = None          # impression, click: the row's name
    position: int | None = None     # impression, click: 0-based place in the row
    artwork: str | None = None      # impression, click: "scene:keyframe" of the image shown

    @property
    def artwork_key(self) -> tuple[int, int] | None:
        """(scene, keyframe) of the image shown, or None."""
        if not self.artwork:
            return None
        scene, keyframe = self.artwork.split(":")
        return int(scene), int(keyframe)


def event_weight(kind: str, value: float) -> float:
    """How much one event says for (+) or against (-) the title, in about [-1, 1.5]."""
    if kind == "play":
        return 0.2
    if kind == "completion":
        return 1.0 if value >= 0.9 else 0.2 + 0.8 * max(0.0, min(value, 1.0)) ** 2
    if kind == "watch":
        return 0.2 + 0.8 * min(max(value, 0.0) / FULL_WATCH_S, 1.0)
    if kind == "rating":
        return (value - 3.0) / 2.0          # 5 -> 1, 4 -> 0.5, 3 -> 0, 1 -> -1
    if kind == "rewatch":
        return 1.5
    if kind == "abandon":
        return -0.6 if value >= TRIED_S else -0.2
    if kind in FEEDBACK_KINDS:
        return 0.0                          # what was shown or opened, not what was liked
    raise ValueError(f"unknown event kind {kind!r} (valid: {', '.join(KINDS)})")


def decayed(weight: float, age_s: float, half_life_days: float) -> float:
    """Old taste fades: half the weight every `half_life_days` (0 turns fading off)."""
    if half_life_days <= 0 or age_s <= 0:
        return weight
    return weight * 0.5 ** (age_s / (half_life_days * 86400.0))


def affinities(events: list[Event], *, now_s: float, half_life_days: float) -> dict[str, dict[str, float]]:
    """user -> title -> summed, faded weight. Events after `now_s` are ignored."""
    out: dict[str, dict[str, float]] = {}
    for e in events:
        if e.time_s > now_s or e.kind in FEEDBACK_KINDS:
            continue
        mine = out.setdefault(e.user, {})
        mine[e.title] = mine.get(e.title, 0.0) + decayed(event_weight(e.kind, e.value), now_s - e.time_s,
                                                         half_life_days)
    return out


def unclicked_impressions(events: list[Event], *, now_s: float) -> dict[str, dict[str, int]]:
    """user -> title -> impressions since the viewer last took the title up (clicked, played...),
    before `now_s`: a title shown five times and never opened counts 5."""
    out: dict[str, dict[str, int]] = {}
    for e in sorted((e for e in events if e.time_s <= now_s), key=lambda e: e.time_s):
        if e.kind == "impression":
            mine = out.setdefault(e.user, {})
            mine[e.title] = mine.get(e.title, 0) + 1
        elif e.kind in OPENED_KINDS and e.title in out.get(e.user, {}):
            del out[e.user][e.title]
    return {user: titles for user, titles in out.items() if titles}


def read_events(path: str | Path) -> list[Event]:
    """Events from a .csv or .jsonl file; the first bad row raises InputError naming its line.

    Unlike a manifest, where a bad row fails only its title, an events file stops at its first
    bad row: a model fitted on the rows that happened to parse would differ without a word.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "interactions file not found")
    events = []
    for line, row, problem in read_rows(path, required=FIELDS, what="interactions file"):
        if problem is not None:
            raise problem
        events.append(_event(path, line, row))
    return events


def _event(path: Path, line: int, row: dict) -> Event:
    for name in ("user", "title", "kind", "timestamp"):
        if row.get(name) in (None, ""):
            raise InputError(path, "missing value", line=line, field=name)
    kind = str(row["kind"]).strip().lower()
    if kind not in KINDS:
        raise InputError(path, f"unknown kind {kind!r} (valid: {', '.join(KINDS)})", line=line, field="kind")
    value = row.get("value")
    try:
        value = float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        raise InputError(path, f"expected a number, got {value!r}", line=line, field="value") from None
    if not np.isfinite(value) or (kind == "rating" and not 0.0 <= value <= 5.0) or \
            (kind == "completion" and not 0.0 <= value <= 1.0) or value < 0:
        raise InputError(path, f"value {value!r} is out of range for {kind}", line=line, field="value")
    region = row.get("region") or None
    shown = _shown(path, line, row, kind) if kind in FEEDBACK_KINDS else {}
    return Event(user=str(row["user"]).strip(), title=str(row["title"]).strip(), kind=kind, value=value,
                 time_s=parse_time_s(row["timestamp"], path=path, line=line), region=region, **shown)


def _shown(path: Path, line: int, row: dict, kind: str) -> dict:
    """row, position and artwork of an impression (row and position required) or a click (optional)."""
    out = {}
    for name in ("row", "position", "artwork"):
        value = row.get(name)
        value = str(value).strip() if value is not None else ""
        if not value:
            if kind == "impression" and name != "artwork":     # no artwork: the title has no keyframes
                raise InputError(path, "an impression needs its row and position", line=line, field=name)
            continue
        if name == "position":
            if not value.isdigit():
                raise InputError(path, f"expected a whole number from 0, got {value!r}", line=line, field=name)
            value = int(value)
        if name == "artwork":
            parts = value.split(":")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise InputError(path, f"expected scene:keyframe (two whole numbers), got {value!r}",
                                 line=line, field=name)
            value = f"{int(parts[0])}:{int(parts[1])}"
        out[name] = value
    return out


def parse_time_s(value, *, path=None, line=None) -> float:
    """Unix seconds from a number or an ISO 8601 date/time (UTC when no zone is given)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(path or "<events>", f"expected unix seconds or an ISO date, got {value!r}",
                         line=line, field="timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()
