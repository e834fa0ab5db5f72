"""What several command modules share (cli.py, recommend_cli.py, review_cli.py), kept here so none
imports another."""
from __future__ import annotations

import click

CATALOG_HELP = "Catalog file (SQLite). Default: $TAGGER_CATALOG or ./tagger.db"


def catalog_option(func):
    return click.option("--catalog", "catalog_path", envvar="TAGGER_CATALOG", default="tagger.db",
                        show_default=True, help=CATALOG_HELP)(func)


def open_catalog(path: str):
    """The catalog at `path`; a file that is not one is a one-line error, not a traceback."""
    from tagger.catalog.db import Catalog
    from tagger.errors import TaggerError

    try:
        return Catalog(path)
    except TaggerError as error:
        raise click.ClickException(str(error)) from None


def no_such_title(catalog, title_id: str, catalog_path: str) -> click.ClickException:
    """The error for a title id the catalog does not hold, naming the first ids it does."""
    known = catalog.title_ids()
    return click.ClickException(f"no title {title_id!r} in {catalog_path} "
                                f"(known: {', '.join(known[:20]) or 'none'})")
