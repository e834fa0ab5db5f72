"""Artwork candidates: a few sharp keyframes per title that could stand for it on a home page.

Computed from what ingest already stores (keyframes with their sharpness, per-scene visual
features and scene tags), not by a stage of its own: the same catalog always gives the same
candidates, and a re-ingest or an editor's scene-tag decision shows up without another pass.

A candidate is the sharpest keyframe of an eligible scene:

    away from the ending   its time is before ENDING_SHARE of the title (no spoilers)
    not black              the scene's brightness is at least MIN_BRIGHTNESS
    not blurry             its sharpness is at least MIN_SHARPNESS_SHARE x the title's median

and up to MAX_CANDIDATES of them are spread over the title: the sharpest in each of that many
equal stretches of time, then the sharpest of the rest. Each is described by the numbers in
DESCRIBED_BY (all 0..1) and its scene's tags.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_CANDIDATES = 4
ENDING_SHARE = 0.85
MIN_BRIGHTNESS = 0.06
MIN_SHARPNESS_SHARE = 0.6
# "crowd" came last (2026-12-06): the home page simulation reads the first five by position.
DESCRIBED_BY = ("brightness", "warmth", "colour", "faces", "scenery", "motion", "crowd")
SCENE_FEATURES = ("visual.brightness", "visual.warmth", "visual.saturation", "visual.face_share",
                  "visual.closeup_share", "visual.wide_share", "visual.people_share", "visual.motion",
                  "visual.crowd_share")


@dataclass
class ArtworkCandidate:
    title_id: str
    scene: int
    keyframe: int                    # frame number, as in the keyframe image's URL
    time_s: float
    sharpness: float
    features: dict[str, float]       # DESCRIBED_BY -> 0..1
    tags: list[tuple[str, float]] = field(default_factory=list)   # the scene's (tag, confidence), strongest first
    moods: list[str] = field(default_factory=list)                # its mood tags

    @property
    def url(self) -> str:
        """The keyframe image in the review web app."""
        from tagger.review.urls import title_segment      # werkzeug: only when a URL is asked for

        return f"/titles/{title_segment(self.title_id)}/keyframes/{self.scene}/{self.keyframe}.jpg"

    def describe(self) -> str:
        """A few words on the image: "bright, warm, faces"."""
        f = self.features
        words = ["bright" if f["brightness"] >= 0.5 else "dark"]
        if abs(f["warmth"] - 0.5) >= 0.1:
            words.append("warm" if f["warmth"] > 0.5 else "cool")
        if f["crowd"] > 0.5:          # 0.5 is "not measured"
            words.append("a crowd")
        elif f["faces"] >= 0.3:
            words.append("faces")
        elif f["scenery"] >= 0.5:
            words.append("scenery")
        if f["motion"] >= 0.5:
            words.append("action")
        return ", ".join(words)

    def to_dict(self) -> dict:
        return {"scene": self.scene, "keyframe": self.keyframe, "time_s": round(self.time_s, 2),
                "sharpness": round(self.sharpness, 3), "url": self.url, "looks": self.describe(),
                "features": {k: round(v, 3) for k, v in self.features.items()},
                "tags": [tag for tag, _ in self.tags[:6]], "moods": self.moods}


def choose_candidates(title_id: str, scenes, scene_tags: dict[int, list[tuple[str, str, float]]] | None = None,
                      max_candidates: int = MAX_CANDIDATES) -> list[ArtworkCandidate]:
    """Candidates of one title from its SceneRecords (keyframes and SCENE_FEATURES), in time order.
    scene_tags: scene -> [(tag, facet, confidence)]."""
    scene_tags = scene_tags or {}
    sharpness = [k.sharpness for s in scenes for k in s.keyframes]
    if not sharpness:
        return []
    floor = MIN_SHARPNESS_SHARE * float(np.median(sharpness))
    end_s = max(s.end_s for s in scenes)
    cutoff_s = ENDING_SHARE * end_s
    eligible = []
    for scene in scenes:
        if not scene.keyframes:
            continue
        best = max(scene.keyframes, key=lambda k: k.sharpness)
        brightness = scene.features.get("visual.brightness")
        if best.time_s > cutoff_s or best.sharpness < floor or (brightness is not None and brightness < MIN_BRIGHTNESS):
            continue
        eligible.append((scene, best))
    picked = []
    bins = np.minimum((np.array([k.time_s for _, k in eligible]) / max(cutoff_s, 1e-9) * max_candidates).astype(int),
                      max_candidates - 1) if eligible else []
    for b in range(max_candidates):
        in_bin = [i for i, where in enumerate(bins) if where == b]
        if in_bin:
            picked.append(max(in_bin, key=lambda i: eligible[i][1].sharpness))
    rest = sorted((i for i in range(len(eligible)) if i not in picked), key=lambda i: -eligible[i][1].sharpness)
    picked = sorted(picked + rest[:max_candidates - len(picked)])
    out = []
    for i in picked:
        scene, keyframe = eligible[i]
        tags = sorted(scene_tags.get(scene.index, []), key=lambda t: (-t[2], t[0]))
        out.append(ArtworkCandidate(title_id, scene.index, keyframe.frame, keyframe.time_s, keyframe.sharpness,
                                    describe_scene(scene.features), [(tag, conf) for tag, _, conf in tags],
                                    [tag for tag, facet, _ in tags if facet == "mood"]))
    return out


def describe_scene(features: dict) -> dict[str, float]:
    """DESCRIBED_BY from a scene's stored features; a missing one reads 0.5 (says nothing)."""
    def get(name):
        value = features.get(name)
        return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None

    def either(value, default=0.5):
        return default if value is None else float(np.clip(value, 0.0, 1.0))

    warmth = get("visual.warmth")
    faces = [v for v in (get("visual.face_share"), get("visual.closeup_share")) if v is not None]
    wide, people = get("visual.wide_share"), get("visual.people_share")
    return {"brightness": either(get("visual.brightness")),
            "warmth": either(None if warmth is None else (warmth + 1.0) / 2.0),
            "colour": either(get("visual.saturation")),
            "faces": either(max(faces) if faces else None),
            "scenery": either(None if wide is None else wide * (1.0 - (people or 0.0))),
            "motion": either(get("visual.motion")),
            "crowd": either(get("visual.crowd_share"))}


