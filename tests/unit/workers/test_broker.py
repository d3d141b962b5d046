"""workers.broker: a failed ack (Redis down) releases the worker's prefetch slot instead of keeping it forever.

The Redis side is a fake that is up or down; the slot bookkeeping is kombu's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from workers import broker


class _Redis:
    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    def _check(self) -> None:
        if not self.channel.up:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def pipeline(self) -> _Redis:
        return self

    def zrem(self, *_: Any) -> _Redis:
        return self

    def hdel(self, *_: Any) -> _Redis:
        return self

    def execute(self) -> list[int]:
        self._check()
        return [1, 1]

    def transaction(self, fn: Any, *_: Any) -> None:  # restore_by_tag (a reject that requeues)
        self._check()


class _Channel:
    do_restore = False  # nothing to restore when a test's QoS is garbage-collected
    unacked_key = "unacked"
    unacked_index_key = "unacked_index"

    def __init__(self) -> None:
        self.up = True

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[_Redis]:
        yield _Redis(self)


def _delivered(qos_cls: type[kombu_redis.QoS]) -> tuple[_Channel, kombu_redis.QoS]:
    """A QoS with prefetch 1 (``worker_prefetch_multiplier=1``, one process) holding one delivered message."""
    channel = _Channel()
    qos = qos_cls(channel, prefetch_count=1)
    virtual.QoS.append(qos, object(), "tag-1")  # the local half of QoS.append (the Redis half needs a server)
    assert not qos.can_consume()
    return channel, qos


def test_unpatched_kombu_keeps_the_slot_of_a_failed_ack() -> None:
    """The upstream bug. If this fails after a kombu upgrade, it is fixed there: remove workers/broker.py."""
    channel, qos = _delivered(kombu_redis.QoS)
    channel.up = False
    with pytest.raises(redis.ConnectionError):
        qos.ack("tag-1")
    channel.up = True  # Redis is back: the worker still cannot consume
    assert not qos.can_consume()
    qos._delivered.clear()


def test_failed_ack_releases_the_slot_and_still_raises() -> None:
    channel, qos = _delivered(broker.QoS)
    channel.up = False
    with pytest.raises(redis.ConnectionError):  # Celery logs "Couldn't ack" as before
        qos.ack("tag-1")
    assert qos.can_consume()
    qos._flush()
    assert not qos._delivered  # and no finished task is "restored" to the queue at shutdown


@pytest.mark.parametrize("requeue", [False, True])
def test_failed_reject_releases_the_slot(requeue: bool) -> None:
    channel, qos = _delivered(broker.QoS)
    channel.up = False
    with pytest.raises(redis.ConnectionError):
        qos.reject("tag-1", requeue=requeue)
    assert qos.can_consume()


def test_ack_with_redis_up_is_unchanged() -> None:
    _, qos = _delivered(broker.QoS)
    qos.ack("tag-1")
    assert qos.can_consume()
    qos._flush()
    assert not qos._delivered and not qos._dirty


def test_install_applies_to_every_redis_channel() -> None:
    broker.install()
    broker.install()
    assert kombu_redis.Channel.QoS is broker.QoS
    assert kombu_redis.SentinelChannel.QoS is broker.QoS
