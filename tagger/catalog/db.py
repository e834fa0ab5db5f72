"""The Catalog: one SQLite file, the only place that knows its schema.

Each area lives in its own module and the Catalog is composed of them: the connection,
migrations and transactions (base.py), runs and settings (runs.py), a title's records
(titles.py), the public JSON views (views.py), the editors' review (review.py), the review
queue kept ready for paging (queue.py) and the web app's sign-in sessions (sessions.py).
"""
from __future__ import annotations

import os
from pathlib import Path

from tagger.catalog.base import CatalogBase
from tagger.catalog.queue import QueueStore
from tagger.catalog.review import ReviewStore
from tagger.catalog.runs import RunStore
from tagger.catalog.sessions import SessionStore
from tagger.catalog.titles import TitleStore
from tagger.catalog.views import Views

DEFAULT_PATH = "tagger.db"


def default_path() -> str:
    return os.environ.get("TAGGER_CATALOG") or DEFAULT_PATH


class Catalog(TitleStore, Views, ReviewStore, QueueStore, SessionStore, RunStore, CatalogBase):
    """Reads and writes of the catalog; each title is written in one transaction."""

    def __init__(self, path: str | Path | None = None):
        super().__init__(path or default_path())
