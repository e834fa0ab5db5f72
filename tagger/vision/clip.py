"""CLIP image embeddings and zero-shot prompts with open_clip.

Weights come from a local checkpoint path or from open_clip's pretrained registry (its cache,
or a download where the machine has internet). A model is never used without weights.
"""
from __future__ import annotations

import socket
from pathlib import Path

import numpy as np

from tagger.errors import EncoderUnavailable


class WeightsUnavailable(EncoderUnavailable):
    """The CLIP weights cannot be had on this machine; the message says how to provide them."""


def _hub_reachable(host: str = "huggingface.co", timeout_s: float = 3.0) -> bool:
    """One quick connection attempt, so an offline machine skips at once instead of retrying."""
    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def resolve_weights(model: str, pretrained: str) -> str:
    """A local file for the weights, or the registry tag when a download can be tried."""
    import open_clip

    if not pretrained:
        raise WeightsUnavailable(f"CLIP model {model!r} has no weights configured; "
                                 "set [clip] pretrained to an open_clip tag or a checkpoint path")
    path = Path(pretrained).expanduser()
    if path.suffix in (".bin", ".pt", ".pth", ".safetensors") or path.exists():
        if not path.is_file():
            raise WeightsUnavailable(f"CLIP checkpoint {path} not found; set [clip] pretrained "
                                     "in the pipeline to an existing file")
        return str(path)
    cfg = open_clip.get_pretrained_cfg(model, pretrained)
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "none"
        raise WeightsUnavailable(f"open_clip has no weights {pretrained!r} for {model!r} (known: {tags})")
    hub_id = cfg.get("hf_hub", "").strip("/")
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
            cached = try_to_load_from_cache(hub_id, filename)
            if isinstance(cached, str):
                return cached
    if not _hub_reachable():
        raise WeightsUnavailable(
            f"CLIP weights {model}/{pretrained} are not cached and the model hub is unreachable; "
            "download them on a machine with internet (open_clip caches them under "
            "~/.cache/huggingface) or set [clip] pretrained to a local checkpoint file")
    return pretrained


class ClipEncoder:
    """Batched, L2-normalised image and text embeddings from an open_clip model (an image
    encoder as tagger/vision/encoders.py describes, that also embeds text)."""
    name = "clip"

    def __init__(self, model, preprocess, tokenizer, *, model_id: str, batch_size: int = 16):
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.batch_size = batch_size

    @classmethod
    def load(cls, model: str, pretrained: str, *, batch_size: int = 16) -> "ClipEncoder":
        import open_clip

        weights = resolve_weights(model, pretrained)
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=weights, device="cpu")
        except Exception as error:  # open_clip raises RuntimeError, OSError, KeyError...
            raise WeightsUnavailable(f"cannot load CLIP {model} weights from {weights}: {error}") from None
        return cls(net, preprocess, open_clip.get_tokenizer(model), model_id=f"open_clip:{model}/{Path(pretrained).name}",
                   batch_size=batch_size)

    @property
    def version(self) -> str:
        """The libraries that compute the vectors, with their versions (the engine digest holds them)."""
        import open_clip
        import PIL
        import torch

        return f"open_clip {open_clip.__version__}, torch {torch.__version__}, pillow {PIL.__version__}"

    @property
    def dimension(self) -> int:
        return int(self.model.text_projection.shape[-1]) if getattr(self.model, "text_projection", None) is not None \
            else int(self.encode_texts(["x"]).shape[1])

    def encode_images(self, images_bgr: list[np.ndarray]) -> np.ndarray:
        """(N, d) float32 rows L2-normalised, for uint8 BGR images of any size."""
        import torch
        from PIL import Image

        rows = []
        for start in range(0, len(images_bgr), self.batch_size):
            batch = [self.preprocess(Image.fromarray(np.ascontiguousarray(img[:, :, ::-1])))
                     for img in images_bgr[start:start + self.batch_size]]
            with torch.inference_mode():
                features = self.model.encode_image(torch.stack(batch))
            rows.append(torch.nn.functional.normalize(features.float(), dim=-1).numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        rows = []
        for start in range(0, len(texts), 64):
            tokens = self.tokenizer(texts[start:start + 64])
            with torch.inference_mode():
                features = self.model.encode_text(tokens)
            rows.append(torch.nn.functional.normalize(features.float(), dim=-1).numpy())
        return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)

    @property
    def logit_scale(self) -> float:
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.exp().item()) if scale is not None else 100.0
