"""Tests for tagger.vision: generated frames with known properties, plus two real clips."""
from __future__ import annotations

import colorsys
import functools
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tagger.vision import faces, persons
from tagger.vision.descriptors import (FRAME_STAT_NAMES, combine_scenes, describe_scene, frame_stats,
                                       motion, palette, small_gray)
from tagger.vision.pacing import pacing

H, W = 180, 320

needs_cascades = pytest.mark.skipif(
    not faces.face_detector_available(),
    reason=f"OpenCV {cv2.__version__} has no Haar cascades (opencv-python 5.x); faces need opencv-python<5")


def noisy(bgr: tuple[int, int, int], *, spread: int = 20, seed: int = 0) -> np.ndarray:
    """A (H, W, 3) frame of one BGR colour with seeded uniform noise of +-spread."""
    rng = np.random.default_rng(seed)
    base = np.array(bgr, np.int16)[None, None, :]
    return np.clip(base + rng.integers(-spread, spread + 1, (H, W, 3)), 0, 255).astype(np.uint8)


def rainbow() -> np.ndarray:
    """Full-saturation, full-value hue sweep across the width."""
    hsv = np.zeros((H, W, 3), np.uint8)
    hsv[:, :, 0] = (np.arange(W) * 180 // W)[None, :]
    hsv[:, :, 1:] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def hex_to_rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])


# -- frame statistics -----------------------------------------------------------------------

def test_frame_stats_names_and_types():
    stats = frame_stats(noisy((90, 120, 150)))
    assert tuple(stats) == FRAME_STAT_NAMES
    assert all(type(v) is float for v in stats.values())
    json.dumps(stats)


