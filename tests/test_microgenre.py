"""Micro-genre names from hand-built scored tag lists."""
from __future__ import annotations

import random

import pytest

from tagger.tagging.microgenre import micro_genres
from tagger.tagging.taxonomy import MicrogenreGrammar, Tag, load_taxonomy

GRAMMAR = MicrogenreGrammar(
    connectors=(("about", "about"), ("set_in", "set in"), ("for", "for")),
    max_adjectives=2, max_phrases=2,
    adjective_order=("mood", "pacing", "visual_style", "subgenre", "genre"))


def tag(tag_id: str, facet: str, **microgenre: str) -> Tag:
    return Tag(id=tag_id, facet=facet, label=tag_id, description="d", prompts=("p",),
               microgenre=microgenre)


THRILLER = tag("thriller", "genre", noun="Thrillers")
DRAMA = tag("drama", "genre", noun="Dramas")
CRIME = tag("crime", "genre", noun="Crime Stories", adjective="Crime")
DARK = tag("dark", "mood", adjective="Dark")
PSYCH = tag("psychological-thriller", "subgenre", adjective="Psychological")
SLOW = tag("slow-burn", "pacing", adjective="Slow-burn")
STRIKING = tag("visually-striking", "visual_style", adjective="Visually Striking")
SMALL_TOWN = tag("small-town", "setting", set_in="Small Towns")
OBSESSION = tag("obsession", "themes", about="Obsession")
TEENS = tag("teens", "audience", **{"for": "Teens"})
GRIEF = tag("grief", "themes", about="Grief")


def test_dark_psychological_thrillers():
    scored = [(THRILLER, 0.9), (DARK, 0.8), (PSYCH, 0.7)]
    names = micro_genres(scored, GRAMMAR)
    assert names[0] == "Dark Psychological Thrillers"
    # later names may only drop words, which would say nothing new, so there are none
    assert names == ["Dark Psychological Thrillers"]


def test_input_order_does_not_matter():
    scored = [(THRILLER, 0.9), (DRAMA, 0.6), (DARK, 0.8), (PSYCH, 0.7), (SLOW, 0.5),
              (SMALL_TOWN, 0.4), (OBSESSION, 0.3)]
    expected = micro_genres(scored, GRAMMAR)
    rng = random.Random(0)
    for _ in range(5):
        shuffled = scored[:]
        rng.shuffle(shuffled)
        assert micro_genres(shuffled, GRAMMAR) == expected


def test_no_noun_gives_no_names():
    assert micro_genres([(DARK, 0.9), (PSYCH, 0.8), (SMALL_TOWN, 0.7)], GRAMMAR) == []
    assert micro_genres([], GRAMMAR) == []


def test_noun_alone_gives_the_plain_noun():
    assert micro_genres([(THRILLER, 0.9)], GRAMMAR) == ["Thrillers"]


def test_at_most_two_strongest_adjectives_in_facet_order():
    scored = [(THRILLER, 0.9), (PSYCH, 0.85), (SLOW, 0.8), (DARK, 0.3)]
    first = micro_genres(scored, GRAMMAR)[0]
    # the two strongest adjectives (psychological, slow-burn), pacing before subgenre
    assert first == "Slow-burn Psychological Thrillers"


def test_phrases_strongest_two_in_connector_order():
    scored = [(DRAMA, 0.9), (TEENS, 0.3), (SMALL_TOWN, 0.8), (OBSESSION, 0.7)]
    first = micro_genres(scored, GRAMMAR)[0]
    assert first == "Dramas about Obsession set in Small Towns"
    # one phrase per role: the weaker "about" tag never joins the stronger one
    names = micro_genres(scored + [(GRIEF, 0.6)], GRAMMAR, max_names=5)
    for name in names:
        assert name.count(" about ") <= 1
        assert name.count(" set in ") <= 1


