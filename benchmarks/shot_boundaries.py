"""Shot-boundary benchmark: every registered detector on real clips with hand-annotated
boundaries (benchmarks/shot_boundaries.toml) and on generated low-contrast titles
(benchmarks/shot_titles.py), side by side in one run: per clip, precision / recall / F1 at a
0.15 s tolerance and false boundaries; per detector, frames per second of the detector alone.

    python benchmarks/shot_boundaries.py                 # clips found locally, generated titles
    python benchmarks/shot_boundaries.py --fetch         # first download the annotated clips
    python benchmarks/shot_boundaries.py --detectors content,hybrid --sets validation

Each clip is decoded by the same pass the scenes stage runs (split_video), once per detector,
the detectors taking turns clip by clip, so load on a shared machine hits all alike; speed is
the detector's own time (process + finish) over the frames it saw, as frames per second of
wall time and of CPU time. The load average is printed with the table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
ANNOTATIONS = ROOT / "benchmarks" / "shot_boundaries.toml"
CLIPS = ROOT / "benchmarks" / ".cache" / "clips"
TITLES = ROOT / "benchmarks" / ".cache" / "shots"
SHARED_MEDIA = ROOT.parent / "shared" / "media"
TOLERANCE_S = 0.15
VALIDATION_SEEDS = (1, 2, 3)
TEST_SEEDS = (11, 12, 13, 14)
CARDS_VALIDATION_SEEDS = (5, 6)   # bright shots, bright dissolves, title cards over the picture


@dataclass
class Reference:
    name: str
    path: Path
    set: str
    fps: float
    cuts: list[int]
    gradual: list[dict] = field(default_factory=list)     # {first, last, kind}
    optional: list[dict] = field(default_factory=list)    # {first, last}

    def transitions(self) -> list[tuple[int, int, str]]:
        """(first, last, kind) of every boundary that must be found."""
        return sorted([(c, c, "cut") for c in self.cuts] + [(g["first"], g["last"], g["kind"]) for g in self.gradual])


def score(reference: Reference, found: list[int]) -> dict:
    """Matches detected boundary frames to the reference's, one to one, nearest first."""
    tolerance = TOLERANCE_S * reference.fps
    spans = reference.transitions()
    pairs = []
    for r, (first, last, _) in enumerate(spans):
        for d, frame in enumerate(found):
            if first - tolerance <= frame <= last + tolerance:
                pairs.append((0 if first <= frame <= last else min(abs(frame - first), abs(frame - last)), r, d))
    matched_r, matched_d = set(), set()
    for _, r, d in sorted(pairs):
        if r not in matched_r and d not in matched_d:
            matched_r.add(r)
            matched_d.add(d)
    ignored = set()
    for d, frame in enumerate(found):
        if d in matched_d:
            continue
        inside_gradual = any(first <= frame <= last and r in matched_r and first != last
                             for r, (first, last, _) in enumerate(spans))
        inside_optional = any(o["first"] - tolerance <= frame <= o["last"] + tolerance for o in reference.optional)
        if inside_gradual or inside_optional:
            ignored.add(d)
    tp = len(matched_r)
    fp = len(found) - len(matched_d) - len(ignored)
    fn = len(spans) - tp
    return {"tp": tp, "fp": fp, "fn": fn, "false_frames": [f for d, f in enumerate(found)
                                                          if d not in matched_d and d not in ignored],
            "missed": [spans[r][0] for r in range(len(spans)) if r not in matched_r]}


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


# -- the clips ------------------------------------------------------------------------------

