"""Shot detectors by name. Each lives in its own module, imported only when a pipeline uses it;
the pipeline file chooses one: `[scenes] detector = "..."`."""
from __future__ import annotations

from tagger.registry import load_class

DETECTORS = {
    "content": "tagger.scenes.detectors.content:ContentDetector",
    "adaptive": "tagger.scenes.detectors.adaptive:AdaptiveDetector",
    "transnet": "tagger.scenes.detectors.transnet:TransNetDetector",
    "hybrid": "tagger.scenes.detectors.hybrid:HybridDetector",
}


def detector_class(name: str):
    """The ShotDetector class registered under `name`; unknown names list the valid ones."""
    return load_class(DETECTORS, name, "detector")
