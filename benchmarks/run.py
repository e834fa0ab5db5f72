"""Ingest benchmark: wall time, real-time factor, peak memory and seconds per stage, against
the decoding floor, for a long generated title, the sample titles and the real clips.

    python benchmarks/run.py [--minutes 10] [--pipeline default] [--json benchmarks/results.json]

Each title runs in its own process so that peak memory (ru_maxrss) is that title's. In that
process the models load first, a short warm-up title pays for JIT compilation, then:
- the decoding floor: PyAV alone decoding the video at the pipeline's analysis width;
- the ingest: every stage of the pipeline on the same file.
The headline is ingest seconds divided by floor seconds, both measured in the same process.
Also measured: text encoder sentences per second and CLIP images per second (a tiny model with
random weights stands in where no CLIP weights exist, so only its speed means anything).
"""
from __future__ import annotations

import argparse
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

def make_long_title(minutes: float) -> Path:
    """A 720p title of `minutes` with cuts every 2-8 s, music and speech, and subtitles (cached)."""
    import cv2
    import numpy as np

    from tagger import synth

    folder = CACHE / f"long-{minutes:g}min"
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
    synth.write_video(video, frames, fps=24, audio=audio, sample_rate_hz=sample_rate)
    lines = ["Keep moving.", "Where are we going?", "The river is rising fast.", "We have to cross before dark."]
    cues = [(t, t + 2.5, lines[i % len(lines)]) for i, t in enumerate(np.arange(1.0, total_s - 3, 7.0))]
    synth.write_srt(folder / "long.en.srt", cues)
    (folder / "title.toml").write_text(f'id = "long"\ntitle = "Long generated title"\n'
                                       f'synopsis = "A crew crosses a flooded valley before nightfall."\n')
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
    from tagger.ingest import Engine
    from tagger.media.decode import iter_frames
    from tagger.media.probe import probe
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover

    pipeline = load_pipeline(pipeline_name)
    engine = Engine(pipeline)
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
    return {"title": title.id, "status": result["status"], "error": result.get("error"),
            "duration_s": info.duration_s, "size": f"{info.width}x{info.height}", "frames": frames,
            "analysis_width": width, "floor_s": floor_s, "ingest_s": ingest_s,
            "ingest_over_floor": ingest_s / floor_s if floor_s else None,
            "x_real_time": info.duration_s / ingest_s if ingest_s else None,
            "stage_s": {name: r["seconds"] for name, r in result["modalities"].items()},
            "scenes": len(result.get("scenes", [])), "baseline_rss_mb": baseline_mb, "peak_rss_mb": peak_mb}


def run_child(folder: Path, pipeline: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(folder), "--pipeline", pipeline],
                         capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        return {"title": folder.name, "status": "failed", "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- model throughput -----------------------------------------------------------------------

def text_throughput(count: int = 512) -> dict:
    from tagger.text.encoder import get_encoder

    encoder = get_encoder()
    sentences = [f"Line {i}: the detective walks into the rain and asks who saw the car." for i in range(count)]
    encoder.encode(sentences[:32])
    started = time.perf_counter()
    encoder.encode(sentences)
    return {"model": encoder.model_id, "sentences_per_s": count / (time.perf_counter() - started)}


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
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.pipeline)))
        return 0
    folders = []
    if args.minutes > 0:
        print(f"making the {args.minutes:g}-minute title (cached in {CACHE}) ...", flush=True)
        folders.append(make_long_title(args.minutes))
    folders += sorted(p for p in (ROOT / "sample_media").iterdir() if p.is_dir())
    if SHARED_MEDIA.is_dir():
        for name in ("big_buck_bunny_0_30.webm", "mkv_vob_Title_T00-1.mkv", "friday.mp4"):
            folders.append(SHARED_MEDIA / name)
    rows = []
    for folder in folders:
        print(f"measuring {folder.name} ...", flush=True)
        rows.append(run_child(folder, args.pipeline))
    models = {"text": text_throughput(), "clip": clip_throughput()}
    print()
    print_table(rows)
    print(f"\ntext encoder: {models['text']['sentences_per_s']:.0f} sentences/s ({models['text']['model']})")
    print(f"CLIP image encoder: {models['clip']['images_per_s']:.1f} images/s ({models['clip']['model']})")
    report = {"pipeline": args.pipeline, "cpu_count": os.cpu_count(), "titles": rows, "models": models,
              "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
