"""People, not only faces: person boxes from a COCO detector, and two network cues that see
people the detector misses.

A frontal or profile face (``faces.py``) finds people in close-ups and medium shots. Person boxes
come from YOLOv4-tiny (``persons.py``), trained on COCO's photographs: precise (on the 1,622
hand-labelled frames of validation and the four seen tests it found people in 9 frames where
nobody was), it counts the people in a crowd and finds them in long shots, but misses drawn
people and people a few pixels tall. It replaced OpenCV's full- and upper-body Haar cascades on
2026-12-06: on the same frames those found 26 of the 280 frames with four or more people against
199 (5 false crowds), and were right about one person alone in 229 of 493 frames against 289
(false "one person" 197 -> 86); with faces and the two cues, people present was right in 1,377
frames against 1,353 (validation 282 -> 289). HOG's pedestrian detector was tried before the
cascades and fired on cartoon scenery and grass.

Clothing: EfficientNet-Lite0 (the imagenet stage) has no "person" class, but 51 of its classes
are things a person wears or is (suit, jersey, gown, cardigan, military uniform, ballplayer,
groom ...: WORN_CLASSES, chosen by name before measuring). Their summed probability on a scene's
keyframe is a people cue that sees people from behind, tilted heads and waist-up shots. Chosen
on the validation frames (benchmarks/people_validation.csv): at 0.1 (0.05: 4 more false people;
0.07-0.12 within one frame of 0.1). It costs nothing: the imagenet stage classifies the keyframe
anyway, and runs before the visual stage for it.

People head: people far from the camera fill a few cells of a picture and barely move its pooled
classes, and many wear nothing the worn classes name. The people head (people_head.py, fitted on
COCO's person boxes and on pictures of no one) reads each 32 px cell of the trunk's feature map; a
keyframe's score is its PEOPLE_HEAD_CELLS-th best cell's logit (three cells at
PEOPLE_HEAD_MIN_LOGIT or more make a person). It looks at the scene's sharpest keyframe as the
scenes stage keeps it at up to ``detail_width`` px (640 in the shipped pipelines; the 320 px
keyframe where there is no such copy), scaled to PEOPLE_HEAD_HEIGHT_PX rows, about 800x448 for
16:9; only where the pooled worn-classes cue did not fire, a pass of the network each (about 100
ms). 448 rows were chosen over 224 and 320 on the 312 validation frames; one cell at 3.5 until
2026-12-06, then three cells at 3.0: most false people were one shape (a mouse seen from above, a
balance beam in drawn scenery, a fly), where a person, even in a long shot, lights several cells
(validation 269 -> 282 frames right; the untouched fresh3 test 27 -> 31 of 36 scenes). The head
sees drawn people the detector misses and fires on some generated and drawn scenery, GUIs and
animal close-ups; README "Seeing offline" has the tests and what was tried.

Animals: the head's commonest false people were animals (a kitten, a galloping horse, a flying
horse, flies in a dish) whose fur and limbs light several cells. Where ImageNet's 398 animal
classes (its first 398, tench to puffer) hold ANIMAL_MIN_SCORE of the keyframe's probability or
more, the head does not look (faces and person boxes still count). Chosen on the validation
frames (cached 640 px copies, with everything else as shipped): people present right in 289 of
312 frames without the gate, 288 at 0.5, 289 at 0.6, 290 at 0.7, 0.8 and 0.9; the five seen
tests (1,535 frames) 1,299 without it, 1,313 at 0.7 (false people 95 -> 81), 1,305 at 0.8.

Counts: the number of people in a keyframe is the larger of the faces and the person boxes found
(a face and its person are one); a keyframe where only a network cue fires counts one person.
"""
from __future__ import annotations

import numpy as np

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
ANIMAL_CLASSES = 398            # ImageNet's first classes, tench (0) to puffer (397), are animals
ANIMAL_MIN_SCORE = 0.7          # summed animal probability from which the people head does not look


def clothing_scores(probabilities: np.ndarray, class_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Summed probability of WORN_CLASSES for each row of (N, len(class_names)) class probabilities."""
    missing = [name for name in WORN_CLASSES if name not in class_names]
    if missing:
        raise ValueError(f"class names lack the worn classes {missing}: not ImageNet's 1,000 classes")
    columns = [list(class_names).index(name) for name in WORN_CLASSES]
    return np.asarray(probabilities, np.float64).reshape(-1, len(class_names))[:, columns].sum(axis=1)


def animal_scores(probabilities: np.ndarray, class_names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Summed probability of ImageNet's ANIMAL_CLASSES animal classes for each row of (N, 1000)
    class probabilities."""
    names = list(class_names)
    if len(names) != 1000 or names[0] != "tench" or names[ANIMAL_CLASSES - 1] != "puffer":
        raise ValueError(f"class names {names[:1]}...: not ImageNet's 1,000 classes in their order "
                         f"(tench first, puffer at {ANIMAL_CLASSES - 1})")
    return np.asarray(probabilities, np.float64).reshape(-1, len(names))[:, :ANIMAL_CLASSES].sum(axis=1)


def head_looks(clothing_score: float, animal_score: float = 0.0) -> bool:
    """Whether the people head should look at a keyframe: not where the worn-classes cue already
    says there is a person, nor where the picture is an animal's (ANIMAL_MIN_SCORE)."""
    return not picture_cue(clothing_score) and animal_score < ANIMAL_MIN_SCORE


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


def people_count(faces: list, persons: list, clothing_score: float = 0.0, head_score: float | None = None) -> int:
    """The people in a keyframe: the larger of its faces and its person boxes (persons.py), one
    where only a network cue fires (:func:`picture_cue`)."""
    found = max(len(faces), len(persons))
    return found if found or not picture_cue(clothing_score, head_score) else 1
