"""The ONNX Runtime text backends: same embeddings as torch (within 0.01 cosine), exported once
and reused, selectable in a pipeline, and a one-line error where onnxruntime is missing."""
import csv
import importlib.util
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tagger.errors import InputError, TaggerError
from tagger.text.encoder import DEFAULT_MODEL, TextEncoder, cache_root, get_encoder

ROOT = Path(__file__).resolve().parents[1]
TMDB = ROOT.parent / "shared" / "data" / "tmdb" / "tmdb_5000_movies.csv"
TORCH_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_COSINE_DIFF = 0.01

needs_onnxruntime = pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None,
                                       reason="onnxruntime is not installed: pip install 'tagger[onnx]'")


def varied_sentences() -> list[str]:
    """Sample subtitles and synopses, the taxonomy's prompts, TMDB overviews where
    ../shared/data is present, one line far past the 256-token limit, and near-empty ones."""
    from tagger.tagging.taxonomy import load_taxonomy
    from tagger.text.subtitles import read_subtitles

    sentences = []
    for path in sorted((ROOT / "sample_media").glob("*/*")):
        if path.suffix in (".srt", ".vtt"):
            sentences += [cue.text for cue in read_subtitles(path)]
        elif path.name == "title.toml":
            sentences.append(tomllib.loads(path.read_text())["synopsis"])
    sentences += [prompt for tag in load_taxonomy("default").tags for prompt in tag.prompts][:200]
    if TMDB.is_file():
        with open(TMDB, newline="", encoding="utf-8") as f:
            sentences += [row["overview"] for row in csv.DictReader(f) if row["overview"].strip()][:150]
    long_line = " ".join(sentences[:60])
    return sentences + [long_line, "word " * 400, "", " ", "!!!", "…", "Who's there?", "Hi."]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache root for this module: the export happens once, in `cache / "onnx"`."""
    return tmp_path_factory.mktemp("tagger-cache")


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return varied_sentences()


@pytest.fixture(scope="module")
def torch_vectors(sentences) -> np.ndarray:
    return get_encoder(DEFAULT_MODEL).encode(sentences)


@needs_onnxruntime
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_embeddings_agree_with_torch(backend, cache, sentences, torch_vectors):
    encoder = TextEncoder(backend=backend, cache_dir=cache / "onnx")
    tokens = encoder._onnx.graph.tokenizer("word " * 400)["input_ids"]
    assert len(tokens) > encoder._onnx.graph.max_seq_length   # the truncation path is exercised
    assert len(sentences) > 2 * encoder.batch_size             # several batches, sorted by length
    vectors = encoder.encode(sentences)
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    difference = 1.0 - np.sum(vectors * torch_vectors, axis=1)
    worst = int(np.argmax(difference))
    assert difference[worst] < MAX_COSINE_DIFF, f"{sentences[worst]!r} moved {difference[worst]:.4f}"
    assert encoder.encode([]).shape == (0, encoder.dimension)


@needs_onnxruntime
def test_the_export_is_made_once_and_reused(cache, monkeypatch):
    first = TextEncoder(backend="onnx-int8", cache_dir=cache / "onnx")
    files = {name: (first._onnx.folder / name).stat().st_mtime_ns for name in ("model.onnx", "model-int8.onnx")}
    assert first._onnx.folder.parent == cache / "onnx"
    assert first._onnx.folder.name.startswith("sentence-transformers--all-MiniLM-L6-v2-")
    # TAGGER_CACHE names the cache root; the same export is found there.
    monkeypatch.setenv("TAGGER_CACHE", str(cache))
    assert cache_root() == cache
    for backend in ("onnx", "onnx-int8"):
        again = TextEncoder(backend=backend)
        assert again._onnx.folder == first._onnx.folder
        assert not again._onnx.exported
    assert {name: (first._onnx.folder / name).stat().st_mtime_ns for name in files} == files
    assert not list(cache.glob("onnx/.*partial*")) + list(cache.glob("onnx/*/.*partial*"))   # no staging left


@needs_onnxruntime
def test_model_id_and_version_name_the_backend(cache):
    onnx = TextEncoder(backend="onnx", cache_dir=cache / "onnx")
    int8 = TextEncoder(backend="onnx-int8", cache_dir=cache / "onnx")
    torch = get_encoder(DEFAULT_MODEL)
    assert torch.model_id == TORCH_ID and torch.version.startswith("sentence-transformers ")
    assert onnx.model_id == f"{TORCH_ID}@onnx" and int8.model_id == f"{TORCH_ID}@onnx-int8"
    assert onnx.version.startswith("onnxruntime ") and "model.onnx" in onnx.version
    assert "model-int8.onnx" in int8.version
    assert onnx.dimension == int8.dimension == torch.dimension == 384


@needs_onnxruntime
def test_the_text_stage_runs_on_the_backend_its_settings_name(cache, tmp_path, monkeypatch):
    from tagger.engine import Engine
    from tagger.pipeline import load_pipeline
    from tagger.titles import TitleInput

    monkeypatch.setenv("TAGGER_CACHE", str(cache))
    path = tmp_path / "onnx.toml"
    path.write_text('stages = ["text"]\n[text]\nbackend = "onnx"\n')
    engine = Engine(load_pipeline(str(path)))
    assert engine.versions()["text"]["model"] == f"{TORCH_ID}@onnx"
    assert engine.versions()["text"]["library"].startswith("onnxruntime ")
    result = engine.analyse(TitleInput("deep-space", "Deep Space", "test", synopsis=(
        "A crew drifts through deep space after their ship's reactor fails.")))
    assert result.status == "ok" and result.modalities["text"]["status"] == "ran"


def test_default_pipelines_stay_on_torch():
    from tagger.pipeline import available_pipelines, load_pipeline

    for name in available_pipelines():
        assert load_pipeline(name).settings["text"].backend == "torch"


def test_missing_onnxruntime_is_one_line_naming_the_setting_and_the_install(tmp_path, monkeypatch):
    from tagger.pipeline import load_pipeline

    monkeypatch.setitem(sys.modules, "onnxruntime", None)   # `import onnxruntime` now raises ImportError
    with pytest.raises(TaggerError) as error:
        TextEncoder(backend="onnx")
    message = str(error.value)
    assert "\n" not in message
    assert message == "[text] backend: 'onnx' needs onnxruntime, which is not installed: pip install 'tagger[onnx]'"
    path = tmp_path / "onnx.toml"
    path.write_text('stages = ["text"]\n[text]\nbackend = "onnx-int8"\n')
    with pytest.raises(InputError) as error:
        load_pipeline(str(path))
    message = str(error.value)
    assert message == (f"{path}:3: [text]: backend: 'onnx-int8' needs onnxruntime, which is not installed: "
                       "pip install 'tagger[onnx]'")


def test_unknown_backend_is_a_pipeline_error(tmp_path):
    from tagger.pipeline import load_pipeline

    path = tmp_path / "bad.toml"
    path.write_text('stages = ["text"]\n[text]\nbackend = "tensorrt"\n')
    with pytest.raises(InputError, match=r"backend: unknown backend 'tensorrt' \(valid: torch, onnx, onnx-int8\)"):
        load_pipeline(str(path))
