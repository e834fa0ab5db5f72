"""The `tagger` command. Heavy libraries load inside the commands, so --help is instant."""
from __future__ import annotations

import json
import logging
import sys

import click

from tagger import __version__
from tagger.cli_options import catalog_option
from tagger.executors import EXECUTORS, default_executor, executor_class

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

    catalog = _open_catalog(catalog_path)
    with catalog:
        try:
            outcomes = run_ingest(titles, catalog=catalog, pipeline=pipeline, taxonomy=taxonomy_name,
                                  workers=workers, force=force, progress=RichProgress(), executor=executor,
                                  executor_options={"address": ray_address} if ray_address else None)
        except TaggerError as error:   # the executor could not start: no Ray cluster, models fail to load
            raise click.ClickException(str(error)) from None
    print_summary(outcomes, catalog_path)
    sys.exit(1 if any(o.status == "failed" for o in outcomes) else 0)


@cli.command("list")
@catalog_option
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
@catalog_option
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
@catalog_option
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


# -- editors' review ---------------------------------------------------------------------------

def _editor_option(func):
    return click.option("--editor", envvar="TAGGER_EDITOR", default=None,
                        help="Who decides (an editor from `tagger editors add`). Default: $TAGGER_EDITOR")(func)


def _comment_option(func):
    return click.option("--comment", default=None, help="Why; kept with the decision in the log.")(func)


def _review_call(work):
    """Run a review operation; its errors become one-line messages (exit 1)."""
    from tagger.errors import TaggerError

    try:
        return work()
    except TaggerError as error:
        raise click.ClickException(str(error)) from None


def _scene_idx(scene: int | None) -> int:
    from tagger.catalog.db import TITLE_SCENE

    return TITLE_SCENE if scene is None else scene


@cli.group()
def editors() -> None:
    """Editors who review tags: create them, list them, renew API tokens."""


@editors.command("add")
@click.argument("name")
@catalog_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def editors_add(name, catalog_path, password_stdin) -> None:
    """Create an editor with a password (for the web app); prints the API token once."""
    from tagger.review.auth import add_editor

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    with _open_catalog(catalog_path) as catalog:
        token = _review_call(lambda: add_editor(catalog, name, password))
    click.echo(f"editor {name} added to {catalog_path}. API token (shown once, keep it safe):", err=True)
    click.echo(token)


@editors.command("list")
@catalog_option
def editors_list(catalog_path) -> None:
    """Editors in the catalog."""
    from tagger.review.auth import list_editors

    with _open_catalog(catalog_path) as catalog:
        for editor in list_editors(catalog):
            click.echo(f"{editor['name']:24} since {editor['created_at']}")


@editors.command("token")
@click.argument("name")
@catalog_option
def editors_token(name, catalog_path) -> None:
    """Give an editor a new API token (the old one stops working); prints it once."""
    from tagger.review.auth import new_editor_token

    with _open_catalog(catalog_path) as catalog:
        click.echo(_review_call(lambda: new_editor_token(catalog, name)))


@cli.group()
def review() -> None:
    """Editors' decisions on tags: the queue, accept, reject, add, history."""


@review.command("queue")
@catalog_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--title", "title_id", default=None, help="Only this title.")
@click.option("--facet", default=None, help="Only this facet.")
@click.option("--json", "as_json", is_flag=True)
def review_queue_cmd(catalog_path, limit, title_id, facet, as_json) -> None:
    """Pending tags, most valuable decision first: uncertainty x (1 + recency + reach) / 3."""
    from tagger.review.queue import review_queue

    with _open_catalog(catalog_path) as catalog:
        items = review_queue(catalog, limit=limit, title_id=title_id, facet=facet)
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for i in items:
        click.echo(f"{i['priority']:.3f}  {i['title_id']:20} {i['tag']:28} {i['facet']:14} "
                   f"conf {i['confidence']:.2f}  v{i['version']}")
    if not items:
        click.echo("nothing pending")


