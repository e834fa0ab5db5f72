"""Rows of a tabular data file: CSV with a header, or JSON Lines (one object per line).

One reader for manifests (titles.py) and events files (recommend/events.py). It yields
``(line, row, problem)``: the row as a dict with its keys and text values stripped, and an
InputError naming the file and line when the row is broken (problem is None otherwise). Each
caller decides what a broken row means: a manifest fails that row's title, an events file
stops. A row holding bytes that are not UTF-8 is a broken row too (its line and field
named). A file that cannot be read as a whole (wrong suffix, header lacking a required
column) raises InputError.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from tagger.errors import InputError

CSV_SUFFIXES = (".csv",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")

Row = tuple[int, dict, InputError | None]


def read_rows(path: str | Path, *, required: tuple[str, ...] = (),
              what: str = "file") -> Iterator[Row]:
    """The rows of a .csv or .jsonl file at ``path``, with 1-based line numbers.

    ``required``: columns a CSV header must name (a JSONL row's fields are the caller's to
    check). ``what`` names the file in the error for a wrong suffix ("manifest").
    Blank lines (and CSV lines of empty values only, as spreadsheets export them) are skipped;
    a UTF-8 byte order mark is ignored.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        rows = _csv_rows(path, required)
    elif suffix in JSONL_SUFFIXES:
        rows = _jsonl_rows(path)
    else:
        raise InputError(path, f"{what} must be a .csv or .jsonl file")
    return _utf8_only(path, rows)


def _utf8_only(path: Path, rows: Iterator[Row]) -> Iterator[Row]:
    """Rows whose text is not UTF-8 (read as surrogate escapes) become problems of their own."""
    for line, row, problem in rows:
        for key, value in row.items() if problem is None else ():
            byte = _first_escaped_byte(key)
            byte = _first_escaped_byte(value) if byte is None else byte
            if byte is not None:
                problem = InputError(path, f"not UTF-8 text: byte 0x{byte:02x}; save the file as UTF-8",
                                     line=line, field=key)
                break
        yield line, row, problem


def _first_escaped_byte(value) -> int | None:
    """The first byte that did not decode as UTF-8 (surrogateescape keeps it as U+DC80..U+DCFF)."""
    if not isinstance(value, str):
        return None
    for char in value:
        if "\udc80" <= char <= "\udcff":
            return ord(char) - 0xDC00
    return None


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
        except csv.Error as error:
            raise InputError(path, f"malformed CSV header: {error}", line=1) from None
        missing = [name for name in required if name not in header]
        if missing:
            raise InputError(path, f"the header must name the columns {', '.join(required)}",
                             line=1, field=missing[0])
        while True:
            line = reader.line_num + 1   # a quoted value may go on over several lines
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # The reader starts afresh on the next line, so only this row is lost.
                yield line, {}, InputError(path, f"malformed CSV: {error}", line=line)
                continue
            values = [v.strip() for v in values]
            # Values beyond the header's columns; empty ones (a trailing comma) carry nothing.
            extra = [v for v in values[len(header):] if v]
            if not extra and not any(values):
                continue
            row = dict(zip(header, values + [None] * (len(header) - len(values))))
            problem = None
            if extra:
                problem = InputError(path, f"more values than header columns: {extra!r}",
                                     line=line)
            yield line, row, problem


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                yield number, {}, InputError(path, f"invalid JSON: {error.msg} (column "
                                                   f"{error.colno})", line=number)
                continue
            if not isinstance(row, dict):
                yield number, {}, InputError(path, "each line must be a JSON object",
                                             line=number)
                continue
            yield number, {k.strip(): _stripped(v) for k, v in row.items()}, None
