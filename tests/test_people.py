"""People, not only faces: person boxes on generated walking figures, a crowd and empty frames;
the network cues and how they count.

The real clips' people are measured against a hand count by benchmarks/vision.py.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tagger.vision import faces, people, persons
from tagger.vision.descriptors import describe_scene
from tagger.vision.people_head import load_people_head, people_head_version

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


@pytest.fixture(scope="module")
def detector():
    return persons.load_person_detector()


@needs_cascades
@pytest.mark.parametrize("height_px", [50, 70, 90])   # a quarter to a half of the frame
def test_a_generated_walking_figure_is_a_person_without_a_face(detector, height_px):
    """Real weights: one flat grey silhouette in mid-stride is one person box, on the figure.
    (A flat silhouette three quarters of the frame tall is not: COCO's people are photographs;
    the people head takes such frames where it can, tests below.)"""
    frame = street((W // 2, height_px))
    found = detector.detect(frame)
    assert len(found) == 1, found
    box = found[0]
    assert box.x <= W // 2 <= box.x + box.w and box.y <= H // 2 <= box.y + box.h          # on the figure
    assert 0.6 * height_px <= box.h <= 1.5 * height_px and persons.PERSON_MIN_SCORE <= box.score <= 1
    assert faces.detect_faces(frame) == []
    scene = describe_scene([], [], [frame])
    assert scene["face_share"] == 0.0 and scene["people_share"] == 1.0
    assert scene["single_person_share"] == 1.0 and scene["crowd_share"] == 0.0 and scene["people_count"] == 1.0


@needs_cascades
def test_five_walkers_are_a_crowd_and_an_empty_street_is_nobody(detector):
    crowd = street(*[(x, 60) for x in (30, 90, 150, 210, 270)])
    found = detector.detect(crowd)
    assert len(found) >= people.CROWD_MIN_PEOPLE, found
    assert sorted(box.x + box.w // 2 for box in found)[0] < 60 and [b.score for b in found] == sorted(
        (b.score for b in found), reverse=True)
    empty = street()
    scene = describe_scene([], [], [crowd, empty])
    assert scene["people_share"] == 0.5 and scene["crowd_share"] == 0.5 and scene["single_person_share"] == 0.0
    assert scene["people_count"] >= people.CROWD_MIN_PEOPLE / 2
    rng = np.random.default_rng(3)
    nobody = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(3)]
    big_plain_object = np.full((H, W, 3), 190, np.uint8)
    cv2.rectangle(big_plain_object, (60, 20), (260, 160), (40, 90, 160), -1)
    assert all(detector.detect(frame) == [] for frame in [empty, big_plain_object, *nobody])


@needs_cascades
def test_the_detector_looks_at_the_detail_copy_of_the_first_keyframe(detector):
    """describe_scene's first_detail_bgr: person boxes come from the detail copy, faces and
    shot scale from the keyframe."""
    walker, empty = street((W // 2, 70)), street()
    assert describe_scene([], [], [empty], first_detail_bgr=cv2.resize(walker, (640, 360)))["people_share"] == 1.0
    assert describe_scene([], [], [walker], first_detail_bgr=cv2.resize(empty, (640, 360)))["people_share"] == 0.0
    assert describe_scene([], [], [empty, walker], first_detail_bgr=empty)["people_share"] == 0.5


def test_the_person_detector_rejects_what_is_no_picture_and_finds_nobody_in_nothing(detector):
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((10, 10, 3), np.float32))
    assert detector.detect(np.zeros((0, 10, 3), np.uint8)) == []
    assert detector.detect(np.full((7, 900, 3), 128, np.uint8)) == []     # slivers: squeezed to at most 4:1
    assert detector.detect(np.full((900, 7, 3), 128, np.uint8)) == []     # and at least 32 columns in


def test_the_person_detector_names_the_file_it_cannot_use(tmp_path):
    cfg = Path(persons._wheel_file(persons.CFG_FILE))
    with pytest.raises(persons.PersonDetectorUnavailable, match="missing"):
        persons.PersonDetector.load(cfg, tmp_path / "absent.weights")
    wrong = tmp_path / "other.weights"
    wrong.write_bytes(b"\0" * 1024)
    with pytest.raises(persons.PersonDetectorUnavailable, match=r"other\.weights: md5 .* not the yolov4-tiny"):
        persons.PersonDetector.load(cfg, wrong)


def test_a_face_and_its_person_are_one():
    box = persons.PersonBox(0, 0, 9, 20, 0.9)
    assert people.people_count([(0, 0, 5, 5)], []) == 1 and people.people_count([], []) == 0
    assert people.people_count([(0, 0, 5, 5)], [box]) == 1
    assert people.people_count([(0, 0, 5, 5)] * 2, [box] * 3) == 3


def test_shot_scale_from_a_face_else_from_the_tallest_person_the_frame_cuts():
    """Boxes as the detector gives them, in a 360x640 picture: a person cut by the bottom edge
    and filling the height is a close-up, 3/4 of it a medium shot; a whole figure of any
    height, or a cut one under MEDIUM_MIN_PERSON_HEIGHT_SHARE, is wide; a face decides first."""
    def box(top, bottom, width=200, left=200):
        return persons.PersonBox(left, top, width, bottom - top, 0.9)

    shape = (360, 640)
    assert faces.shot_scale([], frame_height=180, persons=[box(0, 380, 400)], persons_shape=shape) == "close-up"
    assert faces.shot_scale([], frame_height=180, persons=[box(0, 380, 200)], persons_shape=shape) == "medium"   # narrow
    assert faces.shot_scale([], frame_height=180, persons=[box(80, 360)], persons_shape=shape) == "medium"
    assert faces.shot_scale([], frame_height=180, persons=[box(150, 360)], persons_shape=shape) == "wide"
    assert faces.shot_scale([], frame_height=180, persons=[box(10, 340, 400)], persons_shape=shape) == "wide"   # whole
    # The tallest person decides: a whole figure in front of a cut one is a wide shot.
    assert faces.shot_scale([], frame_height=180, persons=[box(120, 360), box(5, 345)], persons_shape=shape) == "wide"
    assert faces.shot_scale([], frame_height=180, persons=[box(5, 300), box(60, 362)], persons_shape=shape) == "medium"
    assert faces.shot_scale([], frame_height=180, persons=[box(80, 360), box(80, 360, left=0)],
                            persons_shape=shape) == "medium"                     # two as tall
    small_face = [(10, 10, 12, 12)]
    assert faces.shot_scale(small_face, frame_height=180, persons=[box(0, 380, 400)], persons_shape=shape) == "wide"
    assert faces.shot_scale([], frame_height=180) == "wide"
    with pytest.raises(ValueError, match="height, width"):
        faces.shot_scale([], frame_height=180, persons=[box(0, 380)])
    assert faces.shot_scale_version().count(str(faces.MEDIUM_MIN_PERSON_HEIGHT_SHARE)) == 1


def test_animal_scores_sum_imagenets_first_398_classes_and_keep_the_head_away():
    from tagger.vision.efficientnet import class_names

    names = class_names()
    probabilities = np.zeros((3, 1000))
    probabilities[0, [0, 397]] = 0.4            # tench and puffer: animals
    probabilities[1, 398] = 1.0                 # abacus: not
    probabilities[2, :] = 1 / 1000
    assert np.allclose(people.animal_scores(probabilities, names), [0.8, 0.0, 0.398])
    with pytest.raises(ValueError, match="tench"):
        people.animal_scores(probabilities, names[::-1])
    assert people.head_looks(0.0) and people.head_looks(0.0, people.ANIMAL_MIN_SCORE - 0.01)
    assert not people.head_looks(0.0, people.ANIMAL_MIN_SCORE)
    assert not people.head_looks(people.CLOTHING_MIN_SCORE, 0.0)


def test_the_imagenet_stage_keeps_the_people_head_off_animals_and_off_dressed_people(monkeypatch):
    """The stage's plumbing, with a stand-in for the network: a scene whose keyframe the classes
    call an animal, or clothes, gets no people-head score; another gets the head's score."""
    from tagger.catalog.records import KeyframeRecord
    from tagger.scenes.split import SceneCut, SplitResult
    from tagger.stages.base import TitleContext
    from tagger.stages.imagenet import ImagenetStage
    from tagger.titles import TitleInput
    from tagger.vision.efficientnet import class_names

    names = class_names()
    by_grey = {40: names.index("tabby"), 120: names.index("suit"), 200: names.index("abacus")}

    class StandIn:
        model_id, class_names = "stand-in", names

        def encode_and_classify(self, images):
            probabilities = np.zeros((len(images), 1000))
            for row, image in enumerate(images):
                probabilities[row, by_grey[min(by_grey, key=lambda g: abs(g - image.mean()))]] = 1.0
            return np.zeros((len(images), 8), np.float32), probabilities

    looked_at = []
    monkeypatch.setattr(people, "people_head_score", lambda encoder, picture: looked_at.append(picture.mean()) or 4.0)
    stage = ImagenetStage(ImagenetStage.Settings(), taxonomy=None)
    stage.encoder, stage.class_map = StandIn(), None
    scenes = [SceneCut(i, 24 * i, 24 * i + 24, i, i + 1.0,
                       keyframes=[KeyframeRecord(24 * i, i + 0.5, 1.0,
                                                 cv2.imencode(".jpg", np.full((18, 32, 3), grey, np.uint8))[1].tobytes())])
              for i, grey in enumerate(by_grey)]
    ctx = TitleContext(TitleInput("t", "t", "test"), split=SplitResult(scenes, 72))
    stage.run(ctx)
    assert ctx.scene_people_head_scores == [None, None, 4.0] and len(looked_at) == 1
    assert ctx.scene_clothing_scores == [0.0, 1.0, 0.0]


