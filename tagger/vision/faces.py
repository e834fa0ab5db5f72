"""Face detection and shot scale.

Faces come from the Haar cascades that the opencv-python 4.x wheels ship in
``cv2.data.haarcascades``: ``haarcascade_frontalface_alt2.xml`` plus
``haarcascade_profileface.xml`` run on the frame and on its mirror image (the profile cascade
only knows one side). Film characters are mostly in three-quarter view, which the frontal
cascade misses. On 60 frames of "His Girl Friday" at 320x240 (opencv-python 4.14) the frontal
cascade alone found a real face in 6-14 frames (minNeighbors 5-3), the ensemble in 42, with one
false box; the ``haarcascade_frontalface_default.xml`` cascade fired on a wall clock in every
frame and on blurred noise, so it is not used.

OpenCV 5 moved Haar cascades out of the main modules (``cv2.CascadeClassifier`` and the XML
files are gone from opencv-python 5.x); there :func:`detect_faces` raises
:class:`FaceDetectorUnavailable`.

Shot scale uses the height of the largest face as a share of the frame height, a common proxy
for how much of a person the camera frames:

* ``"close-up"``: largest face height >= 0.33 of the frame (head and shoulders or tighter),
* ``"medium"``: >= 0.12 (roughly waist up),
* ``"wide"``: smaller faces.

Where no face is found (a person turned away, drawn, in profile to the other side), the person
boxes (persons.py) say it: the tallest person, where the frame's bottom edge cuts its box (its
bottom at PERSON_CUT_MIN_BOTTOM_SHARE of the height or lower: seen from the waist or chest up),
is a close-up at CLOSEUP_MIN_PERSON_HEIGHT_SHARE of the height and CLOSEUP_MIN_PERSON_WIDTH_SHARE
of the width, a medium shot at MEDIUM_MIN_PERSON_HEIGHT_SHARE; a whole figure, however tall, is
a wide shot, as is a frame with neither. Chosen on the validation frames (the size of the
largest person counted by hand: close-up, medium, else wide): faces alone right in 163 of 201
frames with people, faces then boxes 169 (medium 11 -> 15 of 37, close-up 14 -> 19 of 30); the
five seen people tests 841 -> 848 of 1,007 (no set worse). Boxes taller than 0.7
with no cut (whole figures) made it worse (159), as did a box overruling a face ("max", 1,013
against 1,017 over all six sets). Most frames still wrong have people neither finds: drawn,
or seen from behind.
"""
from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from tagger.errors import TaggerError

FRONTAL_CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
PROFILE_CASCADE_FILE = "haarcascade_profileface.xml"
CASCADE_FILES = (FRONTAL_CASCADE_FILE, PROFILE_CASCADE_FILE)   # what runs, as _get_cascades loads it

# Haar faces need ~24 px at the detector scale; analysis frames are small (320x180), so the grey
# frame is upscaled to at least this width first. At 320x180 -> 480x270 a face of 1/6 frame
# height is 45 px, well inside the cascades' range.
MIN_DETECT_WIDTH_PX = 480
SCALE_FACTOR = 1.1
# Neighbours needed to accept a detection. Tuned on real clips (see the module docstring):
# frontal alt2 is precise at 5; the profile cascade fires on leaves and buds below ~18.
FRONTAL_MIN_NEIGHBORS = 5
PROFILE_MIN_NEIGHBORS = 18
# Smallest face reported, as a share of frame height: smaller boxes are mostly false positives
# and would count as "wide" anyway.
MIN_FACE_HEIGHT_SHARE = 0.08
# Boxes from the three passes overlapping more than this (intersection over the smaller box)
# are one face.
DUPLICATE_OVERLAP = 0.5

CLOSEUP_MIN_FACE_SHARE = 0.33
MEDIUM_MIN_FACE_SHARE = 0.12
PERSON_CUT_MIN_BOTTOM_SHARE = 0.98      # a person box reaching this far down is cut by the frame's edge
CLOSEUP_MIN_PERSON_HEIGHT_SHARE = 0.9
CLOSEUP_MIN_PERSON_WIDTH_SHARE = 0.5
MEDIUM_MIN_PERSON_HEIGHT_SHARE = 0.7
SHOT_SCALES = ("close-up", "medium", "wide")

# Filled lazily by _get_cascades: (frontal, profile).
_cascades: tuple[cv2.CascadeClassifier, cv2.CascadeClassifier] | None = None
# One lock for loading and detecting: CascadeClassifier is not documented as thread-safe.
_lock = threading.Lock()


class FaceDetectorUnavailable(TaggerError):
    """The installed OpenCV has no Haar cascades (opencv-python 5.x); install opencv-python<5."""


def _load(file_name: str) -> cv2.CascadeClassifier:
    path = os.path.join(getattr(getattr(cv2, "data", None), "haarcascades", ""), file_name)
    cascade = cv2.CascadeClassifier(path) if os.path.isfile(path) else None
    if cascade is None or cascade.empty():
        raise FaceDetectorUnavailable(
            f"{path}: Haar cascade missing or unreadable in OpenCV {cv2.__version__}; "
            "face detection needs opencv-python<5")
    return cascade


def _get_cascades() -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier]:
    """Load the cascades once per process (caller holds ``_lock``)."""
    global _cascades
    if _cascades is None:
        if not hasattr(cv2, "CascadeClassifier"):
            raise FaceDetectorUnavailable(
                f"OpenCV {cv2.__version__} has no CascadeClassifier (moved out in OpenCV 5); "
                "face detection needs opencv-python<5")
        _cascades = tuple(_load(file_name) for file_name in CASCADE_FILES)
    return _cascades


