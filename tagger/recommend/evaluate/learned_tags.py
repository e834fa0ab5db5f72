"""Learned tag probabilities as item features, fitted inside a cold-start split.

The shipped heads learned from these very titles' genres and users' tags (the held-out ones
included), so `tagger evaluate coldstart` never reads the catalog's tags. Instead, per split,
heads are fitted with tagger.learn's own pieces from the training side only:

- labels through the taxonomy's label map, for training titles only: MovieLens and TMDB genres
  and TMDB keywords (content metadata), and MovieLens users' tags, which carry time and
  exposure: under the temporal split only those applied up to the cutoff;
- feature rows (FeatureBuilder) from the synopsis vectors the catalog holds (nothing is
  encoded again), and the synopses' words;
- heads only on the genre and fine-grained tags with at least MIN_POSITIVES positive labels,
  with a small penalty grid and three folds (train.py chooses and calibrates on them).

Cross-fitted: a training title's probabilities come from heads fitted on the other folds of the
training titles (train.py's own folds), a held-out title's from one of those folds' heads. The
taste model then learns how far to trust the block from probabilities as noisy as a new title's, and the
`tagger` method's validation split inside training is scored honestly too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tagger.learn.metrics import GROUPS
from tagger.learn.train import TrainSettings
from tagger.recommend.items import ItemTable

FACETS = GROUPS["genres"] + GROUPS["fine"]
MIN_POSITIVES = 20          # positive (and negative) labels among the training titles for a head
# Cheaper than `tagger train tags` (five folds, six and four penalties, 10,000 words), as the
# evaluation fits heads six times: on the temporal split's new titles these settings lose 0.005
# of mean average precision (0.411 against 0.415) for 40% of the time. min_positive_grid (1,):
# MIN_POSITIVES has chosen the tags already.
SETTINGS = TrainSettings(folds=3, dense_penalties=(3.0,), text_penalties=(3e-4,), max_terms=4000,
                         min_positive_grid=(1,))


@dataclasses.dataclass
class FittingRows:
    """What the heads of one split learn from: item-table rows and their labels over `tag_ids`."""
    rows: np.ndarray          # item-table rows (training titles with a label)
    tag_ids: list[str]        # the tags that get heads
    labels: np.ndarray        # (rows, tags) 1/0
    weights: np.ndarray       # (rows, tags) 0 where unknown


class LearnedTags:
    """Feature rows of an item table's titles, and labels read per split; `items_for` gives the
    table with the cross-fitted probabilities as its tags."""

    def __init__(self, data_dir: str | Path, items: ItemTable, *, taxonomy_name: str = "default", encoder=None,
                 min_positives: int = MIN_POSITIVES):
        from tagger.learn.features import FeatureBuilder, TitleInputs
        from tagger.learn.label_map import label_map_path, load_label_map
        from tagger.tagging.taxonomy import load_taxonomy
        from tagger.text.encoder import get_encoder

        started = time.perf_counter(), time.process_time()
        self.data_dir = Path(data_dir)
        self.min_positives = min_positives
        self.taxonomy = load_taxonomy(taxonomy_name)
        self.label_map = load_label_map(label_map_path(self.taxonomy), self.taxonomy)
        self.tag_ids = [t.id for t in self.taxonomy.tags if t.facet in FACETS]
        self.labels_of = {t.id: t.label for t in self.taxonomy.tags}
        self.title_ids, self.synopses = list(items.ids), list(items.synopses)
        # The encoder builds the prompt bank of the zero-shot block; synopses are not encoded.
        self.builder = FeatureBuilder(encoder or get_encoder(), self.taxonomy)
        vectors = np.asarray(items.embeddings["text"], np.float32)
        has = np.linalg.norm(vectors, axis=1) > 0
        self.rows = self.builder.rows([TitleInputs(synopsis_vector=v if h else None) for v, h in zip(vectors, has)])
        self._label_sets: dict = {}
        self._fitted: dict = {}
        # For the evaluation's record: what each split's heads learned from, and the seconds.
        self.report: dict = {"settings": {**dataclasses.asdict(SETTINGS), "min_positives": min_positives},
                             "splits": [], "seconds": 0.0, "cpu_seconds": 0.0}
        self._count_time(started)

    def _count_time(self, started: tuple[float, float]) -> None:
        self.report["seconds"] = round(self.report["seconds"] + time.perf_counter() - started[0], 1)
        self.report["cpu_seconds"] = round(self.report["cpu_seconds"] + time.process_time() - started[1], 1)

    def fitting_rows(self, train_items: np.ndarray, cutoff_s: float | None = None) -> FittingRows:
        """The training titles with a label, and their labels; users' tags only up to `cutoff_s`."""
        from tagger.learn.labels import read_public_labels

        if cutoff_s not in self._label_sets:
            label_set = read_public_labels(self.data_dir, self.label_map, user_tags_before_s=cutoff_s)
            self._label_sets[cutoff_s] = label_set.matrix(self.title_ids, self.tag_ids)
        labels, weights = self._label_sets[cutoff_s]
        rows = np.flatnonzero(np.asarray(train_items, bool) & (weights.sum(axis=1) > 0))
        labels, weights = labels[rows], weights[rows]
        known = weights > 0
        enough = (((labels > 0.5) & known).sum(axis=0) >= self.min_positives) \
            & (((labels <= 0.5) & known).sum(axis=0) >= self.min_positives)
        return FittingRows(rows, [t for t, ok in zip(self.tag_ids, enough) if ok], labels[:, enough],
                           weights[:, enough])

    def probabilities(self, train_items: np.ndarray, cutoff_s: float | None = None,
                      seed: int = 0) -> tuple[list[str], np.ndarray]:
        """(tag ids, (titles, tags) calibrated probabilities), cross-fitted (module docstring)."""
        key = (hashlib.sha1(np.asarray(train_items, bool).tobytes()).hexdigest(), cutoff_s, seed)
        if key not in self._fitted:
            started = time.perf_counter(), time.process_time()
            fit = self.fitting_rows(train_items, cutoff_s)
            self._fitted[key] = fit.tag_ids, cross_fitted(self.rows, self.synopses, fit, seed=seed)
            self.report["splits"].append({"users_tags_up_to_s": cutoff_s, "seed": seed,
                                          "fitting_titles": int(len(fit.rows)), "heads": len(fit.tag_ids)})
            self._count_time(started)
        return self._fitted[key]

    def items_for(self, items: ItemTable, train_items: np.ndarray, cutoff_s: float | None = None,
                  seed: int = 0) -> ItemTable:
        """`items` with the learned probabilities of this split as its tags."""
        tag_ids, probability = self.probabilities(train_items, cutoff_s, seed)
        return dataclasses.replace(items, tag_ids=tag_ids, tag_labels=[self.labels_of[t] for t in tag_ids],
                                   tags=sp.csr_matrix(probability.astype(np.float32)))


def cross_fitted(rows: np.ndarray, synopses: list[str], fit: FittingRows, *, settings: TrainSettings = SETTINGS,
                 seed: int = 0) -> np.ndarray:
    """(titles, tags) probabilities from train()'s folds: out of fold for `fit.rows`, and for every
    other title from one fold's heads, so that both sides are equally noisy (a title scored by
    heads fitted on all training titles would be sharper than any the taste model learned from)."""
    from tagger.learn.train import train

    out = np.zeros((len(rows), len(fit.tag_ids)), np.float32)
    if not fit.tag_ids or len(fit.rows) < settings.folds:
        return out
    others = np.setdiff1d(np.arange(len(rows)), fit.rows)
    fitted = train(rows[fit.rows], [synopses[i] for i in fit.rows], fit.labels, fit.weights, fit.tag_ids, {},
                   dataclasses.replace(settings, seed=seed), unseen=(rows[others], [synopses[i] for i in others]))
    columns = [fit.tag_ids.index(t) for t in fitted.tag_ids]
    out[np.ix_(fit.rows, columns)] = fitted.out_of_fold
    out[np.ix_(others, columns)] = fitted.unseen
    return out
