"""The two bandits of the home page, plain and seeded: each learns from impression-level rewards
(an impression is a pull, a click a reward of 1).

LinearUCB   artwork: a ridge regression of clicks on a context vector, per viewer, around a
            population prior (prior mean theta0 with precision `ridge`); a candidate scores
            theta . x + alpha sqrt(x' A^-1 x), so a viewer's own clicks move it from the prior
            and what they have seen little of keeps some chance (LinUCB, Li et al. 2010).
BetaRows    rows: a click-through rate per row with a Beta prior of mean `prior_ctr` and weight
            `strength` (pseudo-impressions), updated by the viewer's impressions and clicks on
            that row; rows are ordered by a Thompson sample of it.
"""
from __future__ import annotations

import numpy as np


class LinearUCB:
    def __init__(self, prior_mean: np.ndarray, ridge: float = 4.0, alpha: float = 0.1):
        self.prior_mean = np.asarray(prior_mean, float)
        self.ridge = ridge
        self.alpha = alpha

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) of a viewer with no impressions: the prior alone."""
        d = len(self.prior_mean)
        return self.ridge * np.eye(d), self.ridge * self.prior_mean.copy()

    @staticmethod
    def update(state: tuple[np.ndarray, np.ndarray], x: np.ndarray, reward: float) -> None:
        A, b = state
        A += np.outer(x, x)
        b += reward * x

    @staticmethod
    def posterior(state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(theta, A^-1): once per viewer, then `scores` for as many candidates as needed."""
        A_inv = np.linalg.inv(state[0])
        return A_inv @ state[1], A_inv

    def scores(self, posterior: tuple[np.ndarray, np.ndarray], contexts: np.ndarray) -> np.ndarray:
        """Upper confidence bound of each row of contexts (candidates, d)."""
        theta, A_inv = posterior
        width = np.sqrt(np.maximum(np.einsum("cd,de,ce->c", contexts, A_inv, contexts), 0.0))
        return contexts @ theta + self.alpha * width


def fit_prior(contexts: np.ndarray, rewards: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """theta0 of the population: ridge regression of every logged reward on its context."""
    X = np.asarray(contexts, float)
    if len(X) == 0:
        return np.zeros(X.shape[1] if X.ndim == 2 else 0)
    return np.linalg.solve(X.T @ X + ridge * np.eye(X.shape[1]), X.T @ np.asarray(rewards, float))


class BetaRows:
    def __init__(self, strength: float = 20.0):
        self.strength = strength

    def sample(self, prior_ctr: np.ndarray, shown: np.ndarray, clicks: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        """One Thompson draw of each row's click-through rate."""
        return rng.beta(*self.beta_parameters(prior_ctr, shown, clicks))

    def beta_parameters(self, prior_ctr: np.ndarray, shown: np.ndarray,
                        clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) of each row's Beta posterior (any shape: many viewers' rows at once)."""
        prior_ctr = np.clip(np.asarray(prior_ctr, float), 1e-3, 1 - 1e-3)
        clicks = np.minimum(np.asarray(clicks, float), shown)
        return (1e-3 + self.strength * prior_ctr + clicks,
                1e-3 + self.strength * (1 - prior_ctr) + np.asarray(shown, float) - clicks)
