"""Typed data files: dataclasses filled from TOML tables, checked field by field.

The one checker for the TOML files users write (pipelines' stage settings, taxonomies). A
dataclass describes a table: its type hints say what each key holds (str, int, float, bool,
``X | None``, ``tuple[X, ...]``, ``dict[str, X]``, or another dataclass for a nested table); a
field without a default is required; ``field(metadata=constraint(...))`` adds a pattern or a
bound; a ``validate()`` method returning ``(field, reason)`` or None checks fields together,
and ``__post_init__`` may raise ValueError. Unknown keys are errors with "did you mean".
Every problem goes to a :class:`Report` as an InputError naming the file, line, item and field.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from pathlib import Path

from tagger.errors import InputError

_FAILED = object()   # a value that did not pass; its problem is already reported


def did_you_mean(name: str, valid) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the valid names close to a misspelt one, else ``""``."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A rule on a scalar field's value beyond its type (see :func:`constraint`)."""

    pattern: str | None = None
    says: str = ""
    minimum: float | None = None
    more_than: float | None = None

    def problem(self, value) -> str | None:
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"{self.says or 'must match ' + self.pattern}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value}"
        if self.more_than is not None and not value > self.more_than:
            return f"must be > {self.more_than}, got {value}"
        return None


def constraint(*, pattern: str | None = None, says: str = "", minimum: float | None = None,
               more_than: float | None = None) -> dict:
    """Field metadata: ``id: str = field(metadata=constraint(pattern="[a-z]+", says="..."))``.

    pattern: the whole string must match it (``says`` is the reason when it does not);
    minimum: the number must be >= it; more_than: the number must be > it.
    """
    return {"constraint": Constraint(pattern, says, minimum, more_than)}


# --------------------------------------------------------------------------------------- lines

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*")(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"))*)\s*=')


def _dotted(text: str) -> tuple[str, ...]:
    parts = (p.strip().strip('"') for p in re.findall(r'"[^"]*"|[^."]+', text))
    return tuple(p for p in parts if p)


def key_lines(text: str) -> dict[tuple, int]:
    """The line of each table header and key in TOML text, by path: ("tags", 3, "rules") -> 120.

    Reads the plain layout of our data files line by line (entries of ``[[x]]`` are numbered
    from 0); keys inside inline tables and multi-line values are not found, so a lookup falls
    back to the enclosing key or table (:meth:`Report.line`).
    """
    lines: dict[tuple, int] = {}
    entries: dict[tuple, int] = {}   # each array of tables -> how many entries so far
    table: tuple = ()
    in_string = False   # inside a multi-line string, where nothing is a key
    for number, line in enumerate(text.splitlines(), start=1):
        quotes = (line.count('"""') + line.count("'''")) % 2
        if in_string:
            in_string = not quotes
            continue
        in_string = bool(quotes)
        header = _HEADER.match(line)
        if header and _dotted(header.group(2)):
            names = _dotted(header.group(2))
            table = ()
            for name in names[:-1]:   # [tags.rules] is a key of the latest [[tags]] entry
                table += (name,)
                if table in entries:
                    table += (entries[table] - 1,)
            table += (names[-1],)
            if header.group(1) == "[[":
                entries[table] = entries.get(table, 0) + 1
                table += (entries[table] - 1,)
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(table + _dotted(key.group(1)), number)
    return lines


