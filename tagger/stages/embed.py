from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tagger.catalog.records import EmbeddingRecord
from tagger.stages.base import Stage, TitleContext
from tagger.vectors import unit

EMBEDDING_VERSION = "1"


class EmbedStage(Stage):
    """Per-modality title embeddings and one fused, L2-normalised content embedding.

    The fused vector concatenates the blocks named in `spaces` (each L2-normalised and scaled
    by the square root of its weight, zeros where the modality did not run), so its dimension
    is fixed for a pipeline and dot products mean weighted cosine agreement.
    """
    name = "embed"
    needs = ("tags",)

    @dataclass
    class Settings:
        spaces: tuple[str, ...] = ("text", "visual", "audio", "tags")
        weights: dict[str, float] = field(default_factory=lambda: {
            "text": 1.0, "visual": 1.0, "audio": 0.3, "tags": 1.0})

        def validate(self):
            unknown = [s for s in self.spaces if s not in ("text", "visual", "audio", "tags")]
            if unknown:
                return "spaces", f"unknown space {unknown[0]!r} (valid: text, visual, audio, tags)"
            return None

    def versions(self) -> dict[str, str]:
        return {"embedding_version": EMBEDDING_VERSION}

    def run(self, ctx: TitleContext) -> None:
        vectors = dict(ctx.vectors)
        tag_ids = [t.id for t in self.taxonomy.tags]
        position = {tag_id: i for i, tag_id in enumerate(tag_ids)}
        tag_vector = np.zeros(len(tag_ids), np.float32)
        for tag in ctx.tags:
            if tag.scene is None:
                tag_vector[position[tag.tag]] = tag.confidence
        if tag_vector.any():
            vectors["tags"] = (f"taxonomy:{self.taxonomy.id}@{self.taxonomy.version}", tag_vector)
        ctx.embeddings = []
        for space, (model_id, vector) in vectors.items():
            ctx.embeddings.append(_record(space, model_id, unit(vector)))
        blocks, parts = [], []
        for space in self.settings.spaces:
            # Sizes come from the pipeline's stages, not the title, so every fused vector lines up.
            size = len(self.taxonomy.tags) if space == "tags" else ctx.space_dims.get(space, 0)
            if size == 0:
                continue
            weight = float(self.settings.weights.get(space, 1.0)) ** 0.5
            block = unit(vectors[space][1]) * weight if space in vectors else np.zeros(size, np.float32)
            blocks.append(block.astype(np.float32))
            parts.append(f"{space}:{size}")
        fused = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        if np.any(fused):
            ctx.embeddings.append(_record("fused", "+".join(parts), unit(fused)))


def _record(space: str, model_id: str, vector: np.ndarray) -> EmbeddingRecord:
    return EmbeddingRecord(space, model_id, EMBEDDING_VERSION, vector.astype(np.float32))
