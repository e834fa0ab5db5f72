"""The synopsis's words as TF-IDF: the heads' lexical part ("heist", "zombies", "high school"
name fine-grained tags that a sentence embedding blurs). Written out here rather than taken from
scikit-learn so that ingest needs only the vocabulary, the idf and this tokeniser."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

_TOKEN = re.compile(r"(?u)\b\w\w+\b")   # scikit-learn's default: words of two or more characters


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Terms:
    vocabulary: tuple[str, ...]
    idf: np.ndarray   # (terms,)

    @classmethod
    def fit(cls, texts: list[str], *, max_terms: int = 10000, min_titles: int = 2) -> Terms:
        """The `max_terms` most frequent words that are not English stop words and occur in at
        least `min_titles` texts; smoothed idf, as scikit-learn's TfidfVectorizer."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        counts, titles = Counter(), Counter()
        for text in texts:
            words = [w for w in tokens(text) if w not in ENGLISH_STOP_WORDS]
            counts.update(words)
            titles.update(set(words))
        kept = sorted((w for w in counts if titles[w] >= min_titles), key=lambda w: (-counts[w], w))[:max_terms]
        kept.sort()
        idf = np.array([math.log((1 + len(texts)) / (1 + titles[w])) + 1 for w in kept], np.float32)
        return cls(tuple(kept), idf)

    @cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocabulary)}

    def weights(self, text: str | None) -> tuple[np.ndarray, np.ndarray]:
        """One text's (term columns, weights): sublinear term frequency x idf, L2-normalised."""
        index = self.index
        found = Counter(index[w] for w in tokens(text or "") if w in index)
        columns = np.fromiter(found.keys(), np.int64, len(found))
        row = (1 + np.log(np.fromiter(found.values(), np.float32, len(found)))) * self.idf[columns]
        norm = float(np.linalg.norm(row))
        return columns, (row / norm if norm else row)

    def transform(self, texts: list[str]):
        """(texts, terms) scipy CSR of `weights` rows."""
        from scipy.sparse import csr_matrix

        indptr, indices, values = [0], [], []
        for text in texts:
            columns, row = self.weights(text)
            indices.extend(columns.tolist())
            values.extend(row.tolist())
            indptr.append(len(indices))
        return csr_matrix((np.array(values, np.float32), np.array(indices, np.int64), np.array(indptr)),
                          shape=(len(texts), len(self.vocabulary)))
