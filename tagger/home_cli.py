"""`tagger artwork`, `tagger recommend home` and `tagger evaluate home`. Imports stay inside the commands."""
from __future__ import annotations

import json

import click

from tagger.cli_options import catalog_option, open_catalog


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
            known = catalog.title_ids()
            raise click.ClickException(f"no title {title_id!r} in {catalog_path} "
                                       f"(known: {', '.join(known[:20]) or 'none'})")
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
    for column in ("scene", "keyframe", "time_s", "looks", "brightness", "faces", "scenery", "scene tags"):
        table.add_column(column)
    for c in candidates:
        table.add_row(str(c.scene), str(c.keyframe), f"{c.time_s:.1f}", c.describe(), f"{c.features['brightness']:.2f}",
                      f"{c.features['faces']:.2f}", f"{c.features['scenery']:.2f}",
                      ", ".join(tag for tag, _ in c.tags[:4]))
    Console().print(table)
    if not candidates:
        click.echo("no keyframe qualifies (none sharp, lit and before the ending)")
