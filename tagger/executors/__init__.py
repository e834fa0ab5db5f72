"""Where titles are analysed, by name. Each executor lives in its own module, imported only when chosen."""
from __future__ import annotations

import importlib

EXECUTORS = {
    "inline": "tagger.executors.inline:InlineExecutor",
    "pool": "tagger.executors.pool:PoolExecutor",
    "ray": "tagger.executors.ray:RayExecutor",
}


def executor_class(name: str):
    """The Executor class registered under `name`; unknown names list the valid ones."""
    try:
        module_name, class_name = EXECUTORS[name].split(":")
    except KeyError:
        raise KeyError(f"unknown executor {name!r} (valid: {', '.join(EXECUTORS)})") from None
    return getattr(importlib.import_module(module_name), class_name)


def default_executor(workers: int | None) -> str:
    """Without a choice: this process for one worker, a process pool for more."""
    return "pool" if workers is not None and workers > 1 else "inline"
