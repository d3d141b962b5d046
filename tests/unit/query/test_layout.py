"""The collection map's math: PCA against numpy's SVD, k-means on separable clusters, distinctive words."""

from __future__ import annotations

import numpy as np
import pytest

from services.core.types import l2_normalize
from services.query.layout import default_clusters, distinctive_words, kmeans, pca_fit, vocabulary_names, words


def blobs(k: int = 4, per: int = 30, dim: int = 24, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(k, dim)))
    truth = np.repeat(np.arange(k), per)
    x = l2_normalize(centres[truth] + 0.1 * rng.normal(size=(k * per, dim)))
    return x.astype(np.float32), truth


def test_pca_is_the_projection_on_the_top_two_singular_directions() -> None:
    x, _ = blobs()
    got = pca_fit(x).project(x).astype(np.float64)
    centred = x.astype(np.float64) - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    for axis in range(2):  # the same axes up to sign
        sign = np.sign(got[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(got[:, axis], sign * expected[:, axis], atol=1e-4)
    # a fixed sign: the same data, the same map
    np.testing.assert_array_equal(pca_fit(x).project(x), pca_fit(x.copy()).project(x.copy()))
    assert pca_fit(x[:1]).project(x[:1]).tolist() == [[0.0, 0.0]]


def test_kmeans_recovers_separable_clusters_and_is_seeded() -> None:
    x, truth = blobs()
    labels, centroids = kmeans(x, 4)
    # Each found cluster is exactly one true cluster (a permutation of the labels).
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth, strict=True)}
    assert len(pairs) == 4 and len({a for a, _ in pairs}) == 4
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    again, _ = kmeans(x, 4)
    np.testing.assert_array_equal(labels, again)
    assert kmeans(x[:2], 5)[1].shape == (2, x.shape[1])  # never more clusters than rows


def test_distinctive_words_rank_what_sets_a_cluster_apart() -> None:
    texts = [
        "a red circle on snow",
        "red circle in the snow",
        "a red square",
        "blue star at night",
        "a blue star",
        "blue circle at night",
    ]
    labels = np.array([0, 0, 0, 1, 1, 1])
    top = distinctive_words(texts, labels, 2)
    assert top[0][0] == "red" and "blue" not in top[0]
    assert top[1][0] == "blue" and set(top[1][:3]) == {"blue", "night", "star"}
    assert "the" not in words("the red and the blue") and words("A Red-ish circle") == ["red-ish", "circle"]


def test_vocabulary_names_are_the_zero_shot_top_label() -> None:
    vocab = l2_normalize(np.eye(3, 8))
    centroids = l2_normalize(np.array([[0.1, 0.9, 0, 0, 0, 0, 0, 0], [1, 0, 0.2, 0, 0, 0, 0, 0]], dtype=np.float32))
    names = vocabulary_names(centroids, vocab, ["a", "b", "c"], 100.0)
    assert [n.label for n in names] == ["b", "a"]
    logits = 100.0 * centroids[0] @ vocab.T
    p = np.exp(logits - logits.max())
    assert names[0].probability == pytest.approx(float(p[1] / p.sum()), rel=1e-5)


@pytest.mark.parametrize(("n", "k"), [(1, 1), (3, 1), (4, 2), (300, 9), (100_000, 24)])
def test_default_clusters(n: int, k: int) -> None:
    assert default_clusters(n) == k