def real_clips(fetch: bool) -> tuple[list[Reference], list[str]]:
    from tagger.media.probe import probe

    clips, missing = [], []
    for entry in tomllib.loads(ANNOTATIONS.read_text())["clip"]:
        path = (SHARED_MEDIA if entry.get("shared") else CLIPS) / entry["file"]
        if not path.is_file() and fetch and "url" in entry:
            import urllib.request

            CLIPS.mkdir(parents=True, exist_ok=True)
            print(f"fetching {entry['url']} ...", flush=True)
            urllib.request.urlretrieve(entry["url"], path)
        if not path.is_file():
            missing.append(entry["file"])
            continue
        clips.append(Reference(entry["file"], path, entry["set"], probe(path).fps, list(entry.get("cuts", [])),
                               list(entry.get("gradual", [])), list(entry.get("optional", []))))
    return clips, missing


def generated_titles(seeds_by_set: dict[str, tuple[int, ...]], *, kind: str = "low-contrast") -> list[Reference]:
    from shot_titles import FPS, write_title

    titles = []
    for set_name, seeds in seeds_by_set.items():
        for seed in seeds:
            path, truths = write_title(seed, TITLES, kind=kind)
            titles.append(Reference(path.name, path, set_name, FPS,
                                    [t.frame for t in truths if t.kind == "cut"],
                                    [{"first": t.first, "last": t.last, "kind": t.kind}
                                     for t in truths if t.kind != "cut"]))
    return titles


# -- running a detector ---------------------------------------------------------------------

