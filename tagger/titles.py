"""Titles to ingest: title folders, bare video files, folders of titles and manifests."""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tagger.errors import InputError
from tagger.rows import read_rows

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".gif"}
SUBTITLE_SUFFIXES = {".srt", ".vtt"}
METADATA_FIELDS = ("id", "title", "synopsis", "year", "original_language", "regions",
                   "release_date", "cast", "genres")
MEDIA_FIELDS = ("video", "subtitles")   # manifests name a title's files; a title folder holds them


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
    for key in MEDIA_FIELDS:
        meta.pop(key, None)   # a title folder's media are the files in it
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
    """Check and normalise a title's fields (title.toml or a manifest row): every wrong type or
    value is an InputError naming the file, the line and the field. Empty values are left out."""
    unknown = sorted(set(data) - set(METADATA_FIELDS) - set(MEDIA_FIELDS))
    if unknown:
        raise InputError(path, f"unknown field (valid: {', '.join(METADATA_FIELDS + MEDIA_FIELDS)})",
                         line=line, field=unknown[0])
    out: dict = {}
    for key, value in data.items():
        if value is None or value == "" or value == []:
            continue
        try:
            out[key] = _FIELD_CHECKS[key](value)
        except ValueError as error:
            raise InputError(path, str(error), line=line, field=key) from None
    return out


def _text(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected text, got {value!r}")
    return str(value).strip()


def _year(value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole year such as 1999, got {value!r}")
    if not 1870 <= value <= 2200:
        raise ValueError(f"year {value} is out of range (1870-2200)")
    return value


def _date(value) -> str:
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    if not isinstance(text, str):
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}")
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"expected YYYY-MM-DD, got {value!r}") from None
    return text[:10]


def _text_list(value) -> list[str]:
    """A list of text, or text split on | , ;"""
    if isinstance(value, str):
        value = value.replace("|", ",").replace(";", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of text, got {value!r}")
    return [v.strip() for v in value if v.strip()]


def _media_path(value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a file path, got {value!r}")
    return value.strip()


def _media_paths(value) -> list[str]:
    """Subtitle paths: a list, or text separated by |"""
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of file paths, got {value!r}")
    return [v.strip() for v in value if v.strip()]


_FIELD_CHECKS = {"id": _text, "title": _text, "synopsis": _text, "original_language": _text,
                 "year": _year, "release_date": _date, "regions": _text_list, "cast": _text_list,
                 "genres": _text_list, "video": _media_path, "subtitles": _media_paths}


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
            row_id = row.get("id")
            row_id = str(row_id).strip() if isinstance(row_id, (str, int)) and not isinstance(row_id, bool) else ""
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
    video = meta.pop("video", None)
    if video is not None:
        video = str(base / video)   # an absolute path stays as it is
    subtitles = [str(base / s) for s in meta.pop("subtitles", [])]
    title_id = meta.pop("id")
    return TitleInput(id=title_id, title=meta.pop("title", None) or title_id,
                      source=f"{path}:{line}", video=video, subtitles=subtitles, **meta)