def candidates_from_catalog(catalog) -> dict[str, list[ArtworkCandidate]]:
    """title id -> its candidates, for every analysed title (one read of the catalog)."""
    scene_tags: dict[str, dict[int, list]] = {}
    for title_id, scene, tag, facet, confidence in catalog.scene_tags_of_titles():
        scene_tags.setdefault(title_id, {}).setdefault(scene, []).append((tag, facet, confidence))
    return {title_id: choose_candidates(title_id, scenes, scene_tags.get(title_id))
            for title_id, scenes in catalog.scenes_of_titles(SCENE_FEATURES).items()}


class ArtworkTable:
    """Every title's candidates as arrays, by the rows of an ItemTable, for choosing per viewer:
    features (candidates, DESCRIBED_BY), tags (candidates, item tags) in the items' tag columns,
    and each title's candidates as rows first[t]:first[t] + count[t]."""

    def __init__(self, items, candidates: dict[str, list[ArtworkCandidate]]):
        import scipy.sparse as sp

        self.candidates: list[ArtworkCandidate] = []
        self.first = np.zeros(len(items), np.int64)
        self.count = np.zeros(len(items), np.int64)
        for row, title_id in enumerate(items.ids):
            mine = candidates.get(title_id, [])
            self.first[row], self.count[row] = len(self.candidates), len(mine)
            self.candidates.extend(mine)
        self.features = np.array([[c.features[name] for name in DESCRIBED_BY] for c in self.candidates],
                                 np.float32).reshape(len(self.candidates), len(DESCRIBED_BY))
        column = {tag: i for i, tag in enumerate(items.tag_ids)}
        r, c, v = [], [], []
        for i, candidate in enumerate(self.candidates):
            for tag, confidence in candidate.tags:
                if tag in column:
                    r.append(i)
                    c.append(column[tag])
                    v.append(confidence)
        self.tags = sp.csr_matrix((np.array(v, np.float32), (r, c)), shape=(len(self.candidates), len(items.tag_ids)))
        self.tag_mass = np.asarray(self.tags.sum(axis=1), np.float64).ravel()
        self.title_features = np.full((len(items), len(DESCRIBED_BY)), 0.5, np.float32)   # mean of its candidates
        for row in np.flatnonzero(self.count):
            self.title_features[row] = self.features[self.first[row]:self.first[row] + self.count[row]].mean(axis=0)
        self._shown: dict[int, tuple[str, str]] = {}

    def looks(self, number: int) -> tuple[str, str]:
        """(URL, a few words) of candidate `number`, made once (pages show the same ones often)."""
        if number not in self._shown:
            candidate = self.candidates[number]
            self._shown[number] = (candidate.url, candidate.describe())
        return self._shown[number]

    def taste_match(self, profile_tags: np.ndarray) -> np.ndarray:
        """(candidates,) share of each candidate's scene-tag mass on the tags of a viewer's
        profile (scaled to a maximum of 1): one product for every candidate at once."""
        top = float(profile_tags.max(initial=0.0)) if len(profile_tags) else 0.0
        if top <= 0 or self.tags.nnz == 0:
            return np.zeros(len(self.candidates))
        return (self.tags @ (profile_tags / top)) / np.maximum(self.tag_mass, 1e-9)

    def of(self, row: int) -> range:
        """Candidate numbers of the title in item row `row`."""
        return range(int(self.first[row]), int(self.first[row] + self.count[row]))
