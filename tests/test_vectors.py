"""The one L2 normalisation."""
import numpy as np

from tagger.vectors import unit


def test_rows_get_unit_length_and_zero_rows_stay_zero():
    rows = unit(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], np.float32))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]], atol=1e-6)
    assert rows.dtype == np.float32


def test_a_vector_columns_and_integers():
    np.testing.assert_allclose(unit([0, 5]), [0.0, 1.0])
    assert unit([0, 5]).dtype == np.float32
    columns = unit(np.array([[3.0, 0.0], [4.0, 2.0]]), axis=0)
    np.testing.assert_allclose(columns, [[0.6, 0.0], [0.8, 1.0]])
    assert columns.dtype == np.float64
