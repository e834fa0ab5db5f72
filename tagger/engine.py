"""The engine: a pipeline's stages with their models loaded, run on one title at a time, and
the one builder of the TitleResult the catalog stores."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import traceback
from typing import Callable

from tagger import __version__
from tagger.catalog.records import SceneRecord, TagRecord, TitleResult
from tagger.errors import StageSkipped, TaggerError
from tagger.pipeline import Pipeline
from tagger.stages import stage_class
from tagger.stages.base import TitleContext
from tagger.titles import TitleInput

log = logging.getLogger(__name__)

_LOADERS: list[threading.Thread] = []   # load-ahead threads started in this process


def loading_ahead() -> bool:
    """Whether a load-ahead thread is still loading models (see Engine._load_ahead)."""
    return any(thread.is_alive() for thread in _LOADERS)

# Which stage stands behind each tag modality, to record the models that produced a tag.
MODALITY_STAGE = {"text": "text", "dialogue": "text", "clip": "clip", "visual": "visual", "audio": "audio",
                  "tags": "tags"}


class Engine:
    """A pipeline's stages, each loading its models once per process when a title first needs
    them: a batch of metadata-only titles never loads the video or audio models."""

    def __init__(self, pipeline: Pipeline, *, taxonomy: str | None = None):
        from tagger.tagging.taxonomy import load_taxonomy

        self.pipeline = pipeline
        self.taxonomy = load_taxonomy(taxonomy or pipeline.taxonomy)
        self.stages = [stage_class(name)(pipeline.settings[name], taxonomy=self.taxonomy)
                       for name in pipeline.stages]
        self._space_dims: dict[str, int] | None = None

    def setup(self) -> None:
        """Load every stage's models now (a worker that should pay before its first title)."""
        for stage in self.stages:
            stage.ready()

    @property
    def space_dims(self) -> dict[str, int]:
        """Embedding space -> dimension for the pipeline, asked of the stages on first use."""
        if self._space_dims is None:
            self._space_dims = {space: dim for stage in self.stages for space, dim in stage.spaces().items()}
        return self._space_dims

    def versions(self) -> dict:
        return {stage.name: stage.versions() for stage in self.stages}

    def info(self) -> dict:
        """What the batch needs from a loaded engine (maybe in a worker): digest, run description, versions."""
        return {"digest": self.digest, "pipeline": self.describe(), "versions": self.versions()}

    def describe(self) -> dict:
        """What a run records: exact stages, settings, taxonomy, models and versions."""
        described = self.pipeline.describe()
        described["taxonomy"] = {"id": self.taxonomy.id, "version": self.taxonomy.version,
                                 "path": self.taxonomy.path, "digest": self.taxonomy.digest}
        details = {stage.name: stage.details() for stage in self.stages if stage.details()}
        if details:
            described["details"] = details
        return described

    @property
    def digest(self) -> str:
        text = json.dumps([self.pipeline.digest, self.taxonomy.digest, self.versions(), __version__], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _load_ahead(self, ctx: TitleContext) -> None:
        """Load, in a background thread, the models of later stages this title will need,
        while the video is being decoded (decoding leaves the interpreter free most of the
        time). A stage's own turn waits for its load; a failure there is kept and raised in
        that turn, naming the stage (Stage.ready). The thread is a daemon: Ctrl-C or SIGTERM
        in the main thread ends the process without waiting for a load to finish (the CLI
        exits at once while loading_ahead())."""
        needed = [stage for stage in self.stages[1:]
                  if not getattr(stage, "_set_up", False) and stage.skip_reason(ctx) is None]
        if not needed:
            return

        def load() -> None:
            for stage in needed:
                stage.ready(keep_error=True)

        loader = threading.Thread(target=load, name="tagger-load-ahead", daemon=True)
        _LOADERS.append(loader)
        loader.start()

    def prepare(self, titles: list[TitleInput]) -> None:
        """Let stages batch work for titles analysed next; a failure here only loses the speed-up."""
        for stage in self.stages:
            try:
                stage.prepare([t for t in titles if not t.problem])
            except Exception:  # noqa: BLE001  run() does the same work per title
                log.debug("stage %s could not prepare a batch:\n%s", stage.name, traceback.format_exc())

    def analyse(self, title: TitleInput, *, on_stage: Callable[[str], None] | None = None) -> TitleResult:
        """Run every stage on one title; the result goes to Catalog.write_title or write_failure."""
        started = time.perf_counter()
        ctx = TitleContext(title=title, space_dims=dict(self.space_dims))
        try:
            if title.problem:
                raise TaggerError(title.problem)
            for position, stage in enumerate(self.stages):
                if on_stage is not None:
                    on_stage(stage.name)
                begun = time.perf_counter()
                try:
                    reason = stage.skip_reason(ctx)
                    if reason is not None:
                        raise StageSkipped(reason)
                    _ready(stage)
                    stage.run(ctx)
                    report = {"status": "ran"}
                except StageSkipped as skipped:
                    report = {"status": "skipped", "reason": skipped.reason}
                report["seconds"] = round(time.perf_counter() - begun, 3)
                ctx.modalities[stage.name] = report
                if position == 0:
                    self._load_ahead(ctx)
        except TaggerError as error:
            return title_result(ctx, error=str(error), analysis_s=_since(started))
        except Exception as error:  # a bug or an unexpected library error fails this title only
            stage_name = next((s.name for s in self.stages if s.name not in ctx.modalities), "?")
            log.debug("title %s failed in stage %s:\n%s", title.id, stage_name, traceback.format_exc())
            return title_result(ctx, error=f"stage {stage_name}: {type(error).__name__}: {error}",
                                analysis_s=_since(started))
        versions = self.versions()
        for tag in ctx.tags:
            tag.stages = _stages_behind(tag, versions)
        return title_result(ctx, analysis_s=_since(started))


def title_result(ctx: TitleContext, *, error: str | None = None, analysis_s: float = 0.0) -> TitleResult:
    """The TitleResult of a title's context: a success, or with `error` a failure that keeps only
    what the catalog stores of one (the stage reports and the probe's facts)."""
    title = ctx.title
    result = TitleResult(id=title.id, title=title.title, source=title.source, metadata=title.metadata(),
                         status="ok" if error is None else "failed", error=error, analysis_s=analysis_s,
                         duration_s=ctx.media.duration_s if ctx.media is not None else None,
                         media=ctx.media.to_dict() if ctx.media is not None else None, modalities=ctx.modalities)
    if error is None:
        scenes = ctx.split.scenes if ctx.split is not None else []
        result.scenes = [SceneRecord(s.index, s.start_s, s.end_s, s.start_frame, s.end_frame,
                                     keyframes=s.keyframes, features=features)
                         for s, features in zip(scenes, ctx.scene_features)]
        result.features, result.tags = ctx.features, ctx.tags
        result.micro_genres, result.embeddings = ctx.micro_genres, ctx.embeddings
    return result


def _stages_behind(tag: TagRecord, versions: dict) -> dict:
    """The models and versions of the stages whose modalities scored the tag, and the tags stage's."""
    out = {}
    for modality in tag.modalities:
        stage = MODALITY_STAGE.get(modality, modality)
        if stage in versions:
            out[stage] = versions[stage]
    out["tags"] = versions.get("tags", {})
    return out


def _ready(stage) -> None:
    """Load the stage's models; a failure (here or in the load-ahead thread) fails the title
    with a message that names the stage."""
    try:
        stage.ready()
    except StageSkipped:
        raise
    except Exception as error:
        raise TaggerError(f"stage {stage.name}: its models did not load: {type(error).__name__}: {error}") from error


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