def field_name(path: tuple) -> str | None:
    """("rules", 0, "width") -> "rules[0].width"; () -> None."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


class Report:
    """The problems found in one data file, each an InputError naming file, line, item and field.

    ``at`` is where an item's table sits in the file, ``("tags", 3)``; ``field`` is a path
    inside it, ``("rules", 0, "width")``: the error names the field ``rules[0].width`` and the
    line of the closest enclosing key that is written out.
    """

    def __init__(self, path: str | Path, text: str = ""):
        self.path = path
        self.lines = key_lines(text)
        self.errors: list[InputError] = []

    def line(self, where: tuple) -> int | None:
        for end in range(len(where), 0, -1):
            if where[:end] in self.lines:
                return self.lines[where[:end]]
        return None

    def add(self, reason: str, *, item: str | None = None, at: tuple = (),
            field: tuple = ()) -> None:
        self.errors.append(InputError(self.path, reason, line=self.line(at + field), item=item,
                                      field=field_name(field)))

    def unknown_keys(self, table: dict, valid, *, item: str | None = None, at: tuple = (),
                     field: tuple = ()) -> None:
        valid = list(valid)
        for key in table:
            if key not in valid:
                self.add(f"unknown key{did_you_mean(key, valid)} (valid: {', '.join(valid)})",
                         item=item, at=at, field=field + (key,))


# ------------------------------------------------------------------------------------ checking

def from_table(cls, table: dict, *, path: str | Path, item: str, text: str = "", at: tuple = ()):
    """Build dataclass `cls` from one TOML table; the first problem raises InputError (with its
    line when the file's `text` is given and `at` is where the table sits in it)."""
    report = Report(path, text)
    built = check_table(cls, table, report, item=item, at=at)
    if report.errors:
        raise report.errors[0]
    return built


def check_table(cls, table, report: Report, *, item: str | None, at: tuple = (),
                field: tuple = ()):
    """Fill dataclass `cls` from a TOML table, reporting every problem to `report`.

    Returns the instance, or None when anything was wrong: nothing is built then, so
    ``__post_init__`` and ``validate()`` only ever see values of the right types.
    """
    if not isinstance(table, dict):
        report.add(f"expected a table, got {_got(table)}", item=item, at=at, field=field)
        return None
    before = len(report.errors)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    report.unknown_keys(table, fields, item=item, at=at, field=field)
    hints = typing.get_type_hints(cls)
    values = {}
    for name, spec in fields.items():
        where = {"item": item, "at": at, "field": field + (name,)}
        if name not in table:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                report.add("missing required field", **where)
            continue
        value = _value(table[name], hints[name], report, **where)
        rule = spec.metadata.get("constraint")
        if rule is not None and value is not _FAILED and value is not None:
            problem = rule.problem(value)
            if problem:
                report.add(problem, **where)
        values[name] = value
    if len(report.errors) > before:
        return None
    try:
        built = cls(**values)
    except (TypeError, ValueError) as error:
        report.add(str(error), item=item, at=at, field=field)
        return None
    problem = built.validate() if hasattr(built, "validate") else None
    if problem:
        report.add(problem[1], item=item, at=at, field=field + (problem[0],))
        return None
    return built


def _value(value, hint, report: Report, *, item, at, field):
    """`value` checked against the type `hint` (arrays become tuples, integers floats where a
    float is expected), or _FAILED after reporting why not."""
    where = {"item": item, "at": at, "field": field}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"only `X | None` unions can be checked, not {hint}")
        return None if value is None else _value(value, inner[0], report, **where)
    if dataclasses.is_dataclass(hint):
        built = check_table(hint, value, report, **where)
        return _FAILED if built is None else built
    if origin in (tuple, list):
        inner = args[0] if args else typing.Any
        if not isinstance(value, list):
            report.add(f"expected an array of {_plural(inner)}, got {_got(value)}", **where)
            return _FAILED
        items = [_value(v, inner, report, item=item, at=at, field=field + (j,))
                 for j, v in enumerate(value)]
        return _FAILED if any(v is _FAILED for v in items) else tuple(items)
    if origin is dict:
        inner = args[1] if len(args) == 2 else typing.Any
        if not isinstance(value, dict):
            report.add(f"expected a table, got {_got(value)}", **where)
            return _FAILED
        entries = {k: _value(v, inner, report, item=item, at=at, field=field + (k,))
                   for k, v in value.items()}
        return _FAILED if any(v is _FAILED for v in entries.values()) else entries
    if hint is typing.Any:
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is float and number:
        if not math.isfinite(value):
            report.add(f"expected a finite number, got {value}", **where)
            return _FAILED
        return float(value)
    if hint is int and number and isinstance(value, int):
        return value
    if hint is str and isinstance(value, str):
        if not value.strip():
            report.add("must not be empty", **where)
            return _FAILED
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint not in (float, int, str, bool):
        raise TypeError(f"cannot check values of type {hint}")
    report.add(f"expected {_noun(hint)}, got {_got(value)}", **where)
    return _FAILED


_NOUNS = {str: ("a string", "strings"), int: ("an integer", "integers"),
          float: ("a number", "numbers"), bool: ("true or false", "booleans")}


def _noun(hint) -> str:
    return _NOUNS[hint][0]


def _plural(hint) -> str:
    if dataclasses.is_dataclass(hint) or typing.get_origin(hint) is dict:
        return "tables"
    return _NOUNS.get(hint, ("", "values"))[1]


def _got(value) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)
