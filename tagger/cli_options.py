"""Options several command modules share (cli.py, recommend_cli.py), kept here so neither imports the other."""
from __future__ import annotations

import click

CATALOG_HELP = "Catalog file (SQLite). Default: $TAGGER_CATALOG or ./tagger.db"


def catalog_option(func):
    return click.option("--catalog", "catalog_path", envvar="TAGGER_CATALOG", default="tagger.db",
                        show_default=True, help=CATALOG_HELP)(func)
