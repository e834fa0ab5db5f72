"""`tagger evaluate coldstart`: the recommender against baselines on MovieLens, side by side.

1. The movies with a TMDB overview become a manifest of metadata-only titles and go through
   `tagger ingest` (the default pipeline's text stages), so the recommender reads the same
   tags and embeddings as for any title. A catalog ingested before is reused (unchanged
   titles are skipped).
2. Item cold start per seed: 20% of titles held out with all their ratings; every user with a
   held-out positive ranks all held-out titles.
3. New users per seed: 20% of users held out; each reveals their first k positives in time
   order and the rest are the target.
The `tagger` method chooses its hyper-parameters on a validation split carved from each
seed's training data, never from the test split.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from pathlib import Path
from typing import Callable

import numpy as np

from tagger.recommend.evaluate import baselines as B
from tagger.recommend.evaluate import movielens
from tagger.recommend.evaluate.metrics import ranking_metrics
from tagger.recommend.evaluate.splits import Ratings, TrainSet, item_cold, new_user
from tagger.recommend.items import ItemTable
from tagger.recommend.model import Recommender, RecommenderSettings

KS = (0, 1, 3, 5)
TOP_K = 20


class TaggerMethod:
    """The project's recommender as a method of the evaluation: `choose` picks its settings
    from the training data (the tuning below, on a validation split), and `fit` returns the
    fitted Recommender, which scores as every baseline does."""
    name = "tagger"
    item_cold = True
    new_user = True

    def __init__(self, choose: Callable[[TrainSet, ItemTable], RecommenderSettings]):
        self.choose = choose
        self.chosen: dict = {}      # the settings that differ from the defaults, for the report

    def fit(self, train: TrainSet, items: ItemTable) -> Recommender:
        settings = self.choose(train, items)
        default = dataclasses.asdict(RecommenderSettings())
        self.chosen = {k: v for k, v in dataclasses.asdict(settings).items() if v != default[k]}
        return Recommender(settings).fit_matrix(items, train.positives, train.times_s)


def tune_item_cold(train: TrainSet, items: ItemTable, seed: int) -> RecommenderSettings:
    inner, query = item_cold(Ratings.from_train(train), seed + 1000, base_items=train.train_items)
    best, best_recall = RecommenderSettings(), -1.0
    for ridge in (1.0, 3.0, 10.0):
        model = Recommender(RecommenderSettings(profile_ridge=ridge)).fit_matrix(items, inner.positives, inner.times_s)
        parts = model.parts(query.histories, query.candidates, now_s=query.times_s)
        for weight in (0.0, 0.3, 1.0):
            settings = dataclasses.replace(model.settings, popularity_weight=weight)
            recall = _metrics(model.blend(parts, settings), query)[f"recall@{TOP_K}"]
            if recall > best_recall:
                best, best_recall = settings, recall
    return best


NEW_USER_GRID = {
    "content_weight": (0.5, 1.0),
    "content_history_half": (1.0, 5.0),
    "collab_weight": (0.0, 0.25, 0.5, 1.0),
    "popularity_weight": (1.0, 2.0, 4.0, 8.0),
    "user_history_half": (2.0, 5.0),
    "popularity_history_half": (3.0, 10.0, 30.0),
}


def tune_new_user(train: TrainSet, items: ItemTable, seed: int) -> RecommenderSettings:
    """Blend weights only: one fit on the inner training users, then a grid over the blend."""
    inner, queries = new_user(Ratings.from_train(train), seed + 1000, ks=KS, base_users=train.train_users)
    model = Recommender().fit_matrix(items, inner.positives, inner.times_s)
    parts = {k: model.parts(q.histories, q.candidates, now_s=q.times_s) for k, q in queries.items()}
    best, best_ndcg = model.settings, -1.0
    names = list(NEW_USER_GRID)
    for values in itertools.product(*NEW_USER_GRID.values()):
        settings = dataclasses.replace(model.settings, **dict(zip(names, values)))
        ndcg = np.mean([_metrics(model.blend(parts[k], settings), q)[f"ndcg@{TOP_K}"]
                        for k, q in queries.items()])
        if ndcg > best_ndcg:
            best, best_ndcg = settings, ndcg
    return best


def _metrics(scores: np.ndarray, query, with_auc: bool = False) -> dict[str, float]:
    scores = np.array(scores, dtype=float)
    if len(query.candidates) == scores.shape[1] and query.candidates[-1] == len(query.candidates) - 1:
        for u, history in enumerate(query.histories):   # revealed titles are not recommendations
            scores[u, history] = -np.inf
    return ranking_metrics(scores, query.relevant, TOP_K, with_auc=with_auc)


def baselines(seed: int) -> list[B.Baseline]:
    out: list[B.Baseline] = [B.RandomScores(seed), B.GenrePopularity(), B.TfidfProfile(), B.Popularity(),
                             B.ItemKNN(), B.ALS(seed=seed)]
    try:
        import lightfm  # noqa: F401
        out.append(B.LightFMWarp(seed=seed))
    except ImportError:
        pass
    return out


def load_items(data_dir: str | Path, catalog_path: str | Path, *, workers: int = 1, progress=None):
    """Ingest the evaluation titles (skipping unchanged ones) and read them back from the catalog."""
    from tagger.catalog.db import Catalog
    from tagger.executors import build_executor
    from tagger.ingest import ingest
    from tagger.pipeline import load_pipeline
    from tagger.stages.tags import without_heads
    from tagger.titles import read_manifest

    data = movielens.load(data_dir)
    catalog_path = Path(catalog_path)
    manifest = movielens.write_manifest(data.movies, catalog_path.with_suffix(".manifest.jsonl"))
    with Catalog(catalog_path) as catalog:
        # Without the learned heads: they learned from these very titles' genres and users' tags.
        with build_executor(None, without_heads(load_pipeline("default")), workers=workers,
                            on_stage=progress.stage if progress else None) as executor:
            ingest(read_manifest(manifest), catalog=catalog, executor=executor, progress=progress)
        items = ItemTable.from_catalog(catalog)
    wanted = set(data.movies["title_id"])
    keep = [i for i, t in enumerate(items.ids) if t in wanted]
    return data, subset_items(items, keep)


def subset_items(items: ItemTable, rows: list[int]) -> ItemTable:
    return ItemTable(ids=[items.ids[i] for i in rows], titles=[items.titles[i] for i in rows],
                     synopses=[items.synopses[i] for i in rows], genres=[items.genres[i] for i in rows],
                     year=items.year[rows], regions=[items.regions[i] for i in rows], added_s=items.added_s[rows],
                     tag_ids=items.tag_ids, tag_labels=items.tag_labels, tags=items.tags[rows],
                     embeddings={k: v[rows] for k, v in items.embeddings.items()})


def evaluate(data, items: ItemTable, seeds=(0, 1, 2, 3, 4), log=print) -> dict:
    """Both protocols for every seed; returns means with a `std` beside them."""
    # Titles enter the evaluation catalog at one moment, so freshness carries no signal here.
    items = dataclasses.replace(items, added_s=np.zeros(len(items)))
    ratings = Ratings.from_frame(data.ratings[data.ratings["title_id"].isin(items.index)], items.ids)
    runs = {"item_cold": {}, "new_user": {str(k): {} for k in KS}}
    chosen = {"item_cold": [], "new_user": []}
    seconds: dict[str, float] = {}
    for seed in seeds:
        train, query = item_cold(ratings, seed)
        for method in [TaggerMethod(functools.partial(tune_item_cold, seed=seed)), *baselines(seed)]:
            if not method.item_cold:
                continue
            started = time.perf_counter()
            scorer = method.fit(train, items)
            result = _metrics(scorer.score(query.histories, query.candidates, now_s=query.times_s), query,
                              with_auc=True)
            seconds[method.name] = seconds.get(method.name, 0.0) + time.perf_counter() - started
            runs["item_cold"].setdefault(method.name, []).append(result)
            if method.name == "tagger":
                chosen["item_cold"].append(method.chosen)
        log(f"seed {seed}: item cold start done ({len(query.histories)} users, {len(query.candidates)} titles)")
        train, queries = new_user(ratings, seed, ks=KS)
        for method in [TaggerMethod(functools.partial(tune_new_user, seed=seed)), *baselines(seed)]:
            if not method.new_user:
                continue
            started = time.perf_counter()
            scorer = method.fit(train, items)
            for k, q in queries.items():
                if k == 0 and method.name in NEEDS_HISTORY:
                    continue
                result = _metrics(scorer.score(q.histories, q.candidates, now_s=q.times_s), q)
                runs["new_user"][str(k)].setdefault(method.name, []).append(result)
            seconds[method.name] = seconds.get(method.name, 0.0) + time.perf_counter() - started
            if method.name == "tagger":
                chosen["new_user"].append(method.chosen)
        log(f"seed {seed}: new users done ({len(queries[0].histories)} users)")
    out = {"item_cold": {m: _mean_std(r) for m, r in runs["item_cold"].items()},
           "new_user": {k: {m: _mean_std(r) for m, r in per.items()} for k, per in runs["new_user"].items()}}
    out["meta"] = {"seeds": list(seeds), "titles": len(items), "users": int(ratings.n_users),
                   "ratings": int(len(ratings.user)), "top_k": TOP_K, "seconds_per_method": seconds,
                   "tagger_settings_chosen": chosen}
    return out


# Methods that rank from a history alone: with nothing revealed (k = 0) they have no answer.
NEEDS_HISTORY = {"tfidf", "item-knn", "als"}


def _mean_std(results: list[dict]) -> dict:
    keys = results[0].keys()
    out = {k: round(float(np.mean([r[k] for r in results])), 4) for k in keys}
    out["std"] = {k: round(float(np.std([r[k] for r in results])), 4) for k in keys}
    return out


def print_table(results: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cold = results["item_cold"]
    table = Table(title=f"Item cold start (mean ± std over seeds {results['meta']['seeds']})")
    for column in ("method", "Recall@20", "NDCG@20", "AUC"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, r in sorted(cold.items(), key=lambda kv: -kv[1]["recall@20"]):
        table.add_row(method, *(f"{r[m]:.3f} ± {r['std'][m]:.3f}" for m in ("recall@20", "ndcg@20", "auc")))
    console.print(table)
    users = results["new_user"]
    table = Table(title="New users revealing their first k positives: NDCG@20 (Recall@20)")
    table.add_column("method")
    for k in users:
        table.add_column(f"k={k}", justify="right")
    methods = sorted({m for per in users.values() for m in per},
                     key=lambda m: -np.mean([per[m]["ndcg@20"] for per in users.values() if m in per]))
    for method in methods:
        table.add_row(method, *(f"{users[k][method]['ndcg@20']:.3f} ({users[k][method]['recall@20']:.3f})"
                                if method in users[k] else "-" for k in users))
    console.print(table)
