"""`tagger editors`, `tagger review` and `tagger serve`: editors' accounts, decisions from the command
line, and the review web app."""
from __future__ import annotations

import json
import sys

import click

from tagger.cli_options import catalog_option, open_catalog


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


@click.group()
def editors() -> None:
    """Editors who review tags: create them, list them, renew API tokens and passwords."""


@editors.command("add")
@click.argument("name")
@catalog_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def editors_add(name, catalog_path, password_stdin) -> None:
    """Create an editor with a password (for the web app); prints the API token once."""
    from tagger.review.auth import add_editor

    password = _read_password(name, password_stdin)
    with open_catalog(catalog_path) as catalog:
        token = _review_call(lambda: add_editor(catalog, name, password))
    click.echo(f"editor {name} added to {catalog_path}. API token (shown once, keep it safe):", err=True)
    click.echo(token)


def _read_password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


@editors.command("password")
@click.argument("name")
@catalog_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def editors_password(name, catalog_path, password_stdin) -> None:
    """Give an editor a new password; the editor is signed out of the web app everywhere."""
    from tagger.review.auth import set_password

    password = _read_password(name, password_stdin)
    with open_catalog(catalog_path) as catalog:
        _review_call(lambda: set_password(catalog, name, password))
    click.echo(f"editor {name}: new password set; their web sessions ended", err=True)


@editors.command("list")
@catalog_option
def editors_list(catalog_path) -> None:
    """Editors in the catalog."""
    with open_catalog(catalog_path) as catalog:
        for editor in catalog.editors():
            click.echo(f"{editor['name']:24} since {editor['created_at']}")


@editors.command("token")
@click.argument("name")
@catalog_option
def editors_token(name, catalog_path) -> None:
    """Give an editor a new API token (the old one, and their web sessions, stop working); prints it once."""
    from tagger.review.auth import new_editor_token

    with open_catalog(catalog_path) as catalog:
        click.echo(_review_call(lambda: new_editor_token(catalog, name)))


@click.group()
def review() -> None:
    """Editors' decisions on tags: the queue, accept, reject, add, history."""


@review.command("queue")
@catalog_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--title", "title_id", default=None, help="Only this title.")
@click.option("--facet", default=None, help="Only this facet.")
@click.option("--json", "as_json", is_flag=True)
def review_queue_cmd(catalog_path, limit, title_id, facet, as_json) -> None:
    """Pending tags, most valuable decision first: uncertainty x gain x (1 + recency + reach) / 3."""
    from tagger.review.queue import review_queue

    with open_catalog(catalog_path) as catalog:
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

        with open_catalog(catalog_path) as catalog:
            for tag in tags:
                done = _review_call(lambda: decide(catalog, title_id, tag, action, editor=editor, comment=comment,
                                                   scene=scene, expected_version=expect_version))
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
        with open_catalog(catalog_path) as catalog:
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

    with open_catalog(catalog_path) as catalog:
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


@click.command()
@catalog_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--interactions", "interactions_path", type=click.Path(), default=None,
              help="Events for the /home/USER preview (as for `tagger recommend home`).")
@click.option("--model", "model_path", type=click.Path(file_okay=False), default=None,
              help="A model saved by `tagger recommend fit`, for the /home/USER preview.")
@click.option("--secure-cookies", is_flag=True,
              help="Served behind HTTPS (a proxy): session cookies only over HTTPS, and HSTS.")
def serve(catalog_path, host, port, threads, interactions_path, model_path, secure_cookies) -> None:
    """The review web app and JSON API (/api) for editors, with a /home/USER preview."""
    import waitress

    from tagger.review.web import create_app

    catalog = open_catalog(catalog_path)   # fails early, with the catalog's name, when it cannot open
    catalog.close()
    app = create_app(catalog_path, interactions=interactions_path, model=model_path, secure_cookies=secure_cookies)
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        click.echo(f"warning: serving {host} over plain HTTP: passwords and session cookies cross the network "
                   "unencrypted; put tagger behind an HTTPS proxy and pass --secure-cookies", err=True)
    click.echo(f"tagger review on http://{host}:{port}/ (catalog {catalog_path}); Ctrl-C stops", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="tagger")
