"""The one lookup behind every registry by name (stages, executors, shot detectors, image
encoders): a dict of name -> "module:Class", the module imported only when its name is asked for."""
from __future__ import annotations

import importlib


def load_class(registry: dict[str, str], name: str, kind: str):
    """The class registered under `name`; an unknown name is a KeyError listing the valid ones."""
    try:
        module_name, class_name = registry[name].split(":")
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r} (valid: {', '.join(registry)})") from None
    return getattr(importlib.import_module(module_name), class_name)
