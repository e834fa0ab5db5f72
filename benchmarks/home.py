"""Home page latency: one viewer's page, and pages for many viewers in batch, on a synthetic
catalog with a fitted model.

    python benchmarks/home.py [--titles 10000] [--viewers 10000] [--queries 50] [--json FILE]

The catalog: titles in 8 genres (taxonomy nouns) with 2 of 8 moods (adjectives) each, 64-d text
embeddings around their genre, 4 artwork candidates per title; viewers each finish 8 titles of
their two favourite genres and were shown 20 images (5 clicked). Targets (issue 16): one page
under 50 ms median at 10,000 titles; 10,000 pages in batch under 5 s.
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

from tagger.home.artwork import DESCRIBED_BY, ArtworkCandidate  # noqa: E402
from tagger.home.page import HomeBuilder  # noqa: E402
from tagger.recommend import Event, ItemTable, Recommender  # noqa: E402

GENRES = ["thriller", "comedy", "drama", "documentary", "horror", "romance", "action", "crime"]
MOODS = ["dark", "upbeat", "tense", "feel-good", "eerie", "gritty", "heartwarming", "exciting"]
START_S = 1_700_000_000.0


def make_world(n_titles: int, n_viewers: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, len(GENRES), n_titles)
    moods = np.stack([rng.choice(len(MOODS), 2, replace=False) for _ in range(n_titles)])
    tag_ids = GENRES + MOODS
    rows = np.repeat(np.arange(n_titles), 3)
    cols = np.column_stack([genre, len(GENRES) + moods]).ravel()
    tags = sp.csr_matrix((rng.uniform(0.5, 1.0, len(rows)).astype(np.float32), (rows, cols)),
                         shape=(n_titles, len(tag_ids)))
    centres = rng.standard_normal((len(GENRES), 64)).astype(np.float32)
    text = centres[genre] + 0.7 * rng.standard_normal((n_titles, 64)).astype(np.float32)
    ids = [f"t{i:06d}" for i in range(n_titles)]
    items = ItemTable(ids=ids, titles=[f"Title {i}" for i in range(n_titles)], synopses=[""] * n_titles,
                      genres=[[GENRES[g].title()] for g in genre], year=rng.integers(1980, 2024, n_titles).astype(float),
                      regions=[["GB"]] * n_titles, added_s=START_S - rng.uniform(0, 900, n_titles) * 86400,
                      tag_ids=tag_ids, tag_labels=[t.title() for t in tag_ids], tags=tags, embeddings={"text": text})
    artwork = {t: [ArtworkCandidate(t, s, 24 * s, float(s), 5.0, dict(zip(DESCRIBED_BY, rng.uniform(0, 1, len(DESCRIBED_BY)))),
                                    [(MOODS[moods[i, 0]], 0.8)], [MOODS[moods[i, 0]]]) for s in range(4)]
               for i, t in enumerate(ids)}
    popularity = rng.pareto(1.2, n_titles) + 0.05
    events = []
    by_genre = [np.flatnonzero(genre == g) for g in range(len(GENRES))]
    for u in range(n_viewers):
        favourite = rng.choice(len(GENRES), 2, replace=False)
        pool = np.concatenate([by_genre[g] for g in favourite])
        watched = rng.choice(pool, 8, replace=False, p=popularity[pool] / popularity[pool].sum())
        for k, t in enumerate(watched):
            events.append(Event(f"u{u}", ids[t], "completion", 1.0, START_S + u * 60 + k, "GB"))
        for k, t in enumerate(rng.choice(n_titles, 20)):
            scene = int(rng.integers(0, 4))
            when = START_S + u * 60 + 10 + k
            events.append(Event(f"u{u}", ids[t], "impression", 0.0, when, row="Popular in GB", position=k,
                                artwork=f"{scene}:{24 * scene}"))
            if k % 4 == 0:
                events.append(Event(f"u{u}", ids[t], "click", 0.0, when + 0.5, row="Popular in GB", position=k,
                                    artwork=f"{scene}:{24 * scene}"))
    return items, artwork, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=10_000)
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    items, artwork, events = make_world(args.titles, args.viewers)
    made_s = time.perf_counter() - started
    started = time.perf_counter()
    model = Recommender().fit(items, events)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    home = HomeBuilder(model, artwork=artwork, events=events)
    builder_s = time.perf_counter() - started
    now_s = START_S + args.viewers * 60 + 3600
    users = [f"u{u}" for u in range(args.viewers)]
    for user in users[:3]:
        home.page(user, now_s=now_s)               # warm-up (popularity cache, neighbour cache)
    times = []
    for user in users[3:3 + args.queries]:
        t = time.perf_counter()
        home.page(user, now_s=now_s)
        times.append(1000 * (time.perf_counter() - t))
    started, cpu_started = time.perf_counter(), time.process_time()
    pages = home.pages(users, now_s=now_s)
    batch_s, batch_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    rows = [len(p.rows) for p in pages.values()]
    result = {"titles": args.titles, "viewers": args.viewers, "page_ms_median": round(float(np.median(times)), 2),
              "page_ms_p90": round(float(np.percentile(times, 90)), 2), "batch_s": round(batch_s, 2),
              "batch_cpu_s": round(batch_cpu_s, 2),     # CPU time of every thread: on a busy machine, the work done
              "batch_ms_per_page": round(1000 * batch_s / len(users), 3), "rows_per_page_mean": round(float(np.mean(rows)), 2),
              "setup_s": {"world": round(made_s, 1), "fit": round(fit_s, 1), "home_builder": round(builder_s, 1)},
              "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
