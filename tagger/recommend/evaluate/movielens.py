"""MovieLens ml-latest-small joined to TMDB overviews: the evaluation's ratings and titles.

Only what is known when a title is released reaches its features: overview, MovieLens
genres, year, original language, release date. MovieLens tags.csv and TMDB popularity or
vote counts are written after release and are never read.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tagger.errors import InputError

_YEAR = re.compile(r"\((\d{4})\)\s*$")


@dataclass
class RatingsData:
    movies: pd.DataFrame    # title_id, movie_id, tmdb_id, title, synopsis, year, genres, original_language, release_date
    ratings: pd.DataFrame   # user_id, title_id, rating, timestamp (only movies with an overview)


def title_id(movie_id: int) -> str:
    return f"ml-{movie_id}"


def load(data_dir: str | Path) -> RatingsData:
    """Read DIR/movielens-small and DIR/tmdb; keep the movies with an overview."""
    data_dir = Path(data_dir)
    ml = data_dir / "movielens-small"
    for name in ("movies.csv", "ratings.csv", "links.csv"):
        if not (ml / name).is_file():
            raise InputError(ml / name, "missing: --data must hold movielens-small/ and tmdb/ (see README)")
    movies = pd.read_csv(ml / "movies.csv")
    links = pd.read_csv(ml / "links.csv").dropna(subset=["tmdbId"])
    links["tmdbId"] = links["tmdbId"].astype(int)
    tmdb = tmdb_titles(data_dir / "tmdb")[["overview", "original_language", "release_date"]]
    movies = movies.merge(links[["movieId", "tmdbId"]], on="movieId", how="inner")
    movies = movies.merge(tmdb, left_on="tmdbId", right_index=True, how="inner")
    movies = movies[movies["overview"].str.strip().str.len() > 0]
    movies = movies.drop_duplicates("movieId")
    out = pd.DataFrame({
        "title_id": movies["movieId"].map(title_id),
        "movie_id": movies["movieId"].astype(int),
        "tmdb_id": movies["tmdbId"].astype(int),
        "title": movies["title"].str.replace(_YEAR, "", regex=True).str.strip(),
        "synopsis": movies["overview"].str.strip(),
        "year": movies["title"].map(_year),
        "genres": movies["genres"].map(lambda g: [x for x in g.split("|") if x != "(no genres listed)"]),
        "original_language": movies["original_language"],
        "release_date": movies["release_date"],
    }).sort_values("movie_id").reset_index(drop=True)
    ratings = pd.read_csv(ml / "ratings.csv")
    ratings = ratings[ratings["movieId"].isin(out["movie_id"])]
    ratings = pd.DataFrame({"user_id": ratings["userId"].astype(int), "title_id": ratings["movieId"].map(title_id),
                            "rating": ratings["rating"].astype(float), "timestamp": ratings["timestamp"].astype(int)})
    return RatingsData(movies=out, ratings=ratings.reset_index(drop=True))


def write_manifest(movies: pd.DataFrame, path: str | Path) -> Path:
    """A JSONL manifest of metadata-only titles for `tagger ingest`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in movies.itertuples(index=False):
            record = {"id": row.title_id, "title": row.title, "synopsis": row.synopsis, "genres": row.genres}
            if row.year is not None and not pd.isna(row.year):
                record["year"] = int(row.year)
            if isinstance(row.original_language, str) and row.original_language:
                record["original_language"] = row.original_language
            if isinstance(row.release_date, str) and len(row.release_date) >= 10:
                record["release_date"] = row.release_date[:10]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _year(text: str) -> float:
    match = _YEAR.search(text.strip())
    return float(match.group(1)) if match else np.nan


def tmdb_titles(tmdb: Path) -> pd.DataFrame:
    """tmdb id -> overview, original_language, release_date, title, genres (list), keywords (list,
    None where the file has none); TMDB 5000 first, top-10K for the rest. Genres and keywords are
    labels for `tagger evaluate tags`, never features."""
    first, second = tmdb / "tmdb_5000_movies.csv", tmdb / "top10K-TMDB-movies.csv"
    if not first.is_file() and not second.is_file():
        raise InputError(tmdb, "missing: expected tmdb_5000_movies.csv or top10K-TMDB-movies.csv")
    frames = []
    for path, encoding in ((first, "utf-8"), (second, "cp1252")):
        if path.is_file():
            with path.open(encoding=encoding, newline="") as handle:
                reader = csv.DictReader(handle)
                rows = [(int(r["id"]), r.get("overview") or "", r.get("original_language") or "",
                         r.get("release_date") or "", r.get("title") or "", _names(r, "genres", path, reader),
                         _names(r, "keywords", path, reader))
                        for r in reader if r.get("id", "").isdigit()]
            frames.append(pd.DataFrame(rows, columns=["id", "overview", "original_language", "release_date",
                                                      "title", "genres", "keywords"]))
    table = pd.concat(frames)
    table = table[table["overview"].str.strip().str.len() > 0]
    return table.drop_duplicates("id", keep="first").set_index("id")


def _names(row: dict, field: str, path: Path, reader) -> list[str] | None:
    """TMDB 5000's JSON lists of {id, name}; top-10K's comma-separated `genre`; None when absent."""
    if field == "genres" and "genre" in row:
        return [g.strip() for g in (row["genre"] or "").split(",") if g.strip()]
    if field not in row:
        return None
    try:
        return [item["name"] for item in json.loads(row[field] or "[]")]
    except (ValueError, TypeError, KeyError):
        raise InputError(path, "expected a JSON list of {id, name}", line=reader.line_num, item=row.get("id"),
                         field=field) from None