class Timed:
    """A detector that counts the time spent in it."""

    def __init__(self, detector):
        self.detector = detector
        self.wall = self.cpu = 0.0
        self.frames = 0

    def _timed(self, call, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return call(*args)
        finally:
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu

    def process(self, index, image):
        self.frames += 1
        return self._timed(self.detector.process, index, image)

    def finish(self):
        return self._timed(self.detector.finish)


def run_detector(name: str, clip: Reference, settings) -> dict:
    from dataclasses import replace

    from tagger.media.probe import probe
    from tagger.scenes.detectors import detector_class
    from tagger.scenes.split import split_video

    settings = replace(settings, detector=name)
    info = probe(clip.path)
    detector = Timed(detector_class(name)(settings, fps=info.fps))
    started = time.perf_counter()
    result = split_video(clip.path, fps=info.fps, rotation_deg=info.rotation_deg, duration_s=info.duration_s,
                         settings=settings, detector=detector)
    found = [s.start_frame for s in result.scenes[1:]]
    return {"found": found, "kinds": [s.boundary_kind for s in result.scenes[1:]],
            "frames": detector.frames, "network_frames": getattr(detector.detector, "network_frames", 0),
            "looks": getattr(detector.detector, "looks", []),
            "detector_wall_s": detector.wall, "detector_cpu_s": detector.cpu,
            "pass_wall_s": time.perf_counter() - started, **score(clip, found)}


# -- report ---------------------------------------------------------------------------------

def run(detectors: list[str] | None = None, *, sets=("validation", "test"), fetch: bool = False,
        generated: bool = True, settings=None) -> dict:
    """Every detector on every clip found, taking turns clip by clip; the report print_report shows."""
    from tagger.scenes.detectors import DETECTORS
    from tagger.scenes.split import SplitSettings

    detectors = list(detectors or DETECTORS)
    settings = settings or SplitSettings()
    load_before = os.getloadavg()
    clips, missing = real_clips(fetch)
    if generated:
        print("making the generated titles (cached) ...", flush=True)
        clips += generated_titles({"validation": VALIDATION_SEEDS, "test": TEST_SEEDS})
        clips += generated_titles({"validation": CARDS_VALIDATION_SEEDS}, kind="cards")
    clips = [c for c in clips if c.set in sets]
    results = {d: {} for d in detectors}
    for clip in clips:
        print(f"{clip.name} ...", flush=True)
        for d in detectors:
            results[d][clip.name] = run_detector(d, clip, settings)
    return {"tolerance_s": TOLERANCE_S, "settings": dict(settings.__dict__), "missing": missing,
            "clips": [{"name": c.name, "set": c.set, "transitions": len(c.transitions()),
                       "generated": c.name.startswith(("low-contrast", "cards"))} for c in clips],
            "detectors": detectors, "results": results, "load_average": [load_before, os.getloadavg()],
            "cpu_count": os.cpu_count(), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}


def print_report(report: dict) -> None:
    clips, detectors, results = report["clips"], report["detectors"], report["results"]
    if report["missing"]:
        print(f"not found (run with --fetch, or see ../shared/media): {', '.join(report['missing'])}")
    width = max(len(c["name"]) for c in clips) + 2

    def cell(tp, fp, fn):
        p, r, f = f1(tp, fp, fn)
        return f"{p:.2f}/{r:.2f}/{f:.2f} ({fp:>2})"

    print(f"\nshot boundaries, per clip: precision / recall / F1 at {report['tolerance_s']} s (false boundaries)")
    print(f"{'clip':{width}} {'set':10} {'n':>3} " + " ".join(f"{d:>22}" for d in detectors))
    for clip in clips:
        cells = [cell(*(results[d][clip['name']][k] for k in ("tp", "fp", "fn"))) for d in detectors]
        print(f"{clip['name']:{width}} {clip['set']:10} {clip['transitions']:>3} " + " ".join(f"{c:>22}" for c in cells))
    groups = (("validation", lambda c: c["set"] == "validation"), ("test", lambda c: c["set"] == "test"),
              ("test, real", lambda c: c["set"] == "test" and not c["generated"]),
              ("test, generated", lambda c: c["set"] == "test" and c["generated"]), ("all", lambda c: True))
    for label, keep in groups:
        chosen = [c["name"] for c in clips if keep(c)]
        if not chosen:
            continue
        cells = [cell(*(sum(results[d][c][k] for c in chosen) for k in ("tp", "fp", "fn"))) for d in detectors]
        n = sum(c["transitions"] for c in clips if c["name"] in chosen)
        print(f"{'= ' + label:{width}} {'':10} {n:>3} " + " ".join(f"{c:>22}" for c in cells))
    print("\nspeed of the detector alone (decoding not counted), over all clips; TransNetV2's share: the frames it "
          "was shown per video frame")
    for d in detectors:
        rows = results[d].values()
        frames = sum(r["frames"] for r in rows)
        wall, cpu = sum(r["detector_wall_s"] for r in rows), sum(r["detector_cpu_s"] for r in rows)
        passes = sum(r["pass_wall_s"] for r in rows)
        shown = sum(r["network_frames"] for r in rows)
        print(f"  {d:10} {frames:6d} frames {frames / wall:7.0f} frames/s ({frames / cpu:6.0f} per CPU-second); "
              f"whole pass with decoding {frames / passes:5.0f} frames/s; TransNetV2 {shown / frames:.2f}")
    before, after = report["load_average"]
    print(f"  load average (1, 5, 15 min): {tuple(round(x, 1) for x in before)} at the start, "
          f"{tuple(round(x, 1) for x in after)} at the end, on {report['cpu_count']} CPUs")
    for d in detectors:
        wrong = [f"{c}: missed {r['missed']} false {r['false_frames']}" for c, r in results[d].items()
                 if r["missed"] or r["false_frames"]]
        if wrong:
            print(f"  {d}: " + "; ".join(wrong))


def main() -> int:
    from tagger.scenes.detectors import DETECTORS
    from tagger.scenes.split import SplitSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated registry names")
    parser.add_argument("--sets", default="validation,test")
    parser.add_argument("--fetch", action="store_true", help="download missing annotated clips first")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a [scenes] setting for every detector, e.g. --set transnet_threshold=0.3")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results-shots.json"))
    args = parser.parse_args()
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = type(getattr(SplitSettings(), key))(value)
    report = run([d for d in args.detectors.split(",") if d], sets=tuple(args.sets.split(",")), fetch=args.fetch,
                 generated=not args.no_generated, settings=SplitSettings(**overrides))
    print_report(report)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
