"""Labelled titles as arrays: feature rows, label and weight matrices, the zero-shot prior."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.learn.features import FeatureBuilder, TitleInputs, dialogue_from_text
from tagger.learn.labels import LabelSet


@dataclass
class Dataset:
    title_ids: list[str]
    tag_ids: list[str]
    rows: np.ndarray       # (titles, layout width) feature rows
    labels: np.ndarray     # (titles, tags) 1/0
    weights: np.ndarray    # (titles, tags) 0 where unknown
    synopses: list[str]
    builder: FeatureBuilder

    def zeroshot(self, index=slice(None)) -> dict[str, np.ndarray]:
        """tag -> its zero-shot confidence per title (prompted tags), read from the rows."""
        start = self.builder.layout.blocks()[0][1]
        tags = self.builder.layout.zeroshot_tags
        block = self.rows[index, start:start + len(tags)]
        return {tag: block[:, j] for j, tag in enumerate(tags)}

    def subset(self, index: np.ndarray) -> Dataset:
        return Dataset([self.title_ids[i] for i in index], self.tag_ids, self.rows[index], self.labels[index],
                       self.weights[index], [self.synopses[i] for i in index], self.builder)


def build_dataset(label_set: LabelSet, taxonomy, *, encoder=None, text_settings=None, log=None) -> Dataset:
    """Feature rows for every labelled title (synopsis embeddings come from the disk cache) and
    the label matrix over every tag of the taxonomy."""
    from tagger.learn.embed_cache import cached_encode
    from tagger.text.encoder import get_encoder

    encoder = encoder or get_encoder()
    builder = FeatureBuilder(encoder, taxonomy, text_settings)
    title_ids = sorted(label_set.titles)
    records = [label_set.titles[t] for t in title_ids]
    synopses = [r.synopsis for r in records]
    with_text = [i for i, s in enumerate(synopses) if s]
    if log:
        log(f"{len(title_ids)} labelled titles; embedding their synopses (cached after the first run)")
    vectors = cached_encode(encoder, [synopses[i] for i in with_text])
    synopsis_of = dict(zip(with_text, vectors))
    inputs = [TitleInputs(synopsis_vector=synopsis_of.get(i), features=r.features,
                          dialogue_vector=_dialogue(r, synopsis_of.get(i), encoder.model_id))
              for i, r in enumerate(records)]
    rows = builder.rows(inputs)
    tag_ids = [t.id for t in taxonomy.tags]
    labels, weights = label_set.matrix(title_ids, tag_ids)
    return Dataset(title_ids, tag_ids, rows, labels, weights, synopses, builder)


def _dialogue(record, synopsis_vector, model_id: str):
    """A catalog title's dialogue vector, taken out of its stored text embedding."""
    stored = record.text_embedding
    if stored is None or stored[0] != model_id:
        return None
    return dialogue_from_text(stored[1], synopsis_vector, record.synopsis_share)
