"""Titles analysed in spawned worker processes, each loading the models once.

The workers are managed here rather than by concurrent.futures: there, one worker that dies
(a decoder's segfault, os._exit, an out-of-memory kill) breaks the whole pool and fails every
pending title. Here, as on Ray, the title whose worker died runs once more on a new worker,
then fails with the reason; the other titles go on.

Each worker has its own pipe to the parent. It first sends ("info", Engine.info()), or ("error",
text) and exits; then for each title it receives it sends ("stage", title id, stage) as stages
start and ("done", result). None stops it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from multiprocessing.connection import wait
from typing import Iterator

from tagger.errors import TaggerError
from tagger.executors.base import Executor, analyse_title, failure_result
from tagger.titles import TitleInput

STOP_WAIT_S = 10.0   # how long close() lets an idle worker exit before terminating it


def _work(conn, pipeline, taxonomy: str | None) -> None:
    """A worker process: build the engine, report its info, analyse titles until sent None."""
    from tagger.engine import Engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle: it ends the workers
    try:
        engine = Engine(pipeline, taxonomy=taxonomy)
    except Exception as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))
        raise   # multiprocessing prints the traceback; the exit code is 1
    conn.send(("info", engine.info()))
    try:
        while (title := conn.recv()) is not None:
            on_stage = lambda stage: conn.send(("stage", title.id, stage))  # noqa: E731
            conn.send(("done", analyse_title(engine, title, on_stage)))
    except (EOFError, BrokenPipeError):
        pass   # the parent is gone


class _Worker:
    """One worker process, its end of the pipe, and the title it holds."""

    def __init__(self, context, pipeline, taxonomy: str | None):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_work, args=(child_conn, pipeline, taxonomy), daemon=True)
        self.process.start()
        child_conn.close()   # the child's end lives in the child alone, so its exit reads as EOF here
        self.job: tuple[int, int] | None = None   # (position, attempts before this one) of its title
        self.info: dict | None = None   # Engine.info(), once its engine is built
        self.error: str | None = None   # why it could not build the engine
        self.ended = False

    def receive(self) -> list[tuple]:
        """The messages waiting on the pipe; sets `ended` when the process is gone."""
        alive = self.process.is_alive()   # asked first: what a dead process sent is all in the pipe
        messages = []
        try:
            while self.conn.poll():
                messages.append(self.conn.recv())
        except EOFError:
            alive = False
        self.ended = not alive
        for kind, *payload in messages:
            if kind == "info":
                self.info = payload[0]
            elif kind == "error":
                self.error = payload[0]
        return messages

    def end(self) -> str:
        """Reap the process (terminating it if it lingers); how it ended, for error messages."""
        self.conn.close()
        self.process.join(STOP_WAIT_S)
        if self.process.exitcode is None:
            self.process.terminate()
            self.process.join()
        code = self.process.exitcode
        if code >= 0:
            return f"exit code {code}"
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"


class PoolExecutor(Executor):
    name = "pool"
    retries = 1   # extra runs of a title whose worker died

    def __init__(self, pipeline, *, taxonomy=None, workers=None, on_stage=None):
        super().__init__(pipeline, taxonomy=taxonomy, workers=workers or os.cpu_count() or 1, on_stage=on_stage)
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []   # live workers, busy or idle

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._context, self.pipeline, self.taxonomy)
        self._workers.append(worker)
        return worker

    def _drop(self, worker: _Worker) -> str:
        self._workers.remove(worker)
        return worker.end()

    def engine_info(self) -> dict:
        # The first worker loads the models and reports their versions; the parent loads none.
        worker = self._workers[0] if self._workers else self._start_worker()
        while worker.info is None and not worker.ended:
            wait([worker.conn, worker.process.sentinel])
            worker.receive()
        if worker.info is None:
            reason = self._drop(worker)
            raise TaggerError(f"worker process could not load pipeline {self.pipeline.name!r} "
                              f"(its traceback is printed above): {worker.error or reason}")
        return worker.info

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, dict]]:
        todo = deque((position, 0) for position in range(len(titles)))   # (position, attempts so far)
        while todo or any(worker.job is not None for worker in self._workers):
            idle = [worker for worker in self._workers if worker.job is None]
            # A worker starts only for a waiting title: two titles start two, whatever --workers says.
            while todo and (idle or len(self._workers) < self.workers):
                worker = idle.pop() if idle else self._start_worker()
                worker.job = todo.popleft()
                try:
                    worker.conn.send(titles[worker.job[0]])
                except OSError:
                    pass   # it died while idle: found below, like any death
            handles = {handle: worker for worker in self._workers
                       for handle in (worker.conn, worker.process.sentinel)}
            for worker in {handles[handle] for handle in wait(list(handles))}:
                # A pipe keeps its order: a title's stage events come before its result.
                for kind, *payload in worker.receive():
                    if kind == "stage" and self.on_stage is not None:
                        self.on_stage(*payload)
                    elif kind == "done":
                        position, worker.job = worker.job[0], None
                        yield position, payload[0]
                if not worker.ended:
                    continue
                reason = self._drop(worker)
                if worker.job is None:
                    continue
                position, attempt = worker.job
                if attempt < self.retries:
                    todo.appendleft((position, attempt + 1))
                    continue
                title = titles[position]
                if worker.error:
                    reason += f" ({worker.error})"
                yield position, failure_result(
                    title, f"{title.source}: the worker process analysing it died {attempt + 1} times "
                           f"(crash, os._exit or out-of-memory kill): {reason}")

    def close(self) -> None:
        # Idle workers are asked to stop; one in the middle of a title or of loading (after an
        # error or Ctrl-C) is terminated, as are those that do not stop in time.
        for worker in self._workers:
            if worker.job is None and worker.info is not None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass   # already gone
            else:
                worker.process.terminate()
        for worker in list(self._workers):
            self._drop(worker)
