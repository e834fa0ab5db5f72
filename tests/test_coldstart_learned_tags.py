"""Learned tags inside the cold-start protocol: heads fitted from training-side labels only (no
held-out title's labels, no users' tag after the cutoff), and a block whose weight 0 changes
nothing. Small synthetic data; no shared data needed."""
import dataclasses
import json

import numpy as np
import pytest
import scipy.sparse as sp
from recommend_data import checkerboard_items, checkerboard_likes, ratings_of
from test_learn import HashEncoder, write_csv

from tagger.recommend.content import ContentWeights
from tagger.recommend.evaluate import coldstart
from tagger.recommend.evaluate.learned_tags import LearnedTags
from tagger.recommend.evaluate.splits import TrainSet, item_cold
from tagger.recommend.items import ItemTable
from tagger.recommend.model import Recommender, RecommenderSettings

N = 48
CUTOFF_S = 1000
WORDS = {"Action": "explosion chase gunfight rooftop", "Comedy": "wedding picnic karaoke bakery"}


def genre_of(movie: int, flipped: bool = False) -> str:
    genre = "Action" if movie % 2 else "Comedy"
    return {"Action": "Comedy", "Comedy": "Action"}[genre] if flipped else genre


def write_data(root, *, flip=()):
    """N MovieLens titles with TMDB overviews, alternately Action and Comedy (`flip`: movie ids
    whose genres are swapped). Users' tags: "heist" on movie 1 after the cutoff only, on
    movie 3 before it, and on every other Action title before it (the Comedy titles get a tag the
    label map knows and does not map: negatives for "heist")."""
    ml, tmdb = root / "movielens-small", root / "tmdb"
    movies = range(1, N + 1)
    write_csv(ml / "movies.csv", ["movieId", "title", "genres"],
              [[m, f"Film {m} (2000)", genre_of(m, m in flip)] for m in movies])
    write_csv(ml / "links.csv", ["movieId", "imdbId", "tmdbId"], [[m, m, 1000 + m] for m in movies])
    write_csv(ml / "ratings.csv", ["userId", "movieId", "rating", "timestamp"], [[1, m, 4.0, m] for m in movies])
    tags = [[1, 1, "heist", CUTOFF_S + 50], [1, 3, "heist", CUTOFF_S - 50]]
    tags += [[2, m, "heist" if genre_of(m, m in flip) == "Action" else "in netflix queue", 10]
             for m in movies if m not in (1, 3)]
    write_csv(ml / "tags.csv", ["userId", "movieId", "tag", "timestamp"], tags)
    write_csv(tmdb / "tmdb_5000_movies.csv", ["id", "title", "overview", "genres", "keywords", "original_language",
                                              "release_date"],
              [[1000 + m, f"Film {m}", f"A story of {WORDS[genre_of(m)]} number {m}.",
                json.dumps([{"id": 1, "name": genre_of(m, m in flip)}]), "[]", "en", "2000-01-01"] for m in movies])
    return root


def item_table() -> ItemTable:
    rng = np.random.default_rng(0)
    vectors = np.zeros((N, 8), np.float32)
    for m in range(1, N + 1):
        vectors[m - 1, 0 if genre_of(m) == "Action" else 1] = 1.0
    vectors += rng.normal(0, 0.3, vectors.shape).astype(np.float32)
    ids = [f"ml-{m}" for m in range(1, N + 1)]
    return ItemTable(ids=ids, titles=ids, synopses=[f"A story of {WORDS[genre_of(m)]} number {m}." for m in range(1, N + 1)],
                     genres=[[] for _ in ids], year=np.full(N, 2000.0), regions=[[] for _ in ids],
                     added_s=np.zeros(N), tag_ids=[], tag_labels=[], tags=sp.csr_matrix((N, 0), dtype=np.float32),
                     embeddings={"text": vectors / np.linalg.norm(vectors, axis=1, keepdims=True)})


HELD = np.array([0, 5, 10, 16, 21, 30, 41])     # item rows: ml-1 among them, not ml-3


def training_items() -> np.ndarray:
    train = np.ones(N, bool)
    train[HELD] = False
    return train


