"""Learned tag heads inside ingest: the tags stage takes a headed tag's calibrated probability
and fires it at the head's own threshold, the other tags say why no head decided them, the
heads' version is part of what decides re-analysis, and the review queue measures a learned
tag against its own threshold."""
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from tagger.catalog.db import Catalog
from tagger.errors import InputError
from tagger.learn.features import FeatureBuilder
from tagger.learn.heads import TagHeads, resolve_heads
from tagger.stages.base import Evidence, TitleContext
from tagger.stages.tags import TagsStage
from tagger.stages.text import TextStage
from tagger.tagging.taxonomy import load_taxonomy
from tagger.titles import TitleInput

from test_review import PIPELINE, make_result

HORROR = ("A family moves into an old farmhouse where something in the cellar starts to whisper at "
          "night. One by one the children vanish, and the mother finds their drawings of a pale "
          "creature with too many teeth.")


@pytest.fixture(scope="module")
def stages():
    taxonomy = load_taxonomy("default")
    text = TextStage(TextStage.Settings(), taxonomy=taxonomy)
    tags = TagsStage(TagsStage.Settings(model="default"), taxonomy=taxonomy)
    text.setup()
    tags.setup()
    return text, tags


def run(stages, title: TitleInput, scores=()) -> TitleContext:
    text, tags = stages
    ctx = TitleContext(title=title)
    if title.synopsis:
        text.run(ctx)
    for modality, tag_id, evidence in scores:
        ctx.add_score(modality, tag_id, evidence)
    tags.run(ctx)
    return ctx


def test_a_headed_tag_gets_the_heads_probability_and_fires_at_its_own_threshold(stages):
    text, tags = stages
    ctx = run(stages, TitleInput("h", "The Cellar", "test", synopsis=HORROR))
    heads = tags.heads
    # The same probability computed apart from the stage, from the synopsis alone.
    builder = FeatureBuilder(text.encoder, tags.taxonomy)
    vector = text.encoder.encode([HORROR])
    expected = heads.probabilities(builder.rows([dataclasses.replace(_inputs(vector[0]))]), [HORROR])[0]
    by_tag = {t.tag: t for t in ctx.tags if t.scene is None}
    assert "horror" in by_tag
    horror = by_tag["horror"]
    assert "learned" in horror.modalities
    assert horror.confidence == pytest.approx(expected[heads.tag_ids.index("horror")], abs=1e-4)
    assert horror.evidence[0]["modality"] == "learned" and horror.evidence[0]["value"] == heads.version
    for tag in by_tag.values():
        if "learned" in tag.modalities:
            assert tag.confidence >= heads.threshold(tag.tag) - 1e-4
    # Headed tags over their threshold are kept unless their facet is full.
    fired = {tag_id for j, tag_id in enumerate(heads.tag_ids) if expected[j] >= heads.thresholds[j]}
    for tag_id in fired - set(by_tag):
        facet = tags.taxonomy.tag(tag_id).facet
        assert sum(t.facet == facet for t in by_tag.values()) == tags.taxonomy.facet(facet).max_tags
    assert "romantic-comedy" not in by_tag


def _inputs(vector):
    from tagger.learn.features import TitleInputs

    return TitleInputs(synopsis=HORROR, synopsis_vector=vector)


def test_without_a_synopsis_tags_are_fused_and_say_why_no_head_decided(stages):
    ctx = run(stages, TitleInput("v", "Video only", "test"),
              scores=[("clip", "horror", Evidence("clip", 0.9, "keyframes")),
                      ("visual", "dark", Evidence("visual", 0.8, "feature"))])
    by_tag = {t.tag: t for t in ctx.tags}
    assert by_tag["horror"].modalities == ["clip"] and by_tag["horror"].confidence == 0.9
    reasons = [e["value"] for e in by_tag["horror"].evidence if e.get("source") == "fallback"]
    assert reasons == ["no synopsis for the heads to read"]


