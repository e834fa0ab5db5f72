"""The label map: which taxonomy tags a public label means (format in the file's header comment).

A taxonomy's map is ``taxonomies/labels/<taxonomy file name>`` beside it; every problem is an
InputError naming the file and line.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tagger.errors import InputError

SOURCES = ("movielens-genre", "movielens-tag", "tmdb-genre", "tmdb-keyword")
_SECTION = re.compile(r'^\s*\[\s*"?([^"\]]+?)"?\s*\]')
_AT_LINE = re.compile(r"at line (\d+)")
_KEY = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_-]+))\s*=')


def normalise(label: str) -> str:
    """How labels are compared: lower case, single spaces."""
    return " ".join(label.lower().split())


@dataclass(frozen=True)
class LabelMap:
    path: str
    by_source: dict[str, dict[str, tuple[str, ...]]]   # source -> normalised label -> tag ids

    def tags_for(self, source: str, label: str) -> tuple[str, ...]:
        """The tags a label means; () for a label the map does not name."""
        return self.by_source.get(source, {}).get(normalise(label), ())

    def tags_of_source(self, source: str) -> frozenset[str]:
        """Every tag this source can name: a title it labels is a negative for the ones it did not."""
        return frozenset(t for tags in self.by_source.get(source, {}).values() for t in tags)


def label_map_path(taxonomy) -> Path:
    """Where a taxonomy's label map lives: taxonomies/labels/<name>.toml beside its file."""
    path = Path(taxonomy.path)
    return path.parent / "labels" / path.name


def load_label_map(path: str | Path, taxonomy) -> LabelMap:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(path, f"cannot read the label map: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        at = _AT_LINE.search(str(error))
        line = int(at.group(1)) if at else None
        raise InputError(path, f"invalid TOML: {error}", line=line) from None
    lines = _key_lines(text)
    known_tags = {t.id for t in taxonomy.tags}
    by_source: dict[str, dict[str, tuple[str, ...]]] = {}
    for source, table in data.items():
        if source not in SOURCES:
            raise InputError(path, f"unknown source [{source}] (valid: {', '.join(SOURCES)})",
                             line=lines.get((source, None)), item=source)
        if not isinstance(table, dict):
            raise InputError(path, "must be a table of \"label\" = [\"tag-id\", ...]",
                             line=lines.get((source, None)), item=source)
        mapped: dict[str, tuple[str, ...]] = {}
        for label, value in table.items():
            line = lines.get((source, label))
            tags = (value,) if isinstance(value, str) else value
            if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
                raise InputError(path, f"must be a tag id or a list of tag ids, got {value!r}",
                                 line=line, item=source, field=label)
            for tag in tags:
                if tag not in known_tags:
                    raise InputError(path, f"unknown tag {tag!r} in taxonomy {taxonomy.id!r}", line=line,
                                     item=source, field=label)
            key = normalise(label)
            if key in mapped:
                raise InputError(path, "label given twice (labels are compared without case)",
                                 line=line, item=source, field=label)
            mapped[key] = tuple(dict.fromkeys(tags))
        by_source[source] = mapped
    return LabelMap(path=str(path), by_source=by_source)


def _key_lines(text: str) -> dict[tuple[str, str | None], int]:
    """(section, key) -> line number, and (section, None) -> the section header's line."""
    out: dict[tuple[str, str | None], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip()
            out.setdefault((section, None), number)
            continue
        key = _KEY.match(line)
        if key:
            name = key.group(1) if key.group(1) is not None else key.group(2)
            out.setdefault((section, name.replace('\\"', '"')), number)
    return out
