"""Batch ingest: titles in, analysis by the pipeline's stages, one catalog transaction per title."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tagger import __version__
from tagger.errors import StageSkipped, TaggerError
from tagger.pipeline import Pipeline
from tagger.stages import stage_class
from tagger.stages.base import TitleContext
from tagger.titles import TitleInput

log = logging.getLogger(__name__)

# Which stage stands behind each tag modality, to record the models that produced a tag.
MODALITY_STAGE = {"text": "text", "dialogue": "text", "clip": "clip", "visual": "visual", "audio": "audio",
                  "tags": "tags"}


@dataclass
class Outcome:
    """One line of the summary table."""
    id: str
    status: str            # ok | failed | skipped
    seconds: float = 0.0
    media_s: float = 0.0   # the title's running time
    scenes: int = 0
    tags: int = 0
    note: str = ""

    @property
    def speed(self) -> float | None:
        """How many times faster than real time the analysis ran."""
        return self.media_s / self.seconds if self.seconds > 0 and self.media_s > 0 else None


class Engine:
    """A pipeline's stages with their models loaded, once per process."""

    def __init__(self, pipeline: Pipeline, *, taxonomy: str | None = None):
        from tagger.tagging.taxonomy import load_taxonomy

        self.pipeline = pipeline
        self.taxonomy = load_taxonomy(taxonomy or pipeline.taxonomy)
        self.stages = [stage_class(name)(pipeline.settings[name], taxonomy=self.taxonomy)
                       for name in pipeline.stages]
        for stage in self.stages:
            stage.setup()
        self.space_dims = {space: dim for stage in self.stages for space, dim in stage.spaces().items()}

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
        return described

    @property
    def digest(self) -> str:
        text = json.dumps([self.pipeline.digest, self.taxonomy.digest, self.versions(), __version__], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def prepare(self, titles: list[TitleInput]) -> None:
        """Let stages batch work for titles analysed next; a failure here only loses the speed-up."""
        for stage in self.stages:
            try:
                stage.prepare([t for t in titles if not t.problem])
            except Exception:  # noqa: BLE001  run() does the same work per title
                log.debug("stage %s could not prepare a batch:\n%s", stage.name, traceback.format_exc())

    def analyse(self, title: TitleInput, *, on_stage: Callable[[str], None] | None = None) -> dict:
        """Run every stage on one title; returns a result for Catalog.write_title or write_failure."""
        started = time.perf_counter()
        ctx = TitleContext(title=title, space_dims=dict(self.space_dims))
        try:
            if title.problem:
                raise TaggerError(title.problem)
            for stage in self.stages:
                if on_stage is not None:
                    on_stage(stage.name)
                begun = time.perf_counter()
                try:
                    stage.run(ctx)
                    report = {"status": "ran"}
                except StageSkipped as skipped:
                    report = {"status": "skipped", "reason": skipped.reason}
                report["seconds"] = round(time.perf_counter() - begun, 3)
                ctx.modalities[stage.name] = report
        except TaggerError as error:
            return self._failure(ctx, str(error), started)
        except Exception as error:  # a bug or an unexpected library error fails this title only
            stage_name = next((s.name for s in self.stages if s.name not in ctx.modalities), "?")
            log.debug("title %s failed in stage %s:\n%s", title.id, stage_name, traceback.format_exc())
            return self._failure(ctx, f"stage {stage_name}: {type(error).__name__}: {error}", started)
        return self._result(ctx, started)

    def _stages_of(self, tag: dict, versions: dict) -> dict:
        out = {}
        for modality in tag["modalities"]:
            stage = MODALITY_STAGE.get(modality, modality)
            if stage in versions:
                out[stage] = versions[stage]
        out["tags"] = versions.get("tags", {})
        return out

    def _result(self, ctx: TitleContext, started: float) -> dict:
        versions = self.versions()
        for tag in ctx.tags:
            tag["stages"] = self._stages_of(tag, versions)
        split = ctx.split
        scenes = []
        if split is not None:
            for scene, features in zip(split.scenes, ctx.scene_features):
                scenes.append({"index": scene.index, "start_s": scene.start_s, "end_s": scene.end_s,
                               "start_frame": scene.start_frame, "end_frame": scene.end_frame,
                               "keyframes": scene.keyframes, "features": features})
        duration_s = ctx.media.duration_s if ctx.media is not None else None
        return {**self._base(ctx, started), "status": "ok", "duration_s": duration_s,
                "media": ctx.media.to_dict() if ctx.media is not None else None,
                "scenes": scenes, "features": ctx.features, "tags": ctx.tags,
                "micro_genres": ctx.micro_genres, "embeddings": ctx.embeddings}

    def _failure(self, ctx: TitleContext, error: str, started: float) -> dict:
        return {**self._base(ctx, started), "status": "failed", "error": error,
                "duration_s": ctx.media.duration_s if ctx.media is not None else None,
                "media": ctx.media.to_dict() if ctx.media is not None else None}

    @staticmethod
    def _base(ctx: TitleContext, started: float) -> dict:
        title = ctx.title
        return {"id": title.id, "title": title.title, "metadata": title.metadata(), "source": title.source,
                "modalities": ctx.modalities, "analysis_s": round(time.perf_counter() - started, 3)}


# -- assets and fingerprints --------------------------------------------------------------

def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def collect_assets(title: TitleInput, known_sha256: Callable[[str, int, int], str | None]) -> list[dict]:
    """Path, size and sha256 of the title's files; unchanged files reuse the catalog's hash."""
    from tagger.text.subtitles import subtitle_language

    assets = []
    files = ([("video", title.video)] if title.video else []) + [("subtitle", s) for s in title.subtitles]
    for kind, path in files:
        absolute = str(Path(path).resolve())
        try:
            stat = os.stat(absolute)
        except OSError as error:
            raise TaggerError(f"{path}: cannot read {kind} file: {error.strerror}") from None
        sha = known_sha256(absolute, stat.st_size, stat.st_mtime_ns) or file_sha256(absolute)
        assets.append({"kind": kind, "path": absolute, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                       "sha256": sha, "language": subtitle_language(path) if kind == "subtitle" else None})
    return assets


def title_fingerprint(title: TitleInput, assets: list[dict], engine_digest: str) -> str:
    text = json.dumps({"metadata": title.metadata(), "assets": sorted(a["sha256"] for a in assets),
                       "engine": engine_digest}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# -- the batch ----------------------------------------------------------------------------

class Progress:
    """What the batch tells as it goes; the command line shows bars, tests may listen."""

    def start(self, titles: list[TitleInput], stages: tuple[str, ...]) -> None: ...
    def stage(self, title_id: str, stage: str) -> None: ...
    def done(self, outcome: Outcome) -> None: ...
    def stop(self) -> None: ...


def ingest(titles: list[TitleInput], *, catalog, pipeline: Pipeline, taxonomy: str | None = None,
           workers: int | None = None, force: bool = False, progress: Progress | None = None,
           executor: str | None = None, executor_options: dict | None = None) -> list[Outcome]:
    """Analyse titles and write each to the catalog; a failed title never stops the batch.

    `executor` names where titles are analysed (see tagger.executors; default: this process for
    one worker, a process pool for more); `executor_options` go to it (ray: `address`).
    """
    from tagger.executors import default_executor, executor_class

    progress = progress or Progress()
    runner_class = executor_class(executor or default_executor(workers))
    with runner_class(pipeline, taxonomy=taxonomy, workers=workers, on_stage=progress.stage,
                      **(executor_options or {})) as runner:
        info = runner.engine_info()
        run_id = catalog.start_run(tagger_version=__version__, pipeline=info["pipeline"],
                                   versions=info["versions"])
        outcomes: list[Outcome] = []
        pending: list[tuple[TitleInput, str, list[dict]]] = []
        progress.start(titles, pipeline.stages)
        try:
            for title in titles:
                try:
                    assets = collect_assets(title, catalog.known_sha256) if not title.problem else []
                except TaggerError as error:
                    title.problem = str(error)
                    assets = []
                fingerprint = title_fingerprint(title, assets, info["digest"])
                previous = catalog.fingerprint(title.id)
                if not force and not title.problem and previous == ("ok", fingerprint):
                    outcome = Outcome(title.id, "skipped", note="unchanged since the last run with this pipeline")
                    outcomes.append(outcome)
                    progress.done(outcome)
                    continue
                pending.append((title, fingerprint, assets))
            analysed: dict[int, Outcome] = {}
            for position, result in runner.map([title for title, _, _ in pending]):
                _, fingerprint, assets = pending[position]
                result["fingerprint"] = fingerprint if result["status"] == "ok" else None
                result["assets"] = assets
                analysed[position] = outcome = _store(catalog, result, run_id)
                outcomes.append(outcome)
                progress.done(outcome)
            # Titles finish in any order; the summary lists them as they were given.
            outcomes[len(outcomes) - len(analysed):] = [analysed[p] for p in sorted(analysed)]
        finally:
            progress.stop()
            counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "failed", "skipped")}
            catalog.finish_run(run_id, **counts)
    return outcomes


def _store(catalog, result: dict, run_id: int) -> Outcome:
    if result["status"] == "ok":
        catalog.write_title(result, run_id=run_id)
        title_tags = sum(1 for t in result["tags"] if t["scene"] is None)
        return Outcome(result["id"], "ok", result["analysis_s"], result.get("duration_s") or 0.0,
                       len(result["scenes"]), title_tags, "; ".join(result["micro_genres"][:1]))
    catalog.write_failure(result, run_id=run_id)
    return Outcome(result["id"], "failed", result["analysis_s"], result.get("duration_s") or 0.0,
                   note=result["error"])
