"""Labelled titles: (title, tag, label, source) rows from public data and from editors' decisions.

Public data (``--data DIR``, laid out as ``tagger evaluate coldstart`` expects): the MovieLens
movies with a TMDB overview keep the coldstart ids (``ml-<movieId>``) and get MovieLens genres and
user tags, and TMDB genres and keywords through their TMDB link; TMDB titles MovieLens does not
list are ``tmdb-<id>`` with TMDB's labels. User tags and keywords are labels only, never features.

Rows hold positives and explicit negatives (editors' rejections). A title a source labels at all
is also a negative for every tag that source can name and did not (see the label map's header):
:meth:`LabelSet.matrix` adds those.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.errors import InputError
from tagger.learn.label_map import LabelMap

EDITOR = "editor"
EDITOR_WEIGHT = 5.0   # an editor's decision on a title outweighs public labels of it


@dataclass(frozen=True)
class Label:
    title_id: str
    tag: str
    label: int          # 1 the tag applies, 0 it does not
    source: str


@dataclass
class TitleRecord:
    """What the features of a labelled title are computed from."""
    title_id: str
    title: str
    synopsis: str
    year: int | None = None
    original_language: str | None = None
    features: dict = field(default_factory=dict)          # measured values, "visual.x" etc.
    # A catalog title with subtitles: its stored text embedding (model id, vector), which holds
    # the dialogue vector mixed with the synopsis's at this share (see features.dialogue_from_text).
    text_embedding: tuple[str, np.ndarray] | None = None
    synopsis_share: float = 0.6


@dataclass
class LabelSet:
    titles: dict[str, TitleRecord]
    rows: list[Label]
    covered: dict[str, set[str]]                 # source -> titles it labels at all
    source_tags: dict[str, frozenset[str]]       # source -> tags it can name

    def matrix(self, title_ids: list[str], tag_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels, weights), both (titles, tags): labels 1/0, weight 0 where nothing is known.

        Positives from any source win over implicit negatives; an editor's decision replaces
        every public label of that title and tag and weighs EDITOR_WEIGHT.
        """
        row_of = {t: i for i, t in enumerate(title_ids)}
        col_of = {t: j for j, t in enumerate(tag_ids)}
        labels = np.zeros((len(title_ids), len(tag_ids)), np.float32)
        weights = np.zeros_like(labels)
        for source, titles in self.covered.items():
            if source == EDITOR:
                continue
            cols = [col_of[t] for t in self.source_tags.get(source, ()) if t in col_of]
            rows = [row_of[t] for t in titles if t in row_of]
            weights[np.ix_(rows, cols)] = 1.0
        editor = []
        for r in self.rows:
            i, j = row_of.get(r.title_id), col_of.get(r.tag)
            if i is None or j is None:
                continue
            if r.source == EDITOR:
                editor.append((i, j, r.label))
            elif r.label:
                labels[i, j], weights[i, j] = 1.0, 1.0
        for i, j, label in editor:
            labels[i, j], weights[i, j] = float(label), EDITOR_WEIGHT
        return labels, weights

    def merge(self, other: LabelSet) -> LabelSet:
        titles = dict(self.titles)
        for title_id, record in other.titles.items():
            if title_id in titles:   # same title: keep the public synopsis, add what the catalog measured
                titles[title_id].features.update(record.features)
                titles[title_id].text_embedding = record.text_embedding
                titles[title_id].synopsis_share = record.synopsis_share
            else:
                titles[title_id] = record
        covered = {s: set(v) for s, v in self.covered.items()}
        for source, ids in other.covered.items():
            covered.setdefault(source, set()).update(ids)
        tags = dict(self.source_tags)
        for source, names in other.source_tags.items():
            tags[source] = tags.get(source, frozenset()) | names
        return LabelSet(titles, self.rows + other.rows, covered, tags)


