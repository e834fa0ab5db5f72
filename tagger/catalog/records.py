"""What the catalog stores and gives back: one dataclass per kind of record.

The engine builds a TitleResult per analysed title; Catalog.write_title stores it and the
catalog's readers return the same records. `scene` is None for title-level rows at every
interface; the catalog's own marker for them lives inside its SQL only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TITLE_STATUSES = ("ok", "failed")
TAG_STATUSES = ("auto", "accepted", "rejected", "added")


@dataclass
class AssetRecord:
    """One file of a title, with what tells whether it changed."""
    kind: str                 # video | subtitle
    path: str                 # absolute
    size_bytes: int
    mtime_ns: int
    sha256: str
    language: str | None = None   # subtitles: from a suffix such as .en.srt


@dataclass
class KeyframeRecord:
    frame: int
    time_s: float
    sharpness: float
    jpeg: bytes = b""         # empty where a reader did not ask for the image


@dataclass
class SceneRecord:
    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int            # exclusive: the next scene's start_frame
    keyframes: list[KeyframeRecord] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)   # "visual.brightness" -> value


@dataclass
class TagRecord:
    """A tag on a title (scene None) or on one of its scenes, with why it is there."""
    tag: str
    facet: str
    label: str
    confidence: float                  # 0..1
    scene: int | None = None
    status: str = "auto"               # auto | accepted | rejected | added
    modalities: list[str] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    stages: dict[str, dict] = field(default_factory=dict)   # stage -> models and versions behind it
    # Set by the catalog: who decided, and the version editors check before deciding.
    editor: str | None = None
    comment: str | None = None
    version: int = 1
    updated_at: str | None = None

    def to_dict(self) -> dict:
        """The tag as `tagger show --json`, the review API and the decision commands give it."""
        return {"tag": self.tag, "facet": self.facet, "label": self.label, "confidence": self.confidence,
                "status": self.status, "scene": self.scene, "modalities": self.modalities, "stages": self.stages,
                "evidence": self.evidence, "editor": self.editor, "comment": self.comment,
                "version": self.version, "updated_at": self.updated_at}


@dataclass
class EmbeddingRecord:
    space: str                # text | visual | audio | tags | fused
    model_id: str
    version: str
    vector: np.ndarray        # float32, L2-normalised

    @property
    def dim(self) -> int:
        return int(self.vector.size)


@dataclass
class SessionRecord:
    """A web app sign-in, as the catalog keeps it (the session id itself is never stored)."""
    editor: str
    created_unix_s: float
    last_seen_unix_s: float


@dataclass
class TitleResult:
    """One title's analysis as the engine hands it to the catalog: a success or a failure."""
    id: str
    title: str
    source: str                        # folder, file, or manifest:line
    metadata: dict[str, Any]           # synopsis, year, regions, ... (TitleInput.metadata())
    status: str                        # ok | failed
    error: str | None = None           # why it failed
    analysis_s: float = 0.0
    duration_s: float | None = None
    media: dict | None = None          # the probe's facts
    modalities: dict[str, dict] = field(default_factory=dict)   # stage -> ran/skipped, reason, seconds
    scenes: list[SceneRecord] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)     # title-level "visual.x", "audio.x", ...
    tags: list[TagRecord] = field(default_factory=list)
    micro_genres: list[str] = field(default_factory=list)
    embeddings: list[EmbeddingRecord] = field(default_factory=list)
    assets: list[AssetRecord] = field(default_factory=list)    # filled by the batch, not the engine
    fingerprint: str | None = None     # filled by the batch for a success

    @property
    def ok(self) -> bool:
        return self.status == "ok"
