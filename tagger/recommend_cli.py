"""`tagger recommend ...` and `tagger evaluate coldstart`. Imports stay inside the commands."""
from __future__ import annotations

import json

import click

from tagger.cli_options import catalog_option


def _common(func):
    func = click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
                        help="How many titles.")(func)
    func = click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")(func)
    return catalog_option(func)


def _interactions_option(func):
    return click.option("--interactions", "interactions_path", type=click.Path(),
                        help="Viewing events (.csv or .jsonl: user, title, kind, value, timestamp[, region]).")(func)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _model_option(func):
    return click.option("--model", "model_path", type=click.Path(file_okay=False), default=None,
                        help="A model saved by `tagger recommend fit` (instead of fitting on the catalog now).")(func)


def _model(catalog_path: str, interactions_path: str | None, model_path: str | None = None,
           need_viewers: bool = False):
    from tagger.catalog.db import Catalog
    from tagger.errors import TaggerError
    from tagger.recommend import ItemTable, Recommender, read_events

    if model_path:
        if interactions_path:
            raise click.UsageError("--model already holds the events it was fitted on; leave out --interactions")
        try:
            return Recommender.load(model_path)
        except TaggerError as error:
            raise click.ClickException(str(error)) from None
    if need_viewers and not interactions_path:
        raise click.UsageError("give --interactions (viewing events) or --model (a model fitted with them)")
    try:
        with Catalog(catalog_path) as catalog:
            items = ItemTable.from_catalog(catalog)
        events = read_events(interactions_path) if interactions_path else []
    except TaggerError as error:
        raise click.ClickException(str(error)) from None
    if len(items) == 0:
        raise click.ClickException(f"{catalog_path}: no titles in the catalog; run `tagger ingest` first")
    return Recommender().fit(items, events)


