"""Review app latency on a catalog-sized catalog: every list route, first page and a deep page.

    python benchmarks/review_pages.py [--sizes 100000] [--repeats 50] [--json F] [--keep DIR]

The catalog is generated through the catalog's own write methods (Catalog.write_title with
TitleResult records, 1000 titles per transaction): each title has 10 title-level tags of the
default taxonomy (confidence 0.45-1.0), 0-3 scenes with one scene tag each, a synopsis, a
release date, a year or neither; 2% of the titles failed on a later run; two runs with tag
thresholds 0.5 and 0.4. Editors decide on some tags (`decide`, as the API does): one tag of
every 20th title, and 1,500 decisions on one title for a long history.

Each route is called `repeats` times in process through Flask's test client with a bearer token
(what waitress adds per request is not counted), after one warm-up call; reported are the median
and p99 milliseconds, the answer's size, and the item count. "deep" pages start from a cursor
90% of the way down the list. Also timed: generating the catalog, one decision through the API
(it rewrites the title's stored queue rows), and the queue's refresh when the date changes
(every pending tag's priority recomputed, once a day, by the first queue read of the day).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.catalog.db import Catalog  # noqa: E402
from tagger.catalog.records import SceneRecord, TagRecord, TitleResult  # noqa: E402

BATCH = 1000
TAGS_PER_TITLE = 10
LONG_HISTORY = 1500
TARGET_MS = 200.0
WORDS = ("night shift river storm city heist ghost winter summer letter garden dark road train island "
         "family secret war love hunter signal machine detective nurse doctor village coast desert").split()


def make_result(i: int, rng: random.Random, tags: list) -> TitleResult:
    title_id = f"title-{i:07d}"
    name = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 3)))
    metadata = {"synopsis": " ".join(rng.choice(WORDS) for _ in range(40))}
    when = rng.random()
    if when < 0.6:
        metadata["year"] = rng.randint(1950, 2025)
    elif when < 0.9:
        metadata["release_date"] = (dt.date(1990, 1, 1) + dt.timedelta(days=rng.randint(0, 13000))).isoformat()
    scenes = [SceneRecord(s, 10.0 * s, 10.0 * s + 10, 240 * s, 240 * s + 240, features={"visual.brightness": 0.4})
              for s in range(rng.randint(0, 3))]
    chosen = rng.sample(tags, TAGS_PER_TITLE + len(scenes))
    records = [TagRecord(t.id, t.facet, t.label, round(rng.uniform(0.45, 1.0), 3), modalities=["text"],
                         stages={"text": {"model": "m"}}, evidence=[{"modality": "text", "source": "synopsis",
                                                                      "cue": metadata["synopsis"][:60]}])
               for t in chosen[:TAGS_PER_TITLE]]
    records += [TagRecord(t.id, t.facet, t.label, 0.7, scene=s.index, modalities=["visual"])
                for t, s in zip(chosen[TAGS_PER_TITLE:], scenes)]
    return TitleResult(id=title_id, title=name, source="generated", metadata=metadata, status="ok",
                       duration_s=10.0 * max(1, len(scenes)), media={"fps": 24.0}, scenes=scenes,
                       features={"visual.brightness": 0.4}, tags=records, micro_genres=[f"{name} Stories"],
                       fingerprint="f")


def generate(path: Path, size: int, *, seed: int = 7) -> dict:
    """A catalog of `size` titles at `path`; returns what was made and how long it took."""
    from tagger.review import auth
    from tagger.review.decisions import decide
    from tagger.tagging.taxonomy import load_taxonomy

    rng = random.Random(seed)
    tags = load_taxonomy("default").tags
    started = time.perf_counter()
    with Catalog(path) as catalog:
        runs = [catalog.start_run(tagger_version="bench", versions={},
                                  pipeline={"name": "default", "settings": {"tags": {"threshold": threshold}},
                                            "taxonomy": {"id": "default"}}) for threshold in (0.5, 0.4)]
        for first in range(0, size, BATCH):
            with catalog.transaction():
                for i in range(first, min(size, first + BATCH)):
                    catalog.write_title(make_result(i, rng, tags), run_id=runs[i % 2])
        written_s = time.perf_counter() - started
        with catalog.transaction():
            for i in range(0, size, 50):
                catalog.write_failure(TitleResult(id=f"title-{i:07d}", title="(failed)", source="generated",
                                                  metadata={}, status="failed", error="moov atom not found"),
                                      run_id=runs[1])
        token = auth.add_editor(catalog, "bench", "bench-password")
        decided = 0
        for first in range(0, size, 20 * BATCH):
            with catalog.transaction():
                for i in range(first, min(size, first + 20 * BATCH), 20):
                    title_id = f"title-{i:07d}"
                    tag = catalog.tags(title_id)[0]
                    decide(catalog, title_id, tag.tag, "accept" if i % 40 else "reject", editor="bench")
                    decided += 1
        long_title = f"title-{size // 2:07d}"
        tag = catalog.tags(long_title)[0].tag
        with catalog.transaction():
            for n in range(LONG_HISTORY):
                decide(catalog, long_title, tag, "reject" if n % 2 == 0 else "accept", editor="bench",
                       comment=f"round {n}")
    return {"titles": size, "written_s": written_s, "total_s": time.perf_counter() - started,
            "decisions": decided + LONG_HISTORY, "token": token, "long_history_title": long_title}


def time_calls(client, url: str, headers: dict, repeats: int) -> dict:
    client.get(url, headers=headers)   # warm-up: statement cache, page cache
    times_ms, size, items = [], 0, None
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        size = len(response.data)
        if response.is_json:
            items = len(response.json["items"])
    times_ms.sort()
    p99 = times_ms[min(len(times_ms) - 1, round(0.99 * (len(times_ms) - 1)))]
    return {"url": url, "median_ms": statistics.median(times_ms), "p99_ms": p99, "bytes": size, "items": items}


def queue_marks(catalog, *, facet=None, shares=(0.5, 0.9), step=1000):
    """The queue_key of items up to each share of the way down the queue (None: the start), and
    the queue's length, read a page at a time (the whole queue at once is a million dicts)."""
    from tagger.review.queue import queue_key, review_queue

    ends, after, total = [], None, 0
    while page := review_queue(catalog, limit=step, after=after, facet=facet):
        after = queue_key(page[-1])
        total += len(page)
        ends.append((total, after))
    return [next((key for read, key in reversed(ends) if read <= share * total), None) for share in shares], total


