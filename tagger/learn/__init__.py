"""Learned tag models: labelled titles -> per-tag heads over what the pipeline has for a title.

label_map    the file that maps public labels (TMDB, MovieLens) onto a taxonomy's tags
labels       (title, tag, label, source) rows from public data and from editors' decisions
features     a title's feature rows, the same at training and at ingest; terms: its synopsis words
dataset      labelled titles as arrays (synopsis embeddings cached on disk by embed_cache)
ridge        the weighted ridge solvers; calibration: Platt scaling, thresholds, ECE
train        fitting, calibration and thresholds on cross-validation folds
heads        the saved heads: calibrated probability and decision per tag; queue_priority
recipe       `tagger train tags`; evaluate, baselines, metrics, simulate: `tagger evaluate tags`
"""
