"""The tags stage on a hand-made context: title tags from the title's scores, scene tags from
each scene's own scores (kept apart in TitleContext.scene_scores), all as TagRecords."""
from tagger.catalog.records import TagRecord
from tagger.scenes.split import SceneCut, SplitResult
from tagger.stages.base import Evidence, TitleContext
from tagger.stages.tags import TagsStage
from tagger.tagging.taxonomy import load_taxonomy
from tagger.titles import TitleInput


def _run(scores=(), scene_scores=()) -> TitleContext:
    scenes = [SceneCut(i, 48 * i, 48 * (i + 1), 2.0 * i, 2.0 * (i + 1)) for i in range(2)]
    ctx = TitleContext(title=TitleInput("t", "T", "test"), split=SplitResult(scenes, 96), scene_features=[{}, {}])
    for modality, tag_id, evidence in scores:
        ctx.add_score(modality, tag_id, evidence)
    for modality, tag_id, evidence in scene_scores:
        ctx.add_scene_score(modality, tag_id, evidence)
    TagsStage(TagsStage.Settings(), taxonomy=load_taxonomy("default")).run(ctx)
    return ctx


def test_a_scene_score_tags_its_scene_only():
    ctx = _run(scores=[("text", "western", Evidence("text", 0.8, "synopsis"))],
               scene_scores=[("clip", "horror", Evidence("clip", 0.9, "keyframes", scene=1, start_s=2.0, end_s=4.0))])
    assert all(isinstance(t, TagRecord) for t in ctx.tags)
    by_place = {(t.tag, t.scene): t for t in ctx.tags}
    assert set(by_place) == {("western", None), ("horror", 1)}
    horror = by_place[("horror", 1)]
    assert (horror.facet, horror.label, horror.confidence, horror.status) == ("genre", "Horror", 0.9, "auto")
    assert horror.modalities == ["clip"] and horror.evidence[0]["scene"] == 1
    assert by_place[("western", None)].modalities == ["text"]


def test_a_fired_child_lifts_its_parent_with_the_childs_evidence():
    ctx = _run(scores=[("text", "noir", Evidence("text", 0.8, "synopsis"))])
    by_tag = {t.tag: t for t in ctx.tags}
    crime = by_tag["crime"]
    assert (crime.facet, crime.label, crime.scene, crime.confidence) == ("genre", "Crime", None, 0.72)
    assert crime.modalities == ["text"]
    assert crime.evidence == [{"modality": "tags", "score": 0.72, "source": "child", "value": "noir"}]
    assert by_tag["noir"].confidence == 0.8
