"""Parquet export for recommender pipelines: titles, scenes, tags, features, embeddings."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tagger.catalog.base import TITLE_SCENE


def export(catalog, out_dir: str | Path) -> dict[str, int]:
    """Write one Parquet file per table; returns rows written per file.

    tags.parquet holds each title's effective tags: editors' decisions and automatic tags
    that nobody rejected, with their status. Embeddings are fixed-size float32 lists.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    conn = catalog.conn
    titles = pd.read_sql_query(
        "SELECT id, title, status, error, duration_s, metadata, micro_genres, modalities, run_id, updated_at"
        " FROM titles ORDER BY id", conn)
    meta = titles.pop("metadata").map(json.loads)
    for key in ("synopsis", "year", "original_language", "regions", "release_date", "cast", "genres"):
        titles[key] = meta.map(lambda m, k=key: m.get(k))
    titles["year"] = titles["year"].astype("Int64")
    titles["micro_genres"] = titles["micro_genres"].map(json.loads)
    scenes = pd.read_sql_query("SELECT title_id, idx AS \"index\", start_s, end_s, start_frame, end_frame"
                               " FROM scenes ORDER BY title_id, idx", conn)
    tags = pd.read_sql_query(
        f"SELECT title_id, tag, facet, label, confidence, status, CASE scene_idx WHEN {TITLE_SCENE} THEN NULL"
        " ELSE scene_idx END AS scene, modalities, evidence, editor, updated_at FROM tags"
        " WHERE status != 'rejected' ORDER BY title_id, scene_idx, confidence DESC", conn)
    tags["scene"] = tags["scene"].astype("Int64")
    tags["modalities"] = tags["modalities"].map(json.loads)
    features = pd.read_sql_query(
        f"SELECT title_id, CASE scene_idx WHEN {TITLE_SCENE} THEN NULL ELSE scene_idx END AS scene, name, value"
        " FROM features ORDER BY title_id, scene_idx, name", conn)
    features["scene"] = features["scene"].astype("Int64")
    counts = {}
    for name, frame in (("titles", titles), ("scenes", scenes), ("tags", tags), ("features", features)):
        frame.to_parquet(out / f"{name}.parquet", index=False)
        counts[name] = len(frame)
    rows = conn.execute("SELECT title_id, space, model_id, dim, version, vector FROM embeddings"
                        " ORDER BY space, title_id").fetchall()
    table = pa.table({
        "title_id": [r[0] for r in rows], "space": [r[1] for r in rows], "model_id": [r[2] for r in rows],
        "dim": pa.array([r[3] for r in rows], pa.int32()), "version": [r[4] for r in rows],
        "vector": pa.array([np.frombuffer(r[5], "<f4") for r in rows], pa.list_(pa.float32())),
    })
    pq.write_table(table, out / "embeddings.parquet")
    counts["embeddings"] = len(rows)
    return counts
