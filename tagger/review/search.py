"""Finding tags in a taxonomy (the "add tag" search). Titles are found by Catalog.find_titles."""
from __future__ import annotations


def search_taxonomy(taxonomy, query: str, *, exclude: set[str] = frozenset(), limit: int = 15) -> list[dict]:
    """Tags whose id, label, facet or description contains the query; id and label matches first."""
    needle = query.strip().lower()
    if not needle:
        return []
    hits = []
    for t in taxonomy.tags:
        if t.id in exclude:
            continue
        name_at = min((s.find(needle) for s in (t.id, t.label.lower()) if needle in s), default=None)
        if name_at is not None:
            rank = 0 if name_at == 0 else 1
        elif needle in t.facet or needle in t.description.lower():
            rank = 2
        else:
            continue
        hits.append((rank, t.label.lower(), t))
    hits.sort(key=lambda h: h[:2])
    return [{"tag": t.id, "label": t.label, "facet": t.facet, "description": t.description}
            for _, _, t in hits[:limit]]