def face_detector_available() -> bool:
    """True when :func:`detect_faces` can run with the installed OpenCV."""
    try:
        with _lock:
            _get_cascades()
    except FaceDetectorUnavailable:
        return False
    return True


def _merge_duplicates(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Keep the largest of boxes that overlap by more than DUPLICATE_OVERLAP of the smaller."""
    kept: list[tuple[int, int, int, int]] = []
    for box in sorted(boxes, key=lambda b: b[2] * b[3], reverse=True):
        x, y, w, h = box
        duplicate = False
        for kx, ky, kw, kh in kept:
            iw = min(x + w, kx + kw) - max(x, kx)
            ih = min(y + h, ky + kh) - max(y, ky)
            if iw > 0 and ih > 0 and iw * ih > DUPLICATE_OVERLAP * min(w * h, kw * kh):
                duplicate = True
                break
        if not duplicate:
            kept.append(box)
    return kept


def detect_faces(frame_bgr: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Frontal and profile faces in a frame.

    ``frame_bgr``: uint8 (H, W, 3) BGR, or (H, W) grey. Returns ``(x, y, w, h)`` boxes in the
    input frame's pixel coordinates, largest first; ``[]`` when there are none.
    Raises :class:`FaceDetectorUnavailable` when OpenCV has no Haar cascades.
    """
    frame = np.asarray(frame_bgr)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise ValueError(f"expected a uint8 (H, W, 3) BGR or (H, W) grey frame, got "
                         f"{frame.dtype} {frame.shape}")
    height, width = frame.shape[:2]
    if height == 0 or width == 0:
        return []
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    scale = max(1.0, MIN_DETECT_WIDTH_PX / width)
    if scale > 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)),
                          interpolation=cv2.INTER_LINEAR)
    # No histogram equalisation: the cascades normalise each window's contrast already, and
    # equalising turned low-contrast noise into "faces".
    mirrored = cv2.flip(gray, 1)
    min_side = max(24, round(MIN_FACE_HEIGHT_SHARE * gray.shape[0]))
    detect_width = gray.shape[1]
    with _lock:
        frontal, profile = _get_cascades()
        found = [np.asarray(frontal.detectMultiScale(
                     gray, scaleFactor=SCALE_FACTOR, minNeighbors=FRONTAL_MIN_NEIGHBORS,
                     minSize=(min_side, min_side))).reshape(-1, 4),
                 np.asarray(profile.detectMultiScale(
                     gray, scaleFactor=SCALE_FACTOR, minNeighbors=PROFILE_MIN_NEIGHBORS,
                     minSize=(min_side, min_side))).reshape(-1, 4)]
        flipped = np.asarray(profile.detectMultiScale(
            mirrored, scaleFactor=SCALE_FACTOR, minNeighbors=PROFILE_MIN_NEIGHBORS,
            minSize=(min_side, min_side))).reshape(-1, 4).copy()
    if len(flipped):
        flipped[:, 0] = detect_width - flipped[:, 0] - flipped[:, 2]  # back to unmirrored x
    found.append(flipped)
    boxes = [(int(round(x / scale)), int(round(y / scale)), int(round(w / scale)), int(round(h / scale)))
             for x, y, w, h in np.concatenate(found)]
    return _merge_duplicates(boxes)


def shot_scale(faces, *, frame_height: int, persons=(), persons_shape: tuple[int, int] | None = None) -> str:
    """``"close-up"``, ``"medium"`` or ``"wide"`` (module docstring): from the largest face
    where there is one, else from the person boxes.

    ``faces``: ``(x, y, w, h)`` boxes in pixels of a frame ``frame_height`` pixels tall;
    ``persons``: boxes with ``x, y, w, h`` attributes (persons.PersonBox) in a picture of
    ``persons_shape`` (height, width), which they need.
    """
    if frame_height <= 0:
        raise ValueError(f"frame_height must be positive, got {frame_height}")
    if len(faces):
        share = max(float(box[3]) for box in faces) / frame_height
        if share >= CLOSEUP_MIN_FACE_SHARE:
            return "close-up"
        return "medium" if share >= MEDIUM_MIN_FACE_SHARE else "wide"
    if not len(persons):
        return "wide"
    if persons_shape is None or min(persons_shape[:2]) <= 0:
        raise ValueError(f"person boxes need the (height, width) of their picture, got {persons_shape}")
    height, width = persons_shape[:2]
    # The tallest person in the picture, as much of it as is inside.
    def inside(p):
        return (min(height, p.y + p.h) - max(0, p.y)) / height

    tallest = max(persons, key=inside)
    its_height = inside(tallest)
    if tallest.y + tallest.h < PERSON_CUT_MIN_BOTTOM_SHARE * height:
        return "wide"          # a whole figure
    its_width = (min(width, tallest.x + tallest.w) - max(0, tallest.x)) / width
    if its_height >= CLOSEUP_MIN_PERSON_HEIGHT_SHARE and its_width >= CLOSEUP_MIN_PERSON_WIDTH_SHARE:
        return "close-up"
    return "medium" if its_height >= MEDIUM_MIN_PERSON_HEIGHT_SHARE else "wide"


def shot_scale_version() -> str:
    """The shot-scale rule's settings, for the visual stage's version (a change re-runs it)."""
    return (f"face>={CLOSEUP_MIN_FACE_SHARE}/{MEDIUM_MIN_FACE_SHARE}+person-cut@{PERSON_CUT_MIN_BOTTOM_SHARE}"
            f">={CLOSEUP_MIN_PERSON_HEIGHT_SHARE}x{CLOSEUP_MIN_PERSON_WIDTH_SHARE}/{MEDIUM_MIN_PERSON_HEIGHT_SHARE}")
