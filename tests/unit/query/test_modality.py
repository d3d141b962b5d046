"""Modality means: the running sums, the scan, the gap measure."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.errors import InvalidInput
from services.core.types import PointRecord
from services.query.modality import MeanAccumulator, centring, compute_means, gap
from tests.unit.query.fakes import MemoryStore, random_points


def test_compute_means_over_pages() -> None:
    extra = [PointRecord(f"x{i}", p.vectors, {}) for i, p in enumerate(random_points(3, seed=9))]
    pts = random_points(2500, text=False) + extra
    means = compute_means(MemoryStore(pts), "c", 10_000)  # more than one scroll page
    img = np.mean([p.vectors["image"] for p in pts], axis=0)
    assert np.allclose(means["image"].mean, img, atol=1e-6)
    assert means["image"].count == len(pts) and means["text"].count == 3
    assert means["image"].points == len(pts)
    imgs = np.stack([p.vectors["image"] for p in pts]).astype(np.float64)
    assert np.allclose(means["image"].cov, np.cov(imgs.T, bias=True), atol=1e-6)
    assert means["text"].cov.shape == (16, 16)


def test_centring_uses_the_searched_vectors_covariance() -> None:
    means = compute_means(MemoryStore(random_points(50)), "c", 10_000)
    c = centring(means, "text", "c")
    assert c.cov is means["text"].cov and set(c.means) == {"image", "text"}
    with pytest.raises(InvalidInput, match="no text vectors"):
        centring({"image": means["image"]}, "text", "c")


def test_accumulator_empty() -> None:
    assert MeanAccumulator().result(0) == {}


def test_gap() -> None:
    a = np.array([1.0, 0.0], dtype=np.float32) * 0.8
    b = np.array([0.0, 1.0], dtype=np.float32) * 0.6
    g = gap(a, b)
    assert g["cosine"] == pytest.approx(0.0)
    assert g["distance"] == pytest.approx(1.0)
    assert (g["image_norm"], g["text_norm"]) == pytest.approx((0.8, 0.6))
