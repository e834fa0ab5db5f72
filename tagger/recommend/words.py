"""The words of a title's synopsis and genres as TF-IDF, and a viewer's profile as the mean of
their titles' rows: names, places and franchises ("Hermione", "Gotham") that a sentence
embedding blurs, so a sequel finds the viewers of the film before it."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tagger.recommend.items import ItemTable


def documents(items: ItemTable) -> list[str]:
    """Each title's synopsis plus its genres as tokens (genre_sci_fi)."""
    return [f"{s} {' '.join('genre_' + g.replace('-', '_') for g in gs)}"
            for s, gs in zip(items.synopses, items.genres)]


class SynopsisWords:
    def __init__(self, items: ItemTable):
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = documents(items)
        try:
            self.vectors = TfidfVectorizer(min_df=2, max_df=0.5, stop_words="english",
                                           sublinear_tf=True).fit_transform(docs).tocsr()
        except ValueError:          # no word in two titles (a tiny catalog): no opinion
            self.vectors = sp.csr_matrix((len(docs), 0))

    def scores(self, histories: list[np.ndarray], candidates: np.ndarray) -> np.ndarray:
        """(len(histories), len(candidates)): the profile's dot product with each candidate's row."""
        width = self.vectors.shape[1]
        profiles = sp.vstack([sp.csr_matrix(self.vectors[np.asarray(h, np.int64)].mean(axis=0)) if len(h)
                              else sp.csr_matrix((1, width)) for h in histories])
        return np.asarray((profiles @ self.vectors[candidates].T).todense(), np.float64)