def test_a_tag_without_a_head_says_so(stages):
    text, tags = stages
    unheaded = next(t.id for t in tags.taxonomy.tags if t.id not in tags.heads.tag_ids and not t.parent)
    ctx = run(stages, TitleInput("h", "The Cellar", "test", synopsis=HORROR),
              scores=[("visual", unheaded, Evidence("visual", 0.95, "feature"))])
    tag = next(t for t in ctx.tags if t.tag == unheaded)
    assert "learned" not in tag.modalities
    assert [e["value"] for e in tag.evidence if e.get("source") == "fallback"] == [tags.heads.fallback[unheaded]]


def test_heads_for_another_text_model_are_an_error_naming_the_file_and_field(stages):
    _, tags = stages
    trained_on = tags.heads.layout.encoder_id
    tags._check_encoder(trained_on + "@onnx")   # the same model on ONNX Runtime
    with pytest.raises(InputError) as raised:
        tags._check_encoder("sentence-transformers/paraphrase-MiniLM-L3-v2")
    assert raised.value.field == "encoder_id" and raised.value.path.endswith("heads.json")
    assert "paraphrase-MiniLM-L3-v2" in str(raised.value)
    tags._check_encoder(trained_on)


def test_other_heads_change_the_stage_versions_and_the_run_details(tmp_path):
    taxonomy = load_taxonomy("default")
    heads = TagHeads.load(resolve_heads("default"), taxonomy=taxonomy)
    heads.thresholds = heads.thresholds.copy()
    heads.thresholds[0] = np.float32(min(0.99, heads.thresholds[0] + 0.05))
    heads.save(tmp_path / "mine")
    shipped = TagsStage(TagsStage.Settings(model="default"), taxonomy=taxonomy)
    mine = TagsStage(TagsStage.Settings(model=str(tmp_path / "mine")), taxonomy=taxonomy)
    none = TagsStage(TagsStage.Settings(), taxonomy=taxonomy)
    assert shipped.versions()["heads"] != mine.versions()["heads"]
    assert "heads" not in none.versions() and none.details() == {}
    details = mine.details()["heads"]
    assert details["thresholds"][heads.tag_ids[0]] == pytest.approx(float(heads.thresholds[0]), abs=1e-4)
    assert details["positives"]["thriller"] == heads.record["validation"]["tags"]["thriller"]["positives"] > 100


def test_a_missing_heads_folder_is_a_settings_error(tmp_path):
    problem = TagsStage.Settings(model=str(tmp_path / "nowhere")).validate()
    assert problem is not None and problem[0] == "model" and "no tag heads" in problem[1]


def test_the_queue_measures_a_learned_tag_against_its_own_threshold(tmp_path):
    learned_run = {**PIPELINE, "details": {"tags": {"heads": {"model": "default", "version": "v",
                                                             "thresholds": {"thriller": 0.3, "tense": 0.3},
                                                             "positives": {"thriller": 3, "tense": 3}}}}}
    catalog = Catalog(tmp_path / "c.db")
    run_id = catalog.start_run(tagger_version="0", pipeline=learned_run, versions={})
    result = make_result("t1", tags=(("thriller", "genre", "Thriller", 0.4), ("tense", "mood", "Tense", 0.4)))
    result.tags[0].modalities = ["learned"]   # the heads decided thriller; tense was fused
    catalog.write_title(result, run_id=run_id)
    from tagger.review.queue import review_queue

    queue = {item["tag"]: item for item in review_queue(catalog, limit=None, today=dt.date(2024, 6, 1))}
    assert queue["thriller"]["uncertainty"] == pytest.approx(1 - 0.1 / 0.7, abs=1e-4)
    assert queue["tense"]["uncertainty"] == 1.0   # under the run's 0.5: right at the edge
    # What an answer teaches: a head trained on 3 positives learns much from one more; a tag
    # no head decided counts fully.
    assert queue["thriller"]["gain"] == pytest.approx((1 + 1 / 2) / 2) and queue["tense"]["gain"] == 1.0
    parts = (1 + queue["thriller"]["recency"] + queue["thriller"]["reach"]) / 3
    assert queue["thriller"]["priority"] == pytest.approx(queue["thriller"]["uncertainty"] * 0.75 * parts, abs=2e-4)
    # A new day keeps each tag's uncertainty and moves only recency.
    later = {item["tag"]: item for item in review_queue(catalog, limit=None, today=dt.date(2025, 6, 1))}
    assert later["thriller"]["uncertainty"] == queue["thriller"]["uncertainty"]
    assert later["thriller"]["gain"] == queue["thriller"]["gain"]
    assert later["thriller"]["recency"] < queue["thriller"]["recency"]


