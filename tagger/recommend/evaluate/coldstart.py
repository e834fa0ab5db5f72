"""`tagger evaluate coldstart`: the recommender against baselines on MovieLens, side by side.

1. The movies with a TMDB overview become a manifest of metadata-only titles and go through
   `tagger ingest` (the default pipeline's text stages), so the recommender reads the same
   tags and embeddings as for any title. A catalog ingested before is reused (unchanged
   titles are skipped).
2. Item cold start, two protocols. random: per seed, 20% of titles held out with all their
   ratings. temporal: the titles first rated after a cutoff (a quantile of first-rating times)
   are the new ones, trained on (a) every rating of the older titles or (b) every rating
   before the cutoff; reported on all new titles and on those released in the cutoff's year
   or later. Every user with a new positive ranks all new titles.
3. New users per seed: 20% of users held out; each reveals their first k positives in time
   order and the rest are the target.
The `tagger` method chooses its hyper-parameters on a validation split carved from each
seed's training data the same way as the test split (temporal under the temporal protocol),
never from the test split. With learned tags (learned_tags.py), the item cold-start splits give
it tag probabilities from heads fitted on that split's training titles as a content block,
whose weight the validation chooses (0 on offer); `tagger-no-learned-tags` is the same method
with that weight forced to 0. Each method's Recall@20 difference to TF-IDF gets a paired
bootstrap 95% interval over users.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import time
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from tagger.recommend.content import ContentWeights
from tagger.recommend.evaluate import baselines as B
from tagger.recommend.evaluate import movielens
from tagger.recommend.evaluate.learned_tags import LearnedTags
from tagger.recommend.evaluate.metrics import paired_interval, per_user_metrics
from tagger.recommend.evaluate.splits import (Ratings, TrainSet, item_cold, item_cold_temporal, new_user,
                                              restrict)
from tagger.recommend.items import ItemTable
from tagger.recommend.model import Recommender, RecommenderSettings

KS = (0, 1, 3, 5)
TOP_K = 20
PROTOCOLS = ("random", "temporal", "new-user")
CUTOFF_QUANTILE = 0.8
REFERENCE = "tfidf"         # every method's Recall@20 difference to it gets an interval
# The temporal split is the same for every seed, so the tagger method is fitted on it once, and
# LightFM too (16 CPU seconds a fit, ten fits otherwise: the whole run keeps within its time
# budget); the seeds still draw ALS's and the random scores' starts, and every tie-break.
FIT_ONCE_ON_TEMPORAL = ("lightfm",)
# Result names of the temporal protocol: training variant, and whether only the titles released
# in the cutoff's year or later are candidates.
TEMPORAL_RESULTS = {"item_cold_temporal": ("older", False), "item_cold_temporal_recent": ("older", True),
                    "item_cold_temporal_before": ("before", False),
                    "item_cold_temporal_before_recent": ("before", True)}


class TaggerMethod:
    """The project's recommender as a method of the evaluation: `choose` picks its settings
    from the training data (the tuning below, on a validation split), and `fit` returns the
    fitted Recommender, which scores as every baseline does. `item_features`, when given,
    adds to the titles what this split's training data can tell of them (learned tags)."""
    item_cold = True
    new_user = True

    def __init__(self, choose: Callable[[TrainSet, ItemTable], RecommenderSettings],
                 item_features: Callable[[TrainSet, ItemTable], ItemTable] | None = None, name: str = "tagger"):
        self.choose = choose
        self.item_features = item_features
        self.name = name
        self.chosen: dict = {}      # the settings that differ from the defaults, for the report
        self.tuning: dict = {}      # what the tuning saw, for the report (validation_recall)

    def fit(self, train: TrainSet, items: ItemTable) -> Recommender:
        if self.item_features is not None:
            items = self.item_features(train, items)
        settings = self.choose(train, items)
        default = dataclasses.asdict(RecommenderSettings())
        self.chosen = {k: v for k, v in dataclasses.asdict(settings).items() if v != default[k]}
        if "validation_recall" in self.tuning:
            self.chosen["validation_recall_by_tags_weight"] = self.tuning["validation_recall"]
        return Recommender(settings).fit_matrix(items, train.positives, train.times_s)


ITEM_COLD_GRID = {
    "popularity_weight": (0.0, 0.3, 1.0),
    "age_weight": (0.0, 0.3, 1.0),
    "content_collab_weight": (0.0, 0.5, 1.0),
    "words_weight": (0.0, 0.5, 1.0),
}
# The learned tags' content block (ContentWeights.tags), tried at the ridge chosen without it:
# one weight, as each costs a fit (0.5 and 2.0 fared alike on the validation splits).
TAGS_WEIGHTS = (1.0,)


