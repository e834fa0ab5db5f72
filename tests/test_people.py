"""People, not only faces: body cascades on generated walking figures, a crowd and empty frames.

The real clips' people are measured against a hand count by benchmarks/vision.py.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tagger.vision import faces, people
from tagger.vision.descriptors import describe_scene

H, W = 180, 320

needs_cascades = pytest.mark.skipif(
    not faces.face_detector_available(),
    reason=f"OpenCV {cv2.__version__} has no Haar cascades (opencv-python 5.x); people need opencv-python<5")


def walking_figure(frame: np.ndarray, *, x: int, height_px: int, stride: float = 0.9, grey: int = 45) -> np.ndarray:
    """`frame` with a filled human silhouette in mid-stride drawn on it: head, shoulders, arms
    swinging, legs apart; `height_px` tall, centred on column `x` and on the frame's middle."""
    unit = height_px / 7.5                    # a head is 1/7.5 of a person's height
    top = (frame.shape[0] - height_px) // 2
    colour = (grey, grey, grey)

    def at(dx, dy):
        return [int(x + dx * unit), int(top + dy * unit)]

    cv2.ellipse(frame, tuple(at(0, 0.5)), (int(0.38 * unit), int(0.5 * unit)), 0, 0, 360, colour, -1)
    shapes = [[at(-0.25, 0.9), at(0.25, 0.9), at(0.25, 1.1), at(-0.25, 1.1)],                        # neck
              [at(-0.95, 1.2), at(0.95, 1.2), at(0.75, 2.6), at(0.6, 3.9), at(-0.6, 3.9), at(-0.75, 2.6)]]
    for side, swing in ((-1, stride), (1, -stride)):
        shapes.append([at(side * 0.8, 1.25), at(side * 1.05, 1.35), at(side * 0.95 + swing * 0.6, 3.6),
                       at(side * 0.7 + swing * 0.6, 3.6)])                                             # arm
        shapes.append([at(side * 0.05, 3.8), at(side * 0.6, 3.8), at(side * 0.35 - swing, 7.3),
                       at(-swing, 7.3)])                                                                # leg
        shapes.append([at(side * 0.05 - swing, 7.25), at(side * 0.35 - swing + 0.35, 7.25),
                       at(side * 0.35 - swing + 0.35, 7.5), at(side * 0.05 - swing, 7.5)])              # foot
    cv2.fillPoly(frame, [np.array(shape, np.int32) for shape in shapes], colour)
    return cv2.GaussianBlur(frame, (3, 3), 0)


def street(*figures: tuple[int, int]) -> np.ndarray:
    """A light grey (H, W) frame with walking figures at (x, height_px)."""
    frame = np.full((H, W, 3), 190, np.uint8)
    for number, (x, height_px) in enumerate(figures):
        frame = walking_figure(frame, x=x, height_px=height_px, stride=0.9 if number % 2 else -0.9)
    return frame


@needs_cascades
@pytest.mark.parametrize("height_px", [50, 90, 140])   # a quarter to three quarters of the frame
def test_a_generated_walking_figure_is_a_person_without_a_face(height_px):
    frame = street((W // 2, height_px))
    bodies = people.detect_bodies(frame)
    assert len(bodies) == 1, bodies
    x, y, w, h = bodies[0]
    assert x <= W // 2 <= x + w and y <= H // 2 <= y + h          # on the figure
    assert faces.detect_faces(frame) == []
    scene = describe_scene([], [], [frame])
    assert scene["face_share"] == 0.0 and scene["people_share"] == 1.0
    assert scene["single_person_share"] == 1.0 and scene["crowd_share"] == 0.0 and scene["people_count"] == 1.0


@needs_cascades
def test_five_walkers_are_a_crowd_and_an_empty_street_is_nobody():
    crowd = street((35, 100), (95, 100), (160, 100), (225, 100), (285, 100))
    assert len(people.detect_bodies(crowd)) >= people.CROWD_MIN_PEOPLE
    empty = street()
    scene = describe_scene([], [], [crowd, empty])
    assert scene["people_share"] == 0.5 and scene["crowd_share"] == 0.5 and scene["single_person_share"] == 0.0
    assert scene["people_count"] >= people.CROWD_MIN_PEOPLE / 2
    rng = np.random.default_rng(3)
    assert all(people.detect_bodies(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)) == [] for _ in range(3))


def test_a_body_inside_a_body_is_one_person():
    assert people._merge_overlapping([(10, 10, 40, 100), (15, 12, 30, 40), (200, 10, 40, 100)]) == \
        [(10, 10, 40, 100), (200, 10, 40, 100)]
    assert people.people_count([(0, 0, 5, 5)], []) == 1 and people.people_count([], []) == 0
    assert people.people_count([(0, 0, 5, 5)] * 2, [(0, 0, 9, 9)] * 3) == 3


def test_the_visual_stage_names_the_body_cascades_it_runs():
    from tagger.stages.visual import VisualStage

    versions = VisualStage(VisualStage.Settings(), taxonomy=None).versions()
    assert versions["people"] == "+".join(people.BODY_CASCADE_FILES)
    assert all(Path(cv2.data.haarcascades, name).is_file() for name in people.BODY_CASCADE_FILES)
    assert "people" not in VisualStage(VisualStage.Settings(face_keyframes_per_scene=0), taxonomy=None).versions()
