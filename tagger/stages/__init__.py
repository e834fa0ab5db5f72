"""Stages by name. Each lives in its own module, imported only when a pipeline uses it."""
from __future__ import annotations

import importlib

STAGES = {
    "probe": "tagger.stages.probe:ProbeStage",
    "scenes": "tagger.stages.scenes:ScenesStage",
    "visual": "tagger.stages.visual:VisualStage",
    "imagenet": "tagger.stages.imagenet:ImagenetStage",
    "clip": "tagger.stages.clip:ClipStage",
    "audio": "tagger.stages.audio:AudioStage",
    "text": "tagger.stages.text:TextStage",
    "tags": "tagger.stages.tags:TagsStage",
    "embed": "tagger.stages.embed:EmbedStage",
}


def stage_class(name: str):
    """The Stage class registered under `name`; unknown names list the valid ones."""
    try:
        module_name, class_name = STAGES[name].split(":")
    except KeyError:
        raise KeyError(f"unknown stage {name!r} (valid: {', '.join(STAGES)})") from None
    return getattr(importlib.import_module(module_name), class_name)
