"""Warnings for filter keys a collection's payloads do not have: a misspelt key (``colr``) matches no point,
so the search silently returned nothing; now the response says why.

Known keys are the top-level keys of a sample of stored payloads (one scroll page of ``FILTER_KEY_SAMPLE``
points, without vectors): manifests add arbitrary columns, so no schema lists them. When the sample is the
whole collection the warning is exact; otherwise a key only rarer points carry can be warned about, and
the message says it looked at a sample. An empty collection gives no warnings (nothing to compare).

A ``KeySamples`` cache keeps each collection's sample for a few seconds, so filtered searches do not each
read 256 payloads (a millisecond or more of a ~5 ms search). It cannot make a warning up: a cached sample
that lacks a filter's key is read again before anything is said.
"""

from __future__ import annotations

import difflib
import re
import threading
import time
from collections.abc import Callable, Iterator

from services.vectorstore.base import VectorStore
from services.vectorstore.filters import Filter

FILTER_KEY_SAMPLE = 256  # payloads read per filtered search (one scroll page, no vectors: ~1 ms embedded)
MAX_LISTED_KEYS = 30

# The first segment of a payload key as Qdrant reads it: a bare name or a double-quoted one.
_FIRST = re.compile(r'"([^"]+)"|([A-Za-z0-9_-]+)')


def top_level(key: str) -> str:
    """The payload field a filter key starts at: ``exif.iso`` → ``exif``, ``tags[]`` → ``tags``,
    ``"a b".x`` → ``a b``."""
    m = _FIRST.match(key)
    if m is None:  # keys are checked by parse_filter before they get here
        return key
    return m.group(1) or m.group(2)


def filter_fields(f: Filter) -> list[str]:
    """The top-level payload fields a filter's conditions name, each once, in order of appearance."""
    return list(dict.fromkeys(top_level(c.key) for clause in (f.must, f.should, f.must_not) for c in clause))


def sampled_keys(store: VectorStore, store_name: str, sample: int = FILTER_KEY_SAMPLE) -> tuple[set[str], int, bool]:
    """(top-level payload keys, points read, whether that was every point) of one page of stored points."""
    points, next_offset = store.scroll(store_name, limit=sample)
    keys = {k for p in points for k in p.payload}
    return keys, len(points), next_offset is None


Sample = tuple[set[str], int, bool]


class KeySamples:
    """``sampled_keys`` per stored collection, reused for ``ttl_s`` seconds (one per process, thread-safe)."""

    def __init__(self, ttl_s: float = 10.0, max_entries: int = 4_096, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.max_entries, self._clock = ttl_s, max_entries, clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, int], tuple[float, Sample]] = {}

    def get(self, store: VectorStore, store_name: str, sample: int, fresh: bool = False) -> Sample:
        key, now = (store_name, sample), self._clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and not fresh and now - hit[0] < self.ttl_s:
            return hit[1]
        got = sampled_keys(store, store_name, sample)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # many collections: start over rather than track ages
            self._entries[key] = (now, got)
        return got


def filter_key_warnings(
    store: VectorStore,
    store_name: str,
    collection: str,
    f: Filter | None,
    sample: int = FILTER_KEY_SAMPLE,
    cache: KeySamples | None = None,
) -> list[str]:
    """One warning per filter field that no sampled payload of ``collection`` has, naming the known keys."""
    if f is None or f.is_empty():
        return []
    fields = filter_fields(f)
    if cache is None:
        known, read, complete = sampled_keys(store, store_name, sample)
    else:
        known, read, complete = cache.get(store, store_name, sample)
        if read and not set(fields) <= known:  # about to warn: read again, the key may be new
            known, read, complete = cache.get(store, store_name, sample, fresh=True)
    if not read:
        return []
    return list(_warnings(fields, known, collection, read, complete))


def _warnings(fields: list[str], known: set[str], collection: str, read: int, complete: bool) -> Iterator[str]:
    names = sorted(known)
    listed = ", ".join(names[:MAX_LISTED_KEYS]) + (f", … ({len(names)} in all)" if len(names) > MAX_LISTED_KEYS else "")
    for field in fields:
        if field in known:
            continue
        where = (
            f"is not a payload key of collection {collection!r}"
            if complete
            else f"is in none of the {read} payloads sampled from collection {collection!r}"
        )
        close = difflib.get_close_matches(field, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        yield f"filter key {field!r} {where}, so conditions on it match no point{hint} Known keys: {listed}"
