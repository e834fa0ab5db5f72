"""The heads shipped for the default pipeline, on synopses written for this test: one per genre,
an old film and a foreign one. None of these texts is in the training data."""
import json

import pytest

from tagger.learn.features import FeatureBuilder, TitleInputs
from tagger.learn.heads import TagHeads, resolve_heads
from tagger.tagging.taxonomy import load_taxonomy

SYNOPSES = {
    "thriller": "A court stenographer overhears a coded phone call that sounds like a plan to kill a witness, and with "
                "the police unwilling to believe her she has two days to find out who is on the other end before the "
                "trial opens.",
    "horror": "A family moves into a farmhouse at the edge of a marsh, and every night something scratches at the "
              "cellar door a little louder, until the youngest child stops speaking and starts drawing faces nobody "
              "recognises.",
    "comedy": "Two rival wedding caterers are booked for the same reception by mistake and spend one chaotic "
              "afternoon sabotaging each other's canapés while trying to keep the bride's grandmother from noticing "
              "anything.",
    "drama": "After thirty years at the steelworks, a father loses his job the same month his daughter announces she "
             "is leaving for university, and the family must face the debts and silences they have avoided for years.",
    "romance": "A lighthouse keeper and a travelling botanist exchange letters for a whole winter, and by spring both "
               "must decide whether what they wrote is enough to build a life together.",
    "action": "A retired bomb-disposal expert is forced back into service when mercenaries seize a cargo ship in the "
              "harbour, and she fights her way deck by deck through gunfire and explosions to free the hostages.",
    "adventure": "Three cousins follow their grandfather's hand-drawn map across mountain passes and rope bridges in "
                 "search of a lost monastery said to hold a map of the whole world.",
    "science-fiction": "In 2190 the crew of a mining spaceship orbiting Jupiter discovers that the ship's artificial "
                       "intelligence has been quietly rewriting their memories to hide a signal from an alien world.",
    "fantasy": "An apprentice to a forgetful wizard must carry a cursed crown across an enchanted kingdom of talking "
               "rivers and dragons before the spell that holds back the ice witch breaks.",
    "crime": "A small-time counterfeiter in 1970s Marseille gets in over his head when a mob boss demands a million in "
             "fake bills, and a stubborn police inspector starts following the money.",
    "mystery": "When a famous novelist is found dead in a locked library during a snowstorm, each of the seven guests "
               "at the country house has a motive, and a retired schoolteacher sets out to discover who did it.",
    "documentary": "This documentary follows beekeepers in four countries over one year, with interviews with "
                   "scientists and farmers, to ask why so many hives are collapsing and what it means for the food we eat.",
    "animation": "In this animated film, a small robot vacuum cleaner escapes from an apartment and teams up with a "
                 "pigeon and a lost teddy bear on a colourful journey across the city to find its way home.",
    "family": "A shy ten-year-old and her grandpa enter their scruffy dog in the county fair talent show, and the whole "
              "family pitches in to teach him a trick in time, with plenty of laughs along the way.",
    "war": "In the winter of 1944, a platoon of young soldiers is cut off behind enemy lines in the Ardennes forest and "
           "must hold a bridge against a German tank column until reinforcements arrive.",
    "western": "A widowed rancher in 1880s Wyoming hires a drifting gunslinger to protect her cattle from a land baron's "
               "outlaws, and the showdown comes in the dusty main street of a frontier town.",
    "musical": "A chorus girl on Broadway gets her big break when the star of the show twists her ankle, and she sings "
               "and dances her way through opening night while the composer falls in love with her.",
}
OLD_AND_FOREIGN = {   # (genre, synopsis)
    "a 1924 silent comedy": ("comedy", "In this 1924 silent comedy, a hapless window cleaner dangles from a skyscraper, "
                             "chases his runaway hat through city traffic and accidentally foils a gang of bank robbers "
                             "with a series of slapstick pratfalls."),
    "a samurai film": ("action", "In feudal Japan, a masterless samurai wanders into a village terrorised by bandits "
                       "and agrees to defend the farmers, training them with sword and spear for the bloody battle "
                       "that will come with the rains."),
}


@pytest.fixture(scope="module")
def tag():
    from tagger.text.encoder import get_encoder

    taxonomy = load_taxonomy("default")
    encoder = get_encoder()
    heads = TagHeads.load(resolve_heads("default"), taxonomy=taxonomy, encoder_id=encoder.model_id)
    builder = FeatureBuilder(encoder, taxonomy)

    def run(text: str) -> dict:
        vector = encoder.encode([text])[0]
        return heads.predict_title(builder, TitleInputs(synopsis=text, synopsis_vector=vector))
    run.heads = heads
    return run


@pytest.mark.parametrize("genre", sorted(SYNOPSES))
def test_a_synopsis_written_for_the_test_gets_its_genre(tag, genre):
    predicted = tag(SYNOPSES[genre])
    probability, fired = predicted[genre]
    assert fired, f"{genre} at {probability:.2f} (threshold {tag.heads.threshold(genre):.2f})"


@pytest.mark.parametrize("what", sorted(OLD_AND_FOREIGN))
def test_old_and_foreign_films_get_their_genre(tag, what):
    genre, text = OLD_AND_FOREIGN[what]
    assert tag(text)[genre][1]


def test_no_synopsis_means_no_learned_tags(tag):
    assert tag.heads.predict_title(None, TitleInputs(synopsis=None, synopsis_vector=None)) == {}


def test_the_shipped_heads_record_how_to_rebuild_them():
    folder = resolve_heads("default")
    record = json.loads((folder / "heads.json").read_text(encoding="utf-8"))["record"]
    assert record["command"].startswith("tagger train tags --data ")
    assert set(record["data"]["files"]) >= {"movielens-small/movies.csv", "tmdb/tmdb_5000_movies.csv"}
    assert all(len(digest) == 64 for digest in record["data"]["files"].values())
    assert (folder / "RECIPE.md").is_file()
