"""A seeded generator of CLIP-like embeddings, for benchmarks at sizes no real model can encode here.

    .venv/bin/python bench/clip_like.py --n 20000          # print the generator's statistics

Geometry (all vectors unit, ``dim`` dimensions, ``mu_i``/``mu_t`` two unit "cone axes" with cosine ``gap_cos``;
``S`` the subspace orthogonal to both):

- **Images** lie on a cone around ``mu_i``: ``x = a·mu_i + b·s_k + c·e``, then normalised. ``s_k`` is the
  direction of the point's cluster, ``e`` its own noise. Both ``s_k`` and ``e`` are drawn in ``S`` with a
  decaying eigenspectrum (variance of the j-th axis ∝ (j + 1)^-``decay``), so the data has a low intrinsic
  dimension, as CLIP's has.
- **Clusters** have power-law sizes: cluster k gets a share ∝ (k + 1)^-``zipf`` of the points (a few large
  themes, a long tail of rare ones).
- **Text** (queries and each point's alt text) lies on a second cone around ``mu_t`` — the modality gap — and
  is aligned with a cluster: ``t = a_t·mu_t + b_t·s_k + c_t·e_t``. A point's alt text shares its image's
  semantic part (its cluster and ``alt_share`` of its own noise), so alt text describes its image.
- **Queries**: ``image`` (held-out images, in distribution), ``text`` (a text vector of a cluster chosen by
  size, out of distribution for the image cone), ``composite`` (2–4 weighted text terms, as
  ``"a" - 0.3*"b" + 0.5*"c"``) and ``opposition`` (the unit axis ``(A − B)/‖A − B‖`` of two text poles and
  its negation, as ``/oppositions`` searches).
- ``uniform``: the adversarial case — every vector uniform on the sphere, no clusters, no cones.

The defaults are calibrated to what a real CLIP shows (a cat photo scores 0.25–0.27 against matching
prompts, 0.18 against keyboard mash; mean image–image cosine ≈ 0.5–0.6; text and image centroids far
apart): ``stats()`` measures the figures and ``bench/README.md`` lists them beside shapes-clip's own.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

Matrix = np.ndarray  # (n, dim) float32, unit rows


@dataclass(frozen=True)
class ClipLikeParams:
    """Knobs of the geometry; the defaults give CLIP-like statistics (see the module docstring)."""

    dim: int = 512
    clusters: int | None = None  # None: n / 100 (10,000 at 1M points)
    zipf: float = 0.6  # cluster k's share ∝ (k + 1)^-zipf
    decay: float = 1.0  # eigenvalue j ∝ (j + 1)^-decay in the semantic subspace
    gap_cos: float = 0.25  # cosine between the image and text cone axes
    a: float = 0.74  # image: weight of the cone axis
    b: float = 0.42  # image: weight of the cluster direction
    c: float = 0.53  # image: weight of the point's own noise
    a_t: float = 0.80  # text: weight of the text cone axis
    b_t: float = 0.26  # text: weight of the cluster direction
    c_t: float = 0.54  # text: weight of its own noise
    alt_share: float = 0.6  # share of an alt text's noise that is its image's own
    uniform: bool = False  # the adversarial case: uniform on the sphere, no structure


class ClipLike:
    """One seeded world: cone axes, cluster directions and sizes; points and queries drawn from it."""

    def __init__(self, n: int, params: ClipLikeParams | None = None, seed: int = 0) -> None:
        self.n = n
        self.p = params or ClipLikeParams()
        self.seed = seed
        d = self.p.dim
        rng = np.random.default_rng([seed, 0])
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))  # a random rotation: no axis-aligned structure
        self._mu_i = basis[:, 0]
        self._mu_t = self.p.gap_cos * basis[:, 0] + np.sqrt(1 - self.p.gap_cos**2) * basis[:, 1]
        self._sem = basis[:, 2:].T.astype(np.float32)  # (d - 2, d): rows span S
        sd = np.arange(1, d - 1, dtype=np.float64) ** (-self.p.decay / 2)
        self._sd = (sd / np.sqrt((sd**2).sum())).astype(np.float32)  # E‖e‖² = 1
        k = self.p.clusters or max(1, n // 100)
        self.k = k
        share = np.arange(1, k + 1, dtype=np.float64) ** -self.p.zipf
        self.share = share / share.sum()
        self._centres = self._sphere_in_s(rng, k)  # (k, d) unit cluster directions

    # --- drawing ---------------------------------------------------------------------------------

    def _in_s(self, rng: np.random.Generator, m: int) -> Matrix:
        """``m`` vectors in S with the decaying spectrum (expected squared norm 1)."""
        z = rng.standard_normal((m, len(self._sd)), dtype=np.float32) * self._sd
        out: Matrix = z @ self._sem
        return out

    def _sphere_in_s(self, rng: np.random.Generator, m: int) -> Matrix:
        v = self._in_s(rng, m)
        return _unit(v)

    def _images(self, rng: np.random.Generator, clusters: np.ndarray) -> tuple[Matrix, Matrix]:
        """Image vectors of points in ``clusters`` and their own noise (for their alt texts)."""
        noise = self._in_s(rng, len(clusters))
        p = self.p
        x = p.a * self._mu_i + p.b * self._centres[clusters] + p.c * noise
        return _unit(x), noise

    def _texts(self, rng: np.random.Generator, clusters: np.ndarray, noise: Matrix | None = None) -> Matrix:
        own = self._in_s(rng, len(clusters))
        if noise is not None:
            own = self.p.alt_share * noise + np.sqrt(1 - self.p.alt_share**2) * own
        p = self.p
        return _unit(p.a_t * self._mu_t + p.b_t * self._centres[clusters] + p.c_t * own)

    def _uniform(self, rng: np.random.Generator, m: int) -> Matrix:
        return _unit(rng.standard_normal((m, self.p.dim), dtype=np.float32))

    def cluster_of(self, start: int, m: int) -> np.ndarray:
        """Clusters of points ``start .. start + m`` (the same whichever chunks ask)."""
        rng = np.random.default_rng([self.seed, 1])
        # One draw for all points: cheap (int32 per point) and independent of the chunking.
        if not hasattr(self, "_all_clusters"):
            self._all_clusters = rng.choice(self.k, size=self.n, p=self.share).astype(np.int32)
        return self._all_clusters[start : start + m]

    def chunks(self, size: int = 10_000) -> Iterator[tuple[int, Matrix, Matrix]]:
        """(start, image vectors, alt-text vectors) of the ``n`` points, ``size`` at a time; seeded per chunk."""
        for c, start in enumerate(range(0, self.n, size)):
            m = min(size, self.n - start)
            rng = np.random.default_rng([self.seed, 2, c])
            if self.p.uniform:
                yield start, self._uniform(rng, m), self._uniform(rng, m)
                continue
            clusters = self.cluster_of(start, m)
            img, noise = self._images(rng, clusters)
            yield start, img, self._texts(rng, clusters, noise)

    # --- queries ---------------------------------------------------------------------------------

    def queries(self, count: int, kind: str, seed: int = 1) -> Matrix:
        """``count`` unit query vectors of ``kind``: image, text, composite or opposition."""
        rng = np.random.default_rng([self.seed, 3, seed, _KINDS.index(kind)])
        if kind == "opposition":  # the axes of ``poles``, in both worlds (``/oppositions`` is sent the poles)
            a, b = self.poles(count, seed)
            return _unit(a - b)
        if self.p.uniform:
            return self._uniform(rng, count)
        pick = lambda m: rng.choice(self.k, size=m, p=self.share)  # noqa: E731 - a cluster by size
        match kind:
            case "image":
                return self._images(rng, pick(count))[0]
            case "text":
                return self._texts(rng, pick(count))
            case "composite":
                rows = []
                for _ in range(count):
                    terms = int(rng.integers(2, 5))
                    t = self._texts(rng, pick(terms))
                    w = np.concatenate([[1.0], rng.choice([-1, 1], terms - 1) * rng.uniform(0.2, 0.8, terms - 1)])
                    rows.append(w.astype(np.float32) @ t)
                return _unit(np.stack(rows))
            case _:
                raise ValueError(f"unknown query kind {kind!r}; one of {', '.join(_KINDS)}")

    def poles(self, count: int, seed: int = 1) -> tuple[Matrix, Matrix]:
        """``count`` pairs of text poles (A, B) of different clusters: the axes of ``opposition`` queries."""
        rng = np.random.default_rng([self.seed, 5, seed])
        if self.p.uniform:
            return self._uniform(rng, count), self._uniform(rng, count)
        a = rng.choice(self.k, size=count, p=self.share)
        b = (a + 1 + rng.integers(0, max(1, self.k - 1), size=count)) % self.k
        return self._texts(rng, a), self._texts(rng, b)

    # --- statistics ------------------------------------------------------------------------------

    def stats(self, sample: int = 2_000) -> dict[str, float | None]:
        """Cosine statistics of a sample of points: what a calibration compares with a real model's."""
        rng = np.random.default_rng([self.seed, 4])
        m = min(sample, self.n)
        if self.p.uniform:
            x, t = self._uniform(rng, m), self._uniform(rng, m)
            clusters = np.arange(m)
        else:
            clusters = rng.choice(self.k, size=m, p=self.share)
            x = self._images(rng, clusters)[0]
            t = self._texts(rng, clusters)  # a fresh caption of the same cluster, as a prompt would be
        ii = x @ x.T
        off = ~np.eye(m, dtype=bool)
        same = clusters[:, None] == clusters[None, :]
        it = x @ t.T
        mi, mt = x.mean(0), t.mean(0)
        return {
            "image_image_mean": float(ii[off].mean()),
            "image_image_same_cluster": float(ii[off & same].mean()) if (off & same).any() else None,
            "text_text_mean": float((t @ t.T)[off].mean()),
            "matched_image_text": float(np.diag(it).mean()),
            "unmatched_image_text": float(it[~same].mean()),
            "image_mean_norm": float(np.linalg.norm(mi)),
            "text_mean_norm": float(np.linalg.norm(mt)),
            "gap_norm": float(np.linalg.norm(mi - mt)),
            "clusters": float(self.k),
            "largest_cluster_share": float(self.share[0]),
        }


_KINDS = ("image", "text", "composite", "opposition")
QUERY_KINDS = _KINDS


def _unit(x: np.ndarray) -> Matrix:
    x = np.asarray(x, dtype=np.float32)
    out: Matrix = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--uniform", action="store_true", help="the adversarial case: uniform random vectors")
    args = p.parse_args()
    gen = ClipLike(args.n, ClipLikeParams(dim=args.dim, uniform=args.uniform), seed=args.seed)
    print(json.dumps({"params": asdict(gen.p), "stats": gen.stats()}, indent=2))


if __name__ == "__main__":
    main()