def test_heads_are_fitted_from_training_titles_and_users_tags_up_to_the_cutoff(tmp_path):
    items = item_table()
    learned = LearnedTags(write_data(tmp_path / "data"), items, encoder=HashEncoder(), min_positives=1)
    train = training_items()
    fit = learned.fitting_rows(train, cutoff_s=CUTOFF_S)
    assert not set(fit.rows.tolist()) & set(HELD.tolist())
    assert set(fit.rows.tolist()) == set(np.flatnonzero(train).tolist())     # each has genres
    heist, row_of = fit.tag_ids.index("heist"), {r: i for i, r in enumerate(fit.rows)}
    assert fit.labels[row_of[2], heist] == 1                 # ml-3: tagged before the cutoff
    # ml-1 held out, tagged after the cutoff: under the random split (no cutoff) and as a
    # training title it is a positive; with the cutoff its tag is never read.
    everything = np.ones(N, bool)
    assert learned.fitting_rows(everything).labels[0, heist] == 1
    assert learned.fitting_rows(everything, cutoff_s=CUTOFF_S).labels[0, heist] == 0
    assert learned.fitting_rows(everything, cutoff_s=CUTOFF_S).weights[0, heist] == 0   # unknown, not negative


def test_held_out_titles_labels_never_move_any_probability(tmp_path):
    items = item_table()
    train = training_items()

    def probabilities(flip):
        learned = LearnedTags(write_data(tmp_path / f"data-{len(flip)}-{sum(flip)}", flip=flip), items,
                              encoder=HashEncoder(), min_positives=3)
        return learned.probabilities(train, CUTOFF_S, seed=0)

    tags, base = probabilities(())
    assert {"action", "comedy", "heist"} <= set(tags)
    held_movies = tuple(int(r) + 1 for r in HELD)
    tags_again, again = probabilities(held_movies)       # every held-out title's genres swapped
    assert tags_again == tags and np.array_equal(again, base)
    _, moved = probabilities((2, 4))                       # two training titles' genres swapped
    assert not np.array_equal(moved, base)
    action = tags.index("action")
    is_action = np.array([genre_of(m) == "Action" for m in range(1, N + 1)])
    assert base[HELD, action][is_action[HELD]].min() > base[HELD, action][~is_action[HELD]].max()


def tagged(items: ItemTable, seed: int = 0) -> ItemTable:
    probability = np.random.default_rng(seed).random((len(items), 5)).astype(np.float32)
    return dataclasses.replace(items, tag_ids=[f"t{j}" for j in range(5)], tag_labels=[f"T{j}" for j in range(5)],
                               tags=sp.csr_matrix(probability))


def test_a_tags_block_weighted_zero_scores_as_without_it():
    items = checkerboard_items(10)
    items = dataclasses.replace(items, tag_ids=[], tag_labels=[], tags=sp.csr_matrix((len(items), 0), dtype=np.float32))
    likes, times, _ = checkerboard_likes(items, users_per_group=6, likes_per_user=5)
    histories, candidates = [np.array([0, 1]), np.array([12, 13, 14])], np.arange(len(items))

    def scores(table, tags_weight):
        settings = RecommenderSettings(content=ContentWeights(tags=tags_weight), words_weight=1.0,
                                       content_collab_weight=1.0, age_weight=0.3)
        return Recommender(settings).fit_matrix(table, likes, times).score(histories, candidates, now_s=None)

    without = scores(items, 0.5)
    assert np.array_equal(scores(tagged(items), 0.0), without)
    assert not np.allclose(scores(tagged(items), 1.0), without)


def test_item_cold_tuning_offers_the_tags_block_and_reports_it_forced_off():
    items = checkerboard_items(10)
    items = dataclasses.replace(items, tag_ids=[], tag_labels=[], tags=sp.csr_matrix((len(items), 0), dtype=np.float32))
    likes, times, _ = checkerboard_likes(items, users_per_group=8, likes_per_user=6)
    train, _ = item_cold(ratings_of(likes, times), 0)
    seen = []

    def features(split: TrainSet, table: ItemTable) -> ItemTable:
        seen.append(split)
        return tagged(table)

    tagger, forced_off = coldstart.item_cold_methods(0, item_features=features)
    assert [tagger.name, forced_off.name] == ["tagger", coldstart.NO_LEARNED_TAGS]
    with_tags = tagger.fit(train, items)
    without = forced_off.fit(train, items)
    assert seen == [train]
    assert with_tags.settings.content.tags in (0.0, *coldstart.TAGS_WEIGHTS)
    assert without.settings.content.tags == 0.0 and without.items.tags.shape[1] == 0
    assert "tags" not in without.layout
    assert coldstart.item_cold_methods(0) and len(coldstart.item_cold_methods(0)) == 1


@pytest.mark.parametrize("weight", coldstart.TAGS_WEIGHTS)
def test_tags_weights_on_offer_build_the_block(weight):
    items = tagged(checkerboard_items(4))
    likes, times, _ = checkerboard_likes(items, users_per_group=4, likes_per_user=3)
    model = Recommender(RecommenderSettings(content=ContentWeights(tags=weight))).fit_matrix(items, likes, times)
    assert "tags" in model.layout
