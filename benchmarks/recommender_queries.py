"""Query latency through the Recommender itself (not just the vector index), on a synthetic catalog.

    python benchmarks/recommender_queries.py [--sizes 10000,100000] [--viewers 5000] [--queries 300] [--json F]

The catalog is recommend_latency's clustered 384-d text embeddings, plus what a tagged catalog
has: each topic carries six of 200 tags (a title has each with probability 0.7, confidence
0.3-1.0), its genre, a release era; titles were added over three years. Each viewer likes 20
titles from two favourite topics (topics picked by popularity), one completed title a day or so
over the last year, in one of three regions. The Recommender is fitted on that, then timed per
call, with reasons and re-ranking, as `tagger recommend` would answer:

    similar    similar(title, k=10) for a title with viewers
    user       recommend_user(viewer, k=10)
    new-user   recommend_new_user(likes=3 titles of one topic, k=10)
    new-user tags   recommend_new_user(tags=2 tags of one topic, k=10): a sign-up with no titles

Also reported, so speed is not bought with quality: the share of a viewer's top 10 from their
favourite topics, and, above `full_scan_up_to` titles, how many of the top 10 from the candidate
pool are also in the top 10 of scoring every title (overlap@10), on a sample of viewers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recommend_latency import make_catalog_with_topics  # noqa: E402
from tagger.recommend import Event, Recommender, RecommenderSettings  # noqa: E402
from tagger.recommend.items import ItemTable  # noqa: E402

TAGS = 200
TAGS_PER_TOPIC = 6
LIKES_PER_VIEWER = 20
REGIONS = ("US", "DE", "BR")
NOW_S = 1.7e9               # the query time; events fall in the year before it
DAY_S = 86400.0
K = 10
WARMUP_QUERIES = 5
OVERLAP_SAMPLE = 50         # viewers scored both ways for overlap@10


def make_items(n: int, seed: int) -> tuple[ItemTable, np.ndarray]:
    """A tagged synthetic catalog and each title's topic."""
    vectors, topic_of_title, genre_of_topic = make_catalog_with_topics(n, seed=seed)
    rng = np.random.default_rng(seed + 2)
    topics = len(genre_of_topic)
    topic_tags = np.stack([rng.choice(TAGS, TAGS_PER_TOPIC, replace=False) for _ in range(topics)])
    carried = rng.random((n, TAGS_PER_TOPIC)) < 0.7
    rows = np.repeat(np.arange(n), TAGS_PER_TOPIC)[carried.ravel()]
    cols = topic_tags[topic_of_title].ravel()[carried.ravel()]
    confidence = rng.uniform(0.3, 1.0, len(rows)).astype(np.float32)
    tags = sp.csr_matrix((confidence, (rows, cols)), shape=(n, TAGS))
    topic_year = rng.uniform(1960, 2024, topics)
    year = np.minimum(np.round(topic_year[topic_of_title] + rng.normal(0, 4, n)), 2023)
    ids = [f"title-{i:07d}" for i in range(n)]
    items = ItemTable(ids=ids, titles=[f"Title {i}" for i in range(n)], synopses=[""] * n,
                      genres=[[f"genre {genre_of_topic[t]:02d}"] for t in topic_of_title], year=year,
                      regions=[["US"]] * n, added_s=NOW_S - rng.uniform(0, 3 * 365 * DAY_S, n),
                      tag_ids=[f"tag-{i:03d}" for i in range(TAGS)],
                      tag_labels=[f"tag {i:03d}" for i in range(TAGS)], tags=tags,
                      embeddings={"text": vectors})
    return items, topic_of_title


def make_events(items: ItemTable, topic_of_title: np.ndarray, viewers: int,
                seed: int) -> tuple[list[Event], dict[str, set[int]]]:
    """Completed titles from each viewer's two favourite topics; viewer -> those topics."""
    rng = np.random.default_rng(seed + 3)
    topics = int(topic_of_title.max()) + 1
    titles_of_topic = np.split(np.argsort(topic_of_title, kind="stable"),
                               np.cumsum(np.bincount(topic_of_title, minlength=topics))[:-1])
    size = np.array([len(t) for t in titles_of_topic], float)
    events, favourites = [], {}
    for v in range(viewers):
        user = f"viewer-{v:06d}"
        mine = rng.choice(topics, 2, replace=False, p=size / size.sum())
        favourites[user] = set(int(t) for t in mine)
        pool = np.concatenate([titles_of_topic[t] for t in mine])
        liked = rng.choice(pool, min(LIKES_PER_VIEWER, len(pool)), replace=False)
        times = NOW_S - rng.uniform(0, 365 * DAY_S, len(liked))
        region = REGIONS[v % len(REGIONS)]
        events += [Event(user, items.ids[t], "completion", 1.0, float(s), region) for t, s in zip(liked, times)]
    return events, favourites


