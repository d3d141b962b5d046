"""A thread-safe LRU cache of text embeddings, so a term like "winter" is encoded once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from services.core.metrics import TEXT_CACHE
from services.core.types import Vector


class TextEmbeddingCache:
    """Maps text → unit vector, evicting the least recently used entry beyond ``maxsize``."""

    def __init__(self, maxsize: int = 4096) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # lookups served from the cache (also counted in /metrics: signifier_text_cache_total)

    def get_many(self, texts: Sequence[str], encode: Callable[[Sequence[str]], Vector]) -> Vector:
        """Embeddings of ``texts`` (n × d), encoding only the ones not cached, in one batch."""
        with self._lock:
            found = {t: self._data[t] for t in texts if t in self._data}
            for t in found:
                self._data.move_to_end(t)
            hits = sum(1 for t in texts if t in found)
            self.hits += hits
        TEXT_CACHE.labels("hit").inc(hits)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = encode(missing)
            TEXT_CACHE.labels("miss").inc(len(missing))
            with self._lock:
                for t, v in zip(missing, vectors, strict=True):
                    found[t] = v
                    self._data[t] = v
                    self._data.move_to_end(t)
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
