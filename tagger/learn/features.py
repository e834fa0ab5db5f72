"""A title's feature row for the tag heads: one builder, used the same at training and ingest.
(The heads' other input, the synopsis's words, is terms.py.)

Blocks, in order (FeatureLayout names them and their widths):
  synopsis   the synopsis embedding, and 1 when there is a synopsis
  zeroshot   each prompted tag's zero-shot confidence from the synopsis, computed by the text
             stage's own functions and settings (the prompt prior of tags with few labels)
  dialogue   the mean subtitle-cue embedding, and 1 when there are subtitles
  measured   the title's visual, audio and dialogue feature values (tagger/features.py), one-hot
             for categorical ones, and 1 per modality that was measured
A missing block is zeros with its indicator 0. Heads trained on metadata-only titles (public
data) learn nothing from the dialogue and measured blocks: their weights there stay 0, so a title
with subtitles or video is scored on its synopsis until heads are trained on a catalog of
such titles (tagger train tags --catalog).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.features import CATEGORICAL, FEATURES, LIST_FEATURES

MODALITIES = ("visual", "audio", "dialogue")
MEASURED = tuple(sorted(n for n in FEATURES if n not in CATEGORICAL and n not in LIST_FEATURES))
CATEGORIES = tuple((name, value) for name in sorted(CATEGORICAL) for value in CATEGORICAL[name])


@dataclass(frozen=True)
class TitleInputs:
    """What the pipeline knows of one title, as the heads read it."""
    synopsis: str | None = None                  # the text, for the heads' lexical part
    synopsis_vector: np.ndarray | None = None   # unit vector of the synopsis
    dialogue_vector: np.ndarray | None = None   # unit mean of the subtitle cues' vectors
    features: dict | None = None                # flat measured values: "visual.brightness": 0.4, ...


@dataclass(frozen=True)
class FeatureLayout:
    encoder_id: str
    dimension: int
    zeroshot_tags: tuple[str, ...]
    measured: tuple[str, ...] = MEASURED
    categories: tuple[tuple[str, str], ...] = CATEGORIES

    def blocks(self) -> list[tuple[str, int]]:
        return [("synopsis", self.dimension + 1), ("zeroshot", len(self.zeroshot_tags)),
                ("dialogue", self.dimension + 1),
                ("measured", len(self.measured) + len(self.categories) + len(MODALITIES))]

    @property
    def width(self) -> int:
        return sum(width for _, width in self.blocks())

    def to_dict(self) -> dict:
        return {"encoder_id": self.encoder_id, "dimension": self.dimension,
                "zeroshot_tags": list(self.zeroshot_tags), "measured": list(self.measured),
                "categories": [list(c) for c in self.categories], "blocks": self.blocks()}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureLayout:
        return cls(encoder_id=data["encoder_id"], dimension=int(data["dimension"]),
                   zeroshot_tags=tuple(data["zeroshot_tags"]), measured=tuple(data["measured"]),
                   categories=tuple(tuple(c) for c in data["categories"]))


class FeatureBuilder:
    """Rows of the layout for titles; holds the prompt bank and the text stage's zero-shot settings.

    `text_settings` is the pipeline's [text] settings (TextStage.Settings); its defaults when None.
    `bank` is the text stage's prompt bank where one is at hand (built here otherwise).
    """

    def __init__(self, encoder, taxonomy, text_settings=None, bank=None):
        from tagger.stages.text import TextStage
        from tagger.tagging.zeroshot import build_bank

        self.settings = text_settings or TextStage.Settings()
        self.bank = bank or build_bank(taxonomy.tags, lambda t: t.prompts, encoder.encode)
        self.layout = FeatureLayout(encoder.model_id, encoder.dimension, tuple(self.bank.tag_ids))

    def zeroshot(self, synopsis_vectors: np.ndarray) -> np.ndarray:
        """(N, prompted tags) confidences, as the text stage scores a synopsis."""
        from tagger.tagging.zeroshot import confidences

        s = self.settings
        return confidences(self.bank.tag_similarity(synopsis_vectors), z_center=s.z_center,
                           z_width=s.z_width, min_similarity=s.min_similarity)

    def rows(self, titles: list[TitleInputs]) -> np.ndarray:
        """(len(titles), layout.width) float32."""
        d = self.layout.dimension
        synopsis = _block(titles, "synopsis_vector", d)
        dialogue = _block(titles, "dialogue_vector", d)
        zeroshot = self.zeroshot(synopsis[:, :d]) * synopsis[:, d:]   # no synopsis: no prior
        measured = np.stack([measured_values(t.features or {}, self.layout) for t in titles]) \
            if titles else np.zeros((0, self.layout.blocks()[-1][1]), np.float32)
        return np.concatenate([synopsis, zeroshot, dialogue, measured], axis=1).astype(np.float32)


def _block(titles: list[TitleInputs], field: str, dimension: int) -> np.ndarray:
    out = np.zeros((len(titles), dimension + 1), np.float32)
    for i, title in enumerate(titles):
        vector = getattr(title, field)
        if vector is not None:
            out[i, :dimension] = vector
            out[i, dimension] = 1.0
    return out


def measured_values(features: dict, layout: FeatureLayout) -> np.ndarray:
    """Measured values (NaN where missing: the heads' standardisation turns it into the mean),
    one-hot categories, then one indicator per modality with any value."""
    values = [_number(features.get(name)) for name in layout.measured]
    onehot = [1.0 if features.get(name) == value else 0.0 for name, value in layout.categories]
    present = [1.0 if any(k.startswith(m + ".") and features[k] is not None for k in features) else 0.0
               for m in MODALITIES]
    return np.array(values + onehot + present, np.float32)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def flat_features(nested: dict) -> dict:
    """`tagger show --json`'s {"visual": {"brightness": ...}} -> {"visual.brightness": ...}."""
    return {f"{modality}.{name}": value for modality, values in (nested or {}).items()
            for name, value in (values or {}).items()}


def dialogue_from_text(text_vector: np.ndarray, synopsis_vector: np.ndarray | None,
                       synopsis_share: float) -> np.ndarray:
    """The dialogue vector inside a catalog's stored text embedding.

    The text stage stores unit(share * synopsis + (1 - share) * dialogue) with both parts unit
    vectors (the text vector itself when there is no synopsis), so the dialogue part is the
    unit vector d on the line through the two: |k * text - share * synopsis| = 1 - share.
    """
    if synopsis_vector is None:
        return text_vector
    a, b = synopsis_share, 1.0 - synopsis_share
    cos = float(text_vector @ synopsis_vector)
    k = a * cos + np.sqrt(max(a * a * cos * cos - (a * a - b * b), 0.0))
    dialogue = (k * text_vector - a * synopsis_vector) / b
    return (dialogue / (np.linalg.norm(dialogue) + 1e-12)).astype(np.float32)
