"""TransNetV2 on every frame, in the paper's windows: 100 frames in, the middle 50 kept, the
title's first and last frames repeated 25 times at its ends. Accurate, and the slowest choice."""
from __future__ import annotations

from collections import deque
from functools import lru_cache

import numpy as np

from tagger.scenes.detectors.base import Boundary, ShotDetector, frame_mean, gradual_kind

WINDOW = 100
KEEP = 50                       # predictions kept from each window: its middle
CONTEXT = (WINDOW - KEEP) // 2


@lru_cache(maxsize=2)
def network(runtime: str):
    """The network, loaded once per process for each runtime."""
    from tagger.scenes.transnet import TransNetV2

    return TransNetV2(runtime)


def transnet_versions(settings) -> dict[str, str]:
    """The network's weights and the library that runs it."""
    from tagger.scenes.transnet import model_version
    from tagger.versions import module_version

    runtime = settings.transnet_runtime
    library = "onnxruntime" if runtime == "onnx" else "torch"
    return {"model": model_version(), "runtime": f"{library} {module_version(library)}"}


class Transitions:
    """Turns per-frame probabilities, given in frame order, into boundaries.

    A transition is a run of frames whose cut probability passes the threshold (the paper's
    rule), carried on while the network marks frames as inside a gradual change. The network
    marks a cut's last old frame most, so the new shot starts after that peak; a transition
    of at least `gradual_frames` inside frames starts it at the peak itself, its middle: a fade
    where its darkest frame is black, else a dissolve.
    """

    def __init__(self, *, threshold: float, fade_threshold: float, gradual_frames: int = 4):
        self.threshold = threshold
        self.fade_threshold = fade_threshold
        self.gradual_frames = gradual_frames
        self.run: list[tuple[int, float, float, float]] = []   # (frame, cut p, transition p, mean)

    def push(self, frame: int, cut: float, transition: float, mean: float) -> list[Boundary]:
        # Black frames carry a run on too: a fade-out and the fade-in after it are one fade.
        carried = transition > self.threshold or mean < self.fade_threshold
        if cut > self.threshold or (self.run and carried and frame == self.run[-1][0] + 1):
            if self.run and frame != self.run[-1][0] + 1:
                found = self._close()
                self.run = [(frame, cut, transition, mean)]
                return found
            self.run.append((frame, cut, transition, mean))
            return []
        return self._close()

    def flush(self) -> list[Boundary]:
        return self._close()

    def _close(self) -> list[Boundary]:
        run, self.run = self.run, []
        if not any(cut > self.threshold for _, cut, _, _ in run):
            return []
        peak, confidence, _, _ = max(run, key=lambda item: item[1])
        gradual = sum(1 for _, _, transition, _ in run if transition > self.threshold) >= self.gradual_frames
        if not gradual:
            return [Boundary(peak + 1, "cut", confidence)]
        black = [frame for frame, _, _, mean in run if mean < self.fade_threshold]
        if black:   # through black: the new shot starts in the middle of the black, as ThresholdDetector says
            return [Boundary(black[len(black) // 2], "fade", confidence)]
        return [Boundary(peak, gradual_kind(min(mean for _, _, _, mean in run), self.fade_threshold), confidence)]


class TransNetDetector(ShotDetector):
    name = "transnet"

    def __init__(self, settings, *, fps: float):
        super().__init__(settings, fps=fps)
        self.model = network(settings.transnet_runtime)
        self.frames: deque[np.ndarray] = deque()   # network frames from `first` on
        self.means: deque[float] = deque()
        self.first = -CONTEXT                       # absolute index of self.frames[0]
        self.count = 0
        self.network_frames = 0                     # frames shown to the network (the benchmark reports it)
        self.transitions = Transitions(threshold=settings.transnet_threshold,
                                       fade_threshold=settings.fade_threshold)

    @classmethod
    def load(cls, settings) -> None:
        network(settings.transnet_runtime)

    @classmethod
    def versions(cls, settings) -> dict[str, str]:
        return transnet_versions(settings)

    def process(self, index: int, image: np.ndarray) -> list[Boundary]:
        from tagger.scenes.transnet import to_network_frame

        small = to_network_frame(image)
        mean = frame_mean(image)
        if not self.frames:
            self.frames.extend([small] * CONTEXT)    # the first frame stands for what came before
            self.means.extend([mean] * CONTEXT)
        self.frames.append(small)
        self.means.append(mean)
        self.count += 1
        found = []
        while len(self.frames) >= WINDOW:
            found += self._window()
        return found

    def finish(self) -> list[Boundary]:
        found = []
        if self.frames:
            last, mean = self.frames[-1], self.means[-1]
            while self.first + CONTEXT < self.count:   # frames still without a prediction
                while len(self.frames) < WINDOW:
                    self.frames.append(last)
                    self.means.append(mean)
                found += self._window()
        return found + self.transitions.flush()

    def _window(self) -> list[Boundary]:
        window = np.stack(list(self.frames)[:WINDOW])[None]
        cut, transition = self.model.predict(window)
        self.network_frames += WINDOW
        found = []
        for offset in range(CONTEXT, CONTEXT + KEEP):
            frame = self.first + offset
            if frame >= self.count:
                break
            found += self.transitions.push(frame, float(cut[0, offset]), float(transition[0, offset]),
                                           self.means[offset])
        for _ in range(KEEP):
            self.frames.popleft()
            self.means.popleft()
        self.first += KEEP
        return found
