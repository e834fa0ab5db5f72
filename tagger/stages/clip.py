from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tagger.errors import StageSkipped
from tagger.stages.base import Evidence, Stage, TitleContext
from tagger.vectors import unit

log = logging.getLogger(__name__)


class ClipStage(Stage):
    """CLIP keyframe embeddings and zero-shot scores against the taxonomy's visual prompts.

    Without weights the stage skips every title with one message; it never scores with a
    randomly initialised model.
    """
    name = "clip"
    needs = ("scenes",)

    @dataclass
    class Settings:
        model: str = "ViT-B-32"
        pretrained: str = "laion2b_s34b_b79k"   # an open_clip tag, or a checkpoint file path
        batch_size: int = 16
        min_scene_probability: float = 0.35     # scene-level evidence below this is dropped

    def setup(self) -> None:
        from tagger.vision.clip import ClipEncoder, WeightsUnavailable

        self.encoder = None
        self.unavailable = None
        try:
            self.encoder = ClipEncoder.load(self.settings.model, self.settings.pretrained,
                                            batch_size=self.settings.batch_size)
        except WeightsUnavailable as error:
            self.unavailable = str(error)
            log.warning("CLIP stage skipped: %s", error)
            return
        tags = [t for t in self.taxonomy.tags if t.clip_prompts]
        self.facets = sorted({t.facet for t in tags})
        self.tags = tags
        self.prompt_vectors = self._tag_vectors(tags)

    def _tag_vectors(self, tags) -> np.ndarray:
        """One vector per tag: the normalised mean of its prompts (prompt ensembling, as CLIP does)."""
        rows = []
        for tag in tags:
            mean = self.encoder.encode_texts(list(tag.clip_prompts)).mean(axis=0)
            rows.append(unit(mean))
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 1), np.float32)

    def versions(self) -> dict[str, str]:
        self.ready()   # whether the weights load decides what the results depend on
        if self.encoder is None:
            return {"model": f"{self.settings.model}/{self.settings.pretrained}", "status": "unavailable"}
        import cv2

        # OpenCV decodes the keyframes the model sees.
        return {"model": self.encoder.model_id, "library": self.encoder.version, "opencv": cv2.__version__}

    def spaces(self) -> dict[str, int]:
        self.ready()
        return {"visual": self.encoder.dimension} if self.encoder is not None else {}

    def skip_reason(self, ctx: TitleContext) -> str | None:
        if ctx.split is None or not ctx.split.scenes:
            return "no scenes (no video stream)"
        return None

    def run(self, ctx: TitleContext) -> None:
        from tagger.scenes.split import decode_jpeg

        if self.encoder is None:
            raise StageSkipped(self.unavailable)
        if ctx.split is None or not ctx.split.scenes:
            raise StageSkipped("no scenes (no video stream)")
        images, owners = [], []
        for scene in ctx.split.scenes:
            for keyframe in scene.keyframes:
                if keyframe.jpeg:
                    images.append(decode_jpeg(keyframe.jpeg))
                    owners.append(scene.index)
        if not images:
            raise StageSkipped("no keyframes")
        vectors = self.encoder.encode_images(images)
        owners = np.asarray(owners)
        durations = np.array([max(s.end_s - s.start_s, 1e-3) for s in ctx.split.scenes])
        scene_vectors = np.zeros((len(ctx.split.scenes), vectors.shape[1]), np.float32)
        for index in range(len(ctx.split.scenes)):
            rows = vectors[owners == index]
            if len(rows):
                mean = rows.mean(axis=0)
                scene_vectors[index] = unit(mean)
        has = np.abs(scene_vectors).sum(axis=1) > 0
        title = (scene_vectors[has] * durations[has, None]).sum(axis=0)
        ctx.vectors["visual"] = (self.encoder.model_id, unit(title).astype(np.float32))
        if len(self.tags):
            self._score(ctx, scene_vectors[has], np.flatnonzero(has), durations[has])

    def _score(self, ctx, scene_vectors, scene_indexes, durations) -> None:
        """Softmax over each facet's tags per scene (CLIP's zero-shot classification), then a
        duration-weighted mean over scenes for the title."""
        logits = self.encoder.logit_scale * scene_vectors @ self.prompt_vectors.T
        probabilities = np.zeros_like(logits)
        for facet in self.facets:
            columns = [i for i, t in enumerate(self.tags) if t.facet == facet]
            block = logits[:, columns]
            block = np.exp(block - block.max(axis=1, keepdims=True))
            probabilities[:, columns] = block / block.sum(axis=1, keepdims=True)
        weights = durations / durations.sum()
        for column, tag in enumerate(self.tags):
            title_probability = float((probabilities[:, column] * weights).sum())
            best = int(np.argmax(probabilities[:, column]))
            scene = ctx.split.scenes[int(scene_indexes[best])]
            ctx.add_score("clip", tag.id, Evidence("clip", title_probability, "keyframes", scene=scene.index,
                                                   start_s=scene.start_s, end_s=scene.end_s))
            for row, index in enumerate(scene_indexes):
                p = float(probabilities[row, column])
                if p >= self.settings.min_scene_probability:
                    s = ctx.split.scenes[int(index)]
                    ctx.add_scene_score("clip", tag.id, Evidence("clip", p, "keyframes", scene=s.index,
                                                                 start_s=s.start_s, end_s=s.end_s))
