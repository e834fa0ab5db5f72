"""Ingest benchmark: wall time, real-time factor, peak memory and seconds per stage, against
the decoding floor, for a long generated title, the sample titles and the real clips.

    python benchmarks/run.py [--minutes 10] [--pipeline default] [--json benchmarks/results.json]
    python benchmarks/run.py --text-only      # the text encoder backends alone
    python benchmarks/run.py --index-sizes 10000,100000   # vector index latency sizes (0: skip)
    python benchmarks/run.py --recommender-sizes 0            # skip queries through the Recommender
    python benchmarks/run.py --review-sizes 0                 # skip the review app's pages
    python benchmarks/run.py --shot-detectors 0               # skip the shot-boundary benchmark
    python benchmarks/run.py --process-minutes 0              # skip timing whole ingest processes

Each title runs in its own process so that peak memory (ru_maxrss) is that title's. In that
process the models load first, a short warm-up title pays for JIT compilation, then:
- the decoding floor: PyAV alone decoding the video at the pipeline's analysis width;
- the ingest: every stage of the pipeline on the same file.
The headline is ingest seconds divided by floor seconds, both measured in the same process.
The whole-process figure times `tagger ingest` as a user runs it (start-up, model loading and
the catalog write included) on a 4-minute 720p title against the floor of decoding its video
at full size and its audio, taking turns (--process-minutes, --process-rounds).
Also measured: text encoder sentences per second for each backend (torch, onnx, onnx-int8, taking
turns in one process) with the speed-up over torch and the cosine difference from torch's vectors,
and CLIP images per second (a tiny model with random weights stands in where no CLIP weights
exist, so only its speed means anything), the vector index's query latency and recall (FAISS
and the numpy fallback) on synthetic catalogs (benchmarks/recommend_latency.py, which also
runs alone), and
similar / user / new-user queries through the whole Recommender on tagged synthetic catalogs
(benchmarks/recommender_queries.py, which also runs alone), and the review app's list routes on a
generated catalog (benchmarks/review_pages.py, which also runs alone).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / ".cache"
SHARED_MEDIA = ROOT.parent / "shared" / "media"


# -- the long title -------------------------------------------------------------------------

def make_long_title(minutes: float, *, crf: int = 16) -> Path:
    """A 720p title of `minutes` with cuts every 2-8 s, music and speech, and subtitles (cached).
    The default crf gives about 3 Mbps, a usual rate for 720p H.264: decoding cost follows it."""
    import cv2
    import numpy as np

    from tagger import synth

    folder = CACHE / f"long-{minutes:g}min-crf{crf}"
    video = folder / "long.mp4"
    if video.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    total_s, shots = 0.0, []
    while total_s < minutes * 60:
        duration = float(rng.uniform(2.0, 8.0))
        colour = tuple(int(c) for c in rng.integers(30, 220, 3))
        shots.append(synth.ShotSpec(duration, colour, float(rng.uniform(0.2, 0.7)), float(rng.uniform(0.1, 0.5)),
                                    len(shots)))
        total_s += duration
    sample_rate = 22050
    beat = synth.click_track(110, duration_s=total_s, sample_rate_hz=sample_rate, amplitude=0.2)
    pad = np.concatenate([synth.chord(root, mode, duration_s=8.0, sample_rate_hz=sample_rate, amplitude=0.15)
                          for root, mode in [("A", "minor"), ("F", "major"), ("C", "major"), ("G", "major")]
                          ] * int(total_s // 32 + 1))[: int(total_s * sample_rate)]
    speech = synth.speech_like(duration_s=total_s, sample_rate_hz=sample_rate, seed=3)
    audio = synth.mix(beat, pad, speech * 0.6)
    # Rendered at 360p and scaled up: the content is smooth, and rendering 720p directly is slow.
    frames = (cv2.resize(f, (1280, 720), interpolation=cv2.INTER_LINEAR)
              for f in synth.render_shots(shots, fps=24, size=(640, 360)))
    synth.write_video(video, frames, fps=24, audio=audio, sample_rate_hz=sample_rate, crf=crf)
    lines = ["Keep moving.", "Where are we going?", "The river is rising fast.", "We have to cross before dark."]
    cues = [(t, t + 2.5, lines[i % len(lines)]) for i, t in enumerate(np.arange(1.0, total_s - 3, 7.0))]
    synth.write_srt(folder / "long.en.srt", cues)
    (folder / "title.toml").write_text('id = "long"\ntitle = "Long generated title"\n'
                                       'synopsis = "A crew crosses a flooded valley before nightfall."\n')
    return folder


# -- one title, in a child process ----------------------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_one(folder: str, pipeline_name: str) -> dict:
    from tagger import synth
    from tagger.engine import Engine
    from tagger.media.decode import iter_frames
    from tagger.media.probe import probe
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover

    pipeline = load_pipeline(pipeline_name)
    engine = Engine(pipeline)
    # Every model loaded before the measured title: the warm-up title's clear cut never asks
    # TransNetV2, which would otherwise load (seconds) inside the measured title's scenes stage.
    engine.setup()
    with tempfile.TemporaryDirectory() as warm:
        shots = [synth.ShotSpec(2.0, (40, 40, 200), 0.5, 0.2, 1), synth.ShotSpec(2.0, (200, 120, 30), 0.5, 0.2, 2)]
        audio = synth.chord("C", "major", duration_s=4.0)
        synth.write_video(Path(warm) / "w.mp4", synth.render_shots(shots, fps=24, size=(320, 180)), fps=24,
                          audio=audio)
        engine.analyse(discover([Path(warm) / "w.mp4"])[0])
    baseline_mb = _rss_mb()
    [title] = discover([folder])
    Path(title.video).read_bytes()  # same page-cache state for both measurements
    info = probe(title.video)
    width = pipeline.settings["scenes"].analysis_width if "scenes" in pipeline.settings else 320
    started = time.perf_counter()
    frames = sum(1 for _ in iter_frames(title.video, analysis_width=width, rotation_deg=info.rotation_deg))
    floor_s = time.perf_counter() - started
    started = time.perf_counter()
    result = engine.analyse(title)
    ingest_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"title": title.id, "status": result.status, "error": result.error,
            "duration_s": info.duration_s, "size": f"{info.width}x{info.height}", "frames": frames,
            "analysis_width": width, "floor_s": floor_s, "ingest_s": ingest_s,
            "ingest_over_floor": ingest_s / floor_s if floor_s else None,
            "x_real_time": info.duration_s / ingest_s if ingest_s else None,
            "stage_s": {name: r["seconds"] for name, r in result.modalities.items()},
            "scenes": len(result.scenes), "baseline_rss_mb": baseline_mb, "peak_rss_mb": peak_mb}


def decoding_floor(video: str) -> float:
    """Seconds PyAV takes to decode the title's video (every frame to a full-size array) and its
    audio (to mono at 22.05 kHz), back to back: what any analysis of the file has to pay."""
    import av

    from tagger.media.decode import iter_audio

    started = time.perf_counter()
    with av.open(video) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
    for _ in iter_audio(video, sample_rate_hz=22050):
        pass
    return time.perf_counter() - started


def whole_process(folder: Path, pipeline: str, rounds: int = 3) -> dict:
    """`tagger ingest` as a user runs it (a new process, start-up and catalog write included)
    against the decoding floor, taking turns `rounds` times so that load hits both alike."""
    from tagger.titles import discover

    [title] = discover([folder])
    Path(title.video).read_bytes()   # the same page-cache state for both
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}
    report = {"title": title.id, "pipeline": pipeline, "load_before": os.getloadavg(), "rounds": []}
    for _ in range(rounds):
        out = subprocess.run([sys.executable, __file__, "--floor", title.video], capture_output=True, text=True,
                             env=env, check=True)
        floor_s = float(out.stdout.strip().splitlines()[-1])
        with tempfile.TemporaryDirectory() as scratch:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "tagger", "ingest", str(folder), "--pipeline", pipeline,
                                   "--catalog", str(Path(scratch) / "tagger.db")], capture_output=True, text=True,
                                  env=env, cwd=scratch)
            ingest_s = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"tagger ingest failed: {done.stderr.strip()[-500:]}")
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report["rounds"].append({"floor_s": floor_s, "ingest_s": ingest_s, "ratio": ingest_s / floor_s,
                                 "ingest_cpu_s": cpu_s})
    ratios = sorted(r["ratio"] for r in report["rounds"])
    report["median_ratio"] = ratios[len(ratios) // 2]
    report["load_after"] = os.getloadavg()
    return report


def print_process(report: dict) -> None:
    print(f"\nwhole `tagger ingest` process ({report['pipeline']} pipeline) on {report['title']} against the "
          f"decoding floor (video to full-size arrays, then audio), taking turns:")
    for r in report["rounds"]:
        print(f"  ingest {r['ingest_s']:7.1f} s (CPU {r['ingest_cpu_s']:6.1f} s)   floor {r['floor_s']:6.1f} s   "
              f"ratio {r['ratio']:5.2f}")
    print(f"  median ratio {report['median_ratio']:.2f}; load average {tuple(round(x, 1) for x in report['load_before'])}"
          f" before, {tuple(round(x, 1) for x in report['load_after'])} after, {os.cpu_count()} CPUs")


def run_child(folder: Path, pipeline: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(folder), "--pipeline", pipeline],
                         capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        return {"title": folder.name, "status": "failed", "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- model throughput -----------------------------------------------------------------------

TEXT_BACKENDS = ("torch", "onnx", "onnx-int8")
TMDB = ROOT.parent / "shared" / "data" / "tmdb" / "tmdb_5000_movies.csv"


def real_sentences(tmdb_limit: int = 1000) -> list[str]:
    """What the text stage embeds: sample subtitles and synopses, the taxonomy's prompts, TMDB
    overviews (when ../shared/data is there), and edge cases (empty, past the 256-token limit)."""
    import csv
    import tomllib

    from tagger.tagging.taxonomy import load_taxonomy
    from tagger.text.subtitles import read_subtitles

    sentences = []
    for path in sorted((ROOT / "sample_media").glob("*/*")):
        if path.suffix in (".srt", ".vtt"):
            sentences += [cue.text for cue in read_subtitles(path)]
        elif path.name == "title.toml":
            sentences.append(tomllib.loads(path.read_text()).get("synopsis", ""))
    sentences += [prompt for tag in load_taxonomy("default").tags for prompt in tag.prompts]
    if TMDB.is_file():
        with open(TMDB, newline="", encoding="utf-8") as f:
            overviews = [row["overview"] for row in csv.DictReader(f) if row["overview"].strip()]
        sentences += overviews[:tmdb_limit]
    sentences += ["", " ", "!!!", "word " * 400, " ".join(sentences[-40:])]
    return sentences


def text_throughput(count: int = 512, sample: int = 256, rounds: int = 5) -> dict:
    """Each text backend's cosine difference from torch on all real sentences, and its sentences
    per second on `count` short lines and on `sample` real sentences. The backends take turns
    within each round so that load on a shared machine hits all alike; the best round counts."""
    import numpy as np

    from tagger.text.encoder import TextEncoder, backend_problem

    lines = [f"Line {i}: the detective walks into the rain and asks who saw the car." for i in range(count)]
    real = real_sentences()
    real_sample = real[:: max(1, len(real) // sample)][:sample]
    encoders, report = {}, {}
    for backend in TEXT_BACKENDS:
        if backend_problem(backend):
            report[backend] = {"skipped": backend_problem(backend)}
            continue
        started = time.perf_counter()
        encoders[backend] = TextEncoder(backend=backend)
        onnx_model = encoders[backend]._onnx
        report[backend] = {"model_id": encoders[backend].model_id, "version": encoders[backend].version,
                           "setup_s": time.perf_counter() - started,
                           "exported_now": bool(onnx_model and onnx_model.exported)}
    vectors = {backend: encoder.encode(real) for backend, encoder in encoders.items()}   # also warms up
    best = {(b, name): float("inf") for b in encoders for name in ("lines", "real")}
    for _ in range(rounds):
        for backend, encoder in encoders.items():
            for name, sentences in (("lines", lines), ("real", real_sample)):
                started = time.perf_counter()
                encoder.encode(sentences)
                best[backend, name] = min(best[backend, name], time.perf_counter() - started)
    for backend in encoders:
        entry = report[backend]
        entry["sentences_per_s"] = count / best[backend, "lines"]
        entry["real_sentences_per_s"] = len(real_sample) / best[backend, "real"]
        entry["speedup"] = best["torch", "lines"] / best[backend, "lines"]
        entry["real_speedup"] = best["torch", "real"] / best[backend, "real"]
        difference = 1.0 - np.sum(vectors[backend] * vectors["torch"], axis=1)
        entry["max_cosine_diff"] = float(difference.max())
        entry["mean_cosine_diff"] = float(difference.mean())
    return {"model": encoders["torch"].model_id, "sentences_per_s": report["torch"]["sentences_per_s"],
            "lines": count, "real_sample": len(real_sample), "real_sentences": len(real), "rounds": rounds,
            "backends": report}


def print_text_table(text: dict) -> None:
    print(f"\ntext encoder ({text['model']}): sentences/s (best of {text['rounds']} rounds) on "
          f"{text['lines']} short lines and on {text['real_sample']} real sentences; cosine difference "
          f"from torch on all {text['real_sentences']} real sentences; setup: construction (torch's includes "
          f"the imports)")
    print(f"{'backend':10} {'lines/s':>8} {'x torch':>8} {'real/s':>8} {'x torch':>8} {'max diff':>9} "
          f"{'mean diff':>10} {'setup s':>8}")
    for backend, r in text["backends"].items():
        if "skipped" in r:
            print(f"{backend:10} skipped: {r['skipped']}")
            continue
        setup = f"{r['setup_s']:.1f}" + (" (export)" if r["exported_now"] else "")
        print(f"{backend:10} {r['sentences_per_s']:8.0f} {r['speedup']:8.2f} {r['real_sentences_per_s']:8.0f} "
              f"{r['real_speedup']:8.2f} {r['max_cosine_diff']:9.1e} {r['mean_cosine_diff']:10.1e} {setup:>8}")


def clip_throughput(count: int = 64) -> dict:
    import numpy as np
    import open_clip
    import torch

    from tagger.vision.clip import ClipEncoder

    # ViT-B-32's architecture with random weights: its speed is the real model's speed.
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    encoder = ClipEncoder(model, preprocess, open_clip.get_tokenizer("ViT-B-32"), model_id="random ViT-B-32")
    images = [np.random.default_rng(i).integers(0, 256, (252, 448, 3), dtype=np.uint8) for i in range(count)]
    encoder.encode_images(images[:8])
    started = time.perf_counter()
    encoder.encode_images(images)
    return {"model": "ViT-B-32 (random weights, speed only)", "images_per_s": count / (time.perf_counter() - started)}


# -- report ---------------------------------------------------------------------------------

def print_table(rows: list[dict]) -> None:
    print(f"{'title':22} {'length':>8} {'size':>9} {'ingest s':>9} {'floor s':>8} {'/floor':>7} "
          f"{'x real':>7} {'peak MB':>8} {'+MB':>6}  seconds per stage")
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['title']:22} failed: {r['error']}")
            continue
        stages = " ".join(f"{k}={v:.1f}" for k, v in r["stage_s"].items() if v >= 0.05)
        print(f"{r['title'][:22]:22} {r['duration_s']:7.0f}s {r['size']:>9} {r['ingest_s']:9.1f} {r['floor_s']:8.1f} "
              f"{r['ingest_over_floor']:7.2f} {r['x_real_time']:7.1f} {r['peak_rss_mb']:8.0f} "
              f"{r['peak_rss_mb'] - r['baseline_rss_mb']:6.0f}  {stages}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated title (0: none)")
    parser.add_argument("--pipeline", default="default")
    parser.add_argument("--json", help="where the report goes (default: benchmarks/results.json, "
                                        "or results-text.json with --text-only)")
    parser.add_argument("--text-only", action="store_true", help="only the text encoder backends")
    parser.add_argument("--index-sizes", default="10000,100000,1000000",
                        help="catalog sizes for the vector index (0: skip them)")
    parser.add_argument("--recommender-sizes", default="10000,100000",
                        help="catalog sizes for queries through the whole Recommender (0: skip them)")
    parser.add_argument("--review-sizes", default="100000",
                        help="catalog sizes for the review app's pages and API (0: skip them)")
    parser.add_argument("--process-minutes", type=float, default=4.0,
                        help="length of the title whose whole ingest process is timed against the floor (0: skip)")
    parser.add_argument("--process-rounds", type=int, default=3)
    parser.add_argument("--shot-detectors", default="all",
                        help="detectors for the shot-boundary benchmark (all, a comma-separated list, or 0: skip)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.pipeline)))
        return 0
    if args.floor:
        print(decoding_floor(args.floor))
        return 0
    if args.text_only:
        text = text_throughput()
        print_text_table(text)
        out = args.json or str(ROOT / "benchmarks" / "results-text.json")
        Path(out).write_text(json.dumps({"cpu_count": os.cpu_count(), "models": {"text": text},
                                         "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2))
        print(f"wrote {out}")
        return 0
    folders = []
    if args.minutes > 0:
        print(f"making the {args.minutes:g}-minute title (cached in {CACHE}) ...", flush=True)
        folders.append(make_long_title(args.minutes))
    folders += sorted(p for p in (ROOT / "sample_media").iterdir() if p.is_dir())
    if SHARED_MEDIA.is_dir():
        for name in ("big_buck_bunny_0_30.webm", "mkv_vob_Title_T00-1.mkv", "friday.mp4"):
            folders.append(SHARED_MEDIA / name)
    process = None
    if args.process_minutes > 0:
        print(f"timing whole ingest processes on the {args.process_minutes:g}-minute title ...", flush=True)
        process = whole_process(make_long_title(args.process_minutes), args.pipeline, rounds=args.process_rounds)
    rows = []
    for folder in folders:
        print(f"measuring {folder.name} ...", flush=True)
        rows.append(run_child(folder, args.pipeline))
    models = {"text": text_throughput(), "clip": clip_throughput()}
    print()
    print_table(rows)
    if process is not None:
        print_process(process)
    print_text_table(models["text"])
    print(f"CLIP image encoder: {models['clip']['images_per_s']:.1f} images/s ({models['clip']['model']})")
    report = {"pipeline": args.pipeline, "cpu_count": os.cpu_count(), "titles": rows, "models": models,
              "whole_process": process, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    sys.path.insert(0, str(Path(__file__).parent))
    parts = (("recommend_latency", args.index_sizes, "the vector index"),
             ("recommender_queries", args.recommender_sizes, "queries through the Recommender"),
             ("review_pages", args.review_sizes, "the review app's pages and API"))
    for name, size_list, what in parts:
        sizes = [int(s) for s in size_list.split(",") if int(s) > 0]
        if sizes:
            module = importlib.import_module(name)
            print(f"measuring {what} ...", flush=True)
            report[name] = module.run(sizes=tuple(sizes))
            module.print_table(report[name])
    if args.shot_detectors != "0":
        module = importlib.import_module("shot_boundaries")
        print("measuring shot detectors ...", flush=True)
        detectors = None if args.shot_detectors == "all" else args.shot_detectors.split(",")
        report["shot_boundaries"] = module.run(detectors=detectors)
        module.print_report(report["shot_boundaries"])
    out = args.json or str(ROOT / "benchmarks" / "results.json")
    Path(out).write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
