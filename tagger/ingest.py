"""Batch ingest: titles in, analysis on an executor, one catalog transaction per title."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from tagger import __version__
from tagger.catalog.records import AssetRecord, TitleResult
from tagger.errors import TaggerError
from tagger.titles import TitleInput
from tagger.versions import file_sha256

if TYPE_CHECKING:
    from tagger.executors.base import Executor


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


# -- assets and fingerprints --------------------------------------------------------------

def collect_assets(title: TitleInput, known_sha256: Callable[[str, int, int], str | None]) -> list[AssetRecord]:
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
        assets.append(AssetRecord(kind, absolute, stat.st_size, stat.st_mtime_ns, sha,
                                  language=subtitle_language(path) if kind == "subtitle" else None))
    return assets


def title_fingerprint(title: TitleInput, assets: list[AssetRecord], engine_digest: str) -> str:
    text = json.dumps({"metadata": title.metadata(), "assets": sorted(a.sha256 for a in assets),
                       "engine": engine_digest}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# -- the batch ----------------------------------------------------------------------------

class Progress:
    """What the batch tells as it goes; the command line shows bars, tests may listen."""

    def start(self, titles: list[TitleInput], stages: tuple[str, ...]) -> None: ...
    def stage(self, title_id: str, stage: str) -> None: ...
    def done(self, outcome: Outcome) -> None: ...
    def stop(self) -> None: ...


def ingest(titles: list[TitleInput], *, catalog, executor: Executor, force: bool = False,
           progress: Progress | None = None) -> list[Outcome]:
    """Analyse titles on `executor` and write each to the catalog; a failed title never stops the batch.

    The caller builds the executor (tagger.executors.build_executor), with `on_stage=progress.stage`
    to hear of stages, and closes it: `with build_executor(...) as executor: ingest(...)`.
    """
    progress = progress or Progress()
    info = executor.engine_info()
    run_id = catalog.start_run(tagger_version=__version__, pipeline=info["pipeline"], versions=info["versions"])
    outcomes: list[Outcome] = []
    pending: list[tuple[TitleInput, str, list[AssetRecord]]] = []
    progress.start(titles, executor.pipeline.stages)
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
        for position, result in executor.map([title for title, _, _ in pending]):
            _, fingerprint, assets = pending[position]
            result.fingerprint = fingerprint if result.ok else None
            result.assets = assets
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


def _store(catalog, result: TitleResult, run_id: int) -> Outcome:
    if result.ok:
        catalog.write_title(result, run_id=run_id)
        title_tags = sum(1 for t in result.tags if t.scene is None)
        return Outcome(result.id, "ok", result.analysis_s, result.duration_s or 0.0,
                       len(result.scenes), title_tags, "; ".join(result.micro_genres[:1]))
    catalog.write_failure(result, run_id=run_id)
    return Outcome(result.id, "failed", result.analysis_s, result.duration_s or 0.0, note=result.error)
