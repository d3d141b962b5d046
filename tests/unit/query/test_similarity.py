"""Similarity matrices, row contrasts and their CSV form."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.query.similarity import SimilarityMatrix, contrasts, cosine_matrix, to_csv
from tests.unit.query.fakes import vec


def test_matrix_and_contrasts() -> None:
    rows = np.stack([vec("man"), vec("woman")])
    cols = np.stack([vec("doctor"), vec("nurse"), vec("teacher")])
    m = cosine_matrix(rows, cols)
    assert m.shape == (2, 3)
    assert m[1, 2] == pytest.approx(float(vec("woman") @ vec("teacher")), abs=1e-6)
    [c] = contrasts(m, ["man", "woman"], [["woman", "man"]])
    assert (c.a, c.b) == ("woman", "man")
    assert np.allclose(c.values, m[1] - m[0], atol=1e-6)
    assert contrasts(m, ["man", "woman"], [[0, 1]])[0].values == pytest.approx(list(m[0] - m[1]), abs=1e-6)


@pytest.mark.parametrize(
    ("pair", "match"),
    [([0], "two rows"), ([0, 5], "row 5"), (["x", 0], "unknown row"), ([1, 1], "itself"), (["a", 0], "ambiguous")],
)
def test_bad_contrasts(pair: list[int | str], match: str) -> None:
    m = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(InvalidInput, match=match):
        contrasts(m, ["a", "a", "b"], [pair])


def test_csv_round_trips() -> None:
    sm = SimilarityMatrix(["r,1", "r2"], ["a", 'b "q"'], [[0.1, -0.2], [0.3, 0.4]], [], None)
    sm.contrasts.extend(contrasts(np.asarray(sm.matrix), sm.rows, [[0, 1]]))
    rows = list(csv.reader(io.StringIO(to_csv(sm))))
    assert rows[0] == ["", "a", 'b "q"']
    assert rows[1][0] == "r,1" and float(rows[1][2]) == pytest.approx(-0.2)
    assert rows[3][0] == "r,1 − r2" and float(rows[3][1]) == pytest.approx(-0.2)
