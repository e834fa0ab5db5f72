"""Which of a title's candidate images a viewer sees: LinearUCB over each candidate's context.

The context of candidate c for viewer u is

    [1, f_c, f_c * (look_u - 0.5), taste_c]

f_c its DESCRIBED_BY numbers; look_u the mean of those numbers over the candidates of the
titles u liked (0.5 each with no history: a dark-thriller viewer's look is dark), so the
population prior learns "viewers who watch dark titles click dark images"; taste_c how much of
the viewer's tag profile the candidate's scene tags carry. The prior theta0 is fitted on every
logged impression; a viewer's own impressions and clicks move theirs (tagger.home.bandits).
"""
from __future__ import annotations

import numpy as np

from tagger.home.artwork import DESCRIBED_BY
from tagger.home.bandits import LinearUCB, fit_prior

N_FEATURES = len(DESCRIBED_BY)
CONTEXT_SIZE = 2 + 2 * N_FEATURES
# Before any impression is logged: the look matters, a little of the taste; bright over dark not at all.
DEFAULT_PRIOR = np.concatenate([[0.1], np.zeros(N_FEATURES), np.full(N_FEATURES, 0.4), [0.2]])
WORDS = {"brightness": ("bright", "dark"), "warmth": ("warm", "cool"), "colour": ("colourful", "muted"),
         "faces": ("faces", "no faces"), "scenery": ("scenery", "close-ups"), "motion": ("action", "stillness"),
         "crowd": ("crowds", "few people")}


def contexts(features: np.ndarray, look: np.ndarray, taste: np.ndarray) -> np.ndarray:
    """(candidates, CONTEXT_SIZE) from (candidates, N_FEATURES) features, the viewer's look and taste."""
    n = len(features)
    return np.hstack([np.ones((n, 1)), features, features * (look[None, :] - 0.5), np.asarray(taste)[:, None]])


def viewer_look(table, liked_rows, weights=None) -> np.ndarray:
    """The mean features of the candidates of the titles a viewer liked (0.5 each: none)."""
    rows = np.asarray(liked_rows, np.int64)
    mass = np.ones(len(rows)) if weights is None else np.maximum(np.asarray(weights, float), 0.0)
    has = table.count[rows] > 0
    if not has.any() or mass[has].sum() <= 0:
        return np.full(N_FEATURES, 0.5)
    return np.average(table.title_features[rows[has]], axis=0, weights=mass[has])


def viewer_looks(table, liked_rows: list) -> np.ndarray:
    """viewer_look (unweighted) of many viewers at once: (viewers, N_FEATURES)."""
    width = max([len(rows) for rows in liked_rows] + [1])
    rows = np.zeros((len(liked_rows), width), np.int64)
    has = np.zeros((len(liked_rows), width), bool)
    for u, mine in enumerate(liked_rows):
        rows[u, :len(mine)] = mine
        has[u, :len(mine)] = True
    has &= table.count[rows] > 0
    count = has.sum(axis=1)
    total = (table.title_features[rows] * has[:, :, None]).sum(axis=1, dtype=np.float64)
    return np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None], 0.5)


def _reason_words() -> list[str]:
    """The reason of each code (ArtworkChooser._reason_codes): without own clicks, then with."""
    plain = ["the only candidate", "no preference yet", "scenes like what you watch"]
    clicked = ["the only candidate", "no preference yet", "scenes like what you watch; your clicks favour it"]
    for name in DESCRIBED_BY:
        for word in WORDS[name]:
            plain.append(f"{word}: it suits what you watch")
            clicked.append(f"{word}: your clicks favour it")
    return plain + clicked


REASON_WORDS = _reason_words()
REASONS = len(REASON_WORDS) // 2


