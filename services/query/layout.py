"""The collection map's math, pure numpy (and umap-learn): 2-D layouts, clusters and their names.

Rows are unit-norm float32 vectors (n, d). Layout coordinates are unitless; only distances on the
map mean anything (PCA: the two directions of largest variance; UMAP: neighbourhoods kept).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from services.core.types import Vector

UMAP_NEIGHBOURS = 15
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_STOP = frozenset(
    [
        "the",
        "and",
        "with",
        "for",
        "from",
        "that",
        "this",
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "its",
        "into",
        "onto",
        "over",
        "under",
        "on",
        "in",
        "of",
        "at",
        "by",
        "to",
        "an",
        "a",
        "or",
        "as",
        "is",
        "be",
        "it",
        "not",
        "but",
        "photo",
        "image",
        "picture",
        "shot",
        "view",
    ]
)


class Pca2(NamedTuple):
    """A fitted 2-D PCA: the rows' mean (d,) and their two principal axes (d, 2), float64."""

    mean: np.ndarray
    axes: np.ndarray

    def project(self, x: Vector) -> Vector:
        """Rows (n, d) on the two axes, as (n, 2) float32."""
        out: Vector = ((np.asarray(x, dtype=np.float64) - self.mean) @ self.axes).astype(np.float32)
        return out


def pca_fit(x: Vector) -> Pca2:
    """The two principal axes of the rows (centred; eigenvectors of the d × d covariance), signs fixed so
    that the same data gives the same map. Fewer than two rows (or a rank below 2) give zero axes."""
    x64 = np.asarray(x, dtype=np.float64)
    d = x64.shape[1] if x64.ndim == 2 else 0
    if len(x64) < 2:
        return Pca2(np.zeros(d), np.zeros((d, 2)))
    mean = x64.mean(axis=0)
    centred = x64 - mean
    _, vecs = np.linalg.eigh(centred.T @ centred)
    axes = vecs[:, ::-1][:, :2].copy()  # eigh sorts ascending
    axes *= np.sign(axes[np.argmax(np.abs(axes), axis=0), [0, 1]])  # a fixed sign: the same data, the same map
    return Pca2(mean, axes)


def umap_fit(x: Vector, init: Vector, seed: int | None = None) -> Any:
    """UMAP (cosine metric, 15 neighbours) fitted on the rows, started from ``init`` (the PCA layout,
    scaled); the fitted ``umap.UMAP`` (its ``embedding_`` is the rows' (n, 2) layout; ``transform`` places
    new rows). ``seed`` makes it reproducible but single-threaded. Needs more than 16 rows."""
    import umap  # heavy (numba): imported when a map job runs, not when the API starts

    start = np.asarray(init, dtype=np.float64)
    spread = float(np.abs(start).max()) or 1.0
    model = umap.UMAP(
        n_components=2,
        n_neighbors=UMAP_NEIGHBOURS,
        min_dist=0.1,
        metric="cosine",
        init=start / spread * 10.0,  # umap-learn expects an init of roughly this extent
        random_state=seed,
        low_memory=True,
    )
    model.fit(np.asarray(x, dtype=np.float32))
    return model


def umap_place(model: Any, x: Vector) -> Vector:
    """New rows placed in a fitted UMAP layout (``umap.UMAP.transform``: their nearest fitted rows, then
    a short optimisation of the new points only), as (n, 2) float32."""
    return np.asarray(model.transform(np.asarray(x, dtype=np.float32)), dtype=np.float32)


def nearest_labels(x: Vector, centroids: Vector) -> np.ndarray:
    """Each row's cluster: its nearest (largest cosine) unit centroid, as k-means assigns them."""
    labels: np.ndarray = np.argmax(np.asarray(x, dtype=np.float32) @ np.asarray(centroids, dtype=np.float32).T, axis=1)
    return labels


def default_clusters(n: int) -> int:
    """Clusters for a map of ``n`` points: about sqrt(n / 4), between 2 and 24 (1 below 4 points)."""
    return 1 if n < 4 else int(min(24, max(2, round(np.sqrt(n / 4)))))


def kmeans(x: Vector, k: int, iterations: int = 25, seed: int = 0, restarts: int = 3) -> tuple[np.ndarray, Vector]:
    """Spherical k-means (cosine) of unit rows: (labels (n,), unit centroids (k, d)). ``restarts`` k-means++
    starts from a fixed seed (the same collection gives the same clusters); the one whose rows sit closest
    to their centroids (largest summed cosine) wins. An emptied cluster is re-seeded on the row farthest
    from its own centroid."""
    x = np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, Vector] | None = None
    for _ in range(max(1, restarts)):
        labels, centroids = _lloyd(x, max(1, min(k, len(x))), iterations, rng)
        fit = float(np.sum(np.einsum("ij,ij->i", x, centroids[labels])))
        if best is None or fit > best[0]:
            best = (fit, labels, centroids)
    assert best is not None
    return best[1], best[2]


def _lloyd(x: np.ndarray, k: int, iterations: int, rng: np.random.Generator) -> tuple[np.ndarray, Vector]:
    n = len(x)
    centres = [x[int(rng.integers(n))]]
    nearest = x @ centres[0]
    for _ in range(1, k):
        weights = np.clip(1.0 - nearest, 0.0, None) ** 2
        i = int(rng.choice(n, p=weights / weights.sum())) if weights.sum() > 0 else int(rng.integers(n))
        centres.append(x[i])
        nearest = np.maximum(nearest, x @ x[i])
    c = np.stack(centres)
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        sims = x @ c.T
        new = np.argmax(sims, axis=1)
        for j in range(k):
            members = new == j
            # An emptied cluster is re-seeded on the row farthest from its own centroid.
            m = x[members].sum(axis=0) if members.any() else x[int(np.argmin(sims[np.arange(n), new]))]
            c[j] = m / max(float(np.linalg.norm(m)), 1e-12)
        if np.array_equal(new, labels):
            break
        labels = new
    return np.argmax(x @ c.T, axis=1), c


def words(text: str) -> list[str]:
    """Lower-case words of three letters or more, without common function words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def distinctive_words(texts: Sequence[str], labels: np.ndarray, k: int, top: int = 3) -> list[list[str]]:
    """Per cluster, the words of its texts most over-represented against the whole collection: ranked by
    ``p_c(w) · log(p_c(w) / p(w))`` (each text's words counted once), words in at least two texts."""
    per_text = [set(words(t)) for t in texts]
    total = Counter(w for ws in per_text for w in ws)
    n = max(1, len(texts))
    out: list[list[str]] = []
    for c in range(k):
        members = [per_text[i] for i in np.flatnonzero(labels == c)]
        counts = Counter(w for ws in members for w in ws)
        size = max(1, len(members))
        scored = [
            (pc * np.log(pc / (total[w] / n)), w) for w, cnt in counts.items() if cnt >= 2 and (pc := cnt / size) > 0
        ]
        scored.sort(key=lambda t: (-t[0], t[1]))
        out.append([w for _, w in scored[:top]])
    return out


class ClusterName(NamedTuple):
    label: str
    probability: float


def vocabulary_names(centroids: Vector, vocab: Vector, names: Sequence[str], logit_scale: float) -> list[ClusterName]:
    """Each centroid's best word of the vocabulary by zero-shot (softmax of scaled cosines)."""
    logits = logit_scale * (np.asarray(centroids, dtype=np.float64) @ np.asarray(vocab, dtype=np.float64).T)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    top = np.argmax(probs, axis=1)
    return [ClusterName(names[int(t)], float(p[t])) for t, p in zip(top, probs, strict=True)]
