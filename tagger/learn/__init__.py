"""Learned tag models: labelled titles -> per-tag heads over what the pipeline computes for a title.

label_map  the file that maps public labels (TMDB, MovieLens) onto a taxonomy's tags
labels     (title, tag, label, source) rows from public data and from catalogs' editor decisions
features   a title's feature vector, the same at training and at ingest
heads      the trained heads: calibrated probabilities and a threshold per tag; save and load
train      fitting, calibration and thresholds on cross-validation folds
"""
