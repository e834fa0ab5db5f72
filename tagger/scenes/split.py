"""One streamed pass over a video: shot boundaries, keyframes and per-sample frame statistics.

Boundaries come from the shot detector the pipeline names (tagger/scenes/detectors/), fed
every frame as the decoder hands it over, already downscaled. Memory stays bounded by one
scene: samples are kept only until their scene ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tagger.catalog.records import KeyframeRecord
from tagger.media.decode import iter_frames
from tagger.scenes.detectors.base import Boundary
from tagger.scenes.keyframes import Candidate, choose, sharpness

JPEG_QUALITY = 90   # keyframes as stored


@dataclass
class SplitSettings:
    analysis_width: int = 320
    detector: str = "hybrid"          # a name in tagger.scenes.detectors.DETECTORS
    content_threshold: float = 27.0   # ContentDetector's default, on its 0..255 HSV score
    fade_threshold: float = 12.0      # mean pixel value under which a frame counts as black
    adaptive_threshold: float = 3.0   # AdaptiveDetector: a frame's change over its neighbours'
    adaptive_min_content: float = 15.0
    transnet_threshold: float = 0.5   # transnet: TransNetV2's cut probability for a boundary (the paper's)
    transnet_runtime: str = "onnx"    # onnx (exported once to the cache folder) | torch
    # hybrid: a frame whose change from the one before (mean HSV difference, 0..255) passes
    # sure_content, sure_ratio times its neighbours' change, is a cut; one that passes the
    # candidate bars goes to TransNetV2, as does a change of the whole picture over 0.5 s.
    # TransNetV2 then confirms a candidate at confirm_threshold (chosen on the benchmark's
    # validation clips: benchmarks/shot_boundaries.py).
    sure_content: float = 30.0
    sure_ratio: float = 10.0
    candidate_content: float = 6.0
    candidate_ratio: float = 3.0
    candidate_gradual: float = 8.0
    confirm_threshold: float = 0.1
    # hybrid: a slow blend of two pictures whose grey copy changes this much (0..255, end to
    # end over 20 frames) is a dissolve without the network (tagger/scenes/detectors/dissolves.py).
    dissolve_change: float = 4.0
    min_scene_s: float = 0.5
    sample_fps: float = 4.0           # frames per second analysed for stats and keyframes
    keyframes_per_scene: int = 2
    max_candidates_per_scene: int = 48   # older candidates are thinned out past this
    # 0, or the width (pixels, never upscaled) of a copy of each scene's sharpest keyframe that
    # later stages may look at for small things (the imagenet stage's people cue); not stored.
    detail_width: int = 0

    def validate(self):
        from tagger.scenes.detectors import DETECTORS

        if self.detector not in DETECTORS:
            return "detector", f"unknown detector {self.detector!r} (valid: {', '.join(DETECTORS)})"
        if self.detector in ("transnet", "hybrid"):
            from tagger.scenes.transnet import runtime_problem

            problem = runtime_problem(self.transnet_runtime)
            if problem:
                return "transnet_runtime", problem
        for name in ("transnet_threshold", "confirm_threshold"):
            if not 0 < getattr(self, name) < 1:
                return name, "must be between 0 and 1"
        if self.dissolve_change <= 0:
            return "dissolve_change", "must be positive"
        if self.analysis_width < 32:
            return "analysis_width", "must be at least 32 pixels"
        if self.sample_fps <= 0:
            return "sample_fps", "must be positive"
        if self.keyframes_per_scene < 1:
            return "keyframes_per_scene", "must be at least 1"
        if self.detail_width and self.detail_width < self.analysis_width:
            return "detail_width", f"must be 0 or at least analysis_width ({self.analysis_width})"
        if self.max_candidates_per_scene < 2 * self.keyframes_per_scene:
            return "max_candidates_per_scene", "must be at least twice keyframes_per_scene"
        return None


@dataclass
class SceneCut:
    """One scene as the pass found it; keyframe images are kept as JPEG bytes."""
    index: int
    start_frame: int
    end_frame: int            # exclusive: the next scene's start_frame
    start_s: float
    end_s: float
    boundary_kind: str = "start"      # how the scene begins: start (of the title) | cut | fade | dissolve
    boundary_confidence: float = 1.0  # the detector's confidence in that boundary
    keyframes: list[KeyframeRecord] = field(default_factory=list)
    frame_stats: list[dict] = field(default_factory=list)  # per analysed frame
    motions: list[float] = field(default_factory=list)
    # The sharpest keyframe at SplitSettings.detail_width as JPEG, b"" without one; for the
    # stages of this analysis only (the catalog stores the keyframes above).
    detail_jpeg: bytes = b""


@dataclass
class SplitResult:
    scenes: list[SceneCut]
    frame_count: int


class _SceneBuffer:
    def __init__(self, start_frame: int):
        self.start_frame = start_frame
        self.candidates: list[Candidate] = []
        self.stats: list[tuple[int, dict]] = []
        self.motions: list[tuple[int, float]] = []
        self.stride = 1  # keep every stride-th candidate; doubles when the buffer fills

    def split_at(self, frame: int) -> "_SceneBuffer":
        """Move samples at or after `frame` into a new buffer (detectors report cuts late)."""
        after = _SceneBuffer(frame)
        after.candidates = [c for c in self.candidates if c.frame >= frame]
        after.stats = [s for s in self.stats if s[0] >= frame]
        after.motions = [m for m in self.motions if m[0] >= frame]
        self.candidates = [c for c in self.candidates if c.frame < frame]
        self.stats = [s for s in self.stats if s[0] < frame]
        self.motions = [m for m in self.motions if m[0] < frame]
        return after


def split_video(path: str | Path, *, fps: float, rotation_deg: int, duration_s: float,
                settings: SplitSettings, on_progress=None, detector=None) -> SplitResult:
    """Scenes of the video. `detector` (a ShotDetector) stands in for the one settings name:
    the benchmark passes one that times itself."""
    import cv2

    from tagger.scenes.detectors import detector_class
    from tagger.vision.descriptors import frame_stats, motion, small_gray

    rate = Fraction(fps).limit_denominator(100_000) if fps > 0 else Fraction(25)
    min_len = max(1, int(round(settings.min_scene_s * float(rate))))
    if detector is None:
        detector = detector_class(settings.detector)(settings, fps=float(rate))
    sample_every = max(1, int(round(float(rate) / settings.sample_fps)))

    times: list[float] = []
    scenes: list[SceneCut] = []
    buffer = _SceneBuffer(0)
    starts = [Boundary(0, "start", 1.0)]
    previous_gray = None

    def close(buf: _SceneBuffer, end_frame: int) -> None:
        start_s = times[buf.start_frame]
        end_s = times[end_frame] if end_frame < len(times) else None
        scenes.append(_finish(len(scenes), buf, end_frame, start_s, end_s, starts[len(scenes)], settings))

    def accept(boundary: Boundary) -> None:
        nonlocal buffer
        if boundary.frame - starts[-1].frame < min_len or boundary.frame >= len(times):
            return  # the same transition seen twice, or too close to the last one
        starts.append(boundary)
        after = buffer.split_at(boundary.frame)
        close(buffer, boundary.frame)
        buffer = after

    for decoded in iter_frames(path, analysis_width=settings.analysis_width, rotation_deg=rotation_deg,
                               detail_width=settings.detail_width):
        times.append(decoded.time_s)
        image = decoded.image
        for boundary in detector.process(decoded.index, image):
            accept(boundary)
        if decoded.index % sample_every == 0:
            gray_small = small_gray(image)
            stats = frame_stats(image)
            buffer.stats.append((decoded.index, stats))
            if previous_gray is not None:
                buffer.motions.append((decoded.index, motion(previous_gray, gray_small)))
            previous_gray = gray_small
            if (decoded.index // sample_every) % buffer.stride == 0:
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                buffer.candidates.append(Candidate(decoded.index, decoded.time_s, sharpness(gray),
                                                   stats["brightness"], image,
                                                   decoded.detail() if decoded.detail else None))
                if len(buffer.candidates) > settings.max_candidates_per_scene:
                    buffer.candidates = buffer.candidates[::2]
                    buffer.stride *= 2
        if on_progress is not None and duration_s > 0:
            on_progress(min(1.0, decoded.time_s / duration_s))

    frame_count = len(times)
    if frame_count:
        for boundary in detector.finish():
            accept(boundary)
        step = 1.0 / float(rate)
        end_s = max(duration_s, times[-1] + step)
        close(buffer, frame_count)
        scenes[-1].end_s = end_s
    return SplitResult(scenes, frame_count)


def _finish(index: int, buf: _SceneBuffer, end_frame: int, start_s: float, end_s: float | None,
            start: Boundary, settings: SplitSettings) -> SceneCut:
    import cv2

    keyframes = []
    chosen = choose(buf.candidates, count=settings.keyframes_per_scene)
    for cand in chosen:
        ok, jpeg = cv2.imencode(".jpg", cand.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        keyframes.append(KeyframeRecord(cand.frame, cand.time_s, cand.sharpness, jpeg.tobytes() if ok else b""))
    detail_jpeg = b""
    sharpest = max(chosen, key=lambda c: c.sharpness, default=None)
    if sharpest is not None and sharpest.detail is not None:
        ok, jpeg = cv2.imencode(".jpg", sharpest.detail, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        detail_jpeg = jpeg.tobytes() if ok else b""
    return SceneCut(index=index, start_frame=buf.start_frame, end_frame=end_frame,
                    start_s=start_s, end_s=end_s if end_s is not None else start_s,
                    boundary_kind=start.kind, boundary_confidence=round(start.confidence, 4),
                    keyframes=keyframes, detail_jpeg=detail_jpeg,
                    frame_stats=[s for _, s in buf.stats],
                    # The first sample's motion compares with the previous scene: not motion.
                    motions=[m for f, m in buf.motions if not buf.stats or f != buf.stats[0][0]])


def decode_jpeg(data: bytes) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
