"""The CLIP stage's real loading and batching code, with a tiny model of random weights.

Only shapes, normalisation, batching and the skip path are checked: random weights say
nothing about images, and tagger never turns them into tags outside tests.
"""
import numpy as np
import pytest

open_clip = pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

from tagger.vision.clip import ClipEncoder, WeightsUnavailable, resolve_weights  # noqa: E402

# tiny_checkpoint (conftest.py): the model "tagger-tiny-clip" with random weights.


def _images(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for _ in range(count)]


def test_loads_a_local_checkpoint_and_embeds_normalised_rows(tiny_checkpoint):
    encoder = ClipEncoder.load("tagger-tiny-clip", str(tiny_checkpoint), batch_size=2)
    images = encoder.encode_images(_images(5))
    texts = encoder.encode_texts(["a dark alley at night", "a sunny beach", "a forest"])
    assert images.shape == (5, 32) and texts.shape == (3, 32)
    assert images.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert encoder.dimension == 32


def test_batching_does_not_change_embeddings(tiny_checkpoint):
    small = ClipEncoder.load("tagger-tiny-clip", str(tiny_checkpoint), batch_size=2)
    large = ClipEncoder.load("tagger-tiny-clip", str(tiny_checkpoint), batch_size=16)
    frames = _images(5, seed=1)
    np.testing.assert_allclose(small.encode_images(frames), large.encode_images(frames), atol=1e-5)


def test_checkpoint_weights_are_the_ones_loaded(tiny_checkpoint):
    """Two loads of one checkpoint agree; a model with other random weights does not."""
    a = ClipEncoder.load("tagger-tiny-clip", str(tiny_checkpoint))
    b = ClipEncoder.load("tagger-tiny-clip", str(tiny_checkpoint))
    frames = _images(2, seed=2)
    np.testing.assert_allclose(a.encode_images(frames), b.encode_images(frames), atol=1e-6)
    torch.manual_seed(123)
    other = open_clip.create_model("tagger-tiny-clip", pretrained=None)
    _, _, preprocess = open_clip.create_model_and_transforms("tagger-tiny-clip", pretrained=None)
    c = ClipEncoder(other, preprocess, open_clip.get_tokenizer("tagger-tiny-clip"), model_id="random")
    assert not np.allclose(a.encode_images(frames), c.encode_images(frames), atol=1e-3)


def test_missing_checkpoint_is_unavailable_with_a_clear_message(tmp_path):
    with pytest.raises(WeightsUnavailable, match="not found"):
        ClipEncoder.load("ViT-B-32", str(tmp_path / "missing.pt"))


def test_no_weights_configured_is_refused():
    with pytest.raises(WeightsUnavailable, match="pretrained"):
        resolve_weights("ViT-B-32", "")


def test_unknown_pretrained_tag_lists_known_tags():
    with pytest.raises(WeightsUnavailable, match="laion2b"):
        resolve_weights("ViT-B-32", "no-such-tag")


def _clip_pipeline(tmp_path, pretrained):
    path = tmp_path / "tiny-clip.toml"
    path.write_text(f'name = "tiny-clip"\nstages = ["probe", "scenes", "visual", "imagenet", "clip", "tags", "embed"]\n'
                    f'[clip]\nmodel = "tagger-tiny-clip"\npretrained = "{pretrained}"\n'
                    f'[embed]\nspaces = ["visual", "tags"]\n')
    return path


def test_clip_stage_in_a_pipeline_embeds_keyframes(tmp_path, tiny_checkpoint):
    from click.testing import CliRunner

    from conftest import write_title
    from tagger.catalog.db import Catalog
    from tagger.cli import cli
    from tagger.synth import ShotSpec

    folder = write_title(tmp_path / "t", shots=[ShotSpec(2.0, (40, 40, 200), 0.5, 0.2, 1),
                                                ShotSpec(2.0, (200, 120, 30), 0.6, 0.2, 2)])
    db = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--catalog", str(db),
                                      "--pipeline", str(_clip_pipeline(tmp_path, tiny_checkpoint))])
    assert result.exit_code == 0, result.output
    with Catalog(db) as catalog:
        data = catalog.title("t")
        ids, visual = catalog.embeddings("visual")
    assert data["modalities"]["clip"]["status"] == "ran"
    assert data["embeddings"]["visual"] == 32
    np.testing.assert_allclose(np.linalg.norm(visual[0]), 1.0, atol=1e-5)
    assert data["embedding_models"]["fused"]["model_id"].startswith("visual:32+tags:")
    # As in the clip pipeline, the offline encoder ran first; CLIP's vectors replaced its own.
    assert data["modalities"]["imagenet"]["status"] == "ran"
    assert data["embedding_models"]["visual"]["model_id"].startswith("open_clip:tagger-tiny-clip/")


def test_clip_stage_without_weights_skips_and_the_rest_runs(tmp_path):
    from click.testing import CliRunner

    from conftest import write_title
    from tagger.catalog.db import Catalog
    from tagger.cli import cli
    from tagger.synth import ShotSpec

    folder = write_title(tmp_path / "t", shots=[ShotSpec(2.0, (40, 40, 200), 0.5, 0.2, 1)])
    db = tmp_path / "c.db"
    result = CliRunner().invoke(cli, ["ingest", str(folder), "--catalog", str(db),
                                      "--pipeline", str(_clip_pipeline(tmp_path, tmp_path / "none.pt"))])
    assert result.exit_code == 0, result.output
    with Catalog(db) as catalog:
        data = catalog.title("t")
    assert data["status"] == "ok"
    assert data["modalities"]["clip"]["status"] == "skipped"
    assert "none.pt not found" in data["modalities"]["clip"]["reason"]
    assert data["modalities"]["visual"]["status"] == "ran"
    assert not any("clip" in t["modalities"] for t in data["tags"])
    # Without CLIP's weights the visual space is the offline encoder's, under its own model id.
    assert data["embeddings"]["visual"] == 1280
    assert data["embedding_models"]["visual"]["model_id"].startswith("efficientnet-lite0/imagenet:")
    assert data["embedding_models"]["fused"]["model_id"].startswith("visual:1280+tags:")
