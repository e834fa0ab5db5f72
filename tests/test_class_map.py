"""The class map beside the taxonomy (ImageNet classes -> tags), its reader and its errors, and
how its evidence reaches tags: never the only support for a genre."""
import numpy as np
import pytest

from tagger.errors import InputError
from tagger.stages.base import Evidence, TitleContext
from tagger.tagging.class_map import class_map_path, load_class_map
from tagger.tagging.taxonomy import load_taxonomy
from tagger.titles import TitleInput

NAMES = tuple(f"class {i}" for i in range(10)) + ("tabby", "Great White Shark")


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy("default")


def write(tmp_path, text):
    path = tmp_path / "map.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_map_names_known_classes_and_tags(taxonomy):
    from tagger.vision.efficientnet import class_names

    names = class_names()
    class_map = load_class_map(class_map_path(taxonomy), taxonomy, names)
    assert class_map_path(taxonomy).parent.name == "imagenet"
    assert class_map.tags_by_class[names.index("Cardigan")] == ("animals",)     # the dog, not the sweater
    assert names.index("cardigan") not in class_map.tags_by_class
    for index in range(398):                     # every animal class is evidence for animals
        assert "animals" in class_map.tags_by_class[index], names[index]
    assert class_map.tags_by_class[names.index("seashore")] == ("the-sea", "nature")
    assert names.index("cheeseburger") not in class_map.tags_by_class       # food names no tag
    assert {"the-sea", "the-arctic", "war", "animals"} <= set(class_map.tag_ids)


def test_classes_compare_by_case_and_sum_into_a_matrix(tmp_path, taxonomy):
    path = write(tmp_path, '[imagenet]\n"Great White  Shark" = ["the-sea", "animals"]\ntabby = "animals"\n'
                           '"class 3" = []\n')
    class_map = load_class_map(path, taxonomy, NAMES)
    assert class_map.tags_by_class == {11: ("the-sea", "animals"), 10: ("animals",)}
    assert class_map.tag_ids == ("animals", "the-sea")
    probabilities = np.zeros((1, len(NAMES)), np.float32)
    probabilities[0, [10, 11, 3]] = [0.2, 0.5, 0.3]
    np.testing.assert_allclose(probabilities @ class_map.matrix(len(NAMES)), [[0.7, 0.5]])


@pytest.mark.parametrize("text, line, message", [
    ('[imagenet]\n"tabby" = ["animals"]\n"tabbby" = ["animals"]\n', 3, r"tabbby: not an ImageNet class.*'tabby'"),
    ('[imagenet]\n"tabby" = ["animal"]\n', 2, r"tabby: unknown tag 'animal'.*'animals'"),
    ('[imagenet]\n"tabby" = [1]\n', 2, r"tabby: must be a tag id or a list of tag ids"),
    ('[imagenet]\n"tabby" = ["animals"]\n"Tabby" = ["animals"]\n', 3, r"Tabby: not an ImageNet class.*'tabby'"),
    ('[imagenet]\n"tabby" = ["animals"]\n"tabby " = ["animals"]\n', 3, "class given twice"),
    ('[imagenet]\n"tabby" = ["animals"]\n\n[labels]\nx = 1\n', 4, r"unknown table \[labels\]"),
    ('[imagenet]\n"tabby" = [animals]\n', 2, "invalid TOML"),
    ('tabby = ["animals"]\n', 1, r"unknown table \[tabby\]"),
    ('# nothing\n', None, r"expected a table \[imagenet\]"),
])
def test_errors_name_the_file_and_line(tmp_path, taxonomy, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        load_class_map(path, taxonomy, NAMES)
    assert caught.value.path == str(path) and caught.value.line == line


def test_a_missing_map_is_an_error_naming_it(tmp_path, taxonomy):
    with pytest.raises(InputError, match="cannot read the class map") as caught:
        load_class_map(tmp_path / "none.toml", taxonomy, NAMES)
    assert caught.value.path.endswith("none.toml")


def _fused(taxonomy, scores: dict[str, float], tag_id: str):
    """The tags stage's title tag `tag_id` when each modality gives it the score in `scores`."""
    from tagger.stages.tags import TagsStage

    ctx = TitleContext(title=TitleInput(id="t", title="T", source="t"))
    for modality, score in scores.items():
        ctx.add_score(modality, tag_id, Evidence(modality, score, "keyframes", value="rifle"))
    stage = TagsStage(TagsStage.Settings(), taxonomy=taxonomy)
    stage.run(ctx)
    return next((t for t in ctx.tags if t.tag == tag_id), None)


def test_class_evidence_alone_never_makes_a_genre_but_can_make_a_setting(taxonomy):
    assert _fused(taxonomy, {"imagenet": 0.95}, "war") is None
    assert _fused(taxonomy, {"imagenet": 0.95, "text": 0.3}, "war") is None          # text says no
    supported = _fused(taxonomy, {"imagenet": 0.95, "text": 0.6}, "war")
    assert supported.confidence == pytest.approx(0.775) and "imagenet" in supported.modalities
    weak = _fused(taxonomy, {"imagenet": 0.35, "text": 0.6}, "war")                  # only raises
    assert weak.confidence == pytest.approx(0.6) and weak.modalities == ["text"]
    setting = _fused(taxonomy, {"imagenet": 0.8}, "wartime")
    assert setting.confidence == pytest.approx(0.8) and setting.evidence[0]["value"] == "rifle"


def test_editors_see_the_class_behind_the_evidence():
    from tagger.review.present import evidence_text

    assert evidence_text({"modality": "imagenet", "score": 0.76, "source": "keyframes", "scene": 2,
                          "value": "prairie chicken"}) == "imagenet keyframes: prairie chicken (0.76)"
    assert evidence_text({"modality": "clip", "score": 0.5, "source": "keyframes"}) == "clip keyframes (0.50)"


def test_a_taxonomy_without_a_class_map_gets_embeddings_only(tmp_path, taxonomy):
    pytest.importorskip("efficientnet_lite_pytorch")
    from tagger.stages.imagenet import ImagenetStage

    custom = tmp_path / "custom.toml"
    custom.write_text(open(taxonomy.path, encoding="utf-8").read(), encoding="utf-8")
    stage = ImagenetStage(ImagenetStage.Settings(), taxonomy=load_taxonomy(custom))
    stage.setup()
    assert stage.class_map is None and "class_map" not in stage.versions()
    assert stage.spaces() == {"visual": 1280}
    named = ImagenetStage(ImagenetStage.Settings(class_map=str(tmp_path / "gone.toml")), taxonomy=taxonomy)
    with pytest.raises(InputError, match="gone.toml: cannot read the class map"):
        named.setup()
    shipped = ImagenetStage(ImagenetStage.Settings(), taxonomy=taxonomy)
    shipped.setup()
    assert shipped.versions()["class_map"].startswith("default.toml@")
