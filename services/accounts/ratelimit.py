"""Per-API-key rate limiting: a token bucket, in Redis (shared by all API replicas) or in memory.

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` tokens a second; a request
takes one. An empty bucket answers ``RateLimited`` with the seconds until a token is back (the
``Retry-After`` of the 429). If Redis cannot be reached the request is let through and a warning
logged: the limiter protects capacity, it is not an access control, and an outage of it should not
take the API down with it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from services.core.errors import RateLimited
from services.core.settings import RateSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated: float  # seconds, on the limiter's clock


def take(bucket: Bucket | None, now: float, capacity: float, rate: float, cost: float = 1.0) -> tuple[Bucket, float]:
    """Refill ``bucket`` up to ``now`` and try to take ``cost`` tokens.

    ``rate`` is tokens per second. Returns the new state and the wait in seconds before the request
    could pass (0.0 when it passes now). A missing bucket starts full; a clock that went backwards
    refills nothing.
    """
    if bucket is None:
        bucket = Bucket(capacity, now)
    tokens = min(capacity, bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens >= cost:
        return Bucket(tokens - cost, now), 0.0
    return Bucket(tokens, now), (cost - tokens) / rate


def _refuse(key_id: str, wait_s: float, per_minute: int) -> RateLimited:
    retry = max(1, math.ceil(wait_s))
    return RateLimited(
        f"too many requests with API key {key_id}: the limit is {per_minute} a minute; retry in {retry} s",
        retry_after=retry,
    )


class RateLimiter(Protocol):
    def hit(self, key_id: str) -> None:
        """Count one request of ``key_id``; raise ``RateLimited`` when its bucket is empty."""


class NoRateLimit:
    def hit(self, key_id: str) -> None:
        return None


class MemoryRateLimiter:
    """Buckets in this process (embedded mode: one API process). At most ``max_keys`` buckets are kept;
    the least recently used go first (a forgotten bucket restarts full, which only errs generously)."""

    def __init__(
        self, settings: RateSettings, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key_id: str) -> None:
        s = self.settings
        with self._lock:
            bucket, wait = take(self._buckets.get(key_id), self.clock(), s.burst, s.per_minute / 60.0)
            self._buckets[key_id] = bucket
            self._buckets.move_to_end(key_id)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        if wait > 0:
            raise _refuse(key_id, wait, s.per_minute)


# The same arithmetic as ``take``, atomically in Redis, on Redis's clock (API replicas' clocks may differ).
# KEYS[1]: bucket; ARGV: capacity, tokens per millisecond, cost. Returns {allowed (0/1), wait in ms}.
TOKEN_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate) + 1000)
return {allowed, wait}
"""


class RedisRateLimiter:
    """Buckets in Redis, so every API replica draws from the same bucket of a key."""

    def __init__(self, client: Any, settings: RateSettings, prefix: str = "signifier:ratelimit:") -> None:
        self.client = client
        self.settings = settings
        self.prefix = prefix
        self._script = client.register_script(TOKEN_BUCKET_LUA)
        self._warned_at = 0.0

    def hit(self, key_id: str) -> None:
        s = self.settings
        try:
            allowed, wait_ms = self._script(keys=[self.prefix + key_id], args=[s.burst, s.per_minute / 60_000.0, 1])
        except Exception as exc:  # redis.RedisError, OSError: fail open, loudly but not per request
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limiting is off while Redis is unreachable: %s", exc)
            return
        if not int(allowed):
            raise _refuse(key_id, int(wait_ms) / 1000.0, s.per_minute)


def build_rate_limiter(settings: RateSettings, redis_url: str | None) -> RateLimiter:
    """Redis-backed when ``redis_url`` is set (server mode), in memory otherwise; off when per_minute is 0."""
    if settings.per_minute <= 0 or settings.burst <= 0:
        return NoRateLimit()
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return RedisRateLimiter(client, settings)
    return MemoryRateLimiter(settings)