def test_review_shows_what_decided_a_tag():
    from tagger.review.present import evidence_text

    assert evidence_text({"modality": "learned", "score": 0.8123, "source": "heads", "value": "abc"}) == \
        "learned heads abc: probability 0.81"
    assert evidence_text({"modality": "tags", "score": 0.0, "source": "fallback",
                          "value": "3 positive labels (fewer than 10)"}) == "not learned: 3 positive labels (fewer than 10)"


def test_a_head_that_says_no_to_a_parent_vetoes_an_unlearned_child(stages):
    _, tags = stages
    child = "true-crime"
    parent = tags.taxonomy.tag(child).parent
    assert child not in tags.heads.tag_ids and parent in tags.heads.tag_ids
    title = TitleInput("h", "The Cellar", "test", synopsis=HORROR)
    ctx = run(stages, title, scores=[("clip", child, Evidence("clip", 0.97, "keyframes"))])
    assert parent not in {t.tag for t in ctx.tags}          # the head: not a documentary
    assert child not in {t.tag for t in ctx.tags}
    # Without a synopsis no head speaks, and the same score fires the child (and lifts the parent).
    ctx = run(stages, TitleInput("v", "Video only", "test"), scores=[("clip", child, Evidence("clip", 0.97, "keyframes"))])
    assert {child, parent} <= {t.tag for t in ctx.tags}


def test_shipped_heads_for_another_taxonomy_are_left_out_with_a_warning(tmp_path, caplog):
    from tagger.tagging.taxonomy import load_taxonomy as load

    mini = tmp_path / "mini.toml"
    mini.write_text('[taxonomy]\nid = "mini"\nversion = "1"\n'
                    '[[facets]]\nid = "genre"\nlabel = "Genre"\ndescription = "d"\n'
                    '[[tags]]\nid = "horror"\nfacet = "genre"\nlabel = "Horror"\ndescription = "d"\n'
                    'prompts = ["a horror film"]\n')
    stage = TagsStage(TagsStage.Settings(model="default"), taxonomy=load(mini))
    with caplog.at_level("WARNING", logger="tagger"):
        stage.setup()
    assert stage.heads is None and "heads" not in stage.versions() and stage.details() == {}
    assert [r.message for r in caplog.records if "trained for taxonomy 'default'" in r.message]
    # Heads in a folder the user named must match: an error naming the file and field.
    TagHeads.load(resolve_heads("default")).save(tmp_path / "mine")
    with pytest.raises(InputError) as raised:
        TagsStage(TagsStage.Settings(model=str(tmp_path / "mine")), taxonomy=load(mini)).setup()
    assert raised.value.field == "taxonomy" and raised.value.path.endswith("heads.json")


def test_shipped_heads_stay_when_only_rules_change(tmp_path, caplog):
    """An editor's copy of the shipped taxonomy with a rule threshold moved keeps the learned
    heads: they read tag ids and prompts, not rules."""
    from tagger.tagging.taxonomy import load_taxonomy as load

    shipped = load("default")
    text = Path(shipped.path).read_text(encoding="utf-8")
    copy = tmp_path / "default.toml"
    copy.write_text(text.replace('feature = "audio.music_arousal", below = 0.35', 'feature = "audio.music_arousal", '
                                 'below = 0.3', 1), encoding="utf-8")
    edited = load(copy)
    assert edited.digest != shipped.digest
    stage = TagsStage(TagsStage.Settings(model="default"), taxonomy=edited)
    with caplog.at_level("WARNING", logger="tagger"):
        stage.setup()
    assert stage.heads is not None and "heads" in stage.versions()
    assert not [r for r in caplog.records if "trained for taxonomy" in r.message]
