"""Standardising scores: each row by its own mean and spread, or by those over every title in
the catalog, computed exactly from moments kept at fit instead of scoring every title."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def zscore(scores: np.ndarray, mean=None, std=None) -> np.ndarray:
    """Standardise each row, by its own mean and spread unless given; a constant row becomes zeros."""
    scores = np.asarray(scores, np.float64)
    if mean is None:
        mean, std = scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True)
    std = np.broadcast_to(np.asarray(std, np.float64), (scores.shape[0], 1))
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 1e-12)


def moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the rows (float64), in blocks to bound memory."""
    mean = rows.mean(axis=0, dtype=np.float64)
    second = np.zeros((rows.shape[1], rows.shape[1]))
    for start in range(0, rows.shape[0], 65536):
        block = rows[start:start + 65536].astype(np.float64)
        second += block.T @ block
    return mean, second / max(rows.shape[0], 1) - np.outer(mean, mean)


def moments_scale(queries: np.ndarray, mean: np.ndarray, covariance: np.ndarray):
    """Mean and standard deviation over all rows of `queries @ rows.T`, from the rows' moments."""
    queries = queries.astype(np.float64)
    variance = ((queries @ covariance) * queries).sum(axis=1)
    return (queries @ mean)[:, None], np.sqrt(np.maximum(variance, 0.0))[:, None]


def sparse_scale(matrix: sp.csr_matrix):
    """Mean and standard deviation of each row of a sparse matrix, zeros included."""
    columns = matrix.shape[1]
    row_of_entry = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    data = matrix.data.astype(np.float64)
    mean = np.bincount(row_of_entry, data, minlength=matrix.shape[0])[:, None] / columns
    square = np.bincount(row_of_entry, data * data, minlength=matrix.shape[0])[:, None] / columns
    return mean, np.sqrt(np.maximum(square - mean ** 2, 0.0))