def test_the_visual_stage_names_the_person_detector_it_runs():
    from tagger.stages.visual import VisualStage

    versions = VisualStage(VisualStage.Settings(), taxonomy=None).versions()
    assert versions["people"] == (persons.person_detector_version() + f"+worn-classes>={people.CLOTHING_MIN_SCORE}"
                                  f"+{people_head_version()}@{people.PEOPLE_HEAD_HEIGHT_PX}px"
                                  f":{people.PEOPLE_HEAD_CELLS}cells>={people.PEOPLE_HEAD_MIN_LOGIT}"
                                  f"+no-head-on-animals>={people.ANIMAL_MIN_SCORE}")
    assert versions["shot_scale"] == faces.shot_scale_version()
    assert str(persons.PERSON_MIN_SCORE) in versions["people"] and "yolov4-tiny" in versions["people"]
    assert "people" not in VisualStage(VisualStage.Settings(face_keyframes_per_scene=0), taxonomy=None).versions()


# -- the worn-classes cue (ImageNet classes from the imagenet stage) --------------------------

def test_the_worn_classes_are_imagenet_classes_and_sum_as_a_score():
    from tagger.vision.efficientnet import class_names

    names = class_names()
    assert len(names) == 1000 and set(people.WORN_CLASSES) <= set(names)
    rng = np.random.default_rng(5)
    probabilities = rng.dirichlet(np.ones(len(names)), size=4)
    worn = [names.index(name) for name in people.WORN_CLASSES]
    expected = probabilities[:, worn].sum(axis=1)
    assert np.allclose(people.clothing_scores(probabilities, names), expected)
    one_hot = np.zeros((2, len(names)))
    one_hot[0, names.index("suit")] = one_hot[1, names.index("traffic light")] = 1.0
    assert people.clothing_scores(one_hot, names).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="worn classes"):
        people.clothing_scores(np.ones((1, 3)) / 3, ["a", "b", "c"])


