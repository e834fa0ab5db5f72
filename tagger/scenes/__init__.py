"""Scene splitting (the pipeline's shot detector, tagger/scenes/detectors/) and keyframe choice, in one streamed pass over the video."""
