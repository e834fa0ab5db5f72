"""Shot detectors by name. Each lives in its own module, imported only when a pipeline uses it;
the pipeline file chooses one: `[scenes] detector = "..."`."""
from __future__ import annotations

import importlib

DETECTORS = {
    "content": "tagger.scenes.detectors.content:ContentDetector",
    "adaptive": "tagger.scenes.detectors.adaptive:AdaptiveDetector",
    "transnet": "tagger.scenes.detectors.transnet:TransNetDetector",
    "hybrid": "tagger.scenes.detectors.hybrid:HybridDetector",
}


def detector_class(name: str):
    """The ShotDetector class registered under `name`; unknown names list the valid ones."""
    try:
        module_name, class_name = DETECTORS[name].split(":")
    except KeyError:
        raise KeyError(f"unknown detector {name!r} (valid: {', '.join(DETECTORS)})") from None
    return getattr(importlib.import_module(module_name), class_name)
