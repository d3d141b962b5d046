"""Near-duplicates: which ranked hits repeat a higher-ranked one, and duplicate groups.

Vectors are unit-norm float32 (the store's invariant), so the cosine similarity of two points is their
dot product. ``duplicate_groups`` compares all pairs in row blocks (memory ``block × n`` floats, time n²);
``LinkGroups`` builds the same groups from links found by nearest-neighbour searches, holding only an
index per point id, so the duplicates job streams a collection of any size (``jobs/runners/duplicates.py``).
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import numpy as np

from services.core.types import Vector

DEFAULT_THRESHOLD = 0.95
"""Cosine similarity (in [-1, 1]) at or above which two images count as near-duplicates."""

EXACT_COSINE = 1.0 - 1e-5
"""At or above this cosine two vectors are the same vector up to float32 rounding: an exact duplicate."""

_BLOCK = 1024


def repeats_higher_ranked(x: Vector, threshold: float) -> np.ndarray:
    """For ranked rows ``x`` (n, d), best first: True where row i has cosine ≥ ``threshold`` to some row
    j < i (hidden or not, so the outcome does not depend on chains of hiding). Row 0 is always False."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    out = np.zeros(n, dtype=bool)
    for start in range(1, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        sims = x[start:stop] @ x[:stop].T  # (b, stop): row r is hit start + r against hits 0 .. stop-1
        earlier = np.arange(stop)[None, :] < np.arange(start, stop)[:, None]
        out[start:stop] = np.any((sims >= threshold) & earlier, axis=1)
    return out


class DuplicateGroup(NamedTuple):
    """Rows (indices into the scanned array, ascending) that are linked by cosine ≥ threshold, and the
    lowest and highest cosine of any linked pair within the group."""

    members: list[int]
    min_similarity: float
    max_similarity: float

    @property
    def exact(self) -> bool:
        """Every linked pair is the same vector (up to float32 rounding)."""
        return self.min_similarity >= EXACT_COSINE


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = int(parent[root])
    while parent[i] != root:  # path compression
        parent[i], i = root, int(parent[i])
    return root


def duplicate_groups(x: Vector, threshold: float, progress: object = None) -> list[DuplicateGroup]:
    """Connected components of the graph "cosine ≥ ``threshold``" over rows ``x`` (n, d), exactly (all
    pairs, O(n²·d)); only components of two or more rows, largest first (ties: by first member).

    ``progress``: an optional callable given the rows finished after each block."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    parent = np.arange(n)
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        sims = x[start:stop] @ x.T
        rows, cols = np.nonzero(sims >= threshold)
        rows = rows + start
        keep = cols > rows  # each unordered pair once, no self-pairs
        for i, j, s in zip(rows[keep], cols[keep], sims[rows[keep] - start, cols[keep]], strict=True):
            a, b = _find(parent, int(i)), _find(parent, int(j))
            if a != b:
                parent[b] = a
            lo[int(i)] = min(lo[int(i)], float(s))
            hi[int(i)] = max(hi[int(i)], float(s))
        if callable(progress):
            progress(stop - start)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(_find(parent, i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        idx = np.asarray(members)
        out.append(DuplicateGroup(members, float(lo[idx].min()), float(hi[idx].max())))
    out.sort(key=lambda g: (-len(g.members), g.members[0]))
    return out


def vector_key(v: Vector) -> bytes:
    """A 16-byte digest of a vector's float32 bytes: equal keys, the same vector (an exact duplicate)."""
    return hashlib.blake2b(np.ascontiguousarray(v, dtype=np.float32).tobytes(), digest_size=16).digest()


class IdGroup(NamedTuple):
    """Point ids linked by cosine ≥ threshold (in the order the scan met them) and their pairs' extremes."""

    ids: list[str]
    min_similarity: float
    max_similarity: float

    @property
    def exact(self) -> bool:
        """Every linked pair is the same vector (up to float32 rounding)."""
        return self.min_similarity >= EXACT_COSINE


class LinkGroups:
    """Union-find over point ids: ``link(a, b, cosine)`` for each pair found at or above the threshold;
    ``groups()`` are the connected components of two or more points, largest first (ties: by the first
    member met), each member list in the order ``seen`` met them. Memory: a few numbers per point."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        self._parent: list[int] = []
        self._order: list[float] = []  # the scan's ordinal of each point (inf: only met as a neighbour)
        self._lo: list[float] = []
        self._hi: list[float] = []
        self._seen = 0

    def _node(self, pid: str) -> int:
        i = self._index.get(pid)
        if i is None:
            i = self._index[pid] = len(self._ids)
            self._ids.append(pid)
            self._parent.append(i)
            self._order.append(math.inf)
            self._lo.append(math.inf)
            self._hi.append(-math.inf)
        return i

    def seen(self, pid: str) -> int:
        """Record that the scan met ``pid`` (its place in the groups' member order); returns its index."""
        i = self._node(pid)
        if self._order[i] == math.inf:
            self._order[i] = self._seen
            self._seen += 1
        return i

    def _root(self, i: int) -> int:
        parent = self._parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    def link(self, a: str, b: str, similarity: float) -> None:
        i, j = self._node(a), self._node(b)
        ri, rj = self._root(i), self._root(j)
        if ri != rj:
            self._parent[rj] = ri
        self._lo[i] = min(self._lo[i], similarity)
        self._hi[i] = max(self._hi[i], similarity)

    def groups(self) -> list[IdGroup]:
        members: dict[int, list[int]] = {}
        for i in range(len(self._ids)):
            members.setdefault(self._root(i), []).append(i)
        out = []
        for group in members.values():
            if len(group) < 2:
                continue
            group.sort(key=lambda k: (self._order[k], self._ids[k]))
            lo = min(self._lo[k] for k in group)
            hi = max(self._hi[k] for k in group)
            out.append(IdGroup([self._ids[k] for k in group], lo, hi))
        out.sort(key=lambda g: (-len(g.ids), self._order[self._index[g.ids[0]]], g.ids[0]))
        return out
