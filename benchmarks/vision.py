"""Vision benchmark on real clips: people present per scene against a hand count, visual nearest
neighbours, and the offline encoder's speed and cost per title.

    python benchmarks/vision.py [--media DIR ...] [--json FILE] [--speed-minutes 4] [--detail-widths 0,640]

Clips are looked for in ../shared/media and in every --media folder; benchmarks/vision_clips.csv
and benchmarks/people_fresh_clips.csv name each clip's show (and where it came from). The hand
counts are time ranges with the number of people visible (0 none, -1 unsure: left out) and the
size of the largest (close-up, medium, long, crowd, tiny = every person under 1/12 of the frame
height), in eight test sets scored apart (--people-sets picks them): benchmarks/people_annotations.csv
("examined": looked at over several sessions while settings changed), benchmarks/people_test_fresh.csv
("fresh": 23 public clips counted by someone who never ran the engine on them, scored once settings
were chosen; seen since) and benchmarks/people_test_fresh2.csv ("fresh2": 38 more public clips
counted the same way, split "test2" in people_fresh_clips.csv; scored once, 2026-12-06, and seen
since), benchmarks/people_test_fresh3.csv ("fresh3": 29 more, split "test3"; scored once, for the
three-cell rule, and seen since), benchmarks/people_test_fresh4.csv ("fresh4": 35 more, split
"test4"; scored once, for the person detector, and seen since), benchmarks/people_test_fresh5.csv
("fresh5": 37 more, split "test5"; scored once, for the animal gate and shot scale from person
boxes, and seen since), benchmarks/people_test_fresh6.csv ("fresh6": 40 more, split "test6"; scored
once, on the code that shipped with the animal gate, and seen since) and benchmarks/people_test_fresh7.csv
("fresh7": 35 more, split "test7", counted the same way and not yet scored: UNTOUCHED_PEOPLE_SETS
leaves it out of the default sets until the next change to the people cues is chosen; name it
with --people-sets to score it, once, beside the code before: run this script from a worktree of
the commit before, too).

- Shot scale per scene with people: the scene's visual.shot_scale against the size of the largest
  person counted by hand (close-up, medium; long, crowd and tiny are wide).
- People per scene (the test): each clip runs through the scenes, imagenet and visual stages of
  the default pipeline; a scene has people when its examined keyframe has a face, the people
  head or the worn-classes cue fires or the person detector finds someone (visual.people_count
  > 0; crowds where it counts people.CROWD_MIN_PEOPLE or more), scored against the hand count at that keyframe's time. Also per
  frame, one a second at 320 px. Both levels run once for each --detail-widths entry side by
  side: 640 is the shipped pipeline (the head on 640 px copies), 0 the head on the keyframe.
- People on the validation frames (--parts validation; counted by hand frame by frame, where
  settings are chosen, so that the test is not): people_validation.csv (the examined set's clips
  away from the keyframes its test examines, and the clips of people_validation_clips.csv) and
  people_validation_fresh.csv (the fresh set's 15 validation clips, split from its test by clip
  before counting).
- Neighbours: EfficientNet-Lite0 vectors (the `visual` space) of (a) each clip's two halves,
  frames a second apart pooled per half: is a half's nearest neighbour among all other halves
  from the same show? (b) each scene, pooled from its keyframes as the imagenet stage does: is
  its nearest other scene from the same show? The chance rate is printed beside each.
- Speed: keyframes per second of the encoder by runtime (ONNX Runtime, torch) and batch size
  (wall and CPU), the people head's pass on 640 px copies, and on a generated
  720p title (benchmarks/run.py's) the default pipeline with and without the new work (the
  imagenet stage, person boxes), side by side in one process against the decoding floor.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_MEDIA = ROOT.parent / "shared" / "media"
CLIPS_FILE = ROOT / "benchmarks" / "vision_clips.csv"
FRESH_CLIPS_FILE = ROOT / "benchmarks" / "people_fresh_clips.csv"   # the fresh set's clips: split, show, source
# The people test in eight sets scored apart: the first, examined over several sessions, and fresh
# ones, counted by someone else, each scored once (fresh, then fresh2 ... fresh7).
PEOPLE_FILES = {"examined": ROOT / "benchmarks" / "people_annotations.csv",
                "fresh": ROOT / "benchmarks" / "people_test_fresh.csv",
                "fresh2": ROOT / "benchmarks" / "people_test_fresh2.csv",
                "fresh3": ROOT / "benchmarks" / "people_test_fresh3.csv",
                "fresh4": ROOT / "benchmarks" / "people_test_fresh4.csv",
                "fresh5": ROOT / "benchmarks" / "people_test_fresh5.csv",
                "fresh6": ROOT / "benchmarks" / "people_test_fresh6.csv",
                "fresh7": ROOT / "benchmarks" / "people_test_fresh7.csv"}
UNTOUCHED_PEOPLE_SETS = ("fresh7",)   # not scored by default: a set is a fair test only until it is looked at
VALIDATION_FILES = (ROOT / "benchmarks" / "people_validation.csv",              # frames, for choosing settings
                    ROOT / "benchmarks" / "people_validation_fresh.csv")
VALIDATION_CLIPS_FILE = ROOT / "benchmarks" / "people_validation_clips.csv"   # its other clips' sources


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def find_clips(folders: list[Path]) -> dict[str, tuple[Path, str]]:
    """clip file name -> (path, show), for the clips of CLIPS_FILE and FRESH_CLIPS_FILE found in `folders`."""
    found = {}
    for row in read_csv(CLIPS_FILE) + read_csv(FRESH_CLIPS_FILE):
        for folder in folders:
            if (folder / row["clip"]).is_file():
                found[row["clip"]] = (folder / row["clip"], row["show"])
                break
    return found


def hand_count(annotations: list[dict], clip: str, time_s: float) -> tuple[int, str]:
    """(people, size) at `time_s` of `clip`; (-1, "") where unsure or not annotated."""
    for row in annotations:
        if row["clip"] == clip and float(row["start_s"]) <= time_s < float(row["end_s"]):
            return int(row["people"]), row["size"]
    return -1, ""


def sample_keyframes(path: Path, every_s: float, *, detail_width: int) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    """(time_s, image, detail): a frame every `every_s` at 320 px and at `detail_width` (None at
    0), each through a JPEG as keyframes and their detail copies are."""
    import cv2

    from tagger.media.decode import iter_frames

    def as_keyframe(image):
        return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], cv2.IMREAD_COLOR)

    out, next_s = [], 0.2
    for frame in iter_frames(path, analysis_width=320, detail_width=detail_width):
        if frame.time_s >= next_s:
            out.append((frame.time_s, as_keyframe(frame.image), as_keyframe(frame.detail()) if frame.detail else None))
            next_s += every_s
    return out


# -- people ---------------------------------------------------------------------------------

def _tally(rows: list[tuple[int, str, int]]) -> dict:
    """rows of (people, size, predicted count) -> people present right overall, without tiny
    people and by size; crowds (people.CROWD_MIN_PEOPLE or more) found and false."""
    from tagger.vision.people import CROWD_MIN_PEOPLE

    def accuracy(selected):
        right = sum((people > 0) == (predicted > 0) for people, _, predicted in selected)
        return {"right": right, "of": len(selected), "accuracy": right / len(selected) if selected else None}

    by_size = {size or "none": accuracy([r for r in rows if r[1] == size]) for size in sorted({r[1] for r in rows})}
    crowds = {"found": sum(p >= CROWD_MIN_PEOPLE and c >= CROWD_MIN_PEOPLE for p, _, c in rows),
              "of": sum(p >= CROWD_MIN_PEOPLE for p, _, _ in rows),
              "false": sum(p < CROWD_MIN_PEOPLE <= c for p, _, c in rows)}
    return {"all": accuracy(rows), "without_tiny": accuracy([r for r in rows if r[1] != "tiny"]), "by_size": by_size,
            "crowds": crowds}


SCALE_OF_SIZE = {"close-up": "close-up", "medium": "medium", "long": "wide", "crowd": "wide", "tiny": "wide"}


def _scale_tally(rows: list[tuple[str, str]]) -> dict:
    """rows of (hand-counted size of the largest person, predicted shot scale) -> shot scale
    right overall and by true scale (close-up; medium; long, crowd and tiny people are wide)."""
    by_scale = {}
    for scale in ("close-up", "medium", "wide"):
        mine = [predicted for size, predicted in rows if SCALE_OF_SIZE[size] == scale]
        by_scale[scale] = {"right": sum(p == scale for p in mine), "of": len(mine)}
    right = sum(t["right"] for t in by_scale.values())
    return {"right": right, "of": len(rows), "accuracy": right / len(rows) if rows else None, "by_scale": by_scale}


def frame_people_count(image: np.ndarray, encoder, detail: np.ndarray | None = None) -> int:
    """The visual stage's count for one keyframe: faces, person boxes and the network's cues
    (the person detector and the people head on `detail`, the frame at the detail width, where
    given, else on `image`)."""
    from tagger.vision.faces import detect_faces
    from tagger.vision.people import animal_scores, clothing_scores, head_looks, people_count, people_head_score
    from tagger.vision.persons import load_person_detector

    picture = detail if detail is not None else image
    probabilities = encoder.encode_and_classify([image])[1]
    [clothing], [animal] = clothing_scores(probabilities, encoder.class_names), animal_scores(probabilities, encoder.class_names)
    head = people_head_score(encoder, picture) if head_looks(clothing, animal) else None
    return people_count(detect_faces(image), load_person_detector().detect(picture), clothing, head)


def validation_benchmark(folders: list[Path], encoder, *, detail_width: int) -> dict:
    """Per frame on the validation frames, each taken at its time at 320 px (and at
    `detail_width` for the people head; 0: the head on the keyframe) through a JPEG as keyframes are; frames whose
    clip is not found are counted as missing."""
    rows, missing = [], set()
    by_clip: dict[str, list[dict]] = {}
    for row in [row for path in VALIDATION_FILES for row in read_csv(path)]:
        if int(row["people"]) >= 0:
            by_clip.setdefault(row["clip"], []).append(row)
    for clip, wanted in sorted(by_clip.items()):
        video = next((folder / clip for folder in folders if (folder / clip).is_file()), None)
        if video is None:
            missing.add(clip)
            continue
        frames = sample_keyframes(video, 1 / 64, detail_width=detail_width)
        for row in wanted:
            time_s = float(row["time_s"])
            _, image, detail = next((frame for frame in frames if frame[0] >= time_s - 1e-3), frames[-1])
            rows.append((int(row["people"]), row["size"], frame_people_count(image, encoder, detail)))
    return {"frames": _tally(rows), "missing_clips": sorted(missing)}


def people_benchmark(clips: dict, annotations: list[dict], encoder, *, detail_width: int) -> dict:
    """Per scene through the pipeline's stages (the scenes stage keeping detail copies at
    `detail_width`; 0: none), and per frame, one a second."""
    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover
    path = Path(tempfile.mkdtemp()) / "people.toml"
    path.write_text('name = "people"\nstages = ["probe", "scenes", "imagenet", "visual"]\n'
                    f'[scenes]\nanalysis_width = 320\nkeyframes_per_scene = 2\ndetail_width = {detail_width}\n')
    engine = Engine(load_pipeline(path))
    examined = engine.pipeline.settings["visual"].face_keyframes_per_scene
    scene_rows, frame_rows, misses, scale_rows = [], [], [], []
    annotated = {row["clip"] for row in annotations}
    for clip, (video, _) in sorted(clips.items()):
        if clip not in annotated:
            continue
        result = engine.analyse(discover([video])[0])
        for scene in result.scenes:
            for keyframe in sorted(scene.keyframes, key=lambda k: -k.sharpness)[:examined]:
                people, size = hand_count(annotations, clip, keyframe.time_s)
                if people < 0:
                    continue
                predicted = round(scene.features.get("visual.people_count", 0.0))   # one keyframe examined
                scene_rows.append((people, size, predicted))
                if people > 0:
                    scale_rows.append((size, scene.features.get("visual.shot_scale", "wide")))
                if (people > 0) != (predicted > 0):
                    misses.append(f"{clip} scene {scene.index} at {keyframe.time_s:.1f}s: "
                                  f"{'missed ' + size if people else 'false person'}")
        for time_s, image, detail in sample_keyframes(video, 1.0, detail_width=detail_width):
            people, size = hand_count(annotations, clip, time_s)
            if people >= 0:
                frame_rows.append((people, size, frame_people_count(image, encoder, detail)))
    return {"scenes": _tally(scene_rows), "frames": _tally(frame_rows), "scene_misses": misses,
            "shot_scale": _scale_tally(scale_rows)}


# -- neighbours ----------------------------------------------------------------------------

def _nearest_same(vectors: np.ndarray, groups: list[str], partner: list[int] | None = None) -> dict:
    """Share of rows whose nearest other row is of the same group (or is its partner), with the
    chance rate; rows whose group has no other member are left out."""
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    right = counted = 0
    chance = []
    for i, group in enumerate(groups):
        mates = [j for j, g in enumerate(groups) if g == group and j != i]
        if not mates:
            continue
        counted += 1
        nearest = int(np.argmax(similarity[i]))
        right += groups[nearest] == group if partner is None else nearest == partner[i]
        chance.append((1 if partner is not None else len(mates)) / (len(groups) - 1))
    return {"right": right, "of": counted, "share": right / counted if counted else None,
            "chance": float(np.mean(chance)) if chance else None}


def neighbours_benchmark(clips: dict, encoder) -> dict:
    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.scenes.split import decode_jpeg
    from tagger.titles import discover
    from tagger.vision.encoders import pool_scenes

    halves, half_shows, partner = [], [], []
    for clip, (video, show) in sorted(clips.items()):
        frames = [(time_s, image) for time_s, image, _ in sample_keyframes(video, 0.5, detail_width=0)]
        if len(frames) < 2:
            continue
        vectors = encoder.encode_images([image for _, image in frames])
        middle = len(frames) // 2
        for part in (vectors[:middle], vectors[middle:]):
            halves.append(part.mean(axis=0) / np.linalg.norm(part.mean(axis=0)))
            half_shows.append(show)
        partner += [len(halves) - 1, len(halves) - 2]
    path = Path(tempfile.mkdtemp()) / "scenes.toml"
    path.write_text('name = "scenes"\nstages = ["probe", "scenes"]\n')
    engine = Engine(load_pipeline(path))
    per_scene = load_pipeline("default").settings["imagenet"].keyframes_per_scene   # as the stage does
    scene_vectors, scene_shows = [], []
    for clip, (video, show) in sorted(clips.items()):
        result = engine.analyse(discover([video])[0])
        images, owners = [], []
        for position, scene in enumerate(result.scenes):
            for keyframe in sorted((k for k in scene.keyframes if k.jpeg), key=lambda k: -k.sharpness)[:per_scene]:
                images.append(decode_jpeg(keyframe.jpeg))
                owners.append(position)
        if images:
            pooled = pool_scenes(encoder.encode_images(images), owners, len(result.scenes))
            for row in pooled[np.abs(pooled).sum(axis=1) > 0]:
                scene_vectors.append(row)
                scene_shows.append(show)
    return {"halves_find_their_twin": _nearest_same(np.array(halves), half_shows, partner),
            "halves_find_their_show": _nearest_same(np.array(halves), half_shows),
            "scenes_find_their_show": _nearest_same(np.array(scene_vectors), scene_shows),
            "clips": len(clips), "scenes": len(scene_vectors), "keyframes_per_scene": per_scene}


# -- speed ---------------------------------------------------------------------------------

def encoder_speed(encoders: dict, images: list[np.ndarray], details: list[np.ndarray]) -> list[dict]:
    """Keyframes per second by runtime and batch size (one thread), and the people head's pass
    on detail copies, best of three interleaved rounds."""
    from tagger.vision.people import PEOPLE_HEAD_HEIGHT_PX, people_head_score

    for encoder in encoders.values():
        encoder.encode_images(images[:4])   # warm-up
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(3):
        for runtime, encoder in encoders.items():
            for batch_size in (1, 4, 8):
                encoder.batch_size = batch_size
                wall, cpu = time.perf_counter(), time.process_time()
                encoder.encode_and_classify(images)
                times.setdefault((runtime, f"batch {batch_size}"), []).append(
                    ((time.perf_counter() - wall) / len(images), (time.process_time() - cpu) / len(images)))
            wall, cpu = time.perf_counter(), time.process_time()
            for detail in details:
                people_head_score(encoder, detail)
            times.setdefault((runtime, f"people head at {PEOPLE_HEAD_HEIGHT_PX} rows"), []).append(
                ((time.perf_counter() - wall) / len(details), (time.process_time() - cpu) / len(details)))
    for encoder in encoders.values():
        encoder.batch_size = 4
    return [{"runtime": runtime, "work": work, "per_s": 1 / min(w for w, _ in runs),
             "wall_ms": 1000 * min(w for w, _ in runs), "cpu_ms": 1000 * min(c for _, c in runs)}
            for (runtime, work), runs in sorted(times.items())]


class _NoPersons:
    """A person detector that finds nobody, to time the visual stage without person boxes."""

    def detect(self, image_bgr):
        return []


def ingest_cost(minutes: float, rounds: int = 3) -> dict:
    """The default pipeline with and without the new work on one generated 720p title, taking
    turns in one process with the decoding floor, so that load on the machine hits all alike."""
    from run import make_long_title

    from tagger.engine import Engine
    from tagger.media.decode import iter_frames
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover

    import tagger.vision.persons as persons

    folder = make_long_title(minutes)
    [title] = discover([folder])
    text = (ROOT / "pipelines" / "default.toml").read_text()
    text = re.sub(r"\[imagenet\]\n[^\[]*", "", text)   # the table, up to the next one
    text = text.replace('"imagenet", "visual",', '"visual",').replace('"text", "visual", "audio"', '"text", "audio"')
    without = Path(tempfile.mkdtemp()) / "without.toml"
    without.write_text(text)
    engines = {"default": Engine(load_pipeline("default")), "without imagenet": Engine(load_pipeline(without))}
    assert "imagenet" not in engines["without imagenet"].pipeline.stages
    with tempfile.TemporaryDirectory() as warm:   # librosa's JIT and torch's first calls, paid before timing
        from tagger import synth

        synth.write_video(Path(warm) / "w.mp4", synth.render_shots(
            [synth.ShotSpec(2.0, (40, 40, 200), 0.5, 0.2, 1), synth.ShotSpec(2.0, (200, 120, 30), 0.5, 0.2, 2)],
            fps=24, size=(320, 180)), fps=24, audio=synth.chord("C", "major", duration_s=4.0))
        for engine in engines.values():
            engine.analyse(discover([Path(warm) / "w.mp4"])[0])
    times = {name: [] for name in (*engines, "without people", "floor")}
    for _ in range(rounds):
        started = time.perf_counter()
        sum(1 for _ in iter_frames(title.video, analysis_width=320))
        times["floor"].append(time.perf_counter() - started)
        for name, engine in engines.items():
            started = time.perf_counter()
            result = engine.analyse(title)
            times[name].append(time.perf_counter() - started)
            for stage in ("scenes", "visual", "imagenet"):
                times.setdefault(f"{name}: {stage} stage", []).append(result.modalities.get(stage, {}).get("seconds", 0.0))
        load, persons.load_person_detector = persons.load_person_detector, lambda: _NoPersons()
        try:
            started = time.perf_counter()
            engines["without imagenet"].analyse(title)
            times["without people"].append(time.perf_counter() - started)
        finally:
            persons.load_person_detector = load
    best = {name: min(values) for name, values in times.items()}
    return {"minutes": minutes, "scenes": len(result.scenes), "seconds": best, "every_round": times,
            "over_floor": {name: best[name] / best["floor"] for name in (*engines, "without people")}}


# -- main ----------------------------------------------------------------------------------

@contextlib.contextmanager
def head_rule(rule: tuple[int, float] | None):
    """Score people with `rule` (cells, logit: that many people-head cells at that logit make a
    person) in place of the shipped one while the block runs; None: the shipped rule."""
    import tagger.vision.people as people

    shipped = people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT
    if rule is not None:
        people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT = rule
    try:
        yield
    finally:
        people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT = shipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, action="append", default=[], help="another folder of clips")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--speed-minutes", type=float, default=4.0, help="generated title length")
    parser.add_argument("--parts", default="validation,people,neighbours,speed,ingest", help="which parts to run")
    parser.add_argument("--people-sets", default=",".join(s for s in PEOPLE_FILES if s not in UNTOUCHED_PEOPLE_SETS),
                        help="which people test sets --parts people scores: " + ", ".join(PEOPLE_FILES)
                        + (f" (default: all but the untouched {', '.join(UNTOUCHED_PEOPLE_SETS)})"
                           if UNTOUCHED_PEOPLE_SETS else " (default: all)"))
    parser.add_argument("--detail-widths", default="0,640",
                        help="people with each of these detail widths (0: the head on the 320 px keyframe), side by side")
    parser.add_argument("--head-rules", default="",
                        help="people with each of these people-head rules, CELLS@LOGIT (e.g. 1@3.5,3@3.0: that many "
                             "cells at that logit make a person), side by side (default: the shipped rule)")
    args = parser.parse_args()
    try:
        rules = [(int(cells), float(logit)) for cells, logit in
                 (rule.split("@") for rule in args.head_rules.split(",") if rule)] or [None]
    except ValueError:
        parser.error(f"--head-rules: {args.head_rules!r} is not a list of CELLS@LOGIT such as 1@3.5,3@3.0")
    unknown = set(args.people_sets.split(",")) - set(PEOPLE_FILES)
    if unknown:
        parser.error(f"--people-sets: no set {', '.join(sorted(unknown))}; the sets are {', '.join(PEOPLE_FILES)}")
    from tagger.vision.efficientnet import EfficientNetLite0

    clips = find_clips([SHARED_MEDIA, *args.media])
    print(f"{len(clips)} clips; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    encoder = EfficientNetLite0.load()
    results = {"clips": sorted(clips), "load_average": os.getloadavg()[0], "cores": os.cpu_count()}
    parts = args.parts.split(",")
    runs = [(int(width), rule) for width in args.detail_widths.split(",") for rule in rules]
    levels = []
    for width, rule in runs:   # validation first: it is where settings are chosen
        if "validation" in parts:
            part = f"people_validation@{width}" + (f"/{rule[0]}@{rule[1]}" if rule else "")
            with head_rule(rule):
                results[part] = validation_benchmark([SHARED_MEDIA, *args.media], encoder, detail_width=width)
            print("validation clips not found:", results[part]["missing_clips"])
            levels.append((part, "frames"))
    for width, rule in runs:
        if "people" in parts:
            for test_set in args.people_sets.split(","):
                part = f"people_{test_set}@{width}" + (f"/{rule[0]}@{rule[1]}" if rule else "")
                with head_rule(rule):
                    results[part] = people_benchmark(clips, read_csv(PEOPLE_FILES[test_set]), encoder, detail_width=width)
                levels += [(part, "scenes"), (part, "frames")]
    for part, level in levels:
        tally = results[part][level]
        if not tally["all"]["of"]:
            print(f"{part} per {level[:-1]}: no annotated clip found")
            continue
        sizes = ", ".join(f"{size} {t['right']}/{t['of']}" for size, t in tally["by_size"].items())
        crowds = tally["crowds"]
        print(f"{part} per {level[:-1]}: {tally['all']['right']}/{tally['all']['of']} right "
              f"({tally['all']['accuracy']:.0%}); without tiny {tally['without_tiny']['accuracy']:.0%}; {sizes}; "
              f"crowds found {crowds['found']}/{crowds['of']}, {crowds['false']} false")
        scales = results[part].get("shot_scale") if level == "scenes" else None
        if scales and scales["of"]:
            print(f"{part} shot scale of scenes with people: {scales['right']}/{scales['of']} right; "
                  + ", ".join(f"{scale} {t['right']}/{t['of']}" for scale, t in scales["by_scale"].items()))
        for miss in results[part].get("scene_misses", []) if level == "scenes" else []:
            print("  ", miss)
    if "neighbours" in parts:
        results["neighbours"] = neighbours_benchmark(clips, encoder)
    for name in ("halves_find_their_twin", "halves_find_their_show", "scenes_find_their_show") \
            if "neighbours" in parts else ():
        n = results["neighbours"][name]
        print(f"{name}: {n['right']}/{n['of']} ({n['share']:.0%}; chance {n['chance']:.0%})")
    if "speed" in parts:
        frames = sample_keyframes(next(iter(clips.values()))[0], 0.25, detail_width=640)[:32]
        results["encoder_speed"] = encoder_speed({"onnx": encoder, "torch": EfficientNetLite0.load(runtime="torch")},
                                                 [image for _, image, _ in frames], [detail for *_, detail in frames][:8])
    for row in results.get("encoder_speed", []):
        print(f"{row['runtime']:5} {row['work']:18}: {row['per_s']:.1f} pictures/s, "
              f"{row['wall_ms']:.0f} ms wall, {row['cpu_ms']:.0f} ms CPU each")
    if "ingest" in parts:
        results["ingest"] = ingest_cost(args.speed_minutes)
        print(json.dumps(results["ingest"], indent=1))
    results["load_average_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    raise SystemExit(main())
