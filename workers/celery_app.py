"""The Celery app (Redis broker) and the per-process worker context (model, backend, pipeline).

Delivery settings that make jobs survive crashes:

- ``task_acks_late``: a message is acknowledged after its task returns, so a worker that dies mid-task
  leaves it on the broker; ``task_reject_on_worker_lost`` requeues it at once when a pool process dies.
- ``worker_prefetch_multiplier=1``: a worker holds one message per process, not a backlog that dies with it.
- A vanished worker's unacknowledged messages come back after ``visibility_timeout_s`` (Redis); the
  API's sweeper resends silent chunks sooner, and also those a restarted Redis forgot.
- An acknowledgement that fails because Redis is down (restart, failover) must not stop the worker:
  kombu would keep the finished message's prefetch slot forever; ``workers.broker`` fixes that.

Tasks are thin (``workers/tasks.py``); the model is loaded once per worker process in
``worker_process_init`` (prefork) or on the first task (solo pool).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from services.core.errors import InvalidInput
from services.core.settings import Settings, get_settings
from services.encoders.base import Encoder
from workers import broker
from workers.backends import ApiBackend, DirectBackend, WorkerBackend
from workers.pipeline.fetch import SafeFetcher
from workers.pipeline.runner import IngestPipeline

log = logging.getLogger(__name__)

QUEUE = "signifier.ingest"
CHUNK_TASK = "signifier.ingest_chunk"


def make_celery(settings: Settings) -> Celery:
    """A Celery app on ``settings.redis_url`` with the crash-safe delivery settings above."""
    if not settings.redis_url:
        raise InvalidInput("Celery needs a broker: set SIGNIFIER_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    broker.install()  # a failed ack after a Redis restart would otherwise leave the worker idle for good
    app = Celery("signifier", broker=settings.redis_url, include=["workers.tasks"])
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


def chunk_sender(app: Celery):  # type: ignore[no-untyped-def]
    """``send(job_id, idx)``: put one chunk task on the ingest queue."""

    def send(job_id: str, idx: int) -> None:
        with app.producer_or_acquire() as producer:
            # Declare the queue every time: a restarted Redis has forgotten its binding, and a message
            # published before a worker re-declares it would be dropped as unroutable.
            app.amqp.queues[QUEUE](producer.channel).declare()
            app.send_task(CHUNK_TASK, args=[job_id, idx], queue=QUEUE, producer=producer)

    return send


@dataclass
class WorkerContext:
    settings: Settings
    encoder: Encoder
    backend: WorkerBackend
    pipeline: IngestPipeline
    fetcher: SafeFetcher

    def close(self) -> None:
        self.fetcher.close()
        self.backend.close()


def build_backend(settings: Settings, send: Any) -> WorkerBackend:
    """``ApiBackend`` when ``workers.api_url`` is set (embedded store), else ``DirectBackend`` (Qdrant server)."""
    w = settings.workers
    if w.api_url:
        if settings.internal_token is None:
            raise InvalidInput("SIGNIFIER_WORKERS__API_URL needs SIGNIFIER_INTERNAL_TOKEN (the API's shared secret)")
        return ApiBackend(w.api_url, settings.internal_token.get_secret_value())
    if not settings.qdrant_url:
        raise InvalidInput(
            "a worker needs somewhere to store points: SIGNIFIER_QDRANT_URL (server mode), or "
            "SIGNIFIER_WORKERS__API_URL and SIGNIFIER_INTERNAL_TOKEN (the embedded API stores for it)"
        )
    from services.accounts.db import init_db, make_engine
    from services.accounts.job_chunks import ChunkStore
    from services.accounts.jobs import JobStore
    from services.vectorstore.factory import build_store
    from services.vectorstore.thumbnails import ThumbnailStore
    from workers.coordinator import JobCoordinator

    sessions = init_db(make_engine(settings.resolved_database_url))
    jobs = JobStore(sessions, settings.ingest.max_errors_recorded)
    coordinator = JobCoordinator(jobs, ChunkStore(sessions), send, w)
    # Thumbnails go to the data dir the API serves them from: the volume API and workers share.
    return DirectBackend(coordinator, build_store(settings), ThumbnailStore(settings.thumbnails_dir))


def build_context(settings: Settings, encoder: Encoder | None = None) -> WorkerContext:
    from celery import current_app

    from services.encoders.clip import ClipEncoder

    threads = os.environ.get("SIGNIFIER_TORCH_THREADS")
    if threads:
        import torch

        torch.set_num_threads(int(threads))
    backend = build_backend(settings, chunk_sender(current_app))
    encoder = encoder or ClipEncoder(settings.model, settings.device)
    encoder.load()
    fetcher = SafeFetcher(settings.fetch)
    pipeline = IngestPipeline(encoder, backend.writer, settings.ingest, settings.limits, fetch_url=fetcher)
    return WorkerContext(settings, encoder, backend, pipeline, fetcher)


_context: WorkerContext | None = None
_context_lock = threading.Lock()


def worker_context() -> WorkerContext:
    """This process's context, built on first use (prefork builds it in ``worker_process_init``)."""
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                _context = build_context(get_settings())
    return _context


@worker_process_init.connect
def _init_process(**_: Any) -> None:
    worker_context()


@worker_process_shutdown.connect
def _close_process(**_: Any) -> None:
    if _context is not None:
        _context.close()


# The app the worker runs (``signifier worker``; ``celery -A workers.celery_app worker`` works too).
# Built lazily from settings so importing this module never needs Redis.
class _LazyApp:
    _app: Celery | None = None

    def get(self) -> Celery:
        if self._app is None:
            self._app = make_celery(get_settings())
        return self._app


_lazy = _LazyApp()


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return _lazy.get()
    raise AttributeError(name)
