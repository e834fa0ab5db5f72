"""Metadata-only ingest with and without the learned tag heads, side by side in one process.

    python benchmarks/metadata_ingest.py [--data ../shared/data] [--titles 600] [--rounds 3]

Titles are MovieLens movies with a TMDB overview (the first N of `tagger evaluate coldstart`'s
manifest), analysed by the default pipeline's engine as `tagger ingest` does (prepare in
batches, then one title at a time), the two pipelines taking turns (each first in every other
round) so that machine noise falls on both. Prints titles per second for each and their ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--titles", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import tempfile

    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.recommend.evaluate import movielens
    from tagger.stages.tags import without_heads
    from tagger.titles import read_manifest

    data = movielens.load(args.data)
    with tempfile.TemporaryDirectory() as folder:
        manifest = movielens.write_manifest(data.movies.head(args.titles), Path(folder) / "m.jsonl")
        titles = list(read_manifest(manifest))
    base = load_pipeline("default")
    engines = {"heads": Engine(base), "no heads": Engine(without_heads(base))}
    for engine in engines.values():   # warm up: models, prompt banks
        engine.prepare(titles[:8])
        for title in titles[:8]:
            engine.analyse(title)
    seconds = {name: [] for name in engines}
    for round_ in range(args.rounds):
        order = list(engines.items()) if round_ % 2 == 0 else list(engines.items())[::-1]
        for name, engine in order:   # each goes first in every other round
            begun = time.perf_counter()
            for start in range(0, len(titles), args.batch):
                chunk = titles[start:start + args.batch]
                engine.prepare(chunk)
                for title in chunk:
                    engine.analyse(title)
            seconds[name].append(time.perf_counter() - begun)
    rate = {name: len(titles) / statistics.median(s) for name, s in seconds.items()}
    print(f"{len(titles)} metadata-only titles, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    for name in engines:
        print(f"  {name:9s} {rate[name]:7.1f} titles/s (median of {[round(s, 1) for s in seconds[name]]} s)")
    print(f"  heads / no heads: {rate['heads'] / rate['no heads']:.2f}x the speed")


if __name__ == "__main__":
    main()
