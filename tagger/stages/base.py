"""The one interface every stage implements, and the context a title carries through them."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from tagger.titles import TitleInput

if TYPE_CHECKING:
    import numpy as np

    from tagger.catalog.records import EmbeddingRecord, TagRecord
    from tagger.media.probe import MediaInfo
    from tagger.scenes.split import SplitResult
    from tagger.text.subtitles import Cue


@dataclass
class Evidence:
    """Why a tag fired: one modality's score, and where in the title it came from."""
    modality: str                 # text | clip | visual | audio | dialogue | tags
    score: float                  # 0..1
    source: str = ""              # synopsis | subtitles | keyframe | feature | parent
    scene: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    cue: str | None = None        # subtitle or synopsis text that matched
    feature: str | None = None
    value: Any = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


@dataclass
class TitleContext:
    """What the stages know of one title; each stage reads earlier parts and adds its own."""
    title: TitleInput
    media: MediaInfo | None = None                      # the probe's facts
    split: SplitResult | None = None                    # scenes with their keyframes
    scene_features: list[dict] = field(default_factory=list)   # per scene, "visual.x"/"audio.x"
    features: dict[str, Any] = field(default_factory=dict)     # per title, "visual.x" etc.
    # Per scene, the imagenet stage's people cues for the visual stage (vision/people.py:
    # clothing_scores on the keyframe, people_head_score on its detail copy, None where not run).
    scene_clothing_scores: list[float] = field(default_factory=list)
    scene_people_head_scores: list[float | None] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    subtitle_language: str | None = None
    # modality -> tag id -> evidence; scorers add here, the tags stage fuses into title tags.
    scores: dict[str, dict[str, list[Evidence]]] = field(default_factory=dict)
    # The same for scene tags: each piece of evidence names its scene (CLIP scores each scene).
    scene_scores: dict[str, dict[str, list[Evidence]]] = field(default_factory=dict)
    vectors: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)   # modality -> (model_id, vector)
    # What the text stage read, kept apart for the tags stage's learned heads.
    synopsis_vector: np.ndarray | None = None
    dialogue_vector: np.ndarray | None = None                  # unit mean of the cues' vectors
    synopsis_zeroshot: dict[str, float] = field(default_factory=dict)   # prompted tag -> confidence
    tags: list[TagRecord] = field(default_factory=list)        # fused title and scene tags
    micro_genres: list[str] = field(default_factory=list)
    embeddings: list[EmbeddingRecord] = field(default_factory=list)
    modalities: dict[str, dict] = field(default_factory=dict)  # stage -> report
    space_dims: dict[str, int] = field(default_factory=dict)   # embedding space -> dimension, per pipeline

    def add_score(self, modality: str, tag_id: str, evidence: Evidence) -> None:
        self.scores.setdefault(modality, {}).setdefault(tag_id, []).append(evidence)

    def add_scene_score(self, modality: str, tag_id: str, evidence: Evidence) -> None:
        self.scene_scores.setdefault(modality, {}).setdefault(tag_id, []).append(evidence)


class Stage:
    """A step of a pipeline. Subclasses set `name`, `Settings` (a dataclass), and `run`.

    Models are loaded in `setup`, once per process and only when a title first needs them
    (`ready`): a batch that never reaches a stage never loads its models. `skip_reason` says,
    before anything loads, that a title gives the stage nothing to work on; `run` handles one
    title and may still raise StageSkipped. `versions` and `spaces` must not need `setup`
    (the engine's digest is computed before any title), unless a stage calls `ready` itself.
    """
    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()

    @dataclass
    class Settings:
        pass

    def __init__(self, settings, *, taxonomy):
        self.settings = settings
        self.taxonomy = taxonomy

    def setup(self) -> None:
        """Load models; called once, through `ready`, before the first title that needs them."""

    def ready(self, *, keep_error: bool = False) -> None:
        """Run `setup` unless it ran already in this process (the engine may start it in a
        background thread while earlier stages run: a second caller waits for the first).
        With `keep_error` (that background load) a failure is kept, and the next caller, the
        stage's own turn in the main thread, raises it instead of loading again."""
        if getattr(self, "_set_up", False):
            return
        with self.__dict__.setdefault("_setup_lock", threading.Lock()):   # setdefault is atomic
            if getattr(self, "_set_up", False):
                return
            kept, self._setup_error = getattr(self, "_setup_error", None), None
            if kept is not None:
                raise kept
            try:
                self.setup()
            except Exception as error:
                if not keep_error:
                    raise
                self._setup_error = error
                return
            self._set_up = True

    def skip_reason(self, ctx: TitleContext) -> str | None:
        """Why this title gives the stage nothing to do, known without loading models; else None."""
        return None

    def versions(self) -> dict[str, str]:
        """Models and library versions this stage's results depend on."""
        return {}

    def details(self) -> dict:
        """What a run records of this stage beyond its settings and versions (the tag heads'
        per-tag thresholds); known without `setup`."""
        return {}

    def spaces(self) -> dict[str, int]:
        """Embedding spaces this stage fills, with their dimensions (known after setup)."""
        return {}

    def prepare(self, titles: list) -> None:
        """Optional batch work for titles about to run in this process (e.g. one encoder call
        for many synopses); run() must give the same result without it."""

    def run(self, ctx: TitleContext) -> None:
        raise NotImplementedError
