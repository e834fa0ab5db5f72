"""`tagger artwork`, `tagger recommend home` and `tagger evaluate home`. Imports stay inside the commands."""
from __future__ import annotations

import json

import click

from tagger.cli_options import catalog_option, no_such_title, open_catalog


@click.command("artwork")
@click.argument("title_id")
@catalog_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def artwork(title_id, catalog_path, as_json) -> None:
    """The artwork candidates of TITLE_ID: sharp keyframes spread over the title, described."""
    from tagger.home.artwork import choose_candidates

    with open_catalog(catalog_path) as catalog:
        title = catalog.read_title(title_id)
        if title is None:
            raise no_such_title(catalog, title_id, catalog_path)
    scene_tags: dict[int, list] = {}
    for tag in title.tags:
        if tag.scene is not None and tag.status != "rejected":
            scene_tags.setdefault(tag.scene, []).append((tag.tag, tag.facet, tag.confidence))
    candidates = choose_candidates(title_id, title.scenes, scene_tags)
    if as_json:
        click.echo(json.dumps({"title": title_id, "candidates": [c.to_dict() for c in candidates]},
                              indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"artwork candidates of {title_id}")
    for column in ("scene", "keyframe", "time_s", "looks", "brightness", "faces", "scenery", "crowd", "scene tags"):
        table.add_column(column)
    for c in candidates:
        table.add_row(str(c.scene), str(c.keyframe), f"{c.time_s:.1f}", c.describe(), f"{c.features['brightness']:.2f}",
                      f"{c.features['faces']:.2f}", f"{c.features['scenery']:.2f}", f"{c.features['crowd']:.2f}",
                      ", ".join(tag for tag, _ in c.tags[:4]))
    Console().print(table)
    if not title.scenes:
        click.echo(f"{title_id} has no scenes (no video, or its pipeline had no scenes stage): no artwork")
    elif not candidates:
        click.echo("no keyframe qualifies (none sharp, lit and before the ending)")


@click.command("home")
@click.argument("user")
@catalog_option
@click.option("--interactions", "interactions_path", type=click.Path(),
              help="Events (.csv or .jsonl), impressions and clicks included: fitted on, or with --model read "
                   "for the page's feedback (continue watching, clicks on rows and images).")
@click.option("--model", "model_path", type=click.Path(file_okay=False), default=None,
              help="A model saved by `tagger recommend fit`.")
@click.option("--region", default=None, help="The viewer's region (default: from their events).")
@click.option("--at", "at", default=None, help="The page as of this time (ISO date or unix seconds; default now).")
@click.option("--rows", "n_rows", type=click.IntRange(1, 50), default=6, show_default=True, help="Rows on the page.")
@click.option("--per-row", type=click.IntRange(1, 100), default=10, show_default=True, help="Titles per row.")
@click.option("--mood", default=None, help="Comma-separated mood or tone tags for this session only.")
@click.option("--likes", default=None, help="A new viewer: comma-separated title ids liked at sign-up.")
@click.option("--tags", default=None, help="A new viewer: comma-separated tags chosen at sign-up.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
def recommend_home(user, catalog_path, interactions_path, model_path, region, at, n_rows, per_row, mood, likes,
                   tags, as_json) -> None:
    """USER's home page: rows chosen and ordered for them, with artwork chosen for them."""
    from tagger.errors import TaggerError, UnknownIdError
    from tagger.home.load import load_home
    from tagger.recommend.events import parse_time_s

    try:
        now_s = parse_time_s(at, path="--at") if at else None
        home = load_home(catalog_path, interactions_path, model_path)
        page = home.page(user, region=region, now_s=now_s, rows=n_rows, per_row=per_row, mood=_split(mood),
                         likes=_split(likes), tags=_split(tags))
    except (TaggerError, UnknownIdError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(page.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(page_text(page.to_dict()))


def page_text(page: dict) -> str:
    """A home page as text: each row's name and reason, then its titles with the image chosen."""
    lines = [f"Home page of {page['user']}"]
    for row in page["rows"]:
        lines += ["", f"{row['name']}  ({row['kind']}: {row['reason']})"]
        for item in row["items"]:
            art = item["artwork"]
            image = f"scene {art['scene']} frame {art['keyframe']}: {art['reason']}" if art else "no artwork"
            lines.append(f"  {item['title']:<28} {'; '.join(item['reasons'])}  [{image}]")
    return "\n".join(lines)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@click.command("home")
@click.option("--seeds", default="0,1,2,3,4", show_default=True, help="Comma-separated evaluation seeds.")
@click.option("--validation-seeds", default="100,101,102", show_default=True,
              help="Seeds on which the exploration parameters are chosen (never the evaluation seeds).")
@click.option("--viewers", type=click.IntRange(20, 100_000), default=400, show_default=True,
              help="Simulated viewers per population.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the results here.")
def evaluate_home(seeds, validation_seeds, viewers, json_path) -> None:
    """Replay (rows) and IPS (artwork) on a simulated population with hidden, known preferences."""
    from rich.console import Console

    from tagger.home import replay

    try:
        seed_list, validation = [int(s) for s in _split(seeds)], [int(s) for s in _split(validation_seeds)]
    except ValueError:
        raise click.BadParameter("expected comma-separated integers") from None
    if set(seed_list) & set(validation):
        raise click.BadParameter("evaluation and validation seeds must differ", param_hint="--validation-seeds")
    console = Console(stderr=True)
    results = replay.evaluate(seed_list, validation, log=console.print, n_viewers=viewers)
    click.echo(results_table(results))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
        console.print(f"wrote {json_path}")


def results_table(results: dict) -> str:
    """The replay results as a Markdown table."""
    lines = ["| policy | CTR | 95% interval | first screen reaches a title they would finish |", "|---|---|---|---|"]
    for part, names in (("artwork", ("personalised", "best_fixed", "random")), ("row_order", ("learned", "fixed"))):
        for name in names:
            r = results[part][name]
            reached = f"{r['reached']:.0%}" if "reached" in r else ""
            lines.append(f"| {part}: {name} | {r['ctr']:.4f} | {r['ci95'][0]:.4f} - {r['ci95'][1]:.4f} | {reached} |")
    for name, lift in results["lift"].items():
        lines.append(f"| lift {name} | {lift['x']:.3f}x | {lift['ci95'][0]:.3f} - {lift['ci95'][1]:.3f} | |")
    return "\n".join(lines)
