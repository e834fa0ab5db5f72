"""Titles as tasks on Ray actors that each load the models once; results come back to the caller.

Without an address a local Ray starts with one CPU per worker; with one, it joins that cluster.
A title whose actor dies (crash, os._exit, out-of-memory kill, lost node) runs once more on
another actor, then fails with the reason (the executor base's policy); the other titles go on.
"""
from __future__ import annotations

import socket

from tagger.errors import TaggerError
from tagger.executors.base import WorkerExecutor, analyse_title, failure_result
from tagger.titles import TitleInput

INSTALL_HINT = "pip install 'tagger[ray]'"


class EngineWorker:
    """One Ray actor: an Engine with its models loaded, analysing one title at a time."""

    def __init__(self, pipeline, taxonomy: str | None):
        from tagger.engine import Engine

        self.engine = Engine(pipeline, taxonomy=taxonomy)
        self.engine.setup()   # every model before the first title, as the pool's workers do

    def info(self) -> dict:
        return self.engine.info()

    def analyse(self, title: TitleInput) -> dict:
        return analyse_title(self.engine, title)


class _Actor:
    """One EngineWorker actor and the task it runs, if any."""

    def __init__(self, handle):
        self.handle = handle
        self.task = None       # ObjectRef of the analysis under way
        self.title: TitleInput | None = None


class RayExecutor(WorkerExecutor):
    name = "ray"
    worker_name = "Ray worker"
    death_causes = "crash, os._exit, out-of-memory kill or lost node"

    @classmethod
    def check_available(cls) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise TaggerError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None

    def __init__(self, pipeline, *, taxonomy=None, workers=None, on_stage=None, address: str | None = None):
        super().__init__(pipeline, taxonomy=taxonomy, workers=workers, on_stage=on_stage)
        self.check_available()
        import ray

        if address:
            _check_reachable(address)
        self._ray = ray
        self._started_ray = not ray.is_initialized()   # a caller's own Ray session is left running
        if self._started_ray:
            try:
                if address:
                    ray.init(address=address)
                else:
                    # "local": a new Ray even where another runs (ray.init() would join that one).
                    # Without --workers Ray counts the CPUs itself (it knows container limits).
                    ray.init(address="local", num_cpus=workers, include_dashboard=False)
            except Exception as error:   # ray raises ConnectionError, RuntimeError, ValueError here
                if not address:
                    raise TaggerError(f"cannot start a local Ray: {type(error).__name__}: {error}") from None
                # A token mismatch looks like any other connection error from here.
                raise TaggerError(f"cannot connect to the Ray cluster at {address}: {_first_line(error)} "
                                  f"(with token authentication this machine also needs RAY_AUTH_MODE=token "
                                  f"and the cluster's token)") from None
        self._remote_worker = ray.remote(num_cpus=1, max_restarts=0)(EngineWorker)

    def _worker_limit(self) -> int:
        # One actor per CPU at most: an actor that cannot be placed would hold its title forever.
        cpus = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        return min(self.workers or cpus, cpus)

    def _start(self) -> _Actor:
        return _Actor(self._remote_worker.remote(self.pipeline, self.taxonomy))

    def _send(self, actor: _Actor, title: TitleInput) -> None:
        actor.task, actor.title = actor.handle.analyse.remote(title), title

    def _wait(self) -> list[tuple[_Actor, tuple]]:
        ray = self._ray
        busy = {actor.task: actor for actor in self._workers if actor in self._jobs}
        [task], _ = ray.wait(list(busy), num_returns=1)
        actor, title = busy[task], busy[task].title
        actor.task = actor.title = None
        try:
            return [(actor, ("done", ray.get(task)))]
        except ray.exceptions.RayTaskError as error:   # raised in the actor, which lives on
            cause = error.cause or error
            return [(actor, ("done", failure_result(
                title, f"{title.source}: Ray worker error: {type(cause).__name__}: {_first_line(cause)}")))]
        except ray.exceptions.RayError as error:   # the actor's process is gone
            ray.kill(actor.handle)
            return [(actor, ("died", _death_reason(error)))]

    def engine_info(self) -> dict:
        # The first actor loads the models and reports their versions; the driver loads none.
        actor = self._workers[0] if self._workers else self._add_worker()
        try:
            return self._ray.get(actor.handle.info.remote())
        except self._ray.exceptions.RayError as error:
            # Ray's message is a traceback of the actor's constructor; its last line is the error.
            lines = [line for line in str(error).splitlines() if line.strip()]
            raise TaggerError(f"Ray worker could not load pipeline {self.pipeline.name!r}: "
                              f"{lines[-1].strip() if lines else type(error).__name__}") from None

    def close(self) -> None:
        for actor in self._workers:
            self._ray.kill(actor.handle)
        self._workers, self._jobs = [], {}
        if self._started_ray:
            self._ray.shutdown()


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _death_reason(error: Exception) -> str:
    """Ray's exit type and detail of a dead actor's process, else its message's first line."""
    text = " ".join(str(error).split())
    start = text.find("Worker exit type:")
    if start < 0:
        return _first_line(error)
    return text[start:].split(" Some common causes")[0]


def _check_reachable(address: str) -> None:
    """Fail at once on a wrong HOST:PORT; ray.init would retry it for many minutes."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return   # ray://, "auto" and the like: Ray's own checks
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as error:
        raise TaggerError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None
