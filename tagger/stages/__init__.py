"""Stages by name. Each lives in its own module, imported only when a pipeline uses it."""
from __future__ import annotations

from tagger.registry import load_class

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
    return load_class(STAGES, name, "stage")