def measure(path: Path, made: dict, repeats: int) -> dict:
    from tagger.review.paging import Cursors
    from tagger.review.web import create_app

    app = create_app(str(path))
    cursors = Cursors(app.secret_key)
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    with client.session_transaction() as session:
        session["editor"] = "bench"   # the pages' session, as after signing in
    with Catalog(path) as catalog:
        ids = catalog.title_ids()
        (queue_middle, queue_deep), pending = queue_marks(catalog)
        (_, mood_deep), _ = queue_marks(catalog, facet="mood")
        middle = catalog.queue_page(limit=1, after=queue_middle)[0]
        history = catalog.decisions(made["long_history_title"])
    common_tag, rare_tag = middle["tag"], "western"
    deep = {"titles": cursors.cursor("titles", ids[int(0.9 * len(ids))]),
            "queue": cursors.cursor("queue", queue_deep), "mood": cursors.cursor("queue", mood_deep),
            "history": cursors.cursor("history", history[int(0.9 * len(history))]["id"])}
    long = made["long_history_title"]
    routes = [
        ("GET /api/titles", "/api/titles", bearer),
        ("GET /api/titles deep", f"/api/titles?cursor={deep['titles']}", bearer),
        ("GET /api/titles limit=500", "/api/titles?limit=500", bearer),
        ("GET /api/titles q=heist", "/api/titles?q=heist", bearer),
        ("GET /api/titles q=nothing-matches", "/api/titles?q=zzzz", bearer),
        (f"GET /api/titles tag={common_tag}", f"/api/titles?tag={common_tag}", bearer),
        (f"GET /api/titles tag={rare_tag} deep", f"/api/titles?tag={rare_tag}&cursor={deep['titles']}", bearer),
        ("GET /api/titles facet=mood", "/api/titles?facet=mood", bearer),
        ("GET /api/titles status=failed", "/api/titles?status=failed", bearer),
        ("GET /api/titles status=failed deep", f"/api/titles?status=failed&cursor={deep['titles']}", bearer),
        ("GET /api/titles pending=1 deep", f"/api/titles?pending=1&cursor={deep['titles']}", bearer),
        ("GET / (catalog page)", "/", {}),
        ("GET / deep", f"/?cursor={deep['titles']}", {}),
        ("GET /api/queue", "/api/queue", bearer),
        ("GET /api/queue deep", f"/api/queue?cursor={deep['queue']}", bearer),
        ("GET /api/queue limit=500", "/api/queue?limit=500", bearer),
        ("GET /api/queue facet=mood", "/api/queue?facet=mood", bearer),
        ("GET /api/queue facet=mood deep", f"/api/queue?facet=mood&cursor={deep['mood']}", bearer),
        ("GET /api/queue title=", f"/api/queue?title={ids[len(ids) // 3]}", bearer),
        ("GET /queue (page)", "/queue", {}),
        ("GET /queue deep", f"/queue?cursor={deep['queue']}", {}),
        ("GET /api/titles/ID/history", f"/api/titles/{long}/history", bearer),
        ("GET /api/titles/ID/history deep", f"/api/titles/{long}/history?cursor={deep['history']}", bearer),
        ("GET /titles/ID (title page)", f"/titles/{long}", {}),
    ]
    rows = [{"route": name, **time_calls(client, url, headers, repeats)} for name, url, headers in routes]

    # One decision through the API: the title's stored queue rows are rewritten with it.
    started = time.perf_counter()
    response = client.post(f"/api/titles/{middle['title_id']}/decisions", headers=bearer,
                           json={"tag": middle["tag"], "action": "accept", "version": middle["version"]})
    decision_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    # The first queue read of a new day recomputes every pending tag's priority.
    with Catalog(path) as catalog:
        started = time.perf_counter()
        changed = catalog.refresh_queue(dt.date.today() + dt.timedelta(days=1))
        refresh_s = time.perf_counter() - started
        catalog.refresh_queue(dt.date.today())
    return {"routes": rows, "decision_ms": decision_ms, "day_refresh_s": refresh_s, "day_refresh_rows": changed,
            "pending_tags": pending}


