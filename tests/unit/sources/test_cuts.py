from __future__ import annotations

import numpy as np

from services.sources.cuts import CutDetector, distance, signature


def _frame(rgb: tuple[int, int, int], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = np.broadcast_to(np.array(rgb, dtype=np.float32), (36, 64, 3)) + rng.normal(0, noise, (36, 64, 3))
    return np.clip(f, 0, 255).astype(np.uint8)


def test_distance_is_zero_for_the_same_colours_and_one_for_disjoint() -> None:
    a, b = signature(_frame((250, 250, 250))), signature(_frame((20, 120, 30)))
    assert distance(a, a) == 0.0
    assert distance(a, b) == 1.0
    assert abs(signature(_frame((10, 200, 90))).reshape(3, -1).sum(axis=1) - 1).max() < 1e-6


def test_detector_finds_the_cut_not_the_grain() -> None:
    d = CutDetector(threshold=0.3, min_shot_s=0.5)
    snow = [signature(_frame((240, 240, 245), noise=6, seed=i)) for i in range(10)]
    forest = [signature(_frame((40, 110, 40), noise=6, seed=i)) for i in range(10)]
    cuts = [t for t, s in zip(np.arange(20) / 10, snow + forest, strict=True) if d.feed(float(t), s)]
    assert cuts == [1.0]


def test_cuts_closer_than_min_shot_are_one() -> None:
    d = CutDetector(threshold=0.3, min_shot_s=0.5)
    a, b = signature(_frame((240, 240, 240))), signature(_frame((30, 30, 200)))
    seq = [a, b, a, b, a]
    assert [t for t, s in zip([0.0, 0.1, 0.2, 0.3, 0.9], seq, strict=True) if d.feed(t, s)] == [0.1, 0.9]
