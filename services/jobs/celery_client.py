"""The Celery app as the API uses it: the broker connection and the crash-safe delivery settings, and
the sender that puts one chunk task on the ingest queue. Tasks are sent by name, so this side needs no
task code; the worker process (``workers/celery_app.py``) builds the same app and registers the tasks.

Delivery settings that make jobs survive crashes:

- ``task_acks_late``: a message is acknowledged after its task returns, so a worker that dies mid-task
  leaves it on the broker; ``task_reject_on_worker_lost`` requeues it at once when a pool process dies.
- ``worker_prefetch_multiplier=1``: a worker holds one message per process, not a backlog that dies with it.
- A vanished worker's unacknowledged messages come back after ``visibility_timeout_s`` (Redis); the
  API's sweeper resends silent chunks sooner, and also those a restarted Redis forgot.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery

from services.core.errors import InvalidInput
from services.core.settings import Settings

QUEUE = "signifier.ingest"
CHUNK_TASK = "signifier.ingest_chunk"


def make_celery(settings: Settings) -> Celery:
    """A Celery app on ``settings.redis_url`` with the crash-safe delivery settings above."""
    if not settings.redis_url:
        raise InvalidInput("Celery needs a broker: set SIGNIFIER_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    app = Celery("signifier", broker=settings.redis_url)
    w = settings.workers
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": w.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # keep reconnecting while Redis restarts
        # Celery 6's default would be True: on a broker connection loss, kill the running tasks (and with
        # them the pool process and its loaded model) to have them redelivered. Chunks are idempotent and
        # the sweeper resends what Redis forgot, so let them finish (their ack may fail: workers.broker).
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,  # no pidbox queues: one fewer thing to lose on a Redis restart
        broker_pool_limit=4,
    )
    return app


def chunk_sender(app: Celery) -> Callable[[str, int], None]:
    """``send(job_id, idx)``: put one chunk task on the ingest queue."""

    def send(job_id: str, idx: int) -> None:
        with app.producer_or_acquire() as producer:
            # Declare the queue every time: a restarted Redis has forgotten its binding, and a message
            # published before a worker re-declares it would be dropped as unroutable.
            app.amqp.queues[QUEUE](producer.channel).declare()
            app.send_task(CHUNK_TASK, args=[job_id, idx], queue=QUEUE, producer=producer)

    return send
