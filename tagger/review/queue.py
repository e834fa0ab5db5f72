"""The review queue: pending (auto) title-level tags, most valuable decision first.

    priority = uncertainty * gain * (1 + recency + reach) / 3          (0..1)

    uncertainty = 1 - (confidence - threshold) / (1 - threshold), clipped to 0..1:
                  1 for a tag right at the pipeline's threshold, 0 for a certain one. A tag
                  the learned heads decided (modality `learned`) is measured against its own
                  threshold, which the run recorded; its confidence is a calibrated
                  probability, so this is its chance of being wrong over that chance at the
                  threshold
    gain        = what an answer teaches: (1 + 1 / sqrt(1 + positives)) / 2 for a learned tag
                  whose head was trained on `positives` positive labels (rare tags learn most
                  from one more), 1 for a tag no head decided (its answers may give it one)
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
from typing import NamedTuple

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


def gain(positives: int | None) -> float:
    """What an answer teaches: 1 without a head (None), less the more labels its head had."""
    return 1.0 if positives is None else (1.0 + 1.0 / math.sqrt(1.0 + max(0, positives))) / 2.0


def priority(confidence: float, threshold: float, recency_score: float, reach_score: float,
             gain_score: float = 1.0) -> float:
    return _priority(round(uncertainty(confidence, threshold), 4), round(gain_score, 4), recency_score, reach_score)


def _priority(uncertainty_score: float, gain_score: float, recency_score: float, reach_score: float) -> float:
    return uncertainty_score * gain_score * (1.0 + recency_score + reach_score) / 3.0


# -- what the catalog stores (tagger/catalog/queue.py) -------------------------------------

class TitleParts(NamedTuple):
    threshold: float          # the run's tags threshold
    recency: float
    reach: float
    learned: dict             # tag -> its learned heads' threshold, as the run recorded them
    positives: dict           # tag -> its head's positive training labels, as the run recorded them


def title_parts(facts: dict, *, today: dt.date) -> TitleParts:
    """A title's parts of its tags' priorities, from its Catalog.title_review_facts entry."""
    pipeline = facts["pipeline"] or {}
    threshold = float((pipeline.get("settings", {}).get("tags") or {}).get("threshold", DEFAULT_THRESHOLD))
    heads = ((pipeline.get("details") or {}).get("tags") or {}).get("heads") or {}
    return TitleParts(threshold, recency(facts["metadata"], facts["created_at"], today=today),
                      reach(facts["scenes"], facts["tags"]), heads.get("thresholds") or {},
                      heads.get("positives") or {})


def tag_decision_parts(confidence: float, title: TitleParts, tag: str, learned: bool) -> tuple[float, float]:
    """(uncertainty, gain) of a pending tag: against its own threshold, and with what its head
    learned from, where the heads decided it."""
    if learned and tag in title.learned:
        return uncertainty(confidence, title.learned[tag]), gain(title.positives.get(tag, 0))
    return uncertainty(confidence, title.threshold), gain(None)


def tag_parts(uncertainty_score: float, gain_score: float, title: TitleParts) -> tuple[float, ...]:
    """(priority, uncertainty, gain, recency, reach) of a pending tag, rounded as the queue shows
    them; the queue is ordered by the rounded priority, then the tie-breaks above. The priority
    is computed from the rounded uncertainty and gain, so that a new day can start from the
    stored ones."""
    shown, taught = round(uncertainty_score, 4), round(gain_score, 4)
    return (round(_priority(shown, taught, title.recency, title.reach), 4), shown, taught,
            round(title.recency, 4), round(title.reach, 4))


def review_queue(catalog, *, limit: int | None = 50, after: list | None = None, title_id: str | None = None,
                 facet: str | None = None, today: dt.date | None = None) -> list[dict]:
    """Pending title-level tags, highest priority first, each with its score's parts; `after` is
    the queue_key of the last item of the page before."""
    catalog.refresh_queue(today or dt.date.today())
    return catalog.queue_page(limit=limit, after=after, title_id=title_id, facet=facet)


def queue_key(item: dict) -> list:
    """Where an item stands in the queue's order (what Catalog.queue_page pages after)."""
    return [item["priority"], item["confidence"], item["title_id"], item["tag"]]
