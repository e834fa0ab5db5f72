"""People, not only faces: a people head on the image network's cells, and bodies from
OpenCV's full-body and upper-body Haar cascades.

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

People head: people far from the camera fill a few cells of a picture and barely move its pooled
classes, and many wear nothing the worn classes name. The people head (people_head.py, fitted on
COCO's person boxes and on pictures of no one) reads each 32 px cell of the trunk's feature map; a
keyframe's score is its PEOPLE_HEAD_CELLS-th best cell's logit (three cells at
PEOPLE_HEAD_MIN_LOGIT or more make a person: see below). It looks at the scene's sharpest keyframe
as the scenes stage keeps it at up to ``detail_width`` px (640 in the shipped pipelines; the 320
px keyframe where there is no such copy), scaled to PEOPLE_HEAD_HEIGHT_PX rows, about 800x448 for
16:9; only where the pooled worn-classes cue did not fire, a pass of the network each (about 100
ms). Chosen on the 312 validation frames (benchmarks/people_validation*.csv; cell features cached
at 1/8 s): with faces and the pooled cue the head is right in 274 (20 false people) where the
worn-classes region cue it replaces was right in 231 (18); 448 rows over 224 and 320 (within a few
frames of each other, 448 with the fewest false people); logits 2.5-3.5 all give 274, 3.5 the
fewest false people. Since 2026-12-06 a person needs three cells (PEOPLE_HEAD_CELLS) at 3.0: most
false people were one shape (a mouse seen from above, a balance beam in drawn scenery, a fly),
where a person, even in a long shot, lights several cells. On cached frames of validation and the
three seen tests (1,352, one a second) thresholds 2.5-3.5 with 3-4 cells gave 1,121-1,128 right
against 1,097 for one cell at 3.5; validation alone chose 3 cells at 3.0 (282 of 312 against 269).
Side by side through the pipeline (README "Seeing offline") it was right in 31 of 36 scenes of the
untouched fresh3 test against 27, and lost three Simpsons scenes on fresh2: drawn people and
people filling one or two cells (tiny, far away) are what it gives up. A refit with 1,970 more
pictures of no one (aerial views, birds, drones, art and cartoon scenery) and six networks gained
13 frames where it was chosen but lost 5 of 42 scenes on the untouched second fresh test (drawn
people in cartoons), so this head stays (README "Seeing offline").

Where the head looked, a body found by the cascades is no person unless a face or a network
cue says so (people_count): on the validation frames with the head, bodies alone added 10
false people for 3 frames found (274 -> 267 right). They still count the people that are there
(a crowd), and decide alone in pipelines without the imagenet stage.

What none of this does well: see README "Seeing offline" for the fresh test.

Counts: the number of people in a keyframe is the larger of the faces and the bodies found
(a body and its face are one person), a rough count that tells one person from a crowd; a
keyframe where only a network cue fires counts one person.
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
PEOPLE_HEAD_HEIGHT_PX = 448     # rows the detail keyframe is scaled to for the people head
PEOPLE_HEAD_CELLS = 3           # cells that must reach PEOPLE_HEAD_MIN_LOGIT: one shape alone is too often not a person
PEOPLE_HEAD_MIN_LOGIT = 3.0     # the people-head logit those cells must reach for the keyframe to have a person

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


def people_head_score(encoder, image_bgr: np.ndarray) -> float:
    """The PEOPLE_HEAD_CELLS-th largest people-head logit over the cells of `image_bgr` scaled
    to PEOPLE_HEAD_HEIGHT_PX rows (the smallest where there are fewer cells); `encoder` is an
    EfficientNetLite0."""
    from tagger.vision.people_head import load_people_head

    cells = encoder.cell_features(image_bgr, height_px=PEOPLE_HEAD_HEIGHT_PX)
    return picture_head_score(load_people_head().cell_logits(cells))


def picture_head_score(cell_logits: np.ndarray) -> float:
    """A picture's people-head score from its cells' logits: the PEOPLE_HEAD_CELLS-th largest
    (the smallest where there are fewer cells)."""
    logits = np.sort(np.asarray(cell_logits, np.float64).ravel())
    if logits.size == 0:
        raise ValueError("a picture with no cells has no people-head score")
    return float(logits[-min(PEOPLE_HEAD_CELLS, logits.size)])


def picture_cue(clothing_score: float, head_score: float | None = None) -> bool:
    """Whether the network's cues say a keyframe shows a person: its pooled worn-classes score
    (:func:`clothing_scores`) or its people-head score (:func:`people_head_score`; None: not run)."""
    return clothing_score >= CLOTHING_MIN_SCORE or (head_score is not None and head_score >= PEOPLE_HEAD_MIN_LOGIT)


def people_count(faces: list, bodies: list, clothing_score: float = 0.0, head_score: float | None = None) -> int:
    """The people in a keyframe: the larger of its faces and its bodies, at least one where a
    network cue fires (:func:`picture_cue`). Where the people head looked (`head_score` not
    None), bodies alone are no person: they only count people that a face or a cue found."""
    found = max(len(faces), len(bodies))
    if head_score is not None and not faces and not picture_cue(clothing_score, head_score):
        return 0
    return found if found or not picture_cue(clothing_score, head_score) else 1