def tune_item_cold(train: TrainSet, items: ItemTable, seed: int, variant: str | None = None,
                   quantile: float = CUTOFF_QUANTILE, without_tags: dict | None = None) -> RecommenderSettings:
    """Ridge and blend weights on a validation split of the training data: random titles held
    out (variant None), or the training titles that arrived last (a temporal variant). Where
    the titles carry tags, first without their block, then at that ridge with each of
    TAGS_WEIGHTS. `without_tags` gets the best settings without the block ("settings") and the
    best validation Recall@20 per tags weight ("validation_recall")."""
    if variant is None:
        inner, query = item_cold(Ratings.from_train(train), seed + 1000, base_items=train.train_items)
    else:
        inner, query, _ = item_cold_temporal(Ratings.from_train(train), quantile, variant,
                                             base_items=train.train_items)
    no_tags = ContentWeights(tags=0.0)
    best = {0.0: (RecommenderSettings(content=no_tags), -1.0)}     # tags weight -> (settings, recall)
    names = list(ITEM_COLD_GRID)
    tried = [*((r, 0.0) for r in (1.0, 3.0, 10.0)), *((None, w) for w in TAGS_WEIGHTS if items.tags.shape[1])]
    for ridge, tags_weight in tried if query.histories else []:
        ridge = best[0.0][0].profile_ridge if ridge is None else ridge   # the tags at the ridge chosen without
        # Weights above 0 at fit build the parts the grid then weighs (0 included).
        model = Recommender(RecommenderSettings(content=dataclasses.replace(no_tags, tags=tags_weight),
                                                profile_ridge=ridge, words_weight=1.0, content_collab_weight=1.0)
                            ).fit_matrix(items, inner.positives, inner.times_s)
        parts = model.parts(query.histories, query.candidates, now_s=query.times_s)
        for values in itertools.product(*ITEM_COLD_GRID.values()):
            settings = dataclasses.replace(model.settings, **dict(zip(names, values)))
            recall = _mean(_metrics(model.blend(parts, settings), query, seed=seed))[f"recall@{TOP_K}"]
            if recall > best.get(tags_weight, (None, -1.0))[1]:
                best[tags_weight] = settings, recall
    if without_tags is not None:
        without_tags["settings"] = best[0.0][0]
        without_tags["validation_recall"] = {w: round(r, 4) for w, (_, r) in best.items()}
    return max(best.values(), key=lambda chosen: chosen[1])[0]


NO_LEARNED_TAGS = "tagger-no-learned-tags"


def item_cold_methods(seed: int, variant: str | None = None, quantile: float = CUTOFF_QUANTILE,
                      item_features=None) -> list[TaggerMethod]:
    """The `tagger` method for an item cold-start split; with `item_features` (learned tags)
    also NO_LEARNED_TAGS, which takes the settings its validation chose without them (fit it
    after `tagger`: it reads them from that tuning)."""
    chosen_without: dict = {}
    method = TaggerMethod(functools.partial(tune_item_cold, seed=seed, variant=variant, quantile=quantile,
                                            without_tags=chosen_without), item_features)
    method.tuning = chosen_without
    if item_features is None:
        return [method]
    return [method, TaggerMethod(lambda train, items: chosen_without["settings"], name=NO_LEARNED_TAGS)]


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
        ndcg = np.mean([_mean(_metrics(model.blend(parts[k], settings), q, seed=seed))[f"ndcg@{TOP_K}"]
                        for k, q in queries.items()])
        if ndcg > best_ndcg:
            best, best_ndcg = settings, ndcg
    return best


def _metrics(scores: np.ndarray, query, with_auc: bool = False, seed: int = 0) -> dict[str, np.ndarray]:
    """Per user; ties rank at random from `seed`."""
    scores = np.array(scores, dtype=float)
    if scores.shape[1] == 0:
        return per_user_metrics(scores, [np.zeros(0, np.int64)] * len(scores), TOP_K, with_auc=with_auc)
    if len(query.candidates) == scores.shape[1] and query.candidates[-1] == len(query.candidates) - 1:
        for u, history in enumerate(query.histories):   # revealed titles are not recommendations
            scores[u, history] = -np.inf
    return per_user_metrics(scores, query.relevant, TOP_K, with_auc=with_auc, seed=seed)


def _mean(per_user: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            for name, values in per_user.items()}