@pytest.mark.parametrize("score", [0.0, people.CLOTHING_MIN_SCORE / 2, people.CLOTHING_MIN_SCORE, 0.9])
def test_the_cue_counts_one_person_only_where_nothing_else_was_found(score):
    fires = score >= people.CLOTHING_MIN_SCORE
    assert people.people_count([], [], score) == int(fires)
    assert people.people_count([(0, 0, 5, 5)] * 2, [], score) == 2     # found people keep their count
    assert people.people_count([], [persons.PersonBox(0, 0, 9, 9, 0.5)] * 5, score) == 5


@pytest.mark.parametrize("head", [None, people.PEOPLE_HEAD_MIN_LOGIT - 0.01, people.PEOPLE_HEAD_MIN_LOGIT, 30.0])
def test_the_people_head_counts_one_person_where_nothing_else_fired(head):
    fires = head is not None and head >= people.PEOPLE_HEAD_MIN_LOGIT
    assert people.picture_cue(0.0, head) == fires and people.picture_cue(people.CLOTHING_MIN_SCORE, head)
    assert people.people_count([], [], 0.0, head) == int(fires)
    assert people.people_count([(0, 0, 5, 5)] * 2, [], 0.0, head) == 2


def test_person_boxes_count_whatever_the_cues_say():
    """Person boxes are people wherever the head looked or not (the detector is precise: see
    persons.py), and the cues only add one person where nothing was found."""
    found = [persons.PersonBox(0, 0, 9, 9, 0.5)] * 5
    below, at = people.PEOPLE_HEAD_MIN_LOGIT - 1, people.PEOPLE_HEAD_MIN_LOGIT
    for head in (below, at, None):
        assert people.people_count([], found, 0.0, head) == 5
    assert people.people_count([(0, 0, 5, 5)], found, 0.0, below) == 5


