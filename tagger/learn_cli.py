"""`tagger train tags` and `tagger evaluate tags`. Imports stay inside the commands."""
from __future__ import annotations

import json

import click


@click.group()
def train() -> None:
    """Train models from labelled titles."""


@train.command("tags")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Folder with movielens-small/ and tmdb/ (public labels; see README).")
@click.option("--catalog", "catalog_paths", multiple=True, type=click.Path(dir_okay=False),
              help="A catalog whose editors' decisions are labels too (repeatable); they outweigh public labels.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the heads (heads.npz and heads.json).")
@click.option("--taxonomy", "taxonomy_name", default="default", show_default=True,
              help="Taxonomy name or .toml path; its label map is taxonomies/labels/<name>.toml.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cross-validation folds.")
def train_tags(data_dir, catalog_paths, out_dir, taxonomy_name, seed) -> None:
    """Per-tag heads over synopsis embeddings and zero-shot scores, calibrated on held-out folds."""
    import time

    from rich.console import Console

    from tagger.errors import TaggerError
    from tagger.learn.recipe import train_heads

    if not data_dir and not catalog_paths:
        raise click.UsageError("give --data (public labels), --catalog (editors' decisions), or both")
    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        heads = train_heads(data_dir=data_dir, catalog_paths=list(catalog_paths), out_dir=out_dir,
                            taxonomy_name=taxonomy_name, seed=seed, log=console.print)
    except TaggerError as error:
        raise click.ClickException(str(error)) from None
    validation = heads.record["validation"]
    click.echo(f"{len(heads.tag_ids)} tags have heads (at least {validation['min_positives']} positive labels); "
               f"{len(heads.fallback)} fall back to zero-shot and rules; version {heads.version}; "
               f"wrote {out_dir} in {time.perf_counter() - started:.0f} s")


@click.command("tags")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with movielens-small/ and tmdb/ (see README).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the results here.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the title split and the folds.")
@click.option("--no-simulation", is_flag=True, help="Skip the editor simulation (faster).")
def evaluate_tags(data_dir, json_path, seed, no_simulation) -> None:
    """Learned heads against zero-shot, TF-IDF + LR and a plain probe, on titles training never sees."""
    from rich.console import Console

    from tagger.errors import TaggerError
    from tagger.learn.evaluate import evaluate, print_table

    console = Console(stderr=True)
    try:
        results = evaluate(data_dir, seed=seed, simulate=not no_simulation, log=console.print)
    except TaggerError as error:
        raise click.ClickException(str(error)) from None
    print_table(results, echo=click.echo)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
        console.print(f"wrote {json_path}")
