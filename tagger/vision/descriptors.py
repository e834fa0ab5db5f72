"""Per-frame, per-scene and per-title visual descriptors (the ``visual.*`` features).

Frames are numpy uint8 BGR arrays of shape (H, W, 3). Dicts returned here carry no
``visual.`` prefix; the caller adds it.

Definitions (0..255 channel values unless said otherwise):

* brightness: mean luma (OpenCV grey, BT.601) / 255, 0..1
* contrast: standard deviation of luma / 255 (RMS contrast), 0..1
* saturation: mean HSV saturation / 255, 0..1
* colorfulness: Hasler & Suesstrunk (2003) M = sqrt(std_rg^2 + std_yb^2)
  + 0.3 * sqrt(mean_rg^2 + mean_yb^2) with rg = R - G, yb = (R + G) / 2 - B; 0 for grey,
  ~110 for extremely colourful images
* warmth: (mean R - mean B) / (mean R + mean B + 1e-6), -1..1
* motion: mean absolute difference of consecutive grey thumbnails / 255, 0..1
* palette: dominant colours, ``[{"hex": "#rrggbb", "share": 0..1}]`` by share, shares sum to 1
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from tagger.vision import faces as _faces
from tagger.vision import people as _people
from tagger.vision import persons as _persons

FRAME_STAT_NAMES = ("brightness", "contrast", "saturation", "colorfulness", "warmth")
SCALE_SHARE_NAMES = {"close-up": "closeup_share", "medium": "medium_share", "wide": "wide_share"}

# Pixels sampled over all frames for the palette k-means: enough for stable shares, cheap.
PALETTE_MAX_PIXELS = 5_000   # shares move by under 2 points against 20k (measured on the samples); 4x faster
# CIE76 delta E under which two palette colours count as one (about "just different" on a
# screen; k-means splits flat areas into near-identical clusters otherwise).
PALETTE_MERGE_DELTA_E = 10.0
KMEANS_MAX_ITERATIONS = 30


def _check_frame(frame_bgr: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame_bgr)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) BGR frame, got {frame.dtype} {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"empty frame {frame.shape}")
    return frame


def frame_stats(frame_bgr: np.ndarray) -> dict[str, float]:
    """The FRAME_STAT_NAMES statistics of one uint8 (H, W, 3) BGR frame, as floats."""
    frame = _check_frame(frame_bgr)
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    luma_mean, luma_std = cv2.meanStdDev(gray)
    saturation = cv2.mean(cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)[:, :, 1])[0]
    # int16 arithmetic is ~4x faster than a float copy; yb2 = 2 * yb keeps it integral.
    blue, green, red = cv2.split(frame)
    rg = cv2.subtract(red, green, dtype=cv2.CV_16S)
    yb2 = cv2.subtract(cv2.add(red, green, dtype=cv2.CV_16S), cv2.add(blue, blue, dtype=cv2.CV_16S),
                       dtype=cv2.CV_16S)
    rg_mean, rg_std = (v[0, 0] for v in cv2.meanStdDev(rg))
    yb_mean, yb_std = (v[0, 0] / 2.0 for v in cv2.meanStdDev(yb2))
    colorfulness = math.hypot(rg_std, yb_std) + 0.3 * math.hypot(rg_mean, yb_mean)
    mean_b, _, mean_r, _ = cv2.mean(frame)
    return {
        "brightness": float(luma_mean[0, 0] / 255.0),
        "contrast": float(luma_std[0, 0] / 255.0),
        "saturation": float(saturation / 255.0),
        "colorfulness": float(colorfulness),
        "warmth": float((mean_r - mean_b) / (mean_r + mean_b + 1e-6)),
    }


def small_gray(frame_bgr: np.ndarray, *, width: int = 64) -> np.ndarray:
    """uint8 grey thumbnail ``width`` pixels wide (height keeps the aspect ratio, >= 1 px).

    Thumbnails make :func:`motion` cheap and insensitive to grain and compression noise.
    """
    frame = _check_frame(frame_bgr)
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)


def motion(previous_gray: np.ndarray, gray: np.ndarray) -> float:
    """Mean absolute difference of two same-shape uint8 grey thumbnails / 255, 0..1."""
    previous_gray = np.asarray(previous_gray)
    gray = np.asarray(gray)
    if previous_gray.shape != gray.shape:
        raise ValueError(f"thumbnail shapes differ: {previous_gray.shape} vs {gray.shape}")
    if gray.size == 0:
        return 0.0
    return float(cv2.mean(cv2.absdiff(previous_gray, gray))[0] / 255.0)


# -- palette ---------------------------------------------------------------------------------

def _bgr_to_lab(bgr_u8: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 BGR -> (N, 3) float32 CIE Lab (L 0..100, a/b about -128..127)."""
    pixels = bgr_u8.reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2Lab).reshape(-1, 3)


