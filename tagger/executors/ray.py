"""Titles as tasks on Ray actors that each load the models once; results come back to the caller.

Without an address a local Ray starts with one CPU per worker; with one, it joins that cluster.
A title whose actor dies (crash, os._exit, out-of-memory kill, lost node) runs once more on
another actor, then fails with the reason; the other titles go on.
"""
from __future__ import annotations

import socket
from collections import deque
from typing import Iterator

from tagger.errors import TaggerError
from tagger.executors.base import Executor, analyse_title, failure_result
from tagger.titles import TitleInput

INSTALL_HINT = "pip install 'tagger[ray]'"


class EngineWorker:
    """One Ray actor: an Engine with its models loaded, analysing one title at a time."""

    def __init__(self, pipeline, taxonomy: str | None):
        from tagger.engine import Engine

        self.engine = Engine(pipeline, taxonomy=taxonomy)

    def info(self) -> dict:
        return self.engine.info()

    def analyse(self, title: TitleInput) -> dict:
        return analyse_title(self.engine, title)


class RayExecutor(Executor):
    name = "ray"
    retries = 1   # extra runs of a title whose actor died

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
        self._actors: list = []   # live actors, busy or idle

    def _cluster_cpus(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def _new_actor(self):
        actor = self._remote_worker.remote(self.pipeline, self.taxonomy)
        self._actors.append(actor)
        return actor

    def engine_info(self) -> dict:
        # The first actor loads the models and reports their versions; the driver loads none.
        actor = self._actors[0] if self._actors else self._new_actor()
        try:
            return self._ray.get(actor.info.remote())
        except self._ray.exceptions.RayError as error:
            # Ray's message is a traceback of the actor's constructor; its last line is the error.
            lines = [line for line in str(error).splitlines() if line.strip()]
            raise TaggerError(f"Ray worker could not load pipeline {self.pipeline.name!r}: "
                              f"{lines[-1].strip() if lines else type(error).__name__}") from None

    def map(self, titles: list[TitleInput]) -> Iterator[tuple[int, dict]]:
        ray = self._ray
        # One actor per CPU at most: an actor that cannot be placed would hold its title forever.
        wanted = min(self.workers or self._cluster_cpus(), self._cluster_cpus(), len(titles))
        todo = deque((position, 0) for position in range(len(titles)))   # (position, attempts so far)
        idle = list(self._actors)
        running: dict = {}   # ObjectRef -> (position, attempt, actor)
        while todo or running:
            while todo and (idle or len(self._actors) < wanted):
                actor = idle.pop() if idle else self._new_actor()
                position, attempt = todo.popleft()
                running[actor.analyse.remote(titles[position])] = (position, attempt, actor)
            [ref], _ = ray.wait(list(running), num_returns=1)
            position, attempt, actor = running.pop(ref)
            title = titles[position]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as error:   # raised in the actor, which lives on
                idle.append(actor)
                cause = error.cause or error
                result = failure_result(title, f"{title.source}: Ray worker error: {type(cause).__name__}: "
                                               f"{_first_line(cause)}")
            except ray.exceptions.RayError as error:
                # The actor's process is gone: drop it (a new one starts if titles wait) and retry this title.
                self._actors.remove(actor)
                ray.kill(actor)
                if attempt < self.retries:
                    todo.appendleft((position, attempt + 1))
                    continue
                result = failure_result(
                    title, f"{title.source}: the Ray worker analysing it died {attempt + 1} times "
                           f"(crash, os._exit, out-of-memory kill or lost node): {_death_reason(error)}")
            else:
                idle.append(actor)
            yield position, result

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []
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
