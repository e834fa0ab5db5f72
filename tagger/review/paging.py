"""Paging the review app's lists: a page size from ``?limit=`` and opaque keyset cursors from
``?cursor=``.

A cursor holds where the page's last item stands in its list's order (a title id; a queue
item's priority, confidence, title id and tag; a decision id), signed with the catalog's secret
and the list's name, so a changed cursor, or one from another list, is refused (a 400) instead of
read. The catalog reads the next page as an indexed range after that key, not with OFFSET, so
titles or tags written meanwhile neither shift nor repeat items.
"""
from __future__ import annotations

from typing import Any, Callable

from itsdangerous import BadData, URLSafeSerializer

from tagger.errors import TaggerError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageError(TaggerError):
    """A page that cannot be read as asked: a bad limit or cursor."""

    def __init__(self, field: str, reason: str):
        self.field = field
        super().__init__(f"{field}: {reason}")


def page_limit(raw: str | None) -> int:
    """The page size from ?limit= (DEFAULT_LIMIT when absent)."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise PageError("limit", f"expected a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


class Cursors:
    """Signs and reads the cursors of the lists named in the calls."""

    def __init__(self, secret: str | bytes):
        self.secret = secret

    def _serializer(self, list_name: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=f"tagger.review page of {list_name}")

    def after(self, list_name: str, raw: str | None) -> Any:
        """The key a page starts after (None for the first page)."""
        if not raw:
            return None
        try:
            return self._serializer(list_name).loads(raw)
        except BadData:
            raise PageError("cursor", f"not a cursor of the {list_name} list (changed, or taken from another "
                                      "list); start again from the first page, without it") from None

    def cursor(self, list_name: str, key: Any) -> str:
        """The cursor of the page after the item with this key."""
        return self._serializer(list_name).dumps(key)

    def page(self, list_name: str, rows: list, limit: int, key_of: Callable[[Any], Any]) -> dict:
        """{"items": the first `limit` rows, "next": the cursor of the page after, None on the last}.
        Read one row more than `limit`: that is how the last page knows it is the last."""
        items = rows[:limit]
        return {"items": items, "next": self.cursor(list_name, key_of(items[-1])) if len(rows) > limit else None}
