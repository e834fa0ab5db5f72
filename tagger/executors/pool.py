"""Titles analysed in a pool of spawned processes, each loading the models once."""
from __future__ import annotations

import os
import queue
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from tagger.errors import TaggerError
from tagger.executors.base import Executor, analyse_title
from tagger.titles import TitleInput

# Per worker process: its engine, and the queue its stage events go to.
_WORKER_ENGINE = None
_WORKER_EVENTS = None


def _worker_init(pipeline, taxonomy: str | None, events) -> None:
    from tagger.ingest import Engine

    global _WORKER_ENGINE, _WORKER_EVENTS
    _WORKER_ENGINE = Engine(pipeline, taxonomy=taxonomy)
    _WORKER_EVENTS = events


def _worker_info() -> dict:
    return _WORKER_ENGINE.info()


def _worker_analyse(title: TitleInput) -> dict:
    def on_stage(stage: str) -> None:
        _WORKER_EVENTS.put((title.id, stage))
    return analyse_title(_WORKER_ENGINE, title, on_stage)


class PoolExecutor(Executor):
    name = "pool"

    def __init__(self, pipeline, *, taxonomy=None, workers=None, on_stage=None):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        super().__init__(pipeline, taxonomy=taxonomy, workers=workers or os.cpu_count() or 1, on_stage=on_stage)
        context = multiprocessing.get_context("spawn")
        self._manager = context.Manager()
        self._events = self._manager.Queue()
        # Spawned workers start on demand, so a batch of two titles starts two, whatever --workers says.
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_worker_init,
                                         initargs=(pipeline, taxonomy, self._events))

    def engine_info(self) -> dict:
        # The first worker loads the models and reports their versions; the parent loads none.
        try:
            return self._pool.submit(_worker_info).result()
        except BrokenProcessPool as error:
            raise TaggerError(f"worker process could not load pipeline {self.pipeline.name!r} "
                              f"(its error is printed above): {error}") from None

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, dict]]:
        positions = {self._pool.submit(_worker_analyse, title): i for i, title in enumerate(titles)}
        running = set(positions)
        while running:
            done, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            # A finished title's stage events are queued before its result: pass them on first.
            self._drain_events()
            for future in sorted(done, key=positions.get):
                yield positions[future], future.result()

    def _drain_events(self) -> None:
        while True:
            try:
                title_id, stage = self._events.get_nowait()
            except queue.Empty:
                return
            if self.on_stage is not None:
                self.on_stage(title_id, stage)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        self._manager.shutdown()
