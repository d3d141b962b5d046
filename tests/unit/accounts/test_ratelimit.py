"""Token buckets: the arithmetic, the in-memory limiter, and the same bucket in a real Redis (Lua)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.accounts.ratelimit import (
    Bucket,
    MemoryRateLimiter,
    NoRateLimit,
    RedisRateLimiter,
    build_rate_limiter,
    take,
)
from services.core.errors import RateLimited
from services.core.settings import RateSettings


def test_a_new_bucket_is_full_and_drains_then_refills() -> None:
    b, wait = take(None, now=100.0, capacity=3, rate=1.0)
    assert (b, wait) == (Bucket(2.0, 100.0), 0.0)
    b, _ = take(b, 100.0, 3, 1.0)
    b, _ = take(b, 100.0, 3, 1.0)
    assert b.tokens == 0.0
    b, wait = take(b, 100.25, 3, 1.0)  # a quarter token refilled: 0.75 s to go
    assert wait == pytest.approx(0.75) and b.tokens == pytest.approx(0.25)
    b, wait = take(b, 101.0, 3, 1.0)
    assert wait == 0.0 and b.tokens == pytest.approx(0.0)
    b, _ = take(b, 1000.0, 3, 1.0)  # a long pause refills to capacity, not beyond
    assert b.tokens == 2.0


def test_a_clock_going_backwards_refills_nothing() -> None:
    b, _ = take(Bucket(0.0, 50.0), now=40.0, capacity=5, rate=10.0)
    assert b.tokens == 0.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_limiter_refuses_with_retry_after_and_keys_are_separate() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(RateSettings(per_minute=60, burst=2), clock=clock)
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(RateLimited) as exc:
        limiter.hit("a")
    assert exc.value.retry_after == 1 and "60 a minute" in exc.value.message
    limiter.hit("b")  # another key has its own bucket
    clock.now = 1.0
    limiter.hit("a")  # one token back after a second at 60/minute


def test_memory_limiter_keeps_a_bounded_number_of_buckets() -> None:
    limiter = MemoryRateLimiter(RateSettings(per_minute=60, burst=1), clock=FakeClock(), max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    limiter.hit("c")  # evicts "a", the least recently used
    assert list(limiter._buckets) == ["b", "c"]


def test_zero_turns_limiting_off() -> None:
    assert isinstance(build_rate_limiter(RateSettings(per_minute=0), None), NoRateLimit)
    assert isinstance(build_rate_limiter(RateSettings(), None), MemoryRateLimiter)


# --- Redis ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``SIGNIFIER_TEST_REDIS_URL`` (``.ci/run``), else a redis-server of our own on a free loopback port."""
    if url := os.environ.get("SIGNIFIER_TEST_REDIS_URL"):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis: install redis-server or set SIGNIFIER_TEST_REDIS_URL")
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.mark.integration
def test_redis_bucket_refuses_after_the_burst_and_shares_state_between_replicas(redis_client: Any) -> None:
    settings = RateSettings(per_minute=60, burst=3)
    prefix = f"test:{uuid.uuid4().hex}:"
    replica_a = RedisRateLimiter(redis_client, settings, prefix=prefix)
    replica_b = RedisRateLimiter(redis_client, settings, prefix=prefix)  # another API process, same Redis
    replica_a.hit("k")
    replica_b.hit("k")
    replica_a.hit("k")
    with pytest.raises(RateLimited) as exc:
        replica_b.hit("k")
    assert exc.value.retry_after == 1
    replica_a.hit("other")  # a different key is not affected
    ttl = redis_client.pttl(prefix + "k")
    assert 0 < ttl <= 3 * 1000 + 1000  # the bucket expires once it would be full again
    time.sleep(1.05)
    replica_b.hit("k")  # one token refilled (on Redis's clock)
    redis_client.delete(prefix + "k", prefix + "other")


@pytest.mark.integration
def test_redis_bucket_is_atomic_under_concurrency(redis_client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = RateSettings(per_minute=1, burst=20)  # refill is negligible during the test
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(redis_client, settings, prefix=prefix)

    def one(_: int) -> bool:
        try:
            limiter.hit("k")
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(8) as pool:
        allowed = sum(pool.map(one, range(60)))
    assert allowed == 20  # never more than the burst, however the calls interleave
    redis_client.delete(prefix + "k")


def test_an_unreachable_redis_lets_requests_through() -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=_free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = RedisRateLimiter(client, RateSettings(per_minute=1, burst=1))
    for _ in range(3):
        limiter.hit("k")  # fail open: the limiter protects capacity, it is not access control
