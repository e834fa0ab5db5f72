"""People, not only faces: bodies from OpenCV's full-body and upper-body Haar cascades.

A frontal or profile face (``faces.py``) finds people in close-ups and medium shots; a long
shot or a crowd shows people whose faces are a few pixels wide. Bodies come from the cascades
that the opencv-python 4.x wheels ship: ``haarcascade_fullbody.xml`` on the keyframe as it is
and ``haarcascade_upperbody.xml`` on it upscaled 2x (the cascade's window is 22x18 px; at
320x180 an upper body must be 1/4 of the frame height to fill it). A keyframe has people when a
face or a body is found.

Measured on 206 hand-labelled frames of 13 real clips at 320 px (the hand count is
benchmarks/people_annotations.csv; benchmarks/vision.py measures the whole set): faces alone
found people in 16 of the 102 frames that have some, faces with the two body cascades in 64,
with 8 false people in 104 empty frames. OpenCV's HOG pedestrian detector
(``HOGDescriptor_getDefaultPeopleDetector``) helped only at 2-3x upscaling, where it cost
5-15x more and fired on 20-41 of the empty frames (cartoon scenery, grass), so it is not used;
the lower-body cascade added nothing the two others missed. The bodies cost about 75 ms a
keyframe here (faces 100 ms); skipping upper bodies under 1/10 of the frame height nearly
halved that but lost 14 of 93 long-shot frames of the benchmark, so every size is searched.

Clothing: EfficientNet-Lite0 (the imagenet stage) has no "person" class, but 51 of its classes
are things a person wears or is (suit, jersey, gown, cardigan, military uniform, ballplayer,
groom ...: WORN_CLASSES, chosen by name before measuring). Their summed probability on a scene's
keyframe is a people cue that sees people from behind, tilted heads and waist-up shots that the
cascades miss. Chosen on the validation frames (benchmarks/people_validation.csv: 104 frames of
the benchmark's clips away from the keyframes the test examines, 55 of 12 other clips): faces and
bodies alone were right in 119 (false people in 3 of 68 empty frames); with the cue at 0.1 in
134, with the same 3 false people (0.05: 7 false; 0.07-0.12 within one frame of 0.1). HOG at 2x
or 3x upscaling, tried again on these frames with its SVM score as threshold, added nothing on
top of the cue (at best the same 134, with more false people, for 130-320 ms a keyframe), and
stricter cascades lost more people than false people. The cue costs nothing: the imagenet stage classifies the keyframe
anyway, and runs before the visual stage for it.

Regions (on in the shipped pipelines: ``[scenes] detail_width = 640``): people far from the
camera fill a few cells of a picture and barely move its pooled classes. Where the scenes stage
keeps a copy of each scene's sharpest keyframe at up to ``detail_width`` px, it is scaled to
DETAIL_HEIGHT_PX rows and classified cell by cell (EfficientNetLite0.region_probabilities): the
largest summed worn-class probability of a cell is a second cue, REGION_MIN_SCORE, looked at
only where the first did not fire. Rows and threshold were chosen on the first 188 validation
frames (448 rows over 384/512, 0.95: 153 -> 163 right, no new false person). It was then kept
off because the examined test's Popeye scenes got false people; on both validation sets
(312 frames, benchmarks/people_validation*.csv, the second counted on clips nobody here had
examined) it gains 15 frames for one more false person, so it is on. It costs a pass of the
network at about 800x448 for each scene where the first cue did not fire (about 110 ms a scene).

What none of this does well (benchmarks/vision.py, the fresh test: 23 of 41 scenes right):
drawn people, people in long shots and under 1/12 of the frame height. A person detector is
what is missing; see README "Seeing offline".

Counts: the number of people in a keyframe is the larger of the faces and the bodies found
(a body and its face are one person), a rough count that tells one person from a crowd; a
keyframe where only a worn-classes cue fires counts one person.
"""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from tagger.vision.faces import FaceDetectorUnavailable

FULL_BODY_CASCADE_FILE = "haarcascade_fullbody.xml"
UPPER_BODY_CASCADE_FILE = "haarcascade_upperbody.xml"
BODY_CASCADE_FILES = (FULL_BODY_CASCADE_FILE, UPPER_BODY_CASCADE_FILE)   # what runs, in this order

SCALE_FACTOR = 1.1
FULL_BODY_MIN_NEIGHBORS = 3
UPPER_BODY_UPSCALE = 2.0
UPPER_BODY_MIN_NEIGHBORS = 3
CROWD_MIN_PEOPLE = 4        # a keyframe with at least this many people shows a crowd

# ImageNet classes worn by (or that are) a person, as spelled in tagger/vision/imagenet_classes.txt.
WORN_CLASSES = ("abaya", "academic gown", "apron", "bib", "bikini", "bolo tie", "bonnet", "bow tie", "brassiere",
                "bulletproof vest", "cardigan", "cloak", "cowboy hat", "diaper", "feather boa", "fur coat", "gown",
                "hoopskirt", "jean", "jersey", "kimono", "lab coat", "lipstick", "maillot", "maillot tank suit",
                "military uniform", "miniskirt", "mortarboard", "neck brace", "necklace", "overskirt", "pajama",
                "pickelhaube", "pirate", "poncho", "sarong", "ski mask", "sombrero", "stole", "suit", "sunglass",
                "sunglasses", "sweatshirt", "swimming trunks", "trench coat", "vestment", "wig", "Windsor tie",
                "ballplayer", "groom", "scuba diver")
