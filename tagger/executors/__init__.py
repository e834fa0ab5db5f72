"""Where titles are analysed, by name. Each executor lives in its own module, imported only when chosen."""
from __future__ import annotations

from tagger.registry import load_class

EXECUTORS = {
    "inline": "tagger.executors.inline:InlineExecutor",
    "pool": "tagger.executors.pool:PoolExecutor",
    "ray": "tagger.executors.ray:RayExecutor",
}


def executor_class(name: str):
    """The Executor class registered under `name`; unknown names list the valid ones."""
    return load_class(EXECUTORS, name, "executor")


def default_executor(workers: int | None) -> str:
    """Without a choice: this process for one worker, a process pool for more."""
    return "pool" if workers is not None and workers > 1 else "inline"


def build_executor(name: str | None, pipeline, *, taxonomy: str | None = None, workers: int | None = None,
                   on_stage=None, **options):
    """The executor registered under `name` (default_executor(workers) when None), ready for
    tagger.ingest.ingest; use it as a context manager so its workers stop. `options` go to it
    (ray: `address`); `on_stage(title id, stage)` hears of stages where the executor can tell."""
    return executor_class(name or default_executor(workers))(pipeline, taxonomy=taxonomy, workers=workers,
                                                             on_stage=on_stage, **options)
