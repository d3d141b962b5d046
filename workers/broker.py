"""A fix for kombu's Redis transport: a failed acknowledgement no longer stops the worker consuming.

The bug (kombu 5.7.0, the newest release, and unchanged from earlier ones): ``kombu.transport.redis.QoS.ack``
first removes the message from Redis's unacked index, then releases the channel's local prefetch slot
(``virtual.QoS.ack``). When Redis is unreachable at that moment — a restart, a failover, a network
blip — the first step raises, the second never runs, and the delivery tag stays in ``QoS._delivered``
for good. Each failed ack so leaks one of the channel's ``prefetch_count`` slots (concurrency ×
``worker_prefetch_multiplier``: 1 for a one-process worker); once all are gone ``QoS.can_consume()``
stays False and the poller never sends another BRPOP: the worker is connected, idle and silent while the
queue fills. Celery only logs ``Couldn't ack …, reason: ConnectionError`` (``Message.ack_log_error``
swallows connection errors) and, since the consumer's own connection did not fail, it never reconnects
either — so none of the reconnect fixes for this family of reports apply (celery/celery#9054, #8030,
#8091, #10205, #10302; kombu PR celery/kombu#2007 is about the BRPOP connection, not the ack), and no
setting helps (``broker_transport_options`` health checks only watch a pending BRPOP; there is none;
``worker_cancel_long_running_tasks_on_connection_loss`` needs a connection loss the consumer noticed).

The fix: whatever happened in Redis, the task is over, so release the local slot and re-raise (Celery
still logs the failed ack). The message left behind is handled as any unacknowledged one: a Redis that
kept it redelivers it after ``visibility_timeout`` (tasks are idempotent), a restarted Redis forgot it.
It also stops the worker from "restoring" that finished task to the queue when it shuts down.

``install()`` (called by ``make_celery``) makes kombu's Redis channels use this ``QoS``, so it covers
``redis://``, ``rediss://`` and ``sentinel://`` URLs alike and changes nothing else. (A custom
``broker_transport`` class would also do, but then Celery prints it in place of ``redis://`` in its
logs.) Drop this module once kombu releases the fix: ``tests/unit/workers/test_broker.py`` shows the bug.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    """Redis ack emulation whose local bookkeeping survives a broker error (see the module docstring)."""

    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)  # type: ignore[no-untyped-call]
        except Exception:
            self._release(delivery_tag, "ack")
            raise

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)  # type: ignore[no-untyped-call]
        except Exception:
            self._release(delivery_tag, "reject")
            raise

    def _release(self, delivery_tag: Any, what: str) -> None:
        if delivery_tag in self._delivered and delivery_tag not in self._dirty:
            virtual.QoS.ack(self, delivery_tag)  # only the local step: frees the prefetch slot
            log.warning(
                "could not %s message %s in Redis; released its prefetch slot so this worker keeps consuming "
                "(Redis redelivers the message after the visibility timeout if it still has it)",
                what,
                delivery_tag,
            )


def install() -> None:
    """Use ``QoS`` on every kombu Redis channel made from now on in this process (idempotent)."""
    kombu_redis.Channel.QoS = QoS