def baselines(seed: int) -> list[B.Baseline]:
    out: list[B.Baseline] = [B.RandomScores(seed), B.GenrePopularity(), B.TfidfProfile(), B.Popularity(),
                             B.ItemKNN(), B.ALS(seed=seed), B.YearPrior()]
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


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


class _Runs:
    """Per-user metrics of every method, per result and seed; seconds per method."""

    def __init__(self):
        self.per_user: dict[str, dict[str, list[dict]]] = {}
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}     # all threads: comparable on a machine others load

    def add(self, result: str, method: str, per_user: dict[str, np.ndarray]) -> None:
        self.per_user.setdefault(result, {}).setdefault(method, []).append(per_user)

    def timed(self, method: str, started: tuple[float, float]) -> None:
        """started: `_clock()` when the method began."""
        wall, cpu = _clock()
        self.seconds[method] = round(self.seconds.get(method, 0.0) + wall - started[0], 1)
        self.cpu_seconds[method] = round(self.cpu_seconds.get(method, 0.0) + cpu - started[1], 1)

    def summary(self, result: str, seeds: list[int]) -> dict:
        """Means over seeds with a `std` beside them, and the paired interval against REFERENCE.
        The temporal split is the same for every seed: its users' differences are averaged over
        the seeds first and resampled once (resampling each seed's copy of them apart would
        count the same users five times)."""
        out = {}
        runs = self.per_user[result]
        for method, per_seed in runs.items():
            means = [_mean(r) for r in per_seed]
            keys = means[0].keys()
            out[method] = {k: round(float(np.mean([m[k] for m in means])), 4) for k in keys}
            out[method]["std"] = {k: round(float(np.std([m[k] for m in means])), 4) for k in keys}
            if REFERENCE in runs and method != REFERENCE:
                name = f"recall@{TOP_K}"
                diffs = [mine[name] - ref[name] for mine, ref in zip(per_seed, runs[REFERENCE])]
                if result.startswith("item_cold_temporal"):
                    diffs = [np.mean(diffs, axis=0)]
                lo, hi = paired_interval(diffs, seed=seeds[0])
                out[method]["ci95_vs_tfidf"] = [round(lo, 4), round(hi, 4)]
        return out


def _item_cold_run(runs: _Runs, result: str, methods, train: TrainSet, query, items: ItemTable, seed: int,
                   also: dict | None = None) -> None:
    """Fit every item-cold method and score `query` (and each restricted query in `also`)."""
    for method in methods:
        if not method.item_cold:
            continue
        started = _clock()
        scorer = method if isinstance(method, _Fitted) else method.fit(train, items)
        for name, q in [(result, query), *(also or {}).items()]:
            if not len(q.candidates):       # e.g. no title released in the cutoff's year or later
                runs.add(name, method.name, _metrics(np.zeros((len(q.histories), 0)), q, with_auc=True))
                continue
            scores = scorer.score(q.histories, q.candidates, now_s=q.times_s)
            runs.add(name, method.name, _metrics(scores, q, with_auc=True, seed=seed))
        runs.timed(method.name, started)


@dataclasses.dataclass
class _Fitted:
    """A method fitted once and scored for every seed (its split and fit do not depend on it)."""
    name: str
    scorer: object
    item_cold = True

    def score(self, histories, candidates, *, now_s=None):
        return self.scorer.score(histories, candidates, now_s=now_s)


