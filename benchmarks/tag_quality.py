"""How well text zero-shot genre tags agree with TMDB's genre labels, from overviews alone.

    python benchmarks/tag_quality.py [--data ../shared/data] [--titles 1000] [--z 1.6,1.9,2.2]

Runs the real engine (metadata-only titles through the default pipeline's text and tags
stages) on TMDB 5000 overviews and reports per-genre precision, recall and F1 against TMDB's
genres, for each z_center tried. TMDB genres are a coarse proxy for tags, and an overview is
a few sentences: this measures the text modality alone, not tagger with video.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# TMDB genre name -> the taxonomy's tag id
GENRE_TAGS = {"Action": "action", "Adventure": "adventure", "Animation": "animation", "Comedy": "comedy",
              "Crime": "crime", "Documentary": "documentary", "Drama": "drama", "Family": "family",
              "Fantasy": "fantasy", "Horror": "horror", "Mystery": "mystery", "Romance": "romance",
              "Science Fiction": "science-fiction", "Thriller": "thriller", "War": "war", "Western": "western",
              "Music": "musical"}


def load_titles(data: Path, count: int, seed: int):
    from tagger.titles import TitleInput

    rows = []
    with open(data / "tmdb" / "tmdb_5000_movies.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            genres = {g["name"] for g in json.loads(row["genres"] or "[]")} & set(GENRE_TAGS)
            if row["overview"].strip() and genres:
                rows.append((TitleInput(id=row["id"], title=row["title"], source="tmdb",
                                        synopsis=row["overview"]), genres))
    random.Random(seed).shuffle(rows)
    return rows[:count]


def evaluate(engine, rows) -> dict:
    counts = {g: {"tp": 0, "fp": 0, "fn": 0} for g in GENRE_TAGS}
    for title, genres in rows:
        fired = {t.tag for t in engine.analyse(title).tags}
        for genre, tag in GENRE_TAGS.items():
            hit, truth = tag in fired, genre in genres
            counts[genre]["tp"] += hit and truth
            counts[genre]["fp"] += hit and not truth
            counts[genre]["fn"] += truth and not hit
    report = {}
    for genre, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[genre] = {"precision": precision, "recall": recall, "f1": f1, "support": c["tp"] + c["fn"]}
    supported = [r for r in report.values() if r["support"]]
    report["macro"] = {k: sum(r[k] for r in supported) / len(supported) for k in ("precision", "recall", "f1")}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--z", default="1.6,1.9,2.2", help="z_center values to compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "tmdb" / "tmdb_5000_movies.csv").is_file():
        print(f"TMDB data not found under {data}", file=sys.stderr)
        return 2
    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline

    base = load_pipeline("default")
    rows = load_titles(data, args.titles, args.seed)
    results = {}
    for z in (float(v) for v in args.z.split(",")):
        settings = dict(base.settings)
        settings["text"] = dataclasses.replace(base.settings["text"], z_center=z)
        pipeline = dataclasses.replace(base, stages=("text", "tags"), settings={k: settings[k] for k in ("text", "tags")})
        engine = Engine(pipeline)
        started = time.perf_counter()
        results[z] = evaluate(engine, rows)
        seconds = time.perf_counter() - started
        macro = results[z]["macro"]
        print(f"z_center={z}: macro precision {macro['precision']:.3f} recall {macro['recall']:.3f} "
              f"F1 {macro['f1']:.3f} ({len(rows)} titles, {len(rows) / seconds:.0f} titles/s)")
    best = max(results, key=lambda z: results[z]["macro"]["f1"])
    print(f"\nper genre at z_center={best}:")
    print(f"{'genre':18} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}")
    for genre, r in sorted(results[best].items(), key=lambda kv: -kv[1].get("support", 1e9)):
        if genre != "macro":
            print(f"{genre:18} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1']:6.3f} {r['support']:8d}")
    if args.json:
        Path(args.json).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
