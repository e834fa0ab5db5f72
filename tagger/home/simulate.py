"""A world of viewers with hidden, known preferences, and what a uniformly random policy logs in it.

Titles each have a genre, a popularity and CANDIDATES images whose brightness follows the genre
(thrillers darker, comedies brighter) with spread, and a share of faces. Viewers have

    taste       over genres (Dirichlet): their history is drawn from it, 10 titles
    bright      a preference for bright (+) or dark (-) images: their genres' lean plus their own
    faces       a preference for faces (+) or scenery (-), their own
    mainstream  how much the popular row draws them, and `novelty` the new row

Nothing the policies see is hidden: they get each viewer's history (and from it the look of the
titles they watched), the images' features and the logged impressions and clicks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.home.artwork import DESCRIBED_BY

CANDIDATES = 4
HISTORY = 10
GENRE_LEAN = (-1.0, -0.6, -0.2, 0.2, 0.6, 1.0)      # how bright each genre's images are, and its fans like them


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class World:
    genre: np.ndarray          # (titles,)
    popularity: np.ndarray     # (titles,) sums to 1
    images: np.ndarray         # (titles, CANDIDATES, len(DESCRIBED_BY))
    taste: np.ndarray          # (viewers, genres)
    bright: np.ndarray         # (viewers,)
    faces: np.ndarray
    mainstream: np.ndarray
    novelty: np.ndarray
    history: np.ndarray        # (viewers, HISTORY) title ids

    @property
    def n_genres(self) -> int:
        return self.taste.shape[1]

    def look(self) -> np.ndarray:
        """(viewers, features): the mean image features of each viewer's history (what the product's
        viewer_look computes from liked titles)."""
        return self.images[self.history].mean(axis=(1, 2))

    def click_image(self, viewer, title, candidate) -> np.ndarray:
        f = self.images[title, candidate]
        taste = self.taste[viewer, self.genre[title]] * self.n_genres
        return _sigmoid(-2.4 + 0.5 * taste + 2.2 * self.bright[viewer] * (f[..., 0] - 0.5) * 2
                        + 1.0 * self.faces[viewer] * (f[..., 3] - 0.5) * 2)

    def rows(self) -> list[str]:
        return [f"genre {g}" for g in range(self.n_genres)] + ["popular", "new"]

    def click_row(self, viewer, row) -> np.ndarray:
        """Chance the viewer opens something from a row shown first."""
        g = self.n_genres
        genre_pull = np.where(row < g, self.taste[viewer, np.minimum(row, g - 1)] * g, 0.0)
        pull = np.where(row == g, self.mainstream[viewer], np.where(row == g + 1, self.novelty[viewer], genre_pull))
        return _sigmoid(-2.6 + 0.6 * pull)

    def would_finish(self, viewer) -> np.ndarray:
        """(titles,) whether the viewer would finish each title: their favourite genre, not watched yet."""
        out = self.genre == np.argmax(self.taste[viewer])
        out[self.history[viewer]] = False
        return out


def make_world(seed: int, n_titles: int = 300, n_viewers: int = 400) -> World:
    rng = np.random.default_rng(seed)
    n_genres = len(GENRE_LEAN)
    lean = np.array(GENRE_LEAN)
    genre = rng.integers(0, n_genres, n_titles)
    popularity = rng.pareto(1.5, n_titles) + 0.1
    popularity /= popularity.sum()
    images = np.full((n_titles, CANDIDATES, len(DESCRIBED_BY)), 0.5)
    images[:, :, 0] = np.clip(0.5 + 0.25 * lean[genre][:, None] + rng.uniform(-0.3, 0.3, (n_titles, CANDIDATES)), 0, 1)
    images[:, :, 3] = rng.uniform(0, 1, (n_titles, CANDIDATES))
    images[:, :, 4] = 1 - images[:, :, 3]
    taste = rng.dirichlet(np.full(n_genres, 0.4), n_viewers)
    bright = np.clip(taste @ lean + rng.normal(0, 0.5, n_viewers), -1.5, 1.5)
    faces = rng.choice([-1.0, 1.0], n_viewers) * rng.uniform(0.3, 1.0, n_viewers)
    history = np.stack([rng.choice(n_titles, HISTORY, replace=False, p=_normal(taste[u][genre] * popularity))
                        for u in range(n_viewers)])
    return World(genre, popularity, images, taste, bright, faces, rng.uniform(0, 2, n_viewers),
                 rng.uniform(0, 2, n_viewers), history)


def _normal(p):
    return p / p.sum()


def log_images(world: World, seed: int, per_viewer: int = 120) -> dict[str, np.ndarray]:
    """Impressions in time order: a title the viewer has not watched, drawn by popularity, shown
    with an image drawn uniformly (propensity 1 / CANDIDATES), and whether it was clicked."""
    rng = np.random.default_rng(seed)
    n_viewers = len(world.taste)
    viewer = np.repeat(np.arange(n_viewers), per_viewer)
    title = rng.choice(len(world.genre), len(viewer), p=world.popularity)
    shown = rng.integers(0, CANDIDATES, len(viewer))
    click = rng.random(len(viewer)) < world.click_image(viewer, title, shown)
    order = rng.permutation(len(viewer))            # viewers interleave in time
    return {"viewer": viewer[order], "title": title[order], "shown": shown[order], "click": click[order]}


def log_rows(world: World, seed: int, per_viewer: int = 150) -> dict[str, np.ndarray]:
    """Page views: the first row drawn uniformly from every row, and whether it was clicked."""
    rng = np.random.default_rng(seed)
    n_viewers, n_rows = len(world.taste), len(world.rows())
    viewer = np.repeat(np.arange(n_viewers), per_viewer)
    shown = rng.integers(0, n_rows, len(viewer))
    click = rng.random(len(viewer)) < world.click_row(viewer, shown)
    order = rng.permutation(len(viewer))
    return {"viewer": viewer[order], "shown": shown[order], "click": click[order]}
