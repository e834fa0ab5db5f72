"""Titles to ingest: title folders, bare video files, folders of titles and manifests."""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tagger.errors import InputError
from tagger.rows import read_rows

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
SUBTITLE_SUFFIXES = {".srt", ".vtt"}
METADATA_FIELDS = ("id", "title", "synopsis", "year", "original_language", "regions",
                   "release_date", "cast", "genres")


@dataclass
class TitleInput:
    """What is known of a title before analysis."""
    id: str
    title: str
    source: str                         # where it came from: a folder, a file, or manifest:line
    synopsis: str | None = None
    year: int | None = None
    original_language: str | None = None
    regions: list[str] = field(default_factory=list)
    release_date: str | None = None
    cast: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)   # as announced; not used as evidence
    video: str | None = None
    subtitles: list[str] = field(default_factory=list)
    problem: str | None = None   # an input error that fails this title (the batch goes on)

    def metadata(self) -> dict:
        data = asdict(self)
        for key in ("source", "video", "subtitles", "problem"):
            data.pop(key)
        return data


def discover(paths: list[str | Path]) -> list[TitleInput]:
    """Title folders, folders of title folders, and bare video files, in a stable order."""
    titles: list[TitleInput] = []
    for raw in paths:
        path = Path(raw).absolute()   # stored paths must not depend on where ingest ran
        if path.is_file():
            if path.suffix.lower() not in VIDEO_SUFFIXES:
                raise InputError(path, f"not a video file (expected one of {', '.join(sorted(VIDEO_SUFFIXES))})")
            titles.append(_bare_video(path))
        elif path.is_dir():
            titles.extend(_folder(path))
        else:
            raise InputError(path, "no such file or folder")
    seen: dict[str, str] = {}
    for title in titles:
        if title.id in seen:
            raise InputError(title.source, f"title id {title.id!r} is also used by {seen[title.id]}")
        seen[title.id] = title.source
    return titles


def _folder(path: Path) -> list[TitleInput]:
    """A title folder (title.toml, or one video and no title folders inside), or a folder of them."""
    videos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    children = [p for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    if (path / "title.toml").is_file():
        return [_title_folder(path, videos)]
    titles = [t for child in children for t in _folder(child)]
    if not titles and len(videos) == 1:
        return [_title_folder(path, videos)]
    # Loose videos beside title folders are titles of their own.
    return titles + [_bare_video(v) for v in videos]


def _title_folder(path: Path, videos: list[Path]) -> TitleInput:
    toml_path = path / "title.toml"
    try:
        meta = read_title_toml(toml_path) if toml_path.is_file() else {}
    except InputError as error:
        return TitleInput(id=path.name, title=path.name, source=str(path), problem=str(error))
    if len(videos) > 1:
        return TitleInput(id=str(meta.get("id") or path.name), title=path.name, source=str(path),
                          problem=f"{path}: a title folder holds one video; found {len(videos)}: "
                                  + ", ".join(v.name for v in videos))
    subtitles = sorted(str(p) for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in SUBTITLE_SUFFIXES)
    title_id = meta.pop("id", None) or path.name
    return TitleInput(id=str(title_id), title=meta.pop("title", None) or path.name,
                      source=str(path), video=str(videos[0]) if videos else None,
                      subtitles=subtitles, **meta)


def _bare_video(path: Path) -> TitleInput:
    subtitles = sorted(str(p) for p in path.parent.iterdir()
                       if p.is_file() and p.suffix.lower() in SUBTITLE_SUFFIXES
                       and p.name.split(".")[0] == path.stem.split(".")[0])
    return TitleInput(id=path.stem, title=path.stem, source=str(path), video=str(path),
                      subtitles=subtitles)


def read_title_toml(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, f"invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text: {error}") from None
    return clean_metadata(data, path=path, line=None)


def clean_metadata(data: dict, *, path: str | Path, line: int | None) -> dict:
    """Check and normalise the metadata fields; errors name the file, line and field."""
    unknown = sorted(set(data) - set(METADATA_FIELDS) - {"video", "subtitles"})
    if unknown:
        raise InputError(path, f"unknown field (valid: {', '.join(METADATA_FIELDS)}, video, subtitles)",
                         line=line, field=unknown[0])
    out: dict = {}
    for key, value in data.items():
        if value is None or value == "" or key in ("video", "subtitles"):
            continue
        if key in ("id", "title", "synopsis", "original_language"):
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise InputError(path, f"expected text, got {value!r}", line=line, field=key)
            out[key] = str(value).strip()
        elif key == "year":
            try:
                year = int(value)
            except (TypeError, ValueError):
                raise InputError(path, f"expected a year, got {value!r}", line=line, field=key) from None
            if not 1870 <= year <= 2200:
                raise InputError(path, f"year {year} is out of range", line=line, field=key)
            out[key] = year
        elif key == "release_date":
            text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
            try:
                dt.date.fromisoformat(text[:10])
            except ValueError:
                raise InputError(path, f"expected YYYY-MM-DD, got {value!r}", line=line, field=key) from None
            out[key] = text[:10]
        else:  # regions, cast, genres: lists, or text split on | , ;
            if isinstance(value, str):
                value = [v.strip() for v in value.replace("|", ",").replace(";", ",").split(",")]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(path, f"expected a list of text, got {value!r}", line=line, field=key)
            out[key] = [v.strip() for v in value if v.strip()]
    return out


def read_manifest(path: str | Path) -> list[TitleInput]:
    """A .csv or .jsonl manifest: one title per row; video and subtitles optional.

    Relative media paths are taken from the manifest's folder. Subtitles in CSV are separated
    by `|`. A row without video is a metadata-only title.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "manifest not found")
    titles, seen = [], {}
    for line, row, row_error in read_rows(path, required=("id",), what="manifest"):
        try:
            if row_error is not None:
                raise row_error
            title = _manifest_title(path, line, row)
            if title.id in seen:
                raise InputError(path, f"title id {title.id!r} repeats line {seen[title.id]}",
                                 line=line, field="id")
        except InputError as error:
            # A broken row fails its own title; the rest of the manifest goes on.
            row_id = str(row.get("id") or "")
            if not row_id or row_id in seen:
                row_id = f"{path.name}:{line}"
            title = TitleInput(id=row_id, title=row_id, source=f"{path}:{line}", problem=str(error))
        seen.setdefault(title.id, line)
        titles.append(title)
    return titles


def _manifest_title(path: Path, line: int, row: dict) -> TitleInput:
    if not row.get("id"):
        raise InputError(path, "missing title id", line=line, field="id")
    meta = clean_metadata(row, path=path, line=line)
    base = path.parent.absolute()
    video = row.get("video") or None
    if video is not None:
        video = str((base / video) if not Path(video).is_absolute() else Path(video))
    subtitles = row.get("subtitles") or []
    if isinstance(subtitles, str):
        subtitles = [s.strip() for s in subtitles.split("|") if s.strip()]
    if not isinstance(subtitles, list):
        raise InputError(path, "expected a list of subtitle paths", line=line, field="subtitles")
    subtitles = [str(base / s) if not Path(s).is_absolute() else s for s in subtitles]
    title_id = meta.pop("id")
    return TitleInput(id=title_id, title=meta.pop("title", None) or title_id,
                      source=f"{path}:{line}", video=video, subtitles=subtitles, **meta)
