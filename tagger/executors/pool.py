"""Titles analysed in spawned worker processes, each loading the models once.

The workers are managed here rather than by concurrent.futures: there, one worker that dies
(a decoder's segfault, os._exit, an out-of-memory kill) breaks the whole pool and fails every
pending title. Here the executor base's policy holds, as on Ray: the title whose worker died
runs once more on a new worker, then fails with the reason; the other titles go on.

Each worker has its own pipe to the parent. It first sends ("info", Engine.info()), or ("error",
text) and exits; then for each title it receives it sends ("stage", title id, stage) as stages
start and ("done", result). None stops it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.connection import wait

from tagger.errors import TaggerError
from tagger.executors.base import WorkerExecutor, analyse_title
from tagger.titles import TitleInput

STOP_WAIT_S = 10.0   # how long close() lets an idle worker exit before terminating it


def _work(conn, pipeline, taxonomy: str | None) -> None:
    """A worker process: build the engine, report its info, analyse titles until sent None."""
    from tagger.engine import Engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle: it ends the workers
    try:
        engine = Engine(pipeline, taxonomy=taxonomy)
        engine.setup()   # a worker loads every model before its first title: a load that fails fails the pool
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
    """One worker process and its end of the pipe."""

    def __init__(self, context, pipeline, taxonomy: str | None):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_work, args=(child_conn, pipeline, taxonomy), daemon=True)
        self.process.start()
        child_conn.close()   # the child's end lives in the child alone, so its exit reads as EOF here
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


class PoolExecutor(WorkerExecutor):
    name = "pool"
    worker_name = "worker process"
    death_causes = "crash, os._exit or out-of-memory kill"

    def __init__(self, pipeline, *, taxonomy=None, workers=None, on_stage=None):
        super().__init__(pipeline, taxonomy=taxonomy, workers=workers or os.cpu_count() or 1, on_stage=on_stage)
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> _Worker:
        return _Worker(self._context, self.pipeline, self.taxonomy)

    def _send(self, worker: _Worker, title: TitleInput) -> None:
        try:
            worker.conn.send(title)
        except OSError:
            pass   # it died while idle: _wait finds it, like any death

    def _wait(self) -> list[tuple[_Worker, tuple]]:
        handles = {handle: worker for worker in self._workers
                   for handle in (worker.conn, worker.process.sentinel)}
        events = []
        for worker in {handles[handle] for handle in wait(list(handles))}:
            # A pipe keeps its order: a title's stage events come before its result.
            events += [(worker, message) for message in worker.receive() if message[0] in ("stage", "done")]
            if worker.ended:
                how = worker.end()
                events.append((worker, ("died", f"{how} ({worker.error})" if worker.error else how)))
        return events

    def engine_info(self) -> dict:
        # The first worker loads the models and reports their versions; the parent loads none.
        worker = self._workers[0] if self._workers else self._add_worker()
        while worker.info is None and not worker.ended:
            wait([worker.conn, worker.process.sentinel])
            worker.receive()
        if worker.info is None:
            self._workers.remove(worker)
            how = worker.end()
            raise TaggerError(f"worker process could not load pipeline {self.pipeline.name!r} "
                              f"(its traceback is printed above): {worker.error or how}")
        return worker.info

    def close(self) -> None:
        # Idle workers are asked to stop; one in the middle of a title or of loading (after an
        # error or Ctrl-C) is terminated, as are those that do not stop in time.
        for worker in self._workers:
            if worker not in self._jobs and worker.info is not None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass   # already gone
            else:
                worker.process.terminate()
        for worker in self._workers:
            worker.end()
        self._workers, self._jobs = [], {}
