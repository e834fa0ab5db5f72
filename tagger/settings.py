"""Typed settings from data files: dataclasses filled from TOML tables, checked field by field."""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

from tagger.errors import InputError


def from_table(cls, table: dict, *, path: str | Path, item: str):
    """Build dataclass `cls` from a TOML table; unknown keys and wrong types name the field."""
    if not isinstance(table, dict):
        raise InputError(path, "expected a table", item=item)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise InputError(path, f"unknown setting (valid: {', '.join(sorted(fields))})",
                         item=item, field=unknown[0])
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in table.items():
        values[name] = _check(value, hints[name], path=path, item=item, field=name)
    try:
        settings = cls(**values)
    except (TypeError, ValueError) as error:
        raise InputError(path, str(error), item=item) from None
    check = getattr(settings, "validate", None)
    if check is not None:
        problem = check()
        if problem:
            field, reason = problem
            raise InputError(path, reason, item=item, field=field)
    return settings


def _check(value, hint, *, path, item, field):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, path=path, item=item, field=field)
            except InputError:
                continue
        raise InputError(path, f"expected {_name(hint)}, got {value!r}", item=item, field=field)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise InputError(path, f"expected a list, got {value!r}", item=item, field=field)
        inner = args[0] if args else typing.Any
        return tuple(_check(v, inner, path=path, item=item, field=field) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(path, f"expected a table, got {value!r}", item=item, field=field)
        inner = args[1] if len(args) == 2 else typing.Any
        return {k: _check(v, inner, path=path, item=item, field=f"{field}.{k}") for k, v in value.items()}
    if hint is typing.Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        raise InputError(path, f"expected {_name(hint)}, got {value!r}", item=item, field=field)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise InputError(path, f"expected {_name(hint)}, got {value!r}", item=item, field=field)
    return value


def _name(hint) -> str:
    return getattr(hint, "__name__", str(hint))
