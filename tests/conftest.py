import json
from pathlib import Path

import pytest

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _two_shots():
    from tagger.synth import ShotSpec

    return [ShotSpec(2.0, (40, 40, 200), 0.5, 0.2, 1), ShotSpec(2.0, (200, 120, 30), 0.6, 0.2, 2)]


TWO_SHOTS = _two_shots()   # a 4 s title: a blue shot, then an orange one
# Every stage but text: no sentence model to load, so workers start (and restart) quickly.
LIGHT_PIPELINE = """name = "{name}"
taxonomy = "default"
stages = ["probe", "scenes", "visual", "audio", "tags", "embed"]

[embed]
spaces = ["audio", "tags"]
"""


def write_light_pipeline(folder: Path, name: str = "light") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(LIGHT_PIPELINE.format(name=name))
    return path


TINY_CLIP = {   # a CLIP model small enough to build in a test
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of random weights for the CLIP model "tagger-tiny-clip", registered with open_clip:
    the real loading code runs, without a download."""
    open_clip = pytest.importorskip("open_clip")
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("clip")
    config = folder / "tagger-tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("tagger-tiny-clip", pretrained=None)
    checkpoint = folder / "tiny.pt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint


def ingest_by_name(titles, *, catalog, pipeline, executor=None, workers=None, taxonomy=None, progress=None,
                   force=False):
    """tagger.ingest.ingest on an executor built by name, as `tagger ingest` builds it."""
    from tagger.executors import build_executor
    from tagger.ingest import ingest

    on_stage = progress.stage if progress is not None else None
    with build_executor(executor, pipeline, taxonomy=taxonomy, workers=workers, on_stage=on_stage) as runner:
        return ingest(titles, catalog=catalog, executor=runner, force=force, progress=progress)


@pytest.fixture
def shared_media() -> Path:
    """The real clips in ../shared/media; tests that need them skip where it is absent."""
    if not SHARED_MEDIA.is_dir():
        pytest.skip(f"real media folder {SHARED_MEDIA} is absent")
    return SHARED_MEDIA


def write_title(folder: Path, *, shots, fps: float = 24.0, size=(320, 180), audio=None, cues=(),
                synopsis: str | None = None, title_id: str | None = None) -> Path:
    """A small title folder made with tagger.synth: video (+ audio), subtitles, title.toml."""
    from tagger import synth

    folder.mkdir(parents=True, exist_ok=True)
    name = title_id or folder.name
    synth.write_video(folder / f"{name}.mp4", synth.render_shots(shots, fps=fps, size=size), fps=fps,
                      audio=audio)
    if cues:
        synth.write_srt(folder / f"{name}.en.srt", list(cues))
    lines = [f'id = "{name}"', f'title = "{name.title()}"']
    if synopsis:
        lines.append(f'synopsis = "{synopsis}"')
    (folder / "title.toml").write_text("\n".join(lines) + "\n")
    return folder
