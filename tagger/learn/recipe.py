"""Training heads as `tagger train tags` does, and recording how, so anyone can rebuild them."""
from __future__ import annotations

import platform
import time
from pathlib import Path

from tagger.learn.heads import TagHeads
from tagger.versions import file_sha256

# The public files read (movielens.load and tmdb_titles read them all), recorded with their sha256.
PUBLIC_FILES = ("movielens-small/movies.csv", "movielens-small/links.csv", "movielens-small/ratings.csv",
                "movielens-small/tags.csv", "tmdb/tmdb_5000_movies.csv", "tmdb/top10K-TMDB-movies.csv")


def train_heads(*, data_dir: str | None, catalog_paths: list[str], out_dir: str, taxonomy_name: str = "default",
                seed: int = 0, log=print) -> TagHeads:
    from tagger import __version__
    from tagger.errors import TaggerError
    from tagger.learn.dataset import build_dataset
    from tagger.learn.label_map import label_map_path, load_label_map
    from tagger.learn.labels import describe, read_catalog_labels, read_public_labels
    from tagger.learn.train import TrainSettings, train
    from tagger.tagging.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(taxonomy_name)
    map_path = label_map_path(taxonomy)
    label_set = None
    if data_dir:
        label_set = read_public_labels(data_dir, load_label_map(map_path, taxonomy))
    for path in catalog_paths:
        from_catalog = read_catalog_labels(path, taxonomy)
        log(f"{path}: {len(from_catalog.rows)} editor decisions on {len(from_catalog.titles)} titles")
        label_set = from_catalog if label_set is None else label_set.merge(from_catalog)
    if not label_set.rows:
        raise TaggerError("no labels to learn from: the catalogs hold no editors' decisions"
                          + ("" if data_dir else " (give --data for the public labels)"))
    data = build_dataset(label_set, taxonomy, log=log)
    settings = TrainSettings(seed=seed)
    log(f"fitting heads for {len(data.tag_ids)} tags on {len(data.title_ids)} titles ({settings.folds} folds)")
    started = time.perf_counter()
    fitted = train(data.rows, data.synopses, data.labels, data.weights, data.tag_ids, data.zeroshot(), settings)
    counts = describe(label_set)
    record = {
        "command": _command(data_dir, catalog_paths, out_dir, taxonomy_name, seed),
        "tagger_version": __version__, "python": platform.python_version(),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - started, 1),
        "taxonomy": {"id": taxonomy.id, "version": taxonomy.version, "digest": taxonomy.digest},
        "label_map": {"path": _relative(map_path), "sha256": file_sha256(map_path)},
        "data": {"dir": data_dir, "files": {name: file_sha256(Path(data_dir) / name) for name in PUBLIC_FILES
                                            if (Path(data_dir) / name).is_file()}} if data_dir else None,
        "catalogs": [{"path": str(p), "sha256": file_sha256(Path(p))} for p in catalog_paths],
        "titles": counts["titles"], "titles_with_dialogue": int(data.rows[:, _dialogue_flag(data)].sum()),
        "labels": {"rows": counts["rows"], "covered": counts["covered"]},
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
    }
    heads = TagHeads.from_fit(fitted, data.builder.layout, taxonomy, record)
    heads.save(out_dir)
    return heads


def _dialogue_flag(data) -> int:
    """Column of the dialogue block's indicator."""
    blocks = data.builder.layout.blocks()
    return blocks[0][1] + blocks[1][1] + blocks[2][1] - 1


def _command(data_dir, catalog_paths, out_dir, taxonomy_name, seed) -> str:
    parts = ["tagger train tags"]
    if data_dir:
        parts.append(f"--data {data_dir}")
    parts += [f"--catalog {p}" for p in catalog_paths]
    if taxonomy_name != "default":
        parts.append(f"--taxonomy {taxonomy_name}")
    if seed:
        parts.append(f"--seed {seed}")
    parts.append(f"--out {out_dir}")
    return " ".join(parts)


def _relative(path: Path) -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)
