"""``neighbours`` on every store: one batched request gives each row's points at or above the threshold,
best first, exactly those a brute-force scan finds (plain segments and local mode are exact)."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.vectorstore.base import VectorStore
from tests.unit.vectorstore.conftest import DataSet


def test_neighbours_are_the_brute_force_points_above_the_threshold(filled: VectorStore, data: DataSet) -> None:
    rows = np.concatenate([data.image[:5], data.queries[:2]])
    threshold = 0.25  # random 64-d unit vectors: a few dozen of 500 points lie above it
    got = filled.neighbours("pics", rows, "image", threshold, limit=500)
    assert len(got) == len(rows)
    for row, found in zip(rows, got, strict=True):
        want = [(pid, s) for pid, s in data.brute_force(row) if s >= threshold]
        assert [pid for pid, _ in found] == [pid for pid, _ in want]
        assert [s for _, s in found] == pytest.approx([s for _, s in want], abs=1e-5)
    assert got[0][0][0] == data.ids[0]  # a stored point's own vector finds itself first
    capped = filled.neighbours("pics", rows, "image", threshold, limit=3)
    for short, full in zip(capped, got, strict=True):
        assert [pid for pid, _ in short] == [pid for pid, _ in full[:3]]


def test_text_neighbours_skip_points_without_text(filled: VectorStore, data: DataSet) -> None:
    found = filled.neighbours("pics", data.queries[:1], "text", -1.0, limit=1000)[0]
    assert len(found) == int(data.has_text.sum())


def test_neighbour_arguments_are_checked(filled: VectorStore, data: DataSet) -> None:
    assert filled.neighbours("pics", data.image[:0], "image", 0.5) == []
    with pytest.raises(InvalidInput, match="2-D"):
        filled.neighbours("pics", data.image[0], "image", 0.5)
    with pytest.raises(InvalidInput, match="unknown vector"):
        filled.neighbours("pics", data.image[:2], "audio", 0.5)
    with pytest.raises(InvalidInput, match="shape"):
        filled.neighbours("pics", np.zeros((2, 3), np.float32), "image", 0.5)
