"""The `tagger` command. Heavy libraries load inside the commands, so --help is instant."""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from contextlib import contextmanager

import click

from tagger import __version__
from tagger.cli_options import catalog_option, no_such_title, open_catalog
from tagger.executors import EXECUTORS, build_executor, default_executor, executor_class


@click.group()
@click.version_option(__version__, prog_name="tagger")
@click.option("-v", "--verbose", is_flag=True, help="Log details, tracebacks of failed titles included.")
def cli(verbose: bool) -> None:
    """Multimodal content tagging for film and TV titles."""
    # Other libraries keep to warnings either way (numba's debug log alone floods a terminal);
    # -v raises tagger's own loggers only.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tagger").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not verbose:
        for noisy in ("httpx", "huggingface_hub", "sentence_transformers", "transformers", "root", "numba"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--manifest", type=click.Path(), multiple=True, help="A .csv or .jsonl manifest, one title per row.")
@catalog_option
@click.option("--pipeline", "pipeline_name", default="default", show_default=True,
              help="Pipeline name (see `tagger pipelines`) or path to a .toml file.")
@click.option("--taxonomy", "taxonomy_name", default=None, help="Taxonomy name or .toml path (default: the pipeline's).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Processes (pool) or actors (ray) analysing titles, each loading the models once. "
                   "Default: 1 (inline); pool: one per CPU; ray: the cluster's CPUs.")
@click.option("--executor", type=click.Choice(list(EXECUTORS)), default=None,
              help="Where titles are analysed: inline (this process), pool (local processes), "
                   "ray (Ray actors, local or a cluster). Default: inline, or pool with --workers above 1.")
@click.option("--ray-address", default=None, metavar="HOST:PORT",
              help="With --executor ray: join this running Ray cluster instead of starting a local one.")
@click.option("--force", is_flag=True, help="Re-analyse titles even when nothing changed.")
def ingest(paths, manifest, catalog_path, pipeline_name, taxonomy_name, workers, executor, ray_address,
           force) -> None:
    """Analyse titles: title folders, folders of them, video files, or manifests.

    Exit status: 0 when every title succeeded (or was unchanged), 1 when any failed, 2 for usage errors.
    """
    from tagger.errors import InputError, TaggerError
    from tagger.ingest import ingest as run_ingest
    from tagger.pipeline import load_pipeline
    from tagger.titles import discover, read_manifest

    if not paths and not manifest:
        raise click.UsageError("give title folders, video files, or --manifest FILE")
    if ray_address and executor != "ray":
        raise click.UsageError("--ray-address needs --executor ray")
    if executor == "inline" and workers not in (None, 1):
        raise click.UsageError("--executor inline analyses in this process; use pool or ray for --workers")
    try:
        executor_class(executor or default_executor(workers)).check_available()
    except TaggerError as error:
        raise click.ClickException(str(error)) from None
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

    progress = RichProgress()
    options = {"address": ray_address} if ray_address else {}
    stopped = None
    with open_catalog(catalog_path) as catalog:
        try:
            with _sigterm_raises(), build_executor(executor, pipeline, taxonomy=taxonomy_name, workers=workers,
                                                   on_stage=progress.stage, **options) as runner:
                outcomes = run_ingest(titles, catalog=catalog, executor=runner, force=force, progress=progress)
        except TaggerError as error:   # the executor could not start: no Ray cluster, models fail to load
            raise click.ClickException(str(error)) from None
        except Terminated:
            click.echo("tagger ingest: stopped by SIGTERM; the titles finished before it are stored and the run "
                       "record is closed; run the same command again to go on", err=True)
            stopped = 128 + signal.SIGTERM
        except KeyboardInterrupt:
            click.echo("Aborted!", err=True)
            stopped = 1
    if stopped is not None:
        _exit_now(stopped)
    print_summary(outcomes, catalog_path)
    sys.exit(1 if any(o.status == "failed" for o in outcomes) else 0)


def _exit_now(code: int) -> None:
    """Exit with `code`, the catalog closed. While models still load in the background (inside
    a C++ library), the interpreter's normal exit aborts in that library's static destructors
    ("terminate called without an active exception"), so the process then ends at once."""
    engine = sys.modules.get("tagger.engine")
    if engine is not None and engine.loading_ahead():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt: the title being written
    rolls back, the workers stop and the run record is closed on the way out."""


@contextmanager
def _sigterm_raises():
    def stop(_signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # a second one must not cut the clean-up short
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@cli.command("list")
@catalog_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--status", type=click.Choice(["ok", "failed"]), default=None, help="Only titles with this ingest status.")
@click.option("--tag", default="", help="Only titles with this tag (not rejected).")
@click.option("--search", "query", default="", help="Only titles with this text in id, title or synopsis.")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many, by id.")
def list_titles(catalog_path, as_json, status, tag, query, limit) -> None:
    """Titles in the catalog, by id (all, or those the options pick)."""
    with open_catalog(catalog_path) as catalog:
        rows = catalog.list_titles(status=status or "", tag=tag, q=query, limit=limit)
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
@catalog_option
@click.option("--json", "as_json", is_flag=True, help="Everything, as JSON (field names are a stable interface).")
def show(title_id, catalog_path, as_json) -> None:
    """One title: scenes, features, tags with evidence, micro-genres, embeddings."""
    with open_catalog(catalog_path) as catalog:
        data = catalog.title(title_id)
        if data is None:
            raise no_such_title(catalog, title_id, catalog_path)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from tagger.progress import print_title

    print_title(data)


@cli.command()
@catalog_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the Parquet files.")
def export(catalog_path, out_dir) -> None:
    """Parquet files for recommender pipelines: titles, scenes, tags, features, embeddings."""
    from tagger.catalog.export import export as run_export

    with open_catalog(catalog_path) as catalog:
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


# -- editors' review ---------------------------------------------------------------------------

# Command groups kept in their own modules (cli.py is long enough).
from tagger.recommend_cli import evaluate, recommend  # noqa: E402
from tagger.review_cli import editors, review, serve  # noqa: E402
from tagger.learn_cli import evaluate_tags, train  # noqa: E402
from tagger.home_cli import artwork, evaluate_home, recommend_home  # noqa: E402

for command in (editors, review, serve, train, recommend, evaluate, artwork):
    cli.add_command(command)
evaluate.add_command(evaluate_tags)
recommend.add_command(recommend_home)
evaluate.add_command(evaluate_home)


def main() -> None:
    cli()
