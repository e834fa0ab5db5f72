"""A HomeBuilder for a catalog, from a saved model or fitted now, with the events' feedback."""
from __future__ import annotations

from tagger.errors import InputError


def load_home(catalog_path, interactions_path=None, model_path=None):
    """--model: the saved model, with --interactions read for feedback only; else fitted on the
    catalog and the events now (an empty history when there are none)."""
    from tagger.catalog.db import Catalog
    from tagger.home.artwork import candidates_from_catalog
    from tagger.home.page import HomeBuilder
    from tagger.recommend import ItemTable, Recommender, read_events

    events = read_events(interactions_path) if interactions_path else []
    with Catalog(catalog_path) as catalog:
        artwork = candidates_from_catalog(catalog)
        if model_path:
            model = Recommender.load(model_path)
        else:
            items = ItemTable.from_catalog(catalog)
            if len(items) == 0:
                raise InputError(catalog_path, "no titles in the catalog; run `tagger ingest` first")
            model = Recommender().fit(items, events)
    return HomeBuilder(model, artwork=artwork, events=events)
