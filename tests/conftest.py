from pathlib import Path

import pytest

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


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
