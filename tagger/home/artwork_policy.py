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
         "faces": ("faces", "no faces"), "scenery": ("scenery", "close-ups"), "motion": ("action", "stillness")}


def contexts(features: np.ndarray, look: np.ndarray, taste: np.ndarray) -> np.ndarray:
    """(candidates, CONTEXT_SIZE) from (candidates, N_FEATURES) features, the viewer's look and taste."""
    n = len(features)
    return np.hstack([np.ones((n, 1)), features, features * (look[None, :] - 0.5), np.asarray(taste)[:, None]])


def viewer_look(table, liked_rows, weights=None) -> np.ndarray:
    """The mean features of the candidates of the titles a viewer liked (0.5 each: none)."""
    picks, mass = [], []
    for row, weight in zip(liked_rows, np.ones(len(liked_rows)) if weights is None else weights):
        candidates = table.of(int(row))
        if len(candidates):
            picks.append(table.features[candidates.start:candidates.stop].mean(axis=0))
            mass.append(max(float(weight), 0.0))
    if not picks or sum(mass) <= 0:
        return np.full(N_FEATURES, 0.5)
    return np.average(np.array(picks), axis=0, weights=mass)


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

    def viewer_state(self, look: np.ndarray, taste: np.ndarray, shown) -> tuple:
        """The viewer's bandit state after their shown images [(title row, candidate number, clicked)];
        taste: the table's taste_match for the viewer."""
        state = self.bandit.start()
        if shown:
            numbers = np.array([number for _, number, _ in shown])
            X = contexts(self.table.features[numbers], look, taste[numbers])
            state[0][:] += X.T @ X
            state[1][:] += X.T @ np.array([float(clicked) for _, _, clicked in shown])
        return state

    def choose(self, rows: list[int], look: np.ndarray, taste: np.ndarray, state,
               own_clicks: int) -> list[tuple[int | None, str | None]]:
        """(candidate number, reason) for each title in item rows `rows`; (None, None) without
        candidates. taste: the table's taste_match for the viewer."""
        posterior = self.bandit.posterior(state)
        spans = [self.table.of(int(row)) for row in rows]
        numbers = np.concatenate([np.arange(s.start, s.stop) for s in spans] + [np.zeros(0, np.int64)])
        if len(numbers) == 0:
            return [(None, None)] * len(rows)
        X = contexts(self.table.features[numbers], look, taste[numbers])
        scores = self.bandit.scores(posterior, X)
        out, at = [], 0
        for span in spans:
            if len(span) == 0:
                out.append((None, None))
                continue
            mine = slice(at, at + len(span))
            best = int(np.argmax(scores[mine]))
            out.append((span.start + best, self._reason(X[mine], best, posterior[0], own_clicks)))
            at += len(span)
        return out

    @staticmethod
    def _reason(X: np.ndarray, best: int, theta: np.ndarray, own_clicks: int) -> str:
        gain = theta * (X[best] - X.mean(axis=0))             # what sets the pick apart from the others
        if len(X) == 1:
            return "the only candidate"
        if gain.max() <= 1e-6:
            return "no preference yet"
        i = int(np.argmax(gain))
        if i == CONTEXT_SIZE - 1:
            return "scenes like what you watch" + ("; your clicks favour it" if own_clicks else "")
        else:
            column = 1 + (i - 1) % N_FEATURES                  # the feature behind it, plain or times the look
            high = X[best, column] >= X[:, column].mean()
            what = WORDS[DESCRIBED_BY[column - 1]][0 if high else 1]
        source = "your clicks favour it" if own_clicks else "it suits what you watch"
        return f"{what}: {source}"