def test_example_with_all_parts():
    scored = [(DRAMA, 0.9), (CRIME, 0.85), (SLOW, 0.7), (SMALL_TOWN, 0.6)]
    names = micro_genres(scored, GRAMMAR)
    assert names[0] == "Slow-burn Crime Dramas set in Small Towns"
    # the second name changes the noun
    assert names[1] == "Slow-burn Crime Stories set in Small Towns"


def test_names_are_distinct_limited_and_always_have_a_noun():
    scored = [(THRILLER, 0.9), (DRAMA, 0.85), (CRIME, 0.8), (DARK, 0.75), (PSYCH, 0.7),
              (SLOW, 0.65), (STRIKING, 0.6), (SMALL_TOWN, 0.5), (OBSESSION, 0.45), (TEENS, 0.4)]
    for max_names in (1, 2, 3, 5):
        names = micro_genres(scored, GRAMMAR, max_names=max_names)
        assert 1 <= len(names) <= max_names
        assert len(set(names)) == len(names)
        for name in names:
            assert any(noun in name for noun in ("Thrillers", "Dramas", "Crime Stories"))
    assert micro_genres(scored, GRAMMAR, max_names=0) == []


def test_no_repeated_words():
    dark_comedy = tag("dark-comedy", "subgenre", noun="Dark Comedies")
    romance = tag("romance", "genre", noun="Romances", adjective="Romantic")
    romcom = tag("romantic-comedy", "subgenre", adjective="Romantic")
    scored = [(dark_comedy, 0.9), (DARK, 0.8), (romance, 0.7), (romcom, 0.6), (TEENS, 0.5)]
    names = micro_genres(scored, GRAMMAR, max_names=5)
    assert names
    for name in names:
        words = [w.lower() for w in name.split()]
        assert len(words) == len(set(words)), name
        assert "Romantic Romances" not in name  # same root


def test_ties_break_on_tag_id_and_weak_scores_are_ignored():
    a = tag("a-genre", "genre", noun="Alphas")
    b = tag("b-genre", "genre", noun="Betas")
    assert micro_genres([(b, 0.5), (a, 0.5)], GRAMMAR)[0] == "Alphas"
    assert micro_genres([(a, 0.0), (b, 0.5)], GRAMMAR) == ["Betas"]
    # a repeated tag keeps its best confidence
    assert micro_genres([(a, 0.1), (b, 0.5), (a, 0.9)], GRAMMAR)[0] == "Alphas"


@pytest.mark.parametrize("scored, expected", [
    ((("thriller", .9), ("dark", .8), ("psychological-thriller", .7)),
     "Dark Psychological Thrillers"),
    ((("documentary", .9), ("nature-documentary", .85), ("visually-striking", .8),
      ("animals", .5)), "Visually Striking Nature Documentaries about Animals"),
    ((("comedy", .9), ("romantic-comedy", .85), ("witty", .8), ("teens", .5)),
     "Witty Romantic Comedies for Teens"),
    ((("comedy", .9), ("feel-good", .85), ("coming-of-age", .8)),
     "Feel-good Coming-of-age Comedies"),
    ((("drama", .9), ("crime", .85), ("slow-burn", .7), ("small-town", .6)),
     "Slow-burn Crime Dramas set in Small Towns"),
])
def test_default_taxonomy_grammar(scored, expected):
    tax = load_taxonomy("default")
    names = micro_genres([(tax.tag(t), c) for t, c in scored], tax.grammar)
    assert names[0] == expected


def test_one_adjective_per_facet():
    documentary = tag("documentary", "genre", noun="Documentaries")
    nature = tag("nature-documentary", "subgenre", adjective="Nature")
    wildlife = tag("wildlife-documentary", "subgenre", adjective="Wildlife")
    names = micro_genres([(documentary, 0.9), (nature, 0.85), (wildlife, 0.8), (SLOW, 0.6)], GRAMMAR)
    assert names[0] == "Slow-burn Nature Documentaries"
    assert all(not ("Nature" in n and "Wildlife" in n) for n in names)