def read_public_labels(data_dir: str | Path, label_map: LabelMap, *,
                       user_tags_before_s: float | None = None) -> LabelSet:
    """MovieLens and TMDB labels mapped onto the taxonomy (layout in the module docstring).
    With `user_tags_before_s`, only the MovieLens users' tags applied at or before that time
    are read (genres and keywords are content metadata: they carry no time)."""
    import pandas as pd

    from tagger.recommend.evaluate import movielens

    data_dir = Path(data_dir)
    ml = movielens.load(data_dir).movies
    tmdb = movielens.tmdb_titles(data_dir / "tmdb")
    titles: dict[str, TitleRecord] = {}
    labels: dict[str, dict[str, list[str]]] = {}   # source -> title id -> public labels
    for row in ml.itertuples(index=False):
        titles[row.title_id] = TitleRecord(row.title_id, row.title, row.synopsis, _int(row.year),
                                           _text(row.original_language))
        labels.setdefault("movielens-genre", {})[row.title_id] = list(row.genres)
    tmdb_of = dict(zip(ml["tmdb_id"], ml["title_id"]))
    for tmdb_id, row in tmdb.iterrows():
        title_id = tmdb_of.get(tmdb_id)
        if title_id is None:
            title_id = f"tmdb-{tmdb_id}"
            titles[title_id] = TitleRecord(title_id, row["title"], row["overview"].strip(),
                                           _int(row["release_date"][:4]), _text(row["original_language"]))
        labels.setdefault("tmdb-genre", {})[title_id] = row["genres"]
        if row["keywords"] is not None:
            labels.setdefault("tmdb-keyword", {})[title_id] = row["keywords"]
    tags_path = data_dir / "movielens-small" / "tags.csv"
    if tags_path.is_file():
        user_tags = pd.read_csv(tags_path)
        if user_tags_before_s is not None:
            user_tags = user_tags[user_tags["timestamp"] <= user_tags_before_s]
        for movie_id, group in user_tags.groupby("movieId"):
            title_id = movielens.title_id(int(movie_id))
            if title_id in titles:
                labels.setdefault("movielens-tag", {})[title_id] = [str(t) for t in group["tag"]]
    return _label_set(titles, labels, label_map)


def _label_set(titles, labels, label_map: LabelMap) -> LabelSet:
    rows, covered = [], {}
    for source, by_title in labels.items():
        covered[source] = set()
        for title_id, names in by_title.items():
            if names:   # an empty list labels nothing: the title is not covered by this source
                covered[source].add(title_id)
            tags = dict.fromkeys(t for name in names for t in label_map.tags_for(source, name))
            rows.extend(Label(title_id, tag, 1, source) for tag in tags)
    source_tags = {s: label_map.tags_of_source(s) for s in labels}
    return LabelSet(titles, rows, covered, source_tags)


def read_catalog_labels(catalog_path: str | Path, taxonomy) -> LabelSet:
    """Editors' decisions in a catalog: accepted and added tags are positives, rejected ones
    negatives, for that title. Tags of another taxonomy are an error naming the catalog."""
    from tagger.catalog.db import Catalog

    path = Path(catalog_path)
    if not path.is_file():
        raise InputError(path, "catalog not found")
    known = {t.id for t in taxonomy.tags}
    titles: dict[str, TitleRecord] = {}
    rows: list[Label] = []
    with Catalog(path) as catalog:
        embedded = dict(zip(*catalog.embeddings("text")))
        for title_id, tag, status in catalog.decided_tags():
            if tag not in known:
                raise InputError(path, f"tag {tag!r} is not in taxonomy {taxonomy.id!r}; train with "
                                       "the taxonomy the catalog was tagged with", item=title_id, field="tag")
            rows.append(Label(title_id, tag, 0 if status == "rejected" else 1, EDITOR))
            if title_id not in titles:
                titles[title_id] = _catalog_title(catalog, title_id, embedded.get(title_id))
    return LabelSet(titles, rows, {EDITOR: set(titles)}, {EDITOR: frozenset(r.tag for r in rows)})


def _catalog_title(catalog, title_id: str, text_vector) -> TitleRecord:
    from tagger.learn.features import flat_features

    shown = catalog.title(title_id)
    features = flat_features(shown["features"])
    record = TitleRecord(title_id, shown["title"], (shown.get("synopsis") or "").strip(), _int(shown.get("year")),
                         _text(shown.get("original_language")), features=features)
    if text_vector is not None and any(name.startswith("dialogue.") for name in features):   # it had subtitles
        record.text_embedding = (shown["embedding_models"]["text"]["model_id"], text_vector)
        text_settings = ((shown.get("run") or {}).get("settings") or {}).get("text") or {}
        record.synopsis_share = float(text_settings.get("synopsis_share", record.synopsis_share))
    return record


def _int(value) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def describe(label_set: LabelSet) -> dict:
    """Counts for a run's record: titles, rows per source, positives per tag."""
    per_source: dict[str, int] = {}
    per_tag: dict[str, int] = {}
    for r in label_set.rows:
        per_source[r.source] = per_source.get(r.source, 0) + 1
        if r.label:
            per_tag[r.tag] = per_tag.get(r.tag, 0) + 1
    return {"titles": len(label_set.titles), "rows": per_source,
            "covered": {s: len(v) for s, v in label_set.covered.items()},
            "positives": dict(sorted(per_tag.items(), key=lambda kv: -kv[1]))}