def _decision_command(action: str):
    @click.argument("title_id")
    @click.argument("tags", nargs=-1, required=True)
    @catalog_option
    @_editor_option
    @_comment_option
    @click.option("--scene", type=int, default=None, help="A scene's tag instead of the title's.")
    @click.option("--expect-version", type=int, default=None,
                  help="Fail if the tag's version is not this one (what you saw; 0 for a tag not there yet).")
    def command(title_id, tags, catalog_path, editor, comment, scene, expect_version) -> None:
        from tagger.review.decisions import decide

        with _open_catalog(catalog_path) as catalog:
            for tag in tags:
                done = _review_call(lambda: decide(catalog, title_id, tag, action, editor=editor, comment=comment,
                                                   scene_idx=_scene_idx(scene), expected_version=expect_version))
                click.echo(f"{title_id} {tag}: {done['status']} by {done['editor']} (version {done['version']})")
    return command


review.command("accept", help="Accept auto tags of a title: tagger review accept ID TAG...")(
    _decision_command("accept"))
review.command("reject", help="Reject tags of a title; re-ingest will not bring them back.")(
    _decision_command("reject"))
review.command("add", help="Add tags from the title's taxonomy to a title.")(
    _decision_command("add"))


def _bulk_command(action: str):
    @catalog_option
    @_editor_option
    @_comment_option
    @click.option("--title", "title_id", default=None, help="Only this title.")
    @click.option("--facet", default=None, help="Only this facet.")
    @click.option("--min-confidence", type=click.FloatRange(0, 1), default=None)
    @click.option("--max-confidence", type=click.FloatRange(0, 1), default=None)
    def command(catalog_path, editor, comment, title_id, facet, min_confidence, max_confidence) -> None:
        from tagger.review.decisions import bulk_decide

        if title_id is None and facet is None and min_confidence is None and max_confidence is None:
            raise click.UsageError("give at least one of --title, --facet, --min-confidence, --max-confidence")
        with _open_catalog(catalog_path) as catalog:
            done = _review_call(lambda: bulk_decide(catalog, action, editor=editor, title_id=title_id, facet=facet,
                                                    min_confidence=min_confidence, max_confidence=max_confidence,
                                                    comment=comment))
        for tag in done:
            click.echo(f"{tag['title_id']} {tag['tag']}: {tag['status']}")
        click.echo(f"{len(done)} tag(s) {action}ed")
    return command


review.command("accept-all", help="Accept every pending tag that matches (per title, facet, confidence).")(
    _bulk_command("accept"))
review.command("reject-all", help="Reject every pending tag that matches (per title, facet, confidence).")(
    _bulk_command("reject"))


@review.command("history")
@click.argument("title_id")
@catalog_option
@click.option("--tag", default=None, help="Only this tag.")
@click.option("--json", "as_json", is_flag=True)
def review_history(title_id, catalog_path, tag, as_json) -> None:
    """Every decision on a title, oldest first: who, when, before, after, comment."""
    from tagger.review.decisions import history

    with _open_catalog(catalog_path) as catalog:
        rows = _review_call(lambda: history(catalog, title_id, tag))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        scene = "" if r["scene"] is None else f" (scene {r['scene']})"
        note = f"  \"{r['comment']}\"" if r["comment"] else ""
        click.echo(f"{r['at']}  {r['editor']:12} {r['tag']}{scene}: {r['before_status'] or 'new'} -> "
                   f"{r['after_status']}{note}")
    if not rows:
        click.echo(f"no decisions on {title_id} yet")


@cli.command()
@catalog_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
def serve(catalog_path, host, port, threads) -> None:
    """The review web app and JSON API (/api) for editors."""
    import waitress

    from tagger.review.web import create_app

    catalog = _open_catalog(catalog_path)   # fails early, with the catalog's name, when it cannot open
    catalog.close()
    app = create_app(catalog_path)
    click.echo(f"tagger review on http://{host}:{port}/ (catalog {catalog_path}); Ctrl-C stops", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="tagger")


from tagger.learn_cli import evaluate_tags, train  # noqa: E402
from tagger.recommend_cli import evaluate, recommend  # noqa: E402  (kept apart: cli.py is long enough)

cli.add_command(recommend)
cli.add_command(evaluate)
cli.add_command(train)
evaluate.add_command(evaluate_tags)


def main() -> None:
    cli()
