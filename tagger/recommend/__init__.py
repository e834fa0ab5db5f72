"""Recommendations from the catalog's tags and embeddings, blended with viewing history.

    from tagger.recommend import ItemTable, Recommender, read_events
    items = ItemTable.from_catalog(catalog)
    model = Recommender().fit(items, read_events("events.csv"))
    model.similar("night-shift", k=10)
    model.recommend_user("u42", k=20)
    model.recommend_new_user(likes=["night-shift"], tags=["dark"], region="GB")
"""
from tagger.recommend.events import Event, read_events
from tagger.recommend.items import ItemTable
from tagger.recommend.model import Recommender, RecommenderSettings
from tagger.recommend.queries import Recommendation

__all__ = ["Event", "ItemTable", "Recommendation", "Recommender", "RecommenderSettings", "read_events"]