class ArtworkChooser:
    """Chooses a candidate per (viewer, title) and says why."""

    def __init__(self, table, prior: np.ndarray | None = None, *, ridge: float = 4.0, alpha: float = 0.1):
        self.table = table
        self.bandit = LinearUCB(DEFAULT_PRIOR if prior is None else prior, ridge=ridge, alpha=alpha)

    @staticmethod
    def fit_prior(logged_contexts: np.ndarray, clicks: np.ndarray) -> np.ndarray | None:
        """theta0 from every logged impression's context and click (None: too few to say)."""
        if len(clicks) < 50 or np.sum(clicks) < 5:
            return None
        return fit_prior(logged_contexts, clicks)

    def choose_pages(self, titles: list[list[int]], looks: np.ndarray, profiles: list[np.ndarray],
                     shown: list[tuple[np.ndarray, np.ndarray]], own_clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For many viewers at once: viewer u's titles (item rows), look, tag profile, shown
        images (candidate numbers, clicked) and how many images they ever clicked
        -> (candidate numbers, reason codes), each
        (viewers, most titles), -1 where no title or no candidate; `reason_text` says a code."""
        table, d = self.table, CONTEXT_SIZE
        n, width = len(titles), max([len(t) for t in titles] + [1])
        rows = np.full((n, width), -1, np.int64)
        for u, mine in enumerate(titles):
            rows[u, :len(mine)] = mine
        count = np.where(rows >= 0, table.count[np.maximum(rows, 0)], 0)
        if not count.any():
            return np.full((n, width), -1), np.full((n, width), -1)
        most = max(int(count.max(initial=0)), 1)
        numbers = table.first[np.maximum(rows, 0)][:, :, None] + np.arange(most)
        valid = np.arange(most) < count[:, :, None]                        # (n, titles, candidates)
        numbers = np.where(valid, numbers, 0)
        viewer = np.broadcast_to(np.arange(n)[:, None, None], numbers.shape)
        taste = np.zeros(numbers.shape)
        taste[valid] = self._taste(numbers[valid], viewer[valid], profiles)
        # Each viewer's state: the prior, plus what they were shown and clicked.
        A = np.broadcast_to(self.bandit.ridge * np.eye(d), (n, d, d)).copy()
        b = np.broadcast_to(self.bandit.ridge * self.bandit.prior_mean, (n, d)).copy()
        sizes = np.array([len(mine[0]) for mine in shown], np.int64)
        if sizes.any():
            u_of = np.repeat(np.arange(n), sizes)
            number_of = np.concatenate([mine[0] for mine in shown]).astype(np.int64)
            clicked = np.concatenate([mine[1] for mine in shown]).astype(np.float64)
            S = self._contexts(number_of, looks[u_of], self._taste(number_of, u_of, profiles))
            import scipy.sparse as sp

            owner = sp.csr_matrix((np.ones(len(u_of)), (u_of, np.arange(len(u_of)))), shape=(n, len(u_of)))
            A += (owner @ (S[:, :, None] * S[:, None, :]).reshape(len(S), d * d)).reshape(n, d, d)
            b += owner @ (clicked[:, None] * S)
        A_inv = np.linalg.inv(A)
        theta = np.einsum("nde,ne->nd", A_inv, b)
        # A candidate's context x = [1, f, f * (look - 0.5), taste] is lift_u @ z for z = [1, f,
        # taste]: scores and spreads over every candidate work on z (8 numbers, not 14).
        lift = self._lift(looks)                                            # (n, d, 8)
        z = np.concatenate([np.ones(numbers.shape + (1,)), table.features[numbers].astype(np.float64),
                            taste[..., None]], axis=-1)                     # (n, titles, candidates, 8)
        flat = z.reshape(n, -1, z.shape[-1])
        spread = np.einsum("nkz,nkz->nk", np.matmul(flat, lift.transpose(0, 2, 1) @ A_inv @ lift), flat)
        weights = (theta[:, None, :] @ lift)[:, 0, :]                       # z . weights = x . theta
        scores = (flat @ weights[:, :, None])[..., 0] + self.bandit.alpha * np.sqrt(np.maximum(spread, 0.0))
        scores = scores.reshape(valid.shape)
        best = np.argmax(np.where(valid, scores, -np.inf), axis=2)
        picked = np.take_along_axis(z, best[:, :, None, None], axis=2)[:, :, 0] @ lift.transpose(0, 2, 1)
        mean = np.einsum("ntcz,ntc->ntz", z, valid.astype(np.float64)) / np.maximum(count, 1)[:, :, None]
        mean = mean @ lift.transpose(0, 2, 1)
        codes = self._reason_codes(theta[:, None, :] * (picked - mean), picked, mean, count)
        codes = np.where(codes >= 0, codes + REASONS * (np.asarray(own_clicks)[:, None] > 0), codes)
        chosen = np.where(count > 0, np.take_along_axis(numbers, best[:, :, None], axis=2)[:, :, 0], -1)
        return chosen, np.where(count > 0, codes, -1)

    @staticmethod
    def _lift(looks: np.ndarray) -> np.ndarray:
        """(viewers, CONTEXT_SIZE, 2 + N_FEATURES): x = lift @ [1, f, taste] for each viewer's look."""
        n, f = len(looks), N_FEATURES
        lift = np.zeros((n, CONTEXT_SIZE, 2 + f))
        lift[:, 0, 0] = 1.0
        lift[:, 1:1 + f, 1:1 + f] = np.eye(f)
        lift[:, 1 + f:1 + 2 * f, 1:1 + f] = (np.asarray(looks, np.float64) - 0.5)[:, :, None] * np.eye(f)
        lift[:, -1, -1] = 1.0
        return lift

    def _taste(self, numbers: np.ndarray, viewer: np.ndarray, profiles: list[np.ndarray]) -> np.ndarray:
        """taste_match of candidate numbers[p] for viewer[p] (ArtworkTable.taste_match, per pair)."""
        tags = self.table.tags
        tops = np.array([float(p.max(initial=0.0)) if len(p) else 0.0 for p in profiles])
        starts, ends = tags.indptr[numbers], tags.indptr[numbers + 1]
        lengths = ends - starts
        entry = np.arange(lengths.sum()) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        pair = np.repeat(np.arange(len(numbers)), lengths)
        stacked = np.array(profiles, float).reshape(len(profiles), -1)
        scaled = np.divide(stacked, tops[:, None], out=np.zeros_like(stacked), where=tops[:, None] > 0)
        values = tags.data[entry].astype(np.float64) * scaled[viewer[pair], tags.indices[entry]]
        return np.bincount(pair, values, minlength=len(numbers)) / np.maximum(self.table.tag_mass[numbers], 1e-9)

    def _contexts(self, numbers, look, taste) -> np.ndarray:
        features = self.table.features[numbers].astype(np.float64)
        ones = np.ones(features.shape[:-1] + (1,))
        return np.concatenate([ones, features, features * (look - 0.5), np.asarray(taste)[..., None]], axis=-1)

    @staticmethod
    def _reason_codes(gain: np.ndarray, picked: np.ndarray, mean: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Why the pick, as a number (REASON_WORDS says it): 0 the only candidate, 1 no preference
        yet, 2 scenes like what you watch, 3 + 2 x feature + (0 high, 1 low) the feature that sets
        the pick apart most (its weight times its distance from the candidates' mean); REASONS
        more where the viewer's own clicks count."""
        i = np.argmax(gain, axis=-1)
        column = 1 + (i - 1) % N_FEATURES
        high = np.take_along_axis(picked, column[..., None], -1)[..., 0] >= np.take_along_axis(mean, column[..., None], -1)[..., 0]
        codes = np.where(i == CONTEXT_SIZE - 1, 2, 3 + 2 * (column - 1) + (~high))
        codes = np.where(gain.max(axis=-1) <= 1e-6, 1, codes)
        return np.where(count == 1, 0, codes)