CLOTHING_MIN_SCORE = 0.1    # summed WORN_CLASSES probability from which a keyframe has a person
DETAIL_HEIGHT_PX = 448      # rows the detail keyframe is scaled to for the region cue
REGION_MIN_SCORE = 0.95     # a cell's summed WORN_CLASSES probability from which the keyframe has a person

_cascades: tuple[cv2.CascadeClassifier, cv2.CascadeClassifier] | None = None
_lock = threading.Lock()    # CascadeClassifier is not documented as thread-safe


def _get_cascades() -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier]:
    """Load the body cascades once per process (caller holds ``_lock``)."""
    global _cascades
    if _cascades is None:
        folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
        loaded = []
        for file_name in BODY_CASCADE_FILES:
            path = os.path.join(folder, file_name)
            cascade = cv2.CascadeClassifier(path) if hasattr(cv2, "CascadeClassifier") and os.path.isfile(path) else None
            if cascade is None or cascade.empty():
                raise FaceDetectorUnavailable(f"{path}: Haar cascade missing or unreadable in OpenCV "
                                              f"{cv2.__version__}; people detection needs opencv-python<5")
            loaded.append(cascade)
        _cascades = tuple(loaded)
    return _cascades


def detect_bodies(frame_bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Full and upper bodies in a uint8 (H, W, 3) BGR or (H, W) grey frame: ``(x, y, w, h)``
    boxes in the frame's pixels, largest first, ``[]`` when there are none."""
    frame = np.asarray(frame_bgr)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise ValueError(f"expected a uint8 (H, W, 3) BGR or (H, W) grey frame, got {frame.dtype} {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        return []
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    upscaled = cv2.resize(gray, None, fx=UPPER_BODY_UPSCALE, fy=UPPER_BODY_UPSCALE, interpolation=cv2.INTER_LINEAR)
    with _lock:
        full, upper = _get_cascades()
        full_boxes = np.asarray(full.detectMultiScale(gray, scaleFactor=SCALE_FACTOR,
                                                      minNeighbors=FULL_BODY_MIN_NEIGHBORS)).reshape(-1, 4)
        upper_boxes = np.asarray(upper.detectMultiScale(upscaled, scaleFactor=SCALE_FACTOR,
                                                        minNeighbors=UPPER_BODY_MIN_NEIGHBORS)).reshape(-1, 4)
    boxes = [tuple(int(v) for v in box) for box in full_boxes]
    boxes += [tuple(int(round(v / UPPER_BODY_UPSCALE)) for v in box) for box in upper_boxes]
    return _merge_overlapping(boxes)


def _merge_overlapping(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Keep the largest of boxes whose centres fall inside a kept box (an upper body inside a
    full body is one person)."""
    kept: list[tuple[int, int, int, int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: b[2] * b[3], reverse=True):
        cx, cy = x + w / 2, y + h / 2
        if not any(kx <= cx <= kx + kw and ky <= cy <= ky + kh for kx, ky, kw, kh in kept):
            kept.append((x, y, w, h))
    return kept


def clothing_scores(probabilities: np.ndarray, class_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Summed probability of WORN_CLASSES for each row of (N, len(class_names)) class probabilities."""
    missing = [name for name in WORN_CLASSES if name not in class_names]
    if missing:
        raise ValueError(f"class names lack the worn classes {missing}: not ImageNet's 1,000 classes")
    columns = [list(class_names).index(name) for name in WORN_CLASSES]
    return np.asarray(probabilities, np.float64).reshape(-1, len(class_names))[:, columns].sum(axis=1)


def region_clothing_score(encoder, image_bgr: np.ndarray) -> float:
    """The largest summed WORN_CLASSES probability over the cells of `image_bgr` scaled to
    DETAIL_HEIGHT_PX rows; `encoder` is an EfficientNetLite0."""
    probabilities = encoder.region_probabilities(image_bgr, height_px=DETAIL_HEIGHT_PX)
    return float(clothing_scores(probabilities, encoder.class_names).max())


def worn_cue(clothing_score: float, region_score: float = 0.0) -> bool:
    """Whether the worn-classes cues say a keyframe shows a person: its pooled score
    (:func:`clothing_scores`) or its region score (:func:`region_clothing_score`)."""
    return clothing_score >= CLOTHING_MIN_SCORE or region_score >= REGION_MIN_SCORE


def people_count(faces: list, bodies: list, clothing_score: float = 0.0, region_score: float = 0.0) -> int:
    """The people in a keyframe: the larger of its faces and its bodies; one where none is found
    but a worn-classes cue fires (:func:`worn_cue`)."""
    found = max(len(faces), len(bodies))
    return found if found or not worn_cue(clothing_score, region_score) else 1
