"""Exceptions that say what went wrong, with the file, the item and the field."""
from __future__ import annotations

from pathlib import Path


class TaggerError(Exception):
    """Base class for errors a user can act on."""


class InputError(TaggerError):
    """A user's file (title.toml, manifest, subtitle, taxonomy, pipeline) is malformed.

    The message reads ``FILE:LINE: ITEM: FIELD: reason`` with the parts that are known.
    """

    def __init__(self, path: str | Path | None, reason: str, *, line: int | None = None,
                 item: str | None = None, field: str | None = None):
        self.path = str(path) if path is not None else None
        self.reason = reason
        self.line = line
        self.item = item
        self.field = field
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        parts = [where]
        if item:
            parts.append(item)
        if field:
            parts.append(field)
        super().__init__(": ".join(parts + [reason]))


class MediaError(TaggerError):
    """A media file cannot be opened or decoded."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class EncoderUnavailable(TaggerError):
    """An image encoder's weights cannot be had on this machine; the message names the file or
    says how to provide them."""


class StageSkipped(Exception):
    """Raised by a stage that has nothing to work on; the reason goes in the title report."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class UnknownIdError(TaggerError):
    """A title, viewer or tag that the catalog or a fitted model does not hold.

    The message reads ``unknown KIND 'ID': where to look``."""

    def __init__(self, kind: str, unknown_id: str, hint: str):
        self.kind = kind
        self.unknown_id = unknown_id
        super().__init__(f"unknown {kind} {unknown_id!r}: {hint}")