def evaluate(data, items: ItemTable, seeds=(0, 1, 2, 3, 4), protocols=PROTOCOLS,
             cutoff_quantile: float = CUTOFF_QUANTILE, learned: LearnedTags | None = None, log=print) -> dict:
    """The protocols asked for, every seed; returns means with a `std` beside them. With
    `learned`, the item cold-start splits' `tagger` method gets learned tags (module docstring)."""
    # Titles enter the evaluation catalog at one moment, so freshness carries no signal here.
    # Tags are left out: the tags stage may run learned heads, which were trained on these very
    # titles' genres and users' tags (the new ones of the temporal protocol included).
    items = dataclasses.replace(items, added_s=np.zeros(len(items)), tag_ids=[], tag_labels=[],
                                tags=sp.csr_matrix((len(items), 0), dtype=np.float32))
    ratings = Ratings.from_frame(data.ratings[data.ratings["title_id"].isin(items.index)], items.ids)
    runs, seeds = _Runs(), list(seeds)
    chosen: dict[str, list] = {}
    meta: dict = {}
    temporal = {}
    if "temporal" in protocols:
        for variant in ("older", "before"):
            train, query, cutoff_s = item_cold_temporal(ratings, cutoff_quantile, variant)
            if not query.histories:
                log(f"temporal, training on {variant!r} ratings: no user has both a training history and a "
                    "new title; left out")
                continue
            cutoff_year = dt.datetime.fromtimestamp(cutoff_s, dt.timezone.utc).year
            recent = restrict(query, items.year[query.candidates] >= cutoff_year)
            # The split and the tagger method's tuning on it are the same for every seed: fit once.
            features = None if learned is None else functools.partial(_with_learned_tags, learned, cutoff_s=cutoff_s)
            methods = item_cold_methods(0, variant, cutoff_quantile, features)
            fitted = []
            for method in methods:
                started = _clock()
                fitted.append(_Fitted(method.name, method.fit(train, items)))
                runs.timed(method.name, started)
            for baseline in baselines(seeds[0]):
                if baseline.name in FIT_ONCE_ON_TEMPORAL:
                    started = _clock()
                    fitted.append(_Fitted(baseline.name, baseline.fit(train, items)))
                    runs.timed(baseline.name, started)
            chosen[f"temporal_{variant}"] = [methods[0].chosen]
            temporal[variant] = (train, query, recent, fitted)
            meta[f"temporal_{variant}"] = {
                "cutoff": dt.datetime.fromtimestamp(cutoff_s, dt.timezone.utc).isoformat(timespec="seconds"),
                "cutoff_year": cutoff_year, "new_titles": int(len(query.candidates)),
                "new_titles_recent": int(len(recent.candidates)), "users": int(len(query.histories)),
                "users_recent": int(sum(len(r) > 0 for r in recent.relevant))}
    for seed in seeds:
        if "random" in protocols:
            train, query = item_cold(ratings, seed)
            features = None if learned is None else functools.partial(_with_learned_tags, learned, seed=seed)
            methods = item_cold_methods(seed, item_features=features)
            _item_cold_run(runs, "item_cold", [*methods, *baselines(seed)], train, query, items, seed)
            chosen.setdefault("item_cold", []).append(methods[0].chosen)
            log(f"seed {seed}: random item cold start done ({len(query.histories)} users, "
                f"{len(query.candidates)} titles)")
        for variant, (train, query, recent, fitted) in temporal.items():
            name = "item_cold_temporal" if variant == "older" else "item_cold_temporal_before"
            others = [b for b in baselines(seed) if b.name not in FIT_ONCE_ON_TEMPORAL]
            _item_cold_run(runs, name, [*fitted, *others], train, query, items, seed,
                           also={f"{name}_recent": recent})
            log(f"seed {seed}: temporal item cold start, training on {variant!r} ratings, done "
                f"({len(query.histories)} users, {len(query.candidates)} titles)")
        if "new-user" in protocols:
            train, queries = new_user(ratings, seed, ks=KS)
            method = TaggerMethod(functools.partial(tune_new_user, seed=seed))
            for scorer_of in [method, *baselines(seed)]:
                if not scorer_of.new_user:
                    continue
                started = _clock()
                scorer = scorer_of.fit(train, items)
                for k, q in queries.items():
                    if k == 0 and scorer_of.name in NEEDS_HISTORY:
                        continue
                    runs.add(f"new_user/{k}", scorer_of.name,
                             _metrics(scorer.score(q.histories, q.candidates, now_s=q.times_s), q, seed=seed))
                runs.timed(scorer_of.name, started)
            chosen.setdefault("new_user", []).append(method.chosen)
            log(f"seed {seed}: new users done ({len(queries[0].histories)} users)")
    out: dict = {}
    for result in runs.per_user:
        if result.startswith("new_user/"):
            out.setdefault("new_user", {})[result.split("/")[1]] = runs.summary(result, seeds)
        else:
            out[result] = runs.summary(result, seeds)
    out["meta"] = {"seeds": seeds, "protocols": list(protocols), "titles": len(items),
                   "users": int(ratings.n_users), "ratings": int(len(ratings.user)), "top_k": TOP_K,
                   "cutoff_quantile": cutoff_quantile, **meta, "seconds_per_method": runs.seconds,
                   "cpu_seconds_per_method": runs.cpu_seconds,
                   "tagger_settings_chosen": chosen,
                   **({"learned_tags": learned.report} if learned is not None else {})}
    return out


def _with_learned_tags(learned: LearnedTags, train: TrainSet, items: ItemTable, *, cutoff_s: float | None = None,
                       seed: int = 0) -> ItemTable:
    """The titles with tag probabilities from heads fitted on this split's training titles."""
    return learned.items_for(items, train.train_items, cutoff_s, seed)


# Methods that rank from a history alone: with nothing revealed (k = 0) they have no answer.
NEEDS_HISTORY = {"tfidf", "item-knn", "als"}