def run(sizes=(100_000,), repeats: int = 50, keep: Path | None = None) -> list[dict]:
    out = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            path = (keep or Path(scratch)) / f"review-{size}.db"
            if path.exists():
                path.unlink()
            print(f"generating {size} titles ...", flush=True)
            made = generate(path, size)
            print(f"  {made['written_s']:.0f} s to write the titles, {made['total_s']:.0f} s in all", flush=True)
            result = measure(path, made, repeats)
            out.append({"size": size, "generate_s": made["total_s"], "write_titles_s": made["written_s"],
                        "db_mb": path.stat().st_size / 1e6, **result})
    return out


def print_table(results: list[dict]) -> None:
    for r in results:
        print(f"\nreview app on {r['size']} titles ({r['pending_tags']} pending tags, {r['db_mb']:.0f} MB catalog; "
              f"generated in {r['generate_s']:.0f} s, titles written in {r['write_titles_s']:.0f} s)")
        print(f"{'route':42} {'median ms':>10} {'p99 ms':>8} {'items':>6} {'bytes':>9}")
        for row in r["routes"]:
            flag = "" if row["p99_ms"] < TARGET_MS else f"  over {TARGET_MS:.0f} ms"
            items = "" if row["items"] is None else row["items"]
            print(f"{row['route'][:42]:42} {row['median_ms']:10.1f} {row['p99_ms']:8.1f} {items:>6} "
                  f"{row['bytes']:9d}{flag}")
        print(f"one decision (POST, stored queue rows rewritten): {r['decision_ms']:.1f} ms")
        print(f"queue refresh when the date changes (every pending tag recomputed, "
              f"{r['day_refresh_rows']} rows rewritten): {r['day_refresh_s']:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="catalog sizes in titles, comma-separated")
    parser.add_argument("--repeats", type=int, default=50, help="calls per route")
    parser.add_argument("--keep", type=Path, help="write the generated catalogs into this folder and keep them")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    results = run(sizes=tuple(int(s) for s in args.sizes.split(",")), repeats=args.repeats, keep=args.keep)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
