"""The `tagger` command. Heavy libraries load inside the commands, so --help is instant."""
from __future__ import annotations

import json
import logging
import sys

import click

from tagger import __version__

CATALOG_HELP = "Catalog file (SQLite). Default: $TAGGER_CATALOG or ./tagger.db"


def _catalog_option(func):
    return click.option("--catalog", "catalog_path", envvar="TAGGER_CATALOG", default="tagger.db",
                        show_default=True, help=CATALOG_HELP)(func)


def _open_catalog(path: str):
    from tagger.catalog.db import Catalog
    from tagger.errors import TaggerError

    try:
        return Catalog(path)
    except TaggerError as error:
        raise click.ClickException(str(error)) from None


@click.group()
@click.version_option(__version__, prog_name="tagger")
@click.option("-v", "--verbose", is_flag=True, help="Log details, tracebacks of failed titles included.")
def cli(verbose: bool) -> None:
    """Multimodal content tagging for film and TV titles."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for noisy in ("httpx", "huggingface_hub", "sentence_transformers", "transformers", "root", "numba"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--manifest", type=click.Path(), multiple=True, help="A .csv or .jsonl manifest, one title per row.")
@_catalog_option
@click.option("--pipeline", "pipeline_name", default="default", show_default=True,
              help="Pipeline name (see `tagger pipelines`) or path to a .toml file.")
@click.option("--taxonomy", "taxonomy_name", default=None, help="Taxonomy name or .toml path (default: the pipeline's).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes analysing titles.")
@click.option("--force", is_flag=True, help="Re-analyse titles even when nothing changed.")
def ingest(paths, manifest, catalog_path, pipeline_name, taxonomy_name, workers, force) -> None:
    """Analyse titles: title folders, folders of them, video files, or manifests.

    Exit status: 0 when every title succeeded (or was unchanged), 1 when any failed, 2 for usage errors.
    """
    from tagger.errors import InputError
    from tagger.ingest import ingest as run_ingest
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover, read_manifest

    if not paths and not manifest:
        raise click.UsageError("give title folders, video files, or --manifest FILE")
    try:
        pipeline = load_pipeline(pipeline_name)
        titles = discover(list(paths)) if paths else []
        for path in manifest:
            titles.extend(read_manifest(path))
        if taxonomy_name:
            from tagger.tagging.taxonomy import load_taxonomy

            load_taxonomy(taxonomy_name)
    except InputError as error:
        raise click.UsageError(str(error)) from None
    if not titles:
        raise click.UsageError("no titles found in " + ", ".join(list(paths) + list(manifest)))
    from tagger.progress import RichProgress, print_summary

    catalog = _open_catalog(catalog_path)
    with catalog:
        outcomes = run_ingest(titles, catalog=catalog, pipeline=pipeline, taxonomy=taxonomy_name,
                              workers=workers, force=force, progress=RichProgress())
    print_summary(outcomes, catalog_path)
    sys.exit(1 if any(o.status == "failed" for o in outcomes) else 0)


@cli.command("list")
@_catalog_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def list_titles(catalog_path, as_json) -> None:
    """Titles in the catalog."""
    with _open_catalog(catalog_path) as catalog:
        rows = catalog.list_titles()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "title", "status", "duration", "scenes", "tags", "micro-genre")
    for r in rows:
        table.add_row(r["id"], r["title"], r["status"] if r["status"] == "ok" else f"[red]{r['status']}[/red]",
                      f"{r['duration_s']:.1f} s" if r["duration_s"] else "-", str(r["scenes"]), str(r["tags"]),
                      (r["micro_genres"] or [""])[0] if r["status"] == "ok" else (r["error"] or "")[:60])
    Console().print(table)


@cli.command()
@click.argument("title_id")
@_catalog_option
@click.option("--json", "as_json", is_flag=True, help="Everything, as JSON (field names are a stable interface).")
def show(title_id, catalog_path, as_json) -> None:
    """One title: scenes, features, tags with evidence, micro-genres, embeddings."""
    with _open_catalog(catalog_path) as catalog:
        data = catalog.title(title_id)
        if data is None:
            known = catalog.title_ids()
            raise click.ClickException(f"no title {title_id!r} in {catalog_path} "
                                       f"(known: {', '.join(known[:20]) or 'none'})")
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from tagger.progress import print_title

    print_title(data)


@cli.command()
@_catalog_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the Parquet files.")
def export(catalog_path, out_dir) -> None:
    """Parquet files for recommender pipelines: titles, scenes, tags, features, embeddings."""
    from tagger.catalog.export import export as run_export

    with _open_catalog(catalog_path) as catalog:
        counts = run_export(catalog, out_dir)
    for name, count in counts.items():
        click.echo(f"{out_dir}/{name}.parquet: {count} rows")


@cli.command()
def pipelines() -> None:
    """Pipelines shipped with tagger."""
    from tagger.pipeline import available_pipelines, load_pipeline

    for name in available_pipelines():
        pipeline = load_pipeline(name)
        click.echo(f"{name:10} {' > '.join(pipeline.stages)}\n{'':10} {pipeline.description}")


@cli.group()
def taxonomy() -> None:
    """Tag taxonomies: list tags, validate a file."""


@taxonomy.command("list")
@click.option("--taxonomy", "name", default="default", show_default=True, help="Taxonomy name or .toml path.")
@click.option("--facet", default=None, help="Only this facet.")
@click.option("--json", "as_json", is_flag=True)
def taxonomy_list(name, facet, as_json) -> None:
    """Facets and tags of a taxonomy."""
    from tagger.errors import InputError
    from tagger.tagging.taxonomy import load_taxonomy

    try:
        tax = load_taxonomy(name)
    except InputError as error:
        raise click.ClickException(str(error)) from None
    tags = [t for t in tax.tags if facet is None or t.facet == facet]
    if as_json:
        click.echo(json.dumps([{"id": t.id, "facet": t.facet, "label": t.label, "description": t.description,
                                "parent": t.parent, "rules": [r.feature for r in t.rules],
                                "clip": bool(t.clip_prompts)} for t in tags], indent=2))
        return
    for f in tax.facets:
        members = [t for t in tags if t.facet == f.id]
        if not members:
            continue
        click.echo(f"{f.label} ({f.id}, {len(members)} tags)")
        for t in members:
            how = ", ".join(x for x, on in (("text", t.prompts), ("clip", t.clip_prompts), ("rule", t.rules)) if on)
            click.echo(f"  {t.id:28} {t.label:28} [{how}]")
    click.echo(f"{len(tags)} tags in {len(tax.facets)} facets ({tax.path})")


@taxonomy.command("validate")
@click.argument("path", type=click.Path())
def taxonomy_validate(path) -> None:
    """Check a taxonomy file; every problem names the file, the tag and the field."""
    from tagger.tagging.taxonomy import load_taxonomy, validate_taxonomy

    problems = validate_taxonomy(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in {path}")
    tax = load_taxonomy(path)
    click.echo(f"{path}: ok ({len(tax.tags)} tags in {len(tax.facets)} facets)")


def main() -> None:
    cli()
