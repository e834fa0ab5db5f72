"""The one interface every executor implements, and the helpers they share."""
from __future__ import annotations

import logging
import traceback
from typing import Callable, ClassVar, Iterator

from tagger.catalog.records import TitleResult
from tagger.engine import title_result
from tagger.pipeline import Pipeline
from tagger.stages.base import TitleContext
from tagger.titles import TitleInput

log = logging.getLogger(__name__)


class Executor:
    """Runs Engine.analyse on titles: in this process, in worker processes, or on Ray actors.

    Executors only hand TitleResults back; the caller writes the catalog, so it keeps one writer.
    Use as a context manager: `close` stops the workers.
    """
    name: ClassVar[str]

    def __init__(self, pipeline: Pipeline, *, taxonomy: str | None = None, workers: int | None = None,
                 on_stage: Callable[[str, str], None] | None = None):
        self.pipeline = pipeline
        self.taxonomy = taxonomy
        self.workers = workers            # None: the executor's default
        self.on_stage = on_stage          # (title id, stage name), where the executor can tell

    @classmethod
    def check_available(cls) -> None:
        """Raise TaggerError, saying how to fix it, when this executor cannot run here."""

    def engine_info(self) -> dict:
        """`Engine.info()` of the engine that analyses: digest for fingerprints, what the run records."""
        raise NotImplementedError

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, TitleResult]]:
        """(position in `titles`, result) for every title, in the order they finish."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the workers."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def analyse_title(engine, title: TitleInput, on_stage: Callable[[str], None] | None = None) -> TitleResult:
    """engine.analyse, with anything that escapes it turned into this title's failure."""
    try:
        return engine.analyse(title, on_stage=on_stage)
    except Exception as error:
        log.debug("title %s: analysis crashed:\n%s", title.id, traceback.format_exc())
        return failure_result(title, f"{title.source}: analysis crashed: {type(error).__name__}: {error}")


def failure_result(title: TitleInput, error: str, analysis_s: float = 0.0) -> TitleResult:
    """A failed title's result (as Engine.analyse returns it) for a failure outside the engine."""
    return title_result(TitleContext(title=title), error=error, analysis_s=analysis_s)