def _show(query: dict, recommendations, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"query": query, "recommendations": [r.to_dict() for r in recommendations]},
                              indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=", ".join(f"{k}: {v}" for k, v in query.items() if v not in (None, [], "")))
    for column in ("#", "id", "title", "score", "why"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for rank, r in enumerate(recommendations, 1):
        table.add_row(str(rank), r.title_id, r.title, f"{r.score:.2f}", "; ".join(r.reasons))
    Console().print(table)


def _run(work):
    """An unknown title, viewer or tag is the user's to fix: one line, no traceback."""
    from tagger.errors import UnknownIdError

    try:
        return work()
    except UnknownIdError as error:
        raise click.ClickException(str(error)) from None


@click.group()
def recommend() -> None:
    """Recommendations from the catalog's tags and embeddings (and viewing events, when given)."""


@recommend.command("fit")
@click.option("--out", "out_path", required=True, type=click.Path(file_okay=False),
              help="Folder to write the model to (model.json and arrays.npz).")
@catalog_option
@_interactions_option
def recommend_fit(out_path, catalog_path, interactions_path) -> None:
    """Fit on the catalog (and events) once and save the model, for --model."""
    import time

    started = time.perf_counter()
    model = _model(catalog_path, interactions_path)
    model.save(out_path)
    click.echo(f"fitted on {len(model.items)} titles and {len(model.user_ids)} viewers in "
               f"{time.perf_counter() - started:.1f} s; wrote {out_path}")


@recommend.command("similar")
@click.argument("title_id")
@_common
@_interactions_option
@_model_option
def recommend_similar(title_id, k, as_json, catalog_path, interactions_path, model_path) -> None:
    """Titles like TITLE_ID: content embeddings and shared tags (plus co-viewing, with events)."""
    model = _model(catalog_path, interactions_path, model_path)
    _show({"similar_to": title_id, "k": k}, _run(lambda: model.similar(title_id, k)), as_json)


@recommend.command("user")
@click.argument("user")
@_common
@_interactions_option
@_model_option
@click.option("--region", default=None, help="The viewer's region (default: from their events).")
@click.option("--mood", default=None, help="Comma-separated mood or tone tags for this answer only.")
def recommend_user(user, k, as_json, catalog_path, interactions_path, model_path, region, mood) -> None:
    """A row for USER, who has events in --interactions (or in the events --model was fitted on)."""
    model = _model(catalog_path, interactions_path, model_path, need_viewers=True)
    _show({"user": user, "region": region, "k": k, "mood": _split(mood)},
          _run(lambda: model.recommend_user(user, k, region=region, mood=_split(mood))), as_json)


@recommend.command("new-user")
@click.option("--likes", default=None, help="Comma-separated title ids liked at sign-up (zero to five).")
@click.option("--tags", default=None, help="Comma-separated tags, moods or genres chosen at sign-up.")
@click.option("--region", default=None, help="Region for the popularity prior.")
@_common
@_interactions_option
@_model_option
def recommend_new_user(likes, tags, region, k, as_json, catalog_path, interactions_path, model_path) -> None:
    """A first row for someone who has watched nothing yet."""
    model = _model(catalog_path, interactions_path, model_path)
    liked, chosen = _split(likes), _split(tags)
    _show({"likes": liked, "tags": chosen, "region": region, "k": k},
          _run(lambda: model.recommend_new_user(liked, chosen, region=region, k=k)), as_json)


@click.group()
def evaluate() -> None:
    """Measure tagger against baselines on real data: the recommender (coldstart), the tags (tags)."""


@evaluate.command("coldstart")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with movielens-small/ and tmdb/ (see README).")
@click.option("--seeds", default="0,1,2,3,4", show_default=True, help="Comma-separated split seeds.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the results here.")
@click.option("--catalog", "catalog_path", default="tagger-eval.db", show_default=True,
              help="Catalog for the evaluation titles (reused between runs).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes for ingesting the titles.")
@click.option("--protocol", "protocols", multiple=True, type=click.Choice(["random", "temporal", "new-user"]),
              help="Protocols to run (repeat the option; default: all three). random: 20% of titles held "
                   "out at random; temporal: the titles first rated after the cutoff; new-user: held-out users.")
@click.option("--cutoff-quantile", type=click.FloatRange(0.05, 0.95), default=0.8, show_default=True,
              help="Temporal protocol: the quantile of titles' first-rating times after which titles are new.")
@click.option("--learned-tags", is_flag=True,
              help="Item cold start: tag heads fitted on each split's training titles give the tagger method a "
                   "block of tag probabilities, weighed by its validation, and tagger-no-learned-tags reports it "
                   "forced off (measured: no gain, 2.5 CPU-minutes more; see README).")
def evaluate_coldstart(data_dir, seeds, json_path, catalog_path, workers, protocols, cutoff_quantile,
                       learned_tags) -> None:
    """Item cold start (random and time-based) and new users on MovieLens with TMDB overviews,
    side by side with baselines."""
    import time

    from rich.console import Console

    from tagger.errors import TaggerError
    from tagger.recommend.evaluate import coldstart
    from tagger.recommend.evaluate.table import print_table

    try:
        seed_list = [int(s) for s in _split(seeds)]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {seeds!r}", param_hint="--seeds") from None
    console = Console(stderr=True)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        console.print(f"ingesting the evaluation titles into {catalog_path} (unchanged ones are skipped)")
        data, items = coldstart.load_items(data_dir, catalog_path, workers=workers)
    except TaggerError as error:
        raise click.ClickException(str(error)) from None
    console.print(f"{len(items)} titles ready in {time.perf_counter() - started:.0f} s; evaluating seeds {seed_list}")
    protocols = protocols or coldstart.PROTOCOLS
    learned = None
    if learned_tags and ("random" in protocols or "temporal" in protocols):
        from tagger.recommend.evaluate.learned_tags import LearnedTags

        learned = LearnedTags(data_dir, items)
    results = coldstart.evaluate(data, items, seeds=seed_list, protocols=protocols, cutoff_quantile=cutoff_quantile,
                                 learned=learned, log=console.print)
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["cpu_seconds"] = round(time.process_time() - started_cpu, 1)    # this process, all threads
    print_table(results)
    if json_path:
        with open(json_path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
        console.print(f"wrote {json_path}")
