"""The titles a recommender ranks: metadata, content embeddings and reviewed tags, by row."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from tagger.errors import UnknownIdError
from tagger.recommend.saved import prefixed, sparse_arrays, sparse_matrix, unprefixed

# Editors' decisions stick: a rejected tag is gone, an accepted or added one is certain.
DECIDED_CONFIDENCE = {"accepted": 1.0, "added": 1.0}
EMBEDDING_SPACES = ("text", "visual", "audio")


@dataclass
class ItemTable:
    ids: list[str]
    titles: list[str]
    synopses: list[str]
    genres: list[list[str]]            # the provider's genres (metadata), not tags
    year: np.ndarray                   # float, NaN where unknown
    regions: list[list[str]]
    added_s: np.ndarray                # when the title entered the catalog (unix seconds)
    tag_ids: list[str]
    tag_labels: list[str]
    tags: sp.csr_matrix                # (titles, tags) confidence in [0, 1]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)   # space -> (titles, dim), zero rows where missing

    def __post_init__(self):
        self.index = {title_id: i for i, title_id in enumerate(self.ids)}
        if len(self.index) != len(self.ids):
            raise ValueError("title ids repeat in the item table")
        self.tags = sp.csr_matrix(self.tags, dtype=np.float32)
        self.tags.sum_duplicates()      # tag_rows reads the arrays directly

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, title_ids) -> np.ndarray:
        """Row numbers of title ids; an unknown id raises UnknownIdError naming it."""
        out = []
        for title_id in title_ids:
            if title_id not in self.index:
                raise UnknownIdError("title", title_id, "not in the catalog (see `tagger list`)")
            out.append(self.index[title_id])
        return np.array(out, dtype=np.int64)

    def tag_rows(self, rows) -> np.ndarray:
        """Dense (len(rows), tags) confidences of a few titles, read straight from the sparse
        arrays (scipy's row slicing costs ~0.2 ms a call, which adds up within one query)."""
        rows = np.asarray(rows, np.int64)
        starts = self.tags.indptr[rows]
        lengths = self.tags.indptr[rows + 1] - starts
        before = np.cumsum(lengths) - lengths
        positions = np.arange(lengths.sum()) + np.repeat(starts - before, lengths)
        out = np.zeros((len(rows), self.tags.shape[1]), np.float32)
        out[np.repeat(np.arange(len(rows)), lengths), self.tags.indices[positions]] = self.tags.data[positions]
        return out

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """The table as named arrays (numbers) and JSON-able parameters (ids and text)."""
        arrays = {"year": self.year, "added_s": self.added_s, **prefixed("tags", sparse_arrays(self.tags)),
                  **prefixed("embeddings", self.embeddings)}
        params = {"ids": self.ids, "titles": self.titles, "synopses": self.synopses, "genres": self.genres,
                  "regions": self.regions, "tag_ids": self.tag_ids, "tag_labels": self.tag_labels}
        return arrays, params

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> "ItemTable":
        return cls(**params, year=arrays["year"], added_s=arrays["added_s"],
                   tags=sparse_matrix(unprefixed("tags", arrays)), embeddings=unprefixed("embeddings", arrays))

    @classmethod
    def from_catalog(cls, catalog) -> "ItemTable":
        """Every title whose last ingest succeeded, with its current (reviewed) title-level tags."""
        titles = catalog.analysed_titles()
        ids = [t["id"] for t in titles]
        index = {t: i for i, t in enumerate(ids)}
        meta = [t["metadata"] for t in titles]
        tag_rows = catalog.effective_title_tags()   # (title_id, tag, label, confidence, status)
        tag_ids = sorted({tag for _, tag, _, _, _ in tag_rows})
        tag_index = {t: i for i, t in enumerate(tag_ids)}
        labels = {tag: label for _, tag, label, _, _ in tag_rows}
        r, c, v = [], [], []
        for title_id, tag, _, confidence, status in tag_rows:
            if title_id in index:
                r.append(index[title_id])
                c.append(tag_index[tag])
                v.append(DECIDED_CONFIDENCE.get(status, confidence))
        tags = sp.csr_matrix((np.array(v, np.float32), (r, c)), shape=(len(ids), len(tag_ids)))
        embeddings = {}
        for space in EMBEDDING_SPACES:
            found = [(title_id, vector) for title_id, vector in catalog.embedding_vectors(space) if title_id in index]
            if not found:
                continue
            dim = found[0][1].size
            matrix = np.zeros((len(ids), dim), np.float32)
            for title_id, vector in found:
                if vector.size == dim:   # a title from an older model of another size stays zero
                    matrix[index[title_id]] = vector
            embeddings[space] = matrix
        return cls(ids=ids, titles=[t["title"] for t in titles], synopses=[m.get("synopsis") or "" for m in meta],
                   genres=[list(m.get("genres") or []) for m in meta],
                   year=np.array([m.get("year") or _year_of(m.get("release_date")) for m in meta], float),
                   regions=[list(m.get("regions") or []) for m in meta],
                   added_s=np.array([_unix_s(t["created_at"]) for t in titles], float),
                   tag_ids=tag_ids, tag_labels=[labels[t] for t in tag_ids], tags=tags, embeddings=embeddings)


def _year_of(release_date: str | None) -> float:
    return float(release_date[:4]) if release_date else np.nan


def _unix_s(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()
