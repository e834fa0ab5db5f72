"""What a viewer's events say to the home page: what they started and did not finish, which
images of which titles they were shown and opened, and how often each row was shown and clicked.

A click answers the viewer's latest earlier impression of the same title (the row and image
they opened it from); an impression with no click after it is a pull with reward 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tagger.home.rows import read_row
from tagger.recommend.events import Event

FINISHED = 0.9            # a completion at least this is finished


@dataclass
class ShownImage:
    title_id: str
    scene: int
    keyframe: int
    clicked: bool


@dataclass
class ViewerFeedback:
    started: list[str] = field(default_factory=list)            # continue watching, latest first
    images: list[ShownImage] = field(default_factory=list)
    rows: dict[str, list[int]] = field(default_factory=dict)    # row name -> [impressions, clicks]
    row_kinds: dict[str, str] = field(default_factory=dict)     # row name -> its kind


def read_feedback(events: list[Event], *, now_s: float) -> dict[str, ViewerFeedback]:
    """user -> their feedback, from events up to `now_s`."""
    out: dict[str, ViewerFeedback] = {}
    last_shown: dict[tuple[str, str], tuple[ShownImage | None, str]] = {}
    state: dict[tuple[str, str], tuple[str, float]] = {}       # (user, title) -> (started|finished, time)
    for e in sorted((e for e in events if e.time_s <= now_s), key=lambda e: e.time_s):
        mine = out.setdefault(e.user, ViewerFeedback())
        key = (e.user, e.title)
        if e.kind == "impression":
            image = None
            if e.artwork_key is not None:
                image = ShownImage(e.title, *e.artwork_key, clicked=False)
                mine.images.append(image)
            kind, name = read_row(e.row)
            mine.rows.setdefault(name, [0, 0])[0] += 1
            mine.row_kinds[name] = kind
            last_shown[key] = (image, name)
        elif e.kind == "click":
            image, row = last_shown.pop(key, (None, None))
            if image is not None:
                image.clicked = True
            if row is not None:
                mine.rows[row][1] += 1
        elif e.kind in ("play", "watch") or (e.kind == "completion" and e.value < FINISHED):
            if state.get(key, ("", 0))[0] != "finished":
                state[key] = ("started", e.time_s)
        elif e.kind in ("completion", "rewatch", "abandon"):
            state[key] = ("finished", e.time_s)     # abandoned is over too: nothing to continue
    for (user, title), (status, time_s) in sorted(state.items(), key=lambda kv: -kv[1][1]):
        if status == "started":
            out[user].started.append(title)
    return out
