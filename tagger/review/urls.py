"""Title ids in the web app's URLs, and which sign-in redirect targets it follows.

A title id may hold anything title.toml allows: `/`, `%`, `?`, `#`, spaces, `..`. In a URL it
is one path segment: its `%` and `/` (and the dots of an id that is all dots) are escaped as
%25, %2F, %2E first, then the whole is URL-encoded as usual (so `a/b` is written `a%252Fb`).
Servers and proxies decode a URL once and browsers fold `.`/`..` segments; neither can turn
such a segment into a different path. Ids of letters, digits, `.`, `_` and `-` read unchanged.
"""
from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from werkzeug.routing import BaseConverter


class TitleIdConverter(BaseConverter):
    """`<title:title_id>` in a route: one path segment, escaped as the module says."""

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        return title_segment(value)


def title_segment(title_id: str) -> str:
    """A title id as one URL path segment (also for links built outside the app: artwork)."""
    escaped = str(title_id).replace("%", "%25").replace("/", "%2F")
    if escaped.strip(".") == "":
        escaped = escaped.replace(".", "%2E")
    return quote(escaped, safe="")


def local_target(value: str) -> str | None:
    """`value` when it is a plain path on this site (with a query, perhaps), else None.

    Refused: anything not starting with one `/`, control characters and whitespace (browsers
    drop tabs and newlines, so `/<TAB>/evil.com` becomes `//evil.com`), backslashes (read as
    `/`), and whatever has a scheme or a host, as sent or once percent-decoded.
    """
    if not value.startswith("/") or "\\" in value or any(c.isspace() or not c.isprintable() for c in value):
        return None
    for form in (value, unquote(value)):
        if form.startswith(("//", "/\\")):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return None
    return value


def request_target(path: str, query_string: bytes) -> str:
    """The URL of the request being answered, for the sign-in page to come back to: its path
    (as the server decoded it) encoded again, and its query as it came."""
    return quote(path) + ("?" + query_string.decode("latin-1") if query_string else "")
