"""What the command line shows: progress bars per title and stage, the summary, one title."""
from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tagger.ingest import Outcome
from tagger.ingest import Progress as ProgressBase

console = Console(stderr=True)


class RichProgress(ProgressBase):
    """A bar for the batch and one per title in flight, naming the stage it is in."""

    def start(self, titles, stages) -> None:
        self.stages = list(stages)
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console, transient=False)
        self.overall = self.bars.add_task("titles", total=len(titles))
        self.tasks: dict[str, int] = {}
        self.bars.start()

    def stage(self, title_id: str, stage: str) -> None:
        if title_id not in self.tasks:
            self.tasks[title_id] = self.bars.add_task(title_id, total=len(self.stages))
        task = self.tasks[title_id]
        done = self.stages.index(stage) if stage in self.stages else 0
        self.bars.update(task, completed=done, description=f"  {title_id}: {stage}")

    def done(self, outcome: Outcome) -> None:
        task = self.tasks.pop(outcome.id, None)
        if task is not None:
            self.bars.remove_task(task)
        self.bars.advance(self.overall)

    def stop(self) -> None:
        self.bars.stop()


def print_summary(outcomes: list[Outcome], catalog_path: str) -> None:
    table = Table(title=f"ingest summary ({catalog_path})")
    for column in ("title", "status", "seconds", "x real time", "scenes", "tags"):
        table.add_column(column, justify="right" if column in ("seconds", "x real time", "scenes", "tags") else "left",
                         no_wrap=True)
    table.add_column("micro-genre / note", overflow="ellipsis", no_wrap=True, max_width=70)
    colour = {"ok": "green", "skipped": "yellow", "failed": "red"}
    for o in outcomes:
        table.add_row(o.id, f"[{colour[o.status]}]{o.status}[/]", f"{o.seconds:.1f}" if o.seconds else "-",
                      f"{o.speed:.1f}x" if o.speed and o.status == "ok" else "-", str(o.scenes) if o.status == "ok" else "-",
                      str(o.tags) if o.status == "ok" else "-", o.note)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "failed")}
    seconds = sum(o.seconds for o in outcomes)
    media = sum(o.media_s for o in outcomes if o.status == "ok")
    speed = f", {media / seconds:.1f}x real time" if seconds and media else ""
    table.caption = (f"{counts['ok']} ok, {counts['skipped']} skipped, {counts['failed']} failed; "
                     f"{seconds:.1f} s analysing{speed}")
    out = Console(width=max(Console().width, 150))
    out.print(table)
    for o in outcomes:
        if o.status == "failed":
            out.print(f"[red]failed[/red] {o.id}: {o.note}", soft_wrap=True)


def print_title(data: dict) -> None:
    out = Console(width=max(Console().width, 120))
    out.print(f"[bold]{data['title']}[/bold] ({data['id']})  status: {data['status']}")
    if data.get("error"):
        out.print(f"[red]error:[/red] {data['error']}")
    if data.get("duration_s"):
        out.print(f"duration {data['duration_s']:.1f} s, {len(data['scenes'])} scenes")
    if data["micro_genres"]:
        out.print("micro-genres: " + "; ".join(data["micro_genres"]))
    for modality, values in data["features"].items():
        if values:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in sorted(values.items()) if k != "palette")
            out.print(f"[bold]{modality}[/bold]: {shown}")
    palette = data["features"].get("visual", {}).get("palette")
    if palette:
        out.print("palette: " + " ".join(f"[on {p['hex']}]  [/] {p['hex']} {p['share']:.0%}" for p in palette))
    table = Table()
    for column in ("tag", "facet", "confidence", "status", "from"):
        table.add_column(column, no_wrap=True)
    table.add_column("evidence", overflow="ellipsis", no_wrap=True, max_width=60)
    for tag in data["tags"]:
        evidence = tag["evidence"][0] if tag["evidence"] else {}
        table.add_row(tag["label"], tag["facet"], f"{tag['confidence']:.2f}", tag["status"],
                      ",".join(tag["modalities"]), _evidence_text(evidence))
    out.print(table)
    stages = ", ".join(f"{name}: {r['status']}" + (f" ({r['reason']})" if r.get("reason") else "")
                       for name, r in data["modalities"].items())
    out.print(f"stages: {stages}")
    out.print("embeddings: " + ", ".join(f"{k}[{v}]" for k, v in data["embeddings"].items()))


def _short(value) -> str:
    if isinstance(value, list):   # e.g. audio.speech_segments: thousands in a film
        return f"[{len(value)} items]"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _evidence_text(e: dict) -> str:
    if e.get("feature"):
        return f"{e['feature']}={_short(e.get('value'))}"
    where = f"{e['start_s']:.0f}-{e['end_s']:.0f}s " if e.get("start_s") is not None else ""
    return (where + (e.get("cue") or e.get("source", "")))[:70]