def _lab_to_hex(lab: np.ndarray) -> str:
    bgr = cv2.cvtColor(np.asarray(lab, np.float32).reshape(1, 1, 3), cv2.COLOR_Lab2BGR).reshape(3)
    b, g, r = (int(round(float(np.clip(v, 0.0, 1.0)) * 255)) for v in bgr)
    return f"#{r:02x}{g:02x}{b:02x}"


def _hex_to_lab(hex_color: str) -> np.ndarray:
    text = hex_color.lstrip("#")
    if len(text) != 6:
        raise ValueError(f"bad palette colour {hex_color!r}")
    r, g, b = (int(text[i:i + 2], 16) for i in (0, 2, 4))
    return _bgr_to_lab(np.array([[b, g, r]], np.uint8))[0]


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding. Returns (centres (k', 3), labels (N,)); k' <= k
    because clusters that end up empty are dropped."""
    n = len(points)
    centres = [points[rng.integers(n)]]
    closest = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:  # every point sits on a centre already
            break
        centres.append(points[rng.choice(n, p=closest / total)])
        closest = np.minimum(closest, ((points - centres[-1]) ** 2).sum(axis=1))
    centres_arr = np.array(centres, np.float64)
    labels = np.full(n, -1)
    for _ in range(KMEANS_MAX_ITERATIONS):
        # |p - c|^2 without the |p|^2 term, which does not change the argmin.
        distances = (centres_arr ** 2).sum(axis=1)[None, :] - 2.0 * points @ centres_arr.T
        new_labels = distances.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(len(centres_arr)):
            members = labels == j
            if members.any():
                centres_arr[j] = points[members].mean(axis=0)
    used = np.unique(labels)
    remap = np.full(len(centres_arr), -1)
    remap[used] = np.arange(len(used))
    return centres_arr[used], remap[labels]


def _weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic weighted k-means: (centres, summed weights). Returns the points as they are
    when there are no more than k. Seeds: the heaviest point, then each time the point with the
    largest weight x squared distance to the seeds chosen so far."""
    points = np.asarray(points, np.float64)
    weights = np.asarray(weights, np.float64)
    if len(points) <= k:
        return points, weights
    seeds = [int(np.argmax(weights))]
    closest = ((points - points[seeds[0]]) ** 2).sum(axis=1)
    while len(seeds) < k and (weights * closest).max() > 0:
        seeds.append(int(np.argmax(weights * closest)))
        closest = np.minimum(closest, ((points - points[seeds[-1]]) ** 2).sum(axis=1))
    centres = points[seeds].copy()
    labels = np.full(len(points), -1)
    for _ in range(KMEANS_MAX_ITERATIONS):
        new_labels = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for j in range(len(centres)):
            members = labels == j
            if weights[members].sum() > 0:
                centres[j] = np.average(points[members], axis=0, weights=weights[members])
    masses = np.bincount(labels, weights=weights, minlength=len(centres))
    keep = masses > 0
    return centres[keep], masses[keep]


def _merge_weighted(centres_lab: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of colours while it is nearer than PALETTE_MERGE_DELTA_E
    (weighted mean in Lab). Returns (centres, weights)."""
    centres = [np.asarray(c, np.float64) for c in centres_lab]
    masses = [float(w) for w in weights]
    while len(centres) > 1:
        best = None
        for i in range(len(centres)):
            for j in range(i + 1, len(centres)):
                d = float(np.linalg.norm(centres[i] - centres[j]))
                if d < PALETTE_MERGE_DELTA_E and (best is None or d < best[0]):
                    best = (d, i, j)
        if best is None:
            break
        _, i, j = best
        total = masses[i] + masses[j]
        if total > 0:
            centres[i] = (centres[i] * masses[i] + centres[j] * masses[j]) / total
        masses[i] = total
        del centres[j], masses[j]
    return np.array(centres).reshape(-1, 3), np.array(masses)


def _palette_entries(centres_lab: np.ndarray, weights: np.ndarray, colors: int) -> list[dict]:
    """Top ``colors`` by weight, renormalised, sorted by share desc."""
    order = np.argsort(-weights, kind="stable")[:colors]
    total = float(weights[order].sum())
    if total <= 0:
        return []
    return [{"hex": _lab_to_hex(centres_lab[i]), "share": float(weights[i] / total)} for i in order]


def palette(frames_bgr: list[np.ndarray], *, colors: int = 5, seed: int = 0) -> list[dict]:
    """Dominant colours over frames: ``[{"hex": "#rrggbb", "share": float}]``.

    k-means in CIE Lab on at most PALETTE_MAX_PIXELS pixels sampled evenly across the frames
    (seeded, so the result is deterministic for a seed). Clusters whose centres are closer
    than PALETTE_MERGE_DELTA_E are merged, so frames with fewer distinct colours give fewer
    entries. Sorted by share desc; shares sum to 1; ``[]`` for no frames.
    """
    if colors <= 0:
        raise ValueError(f"colors must be positive, got {colors}")
    frames = [_check_frame(f) for f in frames_bgr]
    if not frames:
        return []
    rng = np.random.default_rng(seed)
    per_frame = max(1, PALETTE_MAX_PIXELS // len(frames))
    samples = []
    for frame in frames:
        flat = frame.reshape(-1, 3)
        if len(flat) <= per_frame:
            samples.append(flat)
        else:
            samples.append(flat[rng.choice(len(flat), size=per_frame, replace=False)])
    pixels = np.concatenate(samples)
    if len(pixels) > PALETTE_MAX_PIXELS:  # more frames than pixels in the budget
        pixels = pixels[rng.choice(len(pixels), size=PALETTE_MAX_PIXELS, replace=False)]
    packed = (pixels[:, 0].astype(np.int32) << 16) | (pixels[:, 1].astype(np.int32) << 8) | pixels[:, 2]
    distinct = len(np.unique(packed))
    lab = _bgr_to_lab(pixels).astype(np.float64)
    centres, labels = _kmeans(lab, min(colors, distinct), rng)
    counts = np.bincount(labels, minlength=len(centres)).astype(np.float64)
    centres, counts = _merge_weighted(centres, counts)
    return _palette_entries(centres, counts, colors)


# -- scene and title -------------------------------------------------------------------------

def _dominant_scale(shares: dict[str, float]) -> str:
    """Scale with the largest share; ties go to the wider scale; "wide" when all are 0."""
    best = "wide"
    for scale in ("wide", "medium", "close-up"):
        if shares[SCALE_SHARE_NAMES[scale]] > shares[SCALE_SHARE_NAMES[best]]:
            best = scale
    return best


def describe_scene(frame_stats_list: list[dict], motions: list[float],
                   keyframes_bgr: list[np.ndarray], *, palette_colors: int = 5,
                   face_keyframes: int | None = None, clothing_score: float = 0.0,
                   head_score: float | None = None, first_detail_bgr: np.ndarray | None = None) -> dict:
    """Scene-level visual dict (no ``visual.`` prefix).

    ``frame_stats_list``: :func:`frame_stats` dicts of the scene's analysed frames;
    ``motions``: :func:`motion` values between its consecutive analysed frames;
    ``keyframes_bgr``: a few representative frames, used for the palette, faces and people;
    ``face_keyframes``: look for faces and people in only the first this many (detection is
    the costliest step here, about 85 ms a frame for faces and 70 ms for person boxes; None: all);
    ``clothing_score``: the scene's people cue from ImageNet classes (people.clothing_scores;
    0 where the imagenet stage did not run) and ``head_score`` the people head's on the detail
    keyframe (people.people_head_score; None where not run): see people.people_count.
    ``first_detail_bgr``: the first keyframe at detail resolution (the scenes stage's copy),
    where the person detector looks instead of the keyframe; None: the keyframe itself.
    Returns the FRAME_STAT_NAMES means, ``motion`` (mean), ``palette``, ``face_share``
    (keyframes with a face), ``people_share`` (with a face, a person box or a network cue),
    ``single_person_share`` (with exactly one person), ``crowd_share`` (with people.CROWD_MIN_PEOPLE or more),
    ``people_count`` (mean people per keyframe), ``closeup_share``/``medium_share``/
    ``wide_share`` (keyframes by :func:`faces.shot_scale` of faces and person boxes, summing to 1 when there are
    keyframes) and ``shot_scale``. Empty inputs give zeros, ``[]`` and ``"wide"``.
    Raises faces.FaceDetectorUnavailable when there are keyframes and OpenCV has no cascades,
    persons.PersonDetectorUnavailable when the person detector's files are missing.
    """
    result: dict = {}
    for name in FRAME_STAT_NAMES:
        values = [float(stats[name]) for stats in frame_stats_list]
        result[name] = float(np.mean(values)) if values else 0.0
    result["motion"] = float(np.mean(motions)) if len(motions) else 0.0
    result["palette"] = palette(list(keyframes_bgr), colors=palette_colors)
    with_face = with_people = single = crowd = people = 0
    scale_counts = dict.fromkeys(SCALE_SHARE_NAMES, 0)
    examined = list(keyframes_bgr)[:face_keyframes]
    detector = _persons.load_person_detector() if examined else None
    for position, keyframe in enumerate(examined):
        boxes = _faces.detect_faces(keyframe)
        picture = first_detail_bgr if position == 0 and first_detail_bgr is not None else keyframe
        persons = detector.detect(picture)
        count = _people.people_count(boxes, persons, clothing_score, head_score)
        with_face += bool(boxes)
        with_people += count > 0
        single += count == 1
        crowd += count >= _people.CROWD_MIN_PEOPLE
        people += count
        scale_counts[_faces.shot_scale(boxes, frame_height=keyframe.shape[0], persons=persons,
                                       persons_shape=picture.shape[:2])] += 1
    n = len(examined)
    result["face_share"] = with_face / n if n else 0.0
    result["people_share"] = with_people / n if n else 0.0
    result["single_person_share"] = single / n if n else 0.0
    result["crowd_share"] = crowd / n if n else 0.0
    result["people_count"] = people / n if n else 0.0
    for scale, key in SCALE_SHARE_NAMES.items():
        result[key] = scale_counts[scale] / n if n else 0.0
    result["shot_scale"] = _dominant_scale(result)
    return result


def combine_scenes(scene_dicts: list[dict], durations_s: list[float], *,
                   palette_colors: int = 5) -> dict:
    """Title-level visual dict from scene dicts (as :func:`describe_scene` returns).

    Numeric fields: duration-weighted means over the scenes that have them. ``palette``:
    every scene colour weighted by share * duration, near-duplicates (delta E <
    PALETTE_MERGE_DELTA_E) merged, top ``palette_colors`` renormalised. ``shot_scale``: the
    dominant of the weighted closeup/medium/wide shares. When all durations are 0 scenes
    weigh equally. No scenes: the same zeros as an empty :func:`describe_scene`.
    """
    if len(scene_dicts) != len(durations_s):
        raise ValueError(f"{len(scene_dicts)} scenes but {len(durations_s)} durations")
    durations = np.asarray(durations_s, np.float64)
    if durations.size and (not np.all(np.isfinite(durations)) or np.any(durations < 0)):
        raise ValueError(f"durations must be finite and >= 0, got {list(durations_s)}")
    if not scene_dicts:
        return describe_scene([], [], [], palette_colors=palette_colors)
    weights = [float(w) for w in (durations if durations.sum() > 0 else np.ones(len(scene_dicts)))]

    colours, masses = [], []
    for scene, w in zip(scene_dicts, weights):
        for entry in scene.get("palette") or []:
            colours.append(_hex_to_lab(entry["hex"]))
            masses.append(float(entry["share"]) * w)
    merged_palette: list[dict] = []
    if colours:
        # A film has thousands of scene colours: pool them into a few weighted clusters first,
        # since the pairwise merge below is cubic in the number of colours.
        centres, pooled = _weighted_kmeans(np.array(colours), np.array(masses), 4 * palette_colors)
        centres, merged = _merge_weighted(centres, pooled)
        merged_palette = _palette_entries(centres, merged, palette_colors)

    # Keys in the scenes' order (describe_scene's), so title and scene dicts read alike.
    keys: list[str] = list(describe_scene([], [], [], palette_colors=palette_colors))
    for scene in scene_dicts:
        keys.extend(k for k in scene if k not in keys)
    result: dict = {}
    for key in keys:
        if key == "palette":
            result[key] = merged_palette
            continue
        pairs = [(float(scene[key]), w) for scene, w in zip(scene_dicts, weights)
                 if isinstance(scene.get(key), (int, float)) and not isinstance(scene.get(key), bool)]
        if pairs:
            total = sum(w for _, w in pairs)
            result[key] = float(sum(v * w for v, w in pairs) / total if total > 0
                                else np.mean([v for v, _ in pairs]))
    for key in SCALE_SHARE_NAMES.values():
        result.setdefault(key, 0.0)
    result["shot_scale"] = _dominant_scale(result)
    return result
