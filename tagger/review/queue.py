"""The review queue: pending (auto) title-level tags, most valuable decision first.

    priority = uncertainty * (1 + recency + reach) / 3          (0..1)

    uncertainty = 1 - (confidence - threshold) / (1 - threshold), clipped to 0..1:
                  1 for a tag right at the pipeline's threshold, 0 for a certain one
    recency     = 0.5 ** (age_days / 365): 1 for a title released today (or later), 0.5 a year on;
                  age from release_date, else 1 July of year, else when the catalog first saw it
    reach       = min(1, ln(1 + scenes + tags) / ln(1 + 100)): titles with more scenes and
                  tags (more of the catalog depends on them) first; a stand-in for popularity
                  until the catalog holds viewing numbers

Ties go to the lower confidence, then title id and tag id, so the order is stable.

The catalog keeps each pending tag's priority and parts stored, as of one date
(tagger/catalog/queue.py calls title_parts and tag_parts below whenever a title, its tags or a
decision are written, and for every title when the date changes), so that a page of the
queue is an indexed range read. Those two functions are the one place the formula is applied.
"""
from __future__ import annotations

import datetime as dt
import math

DEFAULT_THRESHOLD = 0.5      # the default pipeline's; used when a title's run recorded none
HALF_LIFE_DAYS = 365.0
REACH_FULL_AT = 100          # scenes + tags at which reach reaches 1


def uncertainty(confidence: float, threshold: float) -> float:
    if threshold >= 1.0:
        return 1.0
    return min(1.0, max(0.0, 1.0 - (confidence - threshold) / (1.0 - threshold)))


def recency(metadata: dict, created_at: str, *, today: dt.date) -> float:
    released = None
    if metadata.get("release_date"):
        try:
            released = dt.date.fromisoformat(str(metadata["release_date"])[:10])
        except ValueError:
            released = None
    if released is None and metadata.get("year"):
        released = dt.date(int(metadata["year"]), 7, 1)
    if released is None:
        released = dt.date.fromisoformat(created_at[:10])
    age_days = max(0, (today - released).days)
    return 0.5 ** (age_days / HALF_LIFE_DAYS)


def reach(scene_count: int, tag_count: int) -> float:
    return min(1.0, math.log1p(scene_count + tag_count) / math.log1p(REACH_FULL_AT))


def priority(confidence: float, threshold: float, recency_score: float, reach_score: float) -> float:
    return uncertainty(confidence, threshold) * (1.0 + recency_score + reach_score) / 3.0


# -- what the catalog stores (tagger/catalog/queue.py) -------------------------------------

def title_parts(facts: dict, *, today: dt.date) -> tuple[float, float, float]:
    """(threshold, recency, reach) of a title from its Catalog.title_review_facts entry."""
    settings = (facts["pipeline"] or {}).get("settings", {})
    threshold = float((settings.get("tags") or {}).get("threshold", DEFAULT_THRESHOLD))
    return (threshold, recency(facts["metadata"], facts["created_at"], today=today),
            reach(facts["scenes"], facts["tags"]))


def tag_parts(confidence: float, title: tuple[float, float, float]) -> tuple[float, float, float, float]:
    """(priority, uncertainty, recency, reach) of a pending tag, rounded as the queue shows them;
    the queue is ordered by the rounded priority, then the tie-breaks above."""
    threshold, recency_score, reach_score = title
    return (round(priority(confidence, threshold, recency_score, reach_score), 4),
            round(uncertainty(confidence, threshold), 4), round(recency_score, 4), round(reach_score, 4))


def review_queue(catalog, *, limit: int | None = 50, after: list | None = None, title_id: str | None = None,
                 facet: str | None = None, today: dt.date | None = None) -> list[dict]:
    """Pending title-level tags, highest priority first, each with its score's parts; `after` is
    the queue_key of the last item of the page before."""
    catalog.refresh_queue(today or dt.date.today())
    return catalog.queue_page(limit=limit, after=after, title_id=title_id, facet=facet)


def queue_key(item: dict) -> list:
    """Where an item stands in the queue's order (what Catalog.queue_page pages after)."""
    return [item["priority"], item["confidence"], item["title_id"], item["tag"]]
