"""The one interface every executor implements, the retry policy of those whose workers can
die (WorkerExecutor), and the helpers they share."""
from __future__ import annotations

import logging
import traceback
from collections import deque
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


class WorkerExecutor(Executor):
    """An executor whose titles run on workers that each load the models once and may die
    (a decoder's segfault, os._exit, an out-of-memory kill, a lost node).

    The retry policy lives here: a title whose worker died runs once more on a new worker,
    then fails with the reason; the other titles go on. Subclasses only say how to start a
    worker (`_start`), send it a title (`_send`) and learn what happened (`_wait`).
    """
    retries: ClassVar[int] = 1      # extra runs of a title whose worker died
    worker_name: ClassVar[str]      # in messages: "the {worker_name} analysing it died"
    death_causes: ClassVar[str]     # in messages: what such a death usually is

    def __init__(self, pipeline: Pipeline, *, taxonomy: str | None = None, workers: int | None = None,
                 on_stage: Callable[[str, str], None] | None = None):
        super().__init__(pipeline, taxonomy=taxonomy, workers=workers, on_stage=on_stage)
        self._workers: list = []     # live workers, busy or idle
        self._jobs: dict = {}        # busy worker -> (position, attempts before this one) of its title

    def _start(self):
        """A new worker, loading the models; it may still be loading when returned."""
        raise NotImplementedError

    def _send(self, worker, title: TitleInput) -> None:
        """Give an idle worker a title; a worker found dead here reports its death from `_wait`."""
        raise NotImplementedError

    def _wait(self) -> list[tuple[object, tuple]]:
        """Block until a live worker has news; then (worker, event) pairs, in each worker's order.

        Events: ("stage", title id, stage name) as a stage starts; ("done", result) when its
        title is analysed; ("died", how) when the worker is gone (already reaped), busy or idle.
        """
        raise NotImplementedError

    def _worker_limit(self) -> int:
        """How many workers may run at once."""
        return self.workers or 1

    def _add_worker(self):
        worker = self._start()
        self._workers.append(worker)
        return worker

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, TitleResult]]:
        todo = deque((position, 0) for position in range(len(titles)))   # (position, attempts so far)
        limit = self._worker_limit()
        while todo or self._jobs:
            idle = [worker for worker in self._workers if worker not in self._jobs]
            # A worker starts only for a waiting title: two titles start two, whatever --workers says.
            while todo and (idle or len(self._workers) < limit):
                worker = idle.pop() if idle else self._add_worker()
                self._jobs[worker] = job = todo.popleft()
                self._send(worker, titles[job[0]])
            for worker, (kind, *payload) in self._wait():
                if kind == "stage":
                    if self.on_stage is not None:
                        self.on_stage(*payload)
                elif kind == "done":
                    position, _ = self._jobs.pop(worker)
                    yield position, payload[0]
                elif kind == "died":
                    self._workers.remove(worker)
                    job = self._jobs.pop(worker, None)
                    if job is None:
                        continue   # it died idle: a new one starts when a title waits
                    position, attempt = job
                    if attempt < self.retries:
                        todo.appendleft((position, attempt + 1))
                        continue
                    title = titles[position]
                    yield position, failure_result(
                        title, f"{title.source}: the {self.worker_name} analysing it died {attempt + 1} times "
                               f"({self.death_causes}): {payload[0]}")


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
