"""Scene splitting (PySceneDetect) and keyframe choice, in one streamed pass over the video."""