def test_the_people_head_score_is_its_nth_best_cell_at_its_height():
    """The shipped head on stand-in cell features: the score is the PEOPLE_HEAD_CELLS-th
    largest cell logit (one cell alone is no person), the smallest where there are fewer."""
    head = load_people_head()
    rng = np.random.default_rng(3)
    cells = rng.normal(head.input_mean, head.input_scale, size=(6, head.dimension)).astype(np.float32)
    asked = {}

    class Encoder:
        def __init__(self, cells):
            self.cells = cells

        def cell_features(self, image, *, height_px):
            asked["height_px"] = height_px
            return self.cells

    assert people.PEOPLE_HEAD_CELLS > 1
    logits = sorted(head.cell_logits(cells), reverse=True)
    score = people.people_head_score(Encoder(cells), np.zeros((10, 10, 3), np.uint8))
    assert score == pytest.approx(float(logits[people.PEOPLE_HEAD_CELLS - 1]), abs=1e-5)
    assert score < logits[0]
    assert asked["height_px"] == people.PEOPLE_HEAD_HEIGHT_PX
    few = cells[:people.PEOPLE_HEAD_CELLS - 1]
    assert people.people_head_score(Encoder(few), np.zeros((10, 10, 3), np.uint8)) == pytest.approx(
        float(head.cell_logits(few).min()), abs=1e-5)
    with pytest.raises(ValueError, match="no cells"):
        people.picture_head_score(np.zeros(0))


@needs_cascades
@pytest.mark.parametrize("score", [0.0, 0.05, 0.2])
def test_an_empty_street_has_a_person_only_when_the_cue_fires(score):
    scene = describe_scene([], [], [street()], clothing_score=score)
    expected = float(score >= people.CLOTHING_MIN_SCORE)
    assert scene["people_share"] == expected and scene["single_person_share"] == expected
    assert scene["face_share"] == 0.0 and scene["crowd_share"] == 0.0


def test_every_shipped_pipeline_classifies_before_it_counts_people():
    from tagger.pipeline import load_pipeline

    for path in sorted(Path(__file__).resolve().parents[1].joinpath("pipelines").glob("*.toml")):
        stages = list(load_pipeline(path).stages)
        if "imagenet" in stages and "visual" in stages:
            assert stages.index("imagenet") < stages.index("visual"), path.name


@needs_cascades
def test_real_frames_the_cue_sees_the_switchboard_women_and_not_the_flower(shared_media):
    """Real weights on real frames: His Girl Friday's first second (three women at a switchboard,
    in jackets and a hat) against the flower clip."""
    from tagger.media.decode import iter_frames
    from tagger.vision.efficientnet import EfficientNetLite0

    encoder = EfficientNetLite0.load()

    def scores(name, until_s):
        frames = [f.image for f in iter_frames(shared_media / name, analysis_width=320) if f.time_s < until_s]
        return people.clothing_scores(encoder.encode_and_classify(frames[::6])[1], encoder.class_names)

    friday, flower = scores("friday.mp4", 1.0), scores("flower.mp4", 5.0)
    assert friday.max() >= people.CLOTHING_MIN_SCORE, friday
    assert flower.max() < people.CLOTHING_MIN_SCORE / 2, flower


@pytest.fixture(scope="module")
def encoder():
    from tagger.vision.efficientnet import EfficientNetLite0

    return EfficientNetLite0.load()


