"""The class map: which taxonomy tags an image model's class is evidence for.

A taxonomy's map is ``taxonomies/imagenet/<taxonomy file name>`` beside it (format in the
file's header comment); every problem is an InputError naming the file and line.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.errors import InputError
from tagger.settings import did_you_mean, key_lines

SOURCE = "imagenet"   # the one table: the ImageNet-1k classes of the image model
_AT_LINE = re.compile(r"at line (\d+)")


def normalise(name: str) -> str:
    """How class names are compared: single spaces; case counts ("Cardigan" is a dog,
    "cardigan" a sweater)."""
    return " ".join(name.split())


@dataclass(frozen=True)
class ClassMap:
    path: str
    tags_by_class: dict[int, tuple[str, ...]]   # class index -> tag ids (only classes that name some)

    @property
    def tag_ids(self) -> tuple[str, ...]:
        """Every tag some class is evidence for, sorted."""
        return tuple(sorted({t for tags in self.tags_by_class.values() for t in tags}))

    def matrix(self, class_count: int) -> np.ndarray:
        """(class_count, len(tag_ids)) float32 0/1: which classes count for which tag, so that
        probabilities @ matrix sums each tag's classes."""
        column = {tag: i for i, tag in enumerate(self.tag_ids)}
        out = np.zeros((class_count, len(column)), np.float32)
        for index, tags in self.tags_by_class.items():
            for tag in tags:
                out[index, column[tag]] = 1.0
        return out


def class_map_path(taxonomy) -> Path:
    """Where a taxonomy's class map lives: taxonomies/imagenet/<name>.toml beside its file."""
    path = Path(taxonomy.path)
    return path.parent / SOURCE / path.name


def load_class_map(path: str | Path, taxonomy, class_names) -> ClassMap:
    """Read and check a class map against the taxonomy and the model's class names."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(path, f"cannot read the class map: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        at = _AT_LINE.search(str(error))
        raise InputError(path, f"invalid TOML: {error}", line=int(at.group(1)) if at else None) from None
    lines = key_lines(text)
    for table in data:
        if table != SOURCE:
            raise InputError(path, f"unknown table [{table}] (valid: [{SOURCE}])", line=lines.get((table,)),
                             item=table)
    table = data.get(SOURCE)
    if not isinstance(table, dict):
        raise InputError(path, f"expected a table [{SOURCE}] of \"class\" = [\"tag-id\", ...]",
                         line=lines.get((SOURCE,)))
    index_of = {normalise(name): i for i, name in enumerate(class_names)}
    known_tags = {t.id for t in taxonomy.tags}
    tags_by_class: dict[int, tuple[str, ...]] = {}
    seen: set[int] = set()
    for name, value in table.items():
        line = lines.get((SOURCE, name))
        index = index_of.get(normalise(name))
        if index is None:
            raise InputError(path, "not an ImageNet class of the model" + did_you_mean(name, class_names),
                             line=line, item=SOURCE, field=name)
        if index in seen:
            raise InputError(path, "class given twice", line=line,
                             item=SOURCE, field=name)
        seen.add(index)
        tags = [value] if isinstance(value, str) else value
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InputError(path, f"must be a tag id or a list of tag ids, got {value!r}", line=line,
                             item=SOURCE, field=name)
        for tag in tags:
            if tag not in known_tags:
                raise InputError(path, f"unknown tag {tag!r} in taxonomy {taxonomy.id!r}"
                                 + did_you_mean(tag, known_tags), line=line, item=SOURCE, field=name)
        if tags:
            tags_by_class[index] = tuple(dict.fromkeys(tags))
    return ClassMap(path=str(path), tags_by_class=tags_by_class)
