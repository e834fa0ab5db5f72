"""Artwork candidates: sharp, lit keyframes spread over a title and away from its ending."""
from __future__ import annotations

from tagger.catalog.records import KeyframeRecord, SceneRecord
from tagger.home.artwork import MAX_CANDIDATES, choose_candidates, describe_scene


def _scene(index, start_s, end_s, *, brightness=0.5, sharpness=5.0, faces=0.0, wide=0.0):
    middle = (start_s + end_s) / 2
    return SceneRecord(index, start_s, end_s, int(start_s * 24), int(end_s * 24),
                       keyframes=[KeyframeRecord(int(middle * 24), middle, sharpness),
                                  KeyframeRecord(int(middle * 24) + 5, middle + 0.2, sharpness * 0.9)],
                       features={"visual.brightness": brightness, "visual.face_share": faces,
                                 "visual.wide_share": wide, "visual.warmth": 0.2})


def test_black_blurry_and_closing_scenes_are_not_candidates():
    scenes = [_scene(0, 0, 10, brightness=0.01),       # black
              _scene(1, 10, 20, sharpness=0.5),         # blurry against the others
              _scene(2, 20, 30), _scene(3, 30, 40),
              _scene(4, 90, 100)]                       # the ending
    picked = {c.scene for c in choose_candidates("t", scenes)}
    assert picked == {2, 3}


def test_candidates_spread_over_the_title_and_take_each_scenes_sharpest_keyframe():
    # Twelve eligible scenes; the sharpest are all in the first stretch, yet one comes from each.
    scenes = [_scene(i, 10 * i, 10 * i + 10, sharpness=9.0 if i < 3 else 5.0) for i in range(12)]
    candidates = choose_candidates("t", scenes)
    assert len(candidates) == MAX_CANDIDATES
    times = [c.time_s for c in candidates]
    assert times == sorted(times)
    cutoff = 0.85 * 120
    stretches = {int(t / cutoff * MAX_CANDIDATES) for t in times}
    assert stretches == set(range(MAX_CANDIDATES))
    for c in candidates:
        scene = scenes[c.scene]
        assert c.keyframe == max(scene.keyframes, key=lambda k: k.sharpness).frame


def test_described_by_what_the_catalog_measures_and_in_words():
    bright_faces = describe_scene({"visual.brightness": 0.8, "visual.face_share": 0.6, "visual.warmth": 0.5})
    assert bright_faces["brightness"] == 0.8 and bright_faces["faces"] == 0.6
    assert bright_faces["warmth"] == 0.75 and bright_faces["motion"] == 0.5      # unknown reads 0.5
    candidates = choose_candidates("night/shift", [_scene(0, 0, 10, brightness=0.1, wide=1.0),
                                                   _scene(1, 10, 20, brightness=0.8, faces=0.7)],
                                   {1: [("tense", "mood", 0.9), ("close-ups", "cinematography", 0.95)]})
    dark, bright = candidates
    assert dark.describe().startswith("dark") and "scenery" in dark.describe()
    assert bright.describe().startswith("bright") and "faces" in bright.describe()
    assert bright.moods == ["tense"] and [t for t, _ in bright.tags] == ["close-ups", "tense"]
    assert bright.url == f"/titles/night%252Fshift/keyframes/1/{bright.keyframe}.jpg"


def test_a_crowd_scene_is_described_as_one_and_unknown_crowds_say_nothing():
    crowd = describe_scene({"visual.crowd_share": 1.0, "visual.face_share": 0.8, "visual.people_share": 1.0})
    assert crowd["crowd"] == 1.0 and describe_scene({})["crowd"] == 0.5
    scenes = [_scene(0, 0, 10, faces=0.8), _scene(1, 10, 20, faces=0.8)]
    scenes[1].features["visual.crowd_share"] = 1.0
    alone, crowded = choose_candidates("t", scenes)
    assert alone.features["crowd"] == 0.5 and "faces" in alone.describe() and "crowd" not in alone.describe()
    assert crowded.features["crowd"] == 1.0 and "a crowd" in crowded.describe()


def test_a_title_without_keyframes_has_no_candidates():
    assert choose_candidates("t", [SceneRecord(0, 0, 10, 0, 240)]) == []