def _stats(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)), "queries": int(ms.size)}


def _timed(call, arguments: list) -> tuple[dict, list]:
    for a in arguments[:WARMUP_QUERIES]:
        call(a)
    seconds, results = [], []
    for a in arguments:
        started = time.perf_counter()
        results.append(call(a))
        seconds.append(time.perf_counter() - started)
    return _stats(seconds), results


def measure(n: int, viewers: int, queries: int, seed: int = 0) -> dict:
    items, topic_of_title = make_items(n, seed)
    events, favourites = make_events(items, topic_of_title, viewers, seed)
    started = time.perf_counter()
    model = Recommender().fit(items, events, now_s=NOW_S)
    out = {"titles": n, "viewers": viewers, "events": len(events), "fit_s": time.perf_counter() - started,
           "load_average_before": os.getloadavg()[0], "full_scan_up_to": model.settings.full_scan_up_to}
    rng = np.random.default_rng(seed + 4)
    watched = np.flatnonzero(model.item_viewers > 0)
    users = list(rng.choice(model.user_ids, queries))
    titles = [items.ids[r] for r in rng.choice(watched, queries)]
    new_likes, new_tags = [], []
    for r in rng.choice(watched, queries):
        same_topic = np.flatnonzero(topic_of_title == topic_of_title[r])
        new_likes.append([items.ids[t] for t in rng.choice(same_topic, min(3, len(same_topic)), replace=False)])
        new_tags.append([items.tag_labels[t] for t in items.tags[r].indices[:2]])

    out["similar"], _ = _timed(lambda t: model.similar(t, K), titles)
    out["user"], user_recs = _timed(lambda u: model.recommend_user(u, K, now_s=NOW_S), users)
    out["new_user"], _ = _timed(lambda likes: model.recommend_new_user(likes=likes, k=K, now_s=NOW_S), new_likes)
    out["new_user_tags"], _ = _timed(lambda tags: model.recommend_new_user(tags=tags, k=K, now_s=NOW_S), new_tags)
    out["user_top10_in_favourite_topics"] = float(np.mean(
        [np.mean([topic_of_title[items.index[r.title_id]] in favourites[u] for r in recs])
         for u, recs in zip(users, user_recs)]))
    if n > model.settings.full_scan_up_to:
        full = Recommender(RecommenderSettings(full_scan_up_to=n))
        full.__dict__.update({k: v for k, v in model.__dict__.items() if k != "settings"})
        overlap = []
        for u in users[:OVERLAP_SAMPLE]:
            pooled = {r.title_id for r in model.recommend_user(u, K, now_s=NOW_S)}
            scanned = {r.title_id for r in full.recommend_user(u, K, now_s=NOW_S)}
            overlap.append(len(pooled & scanned) / K)
        out["user_overlap_at_10_with_full_scan"] = float(np.mean(overlap))
    out["load_average_after"] = os.getloadavg()[0]
    return out


def run(sizes=(10_000, 100_000), viewers: int = 5000, queries: int = 300, seed: int = 0) -> dict:
    report = {"cpu_count": os.cpu_count(), "k": K, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), "sizes": []}
    for n in sizes:
        print(f"recommender queries over {n} titles ...", file=sys.stderr, flush=True)
        report["sizes"].append(measure(int(n), viewers, queries, seed))
    return report


def print_table(results: dict) -> None:
    kinds = ("similar", "user", "new_user", "new_user_tags")
    print(f"{'':26}{'---- median / p99 ms per query ----':^60}")
    print(f"{'titles':>9} {'viewers':>7} {'fit s':>6}  " + "".join(f"{k.replace('_', '-'):>15}" for k in kinds)
          + f"  {'fav topics':>10} {'overlap':>7}")
    for size in results["sizes"]:
        cells = "".join(f"{size[q]['median_ms']:>8.1f} /{size[q]['p99_ms']:>5.1f}" for q in kinds)
        overlap = size.get("user_overlap_at_10_with_full_scan")
        print(f"{size['titles']:9d} {size['viewers']:7d} {size['fit_s']:6.1f}  {cells}  "
              f"{size['user_top10_in_favourite_topics']:10.2f} {'-' if overlap is None else f'{overlap:.2f}':>7}")
    print("k=10, one call at a time with reasons and re-ranking; fav topics: share of a viewer's top 10 from "
          "their two topics; overlap: top 10 from the candidate pool against scoring every title")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated catalog sizes")
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = run(sizes, args.viewers, args.queries, args.seed)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