@pytest.mark.parametrize("height_px", [50, 70])
def test_the_people_head_sees_a_generated_walking_figure(encoder, height_px):
    """Real weights: a flat grey walking silhouette a third of the frame tall, in a 640x360
    copy, is a person; the same street empty, noise and flat frames are not. (A silhouette
    half the frame tall or more is not: a flat shape that size is nothing like the people the
    head learned.)"""
    walker = cv2.resize(street((W // 2, height_px)), (640, 360))
    assert people.people_head_score(encoder, walker) >= people.PEOPLE_HEAD_MIN_LOGIT
    empty = cv2.resize(street(), (640, 360))
    rng = np.random.default_rng(3)
    nobody = [empty, rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), np.full((360, 640, 3), 128, np.uint8)]
    assert max(people.people_head_score(encoder, frame) for frame in nobody) < people.PEOPLE_HEAD_MIN_LOGIT - 1


@needs_cascades
def test_real_frames_the_people_head_on_detail_copies(shared_media, encoder):
    """The people head on 640 px copies: the switchboard women, seated and half turned away at
    1.7 s (where the pooled cue stays under its bar), and not the flower."""
    from tagger.media.decode import iter_frames

    def head_scores(name, times_s):
        frames = [f for f in iter_frames(shared_media / name, analysis_width=320, detail_width=640)]
        picked = [next(f for f in frames if f.time_s >= t) for t in times_s]
        return [people.people_head_score(encoder, f.detail()) for f in picked]

    assert min(head_scores("friday.mp4", [1.7, 3.7])) >= people.PEOPLE_HEAD_MIN_LOGIT
    assert max(head_scores("flower.mp4", [1.7, 2.7, 3.7])) < people.PEOPLE_HEAD_MIN_LOGIT


def test_the_people_test_sets_are_well_formed():
    """Every hand count of benchmarks/vision.py: a whole number of people (-1 unsure), a size
    exactly where someone is there, each clip's ranges from 0 on without gaps or overlaps, and
    every clip's source listed; the untouched sets are among the sets."""
    from benchmark_scripts import load_benchmark

    vision = load_benchmark("vision")
    sources = {row["clip"] for path in (vision.CLIPS_FILE, vision.FRESH_CLIPS_FILE) for row in vision.read_csv(path)}
    assert set(vision.UNTOUCHED_PEOPLE_SETS) <= set(vision.PEOPLE_FILES)
    for name, path in vision.PEOPLE_FILES.items():
        ranges: dict[str, list[tuple[float, float]]] = {}
        for row in vision.read_csv(path):
            where = f"{path.name}: {row['clip']} at {row['start_s']} s"
            people = int(row["people"])
            assert people >= -1 and row["size"] in ("", "close-up", "medium", "long", "crowd", "tiny"), where
            assert (row["size"] != "") == (people > 0), where
            ranges.setdefault(row["clip"], []).append((float(row["start_s"]), float(row["end_s"])))
        assert ranges, name
        for clip, spans in ranges.items():
            spans.sort()
            assert spans[0][0] == 0 and all(start < end for start, end in spans), (path.name, clip)
            assert all(abs(a[1] - b[0]) < 1e-6 for a, b in zip(spans, spans[1:])), (path.name, clip)
            assert clip in sources, (path.name, clip)


def test_the_vision_benchmark_scores_another_head_rule_and_puts_the_shipped_one_back():
    """benchmarks/vision.py --head-rules: a rule holds inside its block (and through an error
    there), the shipped rule is back after it; None leaves the shipped rule."""
    from benchmark_scripts import load_benchmark

    vision = load_benchmark("vision")
    shipped = people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT
    with vision.head_rule((1, 3.5)):
        assert (people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT) == (1, 3.5)
        assert people.picture_head_score(np.array([3.6, 0.0, -1.0])) == pytest.approx(3.6)
    assert (people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT) == shipped
    with pytest.raises(RuntimeError), vision.head_rule((5, 1.0)):
        raise RuntimeError("a benchmark that fails")
    assert (people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT) == shipped
    with vision.head_rule(None):
        assert (people.PEOPLE_HEAD_CELLS, people.PEOPLE_HEAD_MIN_LOGIT) == shipped


def test_the_vision_benchmark_scores_shot_scale_by_the_largest_persons_size():
    from benchmark_scripts import load_benchmark

    vision = load_benchmark("vision")
    tally = vision._scale_tally([("close-up", "close-up"), ("medium", "wide"), ("long", "wide"), ("crowd", "medium"),
                                 ("tiny", "wide")])
    assert (tally["right"], tally["of"]) == (3, 5)
    assert tally["by_scale"] == {"close-up": {"right": 1, "of": 1}, "medium": {"right": 0, "of": 1},
                                 "wide": {"right": 2, "of": 3}}
    assert vision._scale_tally([])["accuracy"] is None