def test_brightness_dark_vs_bright():
    dark = frame_stats(noisy((15, 15, 15), spread=15, seed=1))
    bright = frame_stats(noisy((230, 230, 230), spread=25, seed=2))
    assert dark["brightness"] < 0.15
    assert bright["brightness"] > 0.8
    # Flat frames have low RMS contrast; a half black / half white frame has 0.5.
    assert dark["contrast"] < 0.05
    split = np.zeros((H, W, 3), np.uint8)
    split[:, W // 2:] = 255
    assert frame_stats(split)["contrast"] == pytest.approx(0.5, abs=1e-3)


def test_grey_frame_has_no_colour():
    rng = np.random.default_rng(3)
    grey = np.repeat(rng.integers(0, 256, (H, W, 1), dtype=np.uint8), 3, axis=2)
    stats = frame_stats(grey)
    assert stats["colorfulness"] == pytest.approx(0.0, abs=1e-6)
    assert stats["saturation"] == pytest.approx(0.0, abs=1e-6)
    assert stats["warmth"] == pytest.approx(0.0, abs=1e-6)
    assert stats["contrast"] == pytest.approx(73.9 / 255, abs=0.01)  # std of uniform 0..255
    assert stats["brightness"] == pytest.approx(0.5, abs=0.01)


def test_colorfulness_matches_hasler_suesstrunk_formula():
    frame = noisy((40, 160, 220), spread=60, seed=4)
    b, g, r = (frame[:, :, i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert frame_stats(frame)["colorfulness"] == pytest.approx(expected, rel=1e-6)


def test_rainbow_is_colourful_and_saturated():
    stats = frame_stats(rainbow())
    assert stats["colorfulness"] > 50
    assert stats["saturation"] > 0.95


def test_warmth_orange_vs_blue():
    assert frame_stats(noisy((0, 90, 240), seed=5))["warmth"] > 0.3
    assert frame_stats(noisy((230, 80, 10), seed=6))["warmth"] < -0.3


def test_frame_stats_is_cheap():
    frame = noisy((90, 120, 150), spread=80, seed=7)
    frame_stats(frame)
    start = time.perf_counter()
    for _ in range(50):
        frame_stats(frame)
    # Budget is < 1 ms at 320x180; 5 ms leaves room for a loaded test machine.
    assert (time.perf_counter() - start) / 50 < 0.005


def test_frame_stats_rejects_wrong_input():
    with pytest.raises(ValueError):
        frame_stats(np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError):
        frame_stats(np.zeros((H, W, 3), np.float32))


# -- motion ---------------------------------------------------------------------------------

def test_small_gray_shape():
    thumb = small_gray(noisy((50, 100, 150)))
    assert thumb.dtype == np.uint8
    assert thumb.shape == (36, 64)
    assert small_gray(noisy((50, 100, 150)), width=32).shape == (18, 32)


def test_motion_identical_is_zero_and_shift_is_positive():
    rng = np.random.default_rng(8)
    blocks = rng.integers(0, 2, (H // 20, W // 20), dtype=np.uint8) * 255
    pattern = np.repeat(np.repeat(blocks, 20, axis=0), 20, axis=1)
    frame = cv2.cvtColor(pattern, cv2.COLOR_GRAY2BGR)
    shifted = np.roll(frame, 40, axis=1)
    assert motion(small_gray(frame), small_gray(frame.copy())) == 0.0
    moved = motion(small_gray(frame), small_gray(shifted))
    assert 0.1 < moved <= 1.0
    black, white = np.zeros((H, W, 3), np.uint8), np.full((H, W, 3), 255, np.uint8)
    assert motion(small_gray(black), small_gray(white)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        motion(small_gray(frame), small_gray(frame, width=32))


# -- palette --------------------------------------------------------------------------------

def red_blue_frame() -> np.ndarray:
    frame = np.zeros((H, W, 3), np.uint8)
    frame[: int(H * 0.7)] = (0, 0, 255)  # 70 % pure red (BGR)
    frame[int(H * 0.7):] = (255, 0, 0)   # 30 % pure blue
    return frame


def test_palette_red_blue_shares_and_hex():
    result = palette([red_blue_frame()], colors=5, seed=0)
    assert len(result) == 2  # only two distinct colours, however many are asked for
    red, blue = result
    assert red["share"] == pytest.approx(0.7, abs=0.02)
    assert blue["share"] == pytest.approx(0.3, abs=0.02)
    assert np.abs(hex_to_rgb(red["hex"]) - [255, 0, 0]).max() <= 3
    assert np.abs(hex_to_rgb(blue["hex"]) - [0, 0, 255]).max() <= 3


def test_palette_properties_on_noise_and_determinism():
    frames = [noisy((100, 100, 100), spread=100, seed=s) for s in range(4)]
    first = palette(frames, colors=4, seed=11)
    assert 1 <= len(first) <= 4
    assert sum(e["share"] for e in first) == pytest.approx(1.0)
    shares = [e["share"] for e in first]
    assert shares == sorted(shares, reverse=True)
    assert all(len(e["hex"]) == 7 and e["hex"].startswith("#") for e in first)
    assert palette(frames, colors=4, seed=11) == first


def test_palette_uniform_and_empty():
    assert palette([np.full((H, W, 3), 128, np.uint8)]) == [{"hex": "#808080", "share": 1.0}]
    assert palette([]) == []


# -- shot scale and faces -------------------------------------------------------------------

@pytest.mark.parametrize("face_h, expected", [(70, "close-up"), (60, "close-up"), (59, "medium"),
                                              (22, "medium"), (21, "wide")])
def test_shot_scale_thresholds(face_h, expected):
    # 180 px frame: close-up from 0.33 * 180 = 59.4 px, medium from 0.12 * 180 = 21.6 px.
    assert faces.shot_scale([(10, 10, 5, 5), (0, 0, face_h, face_h)], frame_height=180) == expected


def test_shot_scale_without_faces_is_wide():
    assert faces.shot_scale([], frame_height=180) == "wide"
    with pytest.raises(ValueError):
        faces.shot_scale([], frame_height=0)


@pytest.mark.skipif(faces.face_detector_available(), reason="this OpenCV has Haar cascades")
def test_detect_faces_says_why_it_cannot_run():
    with pytest.raises(faces.FaceDetectorUnavailable, match="opencv-python<5"):
        faces.detect_faces(np.zeros((H, W, 3), np.uint8))


@needs_cascades
def test_no_faces_on_uniform_or_noise():
    assert faces.detect_faces(np.full((H, W, 3), 128, np.uint8)) == []
    rng = np.random.default_rng(12)
    for _ in range(3):
        assert faces.detect_faces(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)) == []
    blurred = cv2.GaussianBlur(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), (0, 0), 2)
    assert faces.detect_faces(blurred) == []


# -- scene and title ------------------------------------------------------------------------

def test_describe_scene_empty_is_zeros():
    scene = describe_scene([], [], [])
    assert scene["palette"] == []
    assert scene["shot_scale"] == "wide"
    numeric = {k: v for k, v in scene.items() if k not in ("palette", "shot_scale")}
    assert set(numeric) == set(FRAME_STAT_NAMES) | {"motion", "face_share", "people_share", "single_person_share",
                                                    "crowd_share", "people_count", "closeup_share",
                                                    "medium_share", "wide_share"}
    assert all(v == 0.0 for v in numeric.values())


def test_describe_scene_means_without_keyframes():
    stats = [frame_stats(noisy((20, 20, 20), seed=1)), frame_stats(noisy((220, 220, 220), seed=2))]
    scene = describe_scene(stats, [0.1, 0.3], [])
    assert scene["brightness"] == pytest.approx((stats[0]["brightness"] + stats[1]["brightness"]) / 2)
    assert scene["motion"] == pytest.approx(0.2)


@needs_cascades
def test_describe_scene_with_keyframes_without_faces():
    keyframes = [red_blue_frame(), np.full((H, W, 3), 90, np.uint8)]
    scene = describe_scene([frame_stats(k) for k in keyframes], [0.0], keyframes, palette_colors=3)
    assert scene["face_share"] == 0.0
    assert scene["wide_share"] == 1.0 and scene["shot_scale"] == "wide"
    # Half the pixels are grey, 35 % red, 15 % blue.
    assert [e["hex"] for e in scene["palette"]] == ["#5a5a5a", "#ff0000", "#0000ff"]
    assert [e["share"] for e in scene["palette"]] == pytest.approx([0.5, 0.35, 0.15], abs=0.02)
    json.dumps(scene)


def scene_dict(**overrides) -> dict:
    scene = describe_scene([], [], [])
    scene.update(overrides)
    return scene


def test_combine_scenes_weights_by_duration():
    a = scene_dict(brightness=0.2, motion=0.0, palette=[{"hex": "#ff0000", "share": 1.0}],
                   medium_share=1.0, face_share=1.0, shot_scale="medium")
    b = scene_dict(brightness=0.8, motion=0.4,
                   palette=[{"hex": "#fe0101", "share": 0.5}, {"hex": "#0000ff", "share": 0.5}],
                   wide_share=1.0, shot_scale="wide")
    title = combine_scenes([a, b], [30.0, 10.0], palette_colors=5)
    assert title["brightness"] == pytest.approx(0.35)
    assert title["motion"] == pytest.approx(0.1)
    assert title["face_share"] == pytest.approx(0.75)
    assert title["shot_scale"] == "medium"
    # #fe0101 is a near-duplicate of #ff0000: red weighs 30 + 5, blue 5.
    assert len(title["palette"]) == 2
    assert title["palette"][0]["share"] == pytest.approx(35 / 40)
    assert np.abs(hex_to_rgb(title["palette"][0]["hex"]) - [255, 0, 0]).max() <= 2
    assert title["palette"][1] == {"hex": "#0000ff", "share": pytest.approx(5 / 40)}
    json.dumps(title)
    # Reversed durations flip the dominant scale.
    assert combine_scenes([a, b], [10.0, 30.0])["shot_scale"] == "wide"


def test_combine_scenes_palette_keeps_top_colours():
    scenes = [scene_dict(palette=[{"hex": h, "share": 1.0}]) for h in
              ("#ff0000", "#00ff00", "#0000ff", "#ffff00")]
    title = combine_scenes(scenes, [4.0, 3.0, 2.0, 1.0], palette_colors=2)
    assert [e["hex"] for e in title["palette"]] == ["#ff0000", "#00ff00"]
    assert [e["share"] for e in title["palette"]] == pytest.approx([4 / 7, 3 / 7])


def test_combine_scenes_edge_cases():
    empty = combine_scenes([], [])
    assert empty["shot_scale"] == "wide" and empty["palette"] == [] and empty["brightness"] == 0.0
    equal = combine_scenes([scene_dict(brightness=0.2), scene_dict(brightness=0.6)], [0.0, 0.0])
    assert equal["brightness"] == pytest.approx(0.4)
    with pytest.raises(ValueError):
        combine_scenes([scene_dict()], [1.0, 2.0])
    with pytest.raises(ValueError):
        combine_scenes([scene_dict()], [-1.0])


# -- pacing ---------------------------------------------------------------------------------

def test_pacing_known_shots():
    result = pacing([2.0, 4.0, 6.0, 12.0])
    assert result == {"cuts_per_minute": pytest.approx(3 / (24 / 60)), "median_shot_s": 5.0,
                      "mean_shot_s": 6.0, "shot_count": 4, "duration_s": 24.0}
    assert pacing([30.0, 30.0])["cuts_per_minute"] == pytest.approx(1.0)


def test_pacing_edge_cases():
    assert pacing([]) == {"cuts_per_minute": 0.0, "median_shot_s": 0.0, "mean_shot_s": 0.0,
                          "shot_count": 0, "duration_s": 0.0}
    single = pacing([42.0])
    assert single["cuts_per_minute"] == 0.0 and single["median_shot_s"] == 42.0
    with pytest.raises(ValueError):
        pacing([1.0, -2.0])


# -- real clips -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def decode_evenly(path: Path, count: int, *, width: int = 320) -> list[np.ndarray]:
    """``count`` frames spread evenly over a clip, BGR, resized to ``width`` pixels wide
    (cached: several tests read the same clip; callers must not modify the frames)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames
        wanted = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
        frames = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                image = frame.to_ndarray(format="bgr24")
                height = round(image.shape[0] * width / image.shape[1])
                frames.append(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA))
    assert len(frames) == count, f"{path}: decoded {len(frames)} of {count} frames"
    return frames


# Where the two visible faces of friday.mp4 are, checked by eye on frames with boxes drawn, as
# (x0, y0, x1, y1) shares of the frame: the standing woman (right) and the seated one (middle).
# The wall clock at about (0.33, 0.13) is outside both; Haar cascades like to call it a face.
FRIDAY_FACE_REGIONS = [(0.50, 0.0, 0.85, 0.45), (0.20, 0.30, 0.55, 0.70)]


def in_face_region(box, frame_shape) -> bool:
    x, y, w, h = box
    cx, cy = (x + w / 2) / frame_shape[1], (y + h / 2) / frame_shape[0]
    return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in FRIDAY_FACE_REGIONS)


@needs_cascades
def test_friday_faces_are_medium_shots(shared_media):
    frames = decode_evenly(shared_media / "friday.mp4", 12)
    found = [faces.detect_faces(f) for f in frames]
    with_real_face = sum(any(in_face_region(b, f.shape) for b in boxes) for boxes, f in zip(found, frames))
    elsewhere = sum(not in_face_region(b, f.shape) for boxes, f in zip(found, frames) for b in boxes)
    assert with_real_face >= 7, found  # 8 of 12 with opencv-python 4.14
    assert elsewhere <= 1, found
    scales = [faces.shot_scale(b, frame_height=f.shape[0]) for b, f in zip(found, frames) if b]
    assert scales and all(s == "medium" for s in scales), scales
    scene = describe_scene([frame_stats(f) for f in frames], [], frames)
    assert scene["shot_scale"] == "medium"
    assert scene["face_share"] >= 7 / 12
    # Black-and-white film: no colour.
    assert scene["saturation"] < 0.02 and scene["colorfulness"] < 3
    assert all(np.ptp(hex_to_rgb(e["hex"])) <= 3 for e in scene["palette"])


def test_flower_is_colourful(shared_media):
    frames = decode_evenly(shared_media / "flower.mp4", 6)
    stats = [frame_stats(f) for f in frames]
    assert np.mean([s["saturation"] for s in stats]) > 0.4
    assert np.mean([s["colorfulness"] for s in stats]) > 50
    colours = palette(frames, colors=5)
    hsv = [colorsys.rgb_to_hsv(*(hex_to_rgb(e["hex"]) / 255)) for e in colours]
    assert max(s for _, s, _ in hsv) > 0.6  # the red petals
    assert sum(e["share"] for e, (_, s, _) in zip(colours, hsv) if s > 0.3) > 0.5


@needs_cascades
def test_flower_has_no_faces_nor_people(shared_media):
    frames = decode_evenly(shared_media / "flower.mp4", 6)
    assert all(faces.detect_faces(f) == [] for f in frames)
    assert all(persons.load_person_detector().detect(f) == [] for f in frames)
    assert describe_scene([], [], frames)["shot_scale"] == "wide"


def test_describe_scene_looks_for_faces_in_the_first_keyframes_only(shared_media):
    frames = decode_evenly(shared_media / "friday.mp4", 12)
    with_face = next(f for f in frames if faces.detect_faces(f))
    blank = np.full_like(with_face, 128)
    assert describe_scene([], [], [blank, with_face])["face_share"] == 0.5
    assert describe_scene([], [], [blank, with_face], face_keyframes=1)["face_share"] == 0.0
    assert describe_scene([], [], [with_face, blank], face_keyframes=1)["face_share"] == 1.0
    # the palette still sees every keyframe
    assert len(describe_scene([], [], [blank, with_face], face_keyframes=0)["palette"]) > 1


def test_combine_scenes_pools_many_scene_colours():
    # 300 scenes, each a slightly different red and blue: more colours than the pairwise merge
    # takes directly, so they are pooled first; the shares must come through.
    rng = np.random.default_rng(1)
    scenes = []
    for _ in range(300):
        red = "#%02x%02x%02x" % (int(rng.integers(235, 256)), int(rng.integers(0, 12)), int(rng.integers(0, 12)))
        blue = "#%02x%02x%02x" % (int(rng.integers(0, 12)), int(rng.integers(0, 12)), int(rng.integers(235, 256)))
        scenes.append(scene_dict(palette=[{"hex": red, "share": 0.75}, {"hex": blue, "share": 0.25}]))
    title = combine_scenes(scenes, [2.0] * len(scenes))
    assert len(title["palette"]) == 2
    (first, second) = title["palette"]
    assert hex_to_rgb(first["hex"])[0] > 200 and first["share"] == pytest.approx(0.75, abs=0.01)
    assert hex_to_rgb(second["hex"])[2] > 200 and second["share"] == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize("tag_id", ["slow-burn", "slow-paced", "measured"])
def test_slow_and_measured_pace_need_twenty_seconds_of_video(tag_id):
    """No cut in six seconds says little about pace; a few cuts over a minute say "slow"."""
    from tagger.tagging.taxonomy import load_taxonomy

    tag = load_taxonomy("default").tag(tag_id)
    cuts = 14.0 if tag_id == "measured" else 2.0   # per minute, well inside the tag's band
    over = {"visual.cuts_per_minute": cuts, "visual.median_shot_s": 12.0}
    assert tag.rule_confidence({**over, "visual.duration_s": 90.0}) > 0.9
    assert tag.rule_confidence({**over, "visual.duration_s": 6.0}) < 0.05
    assert tag.rule_confidence(over) is None   # older catalogs without the feature: no rule evidence
