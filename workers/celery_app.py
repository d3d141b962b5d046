"""The Celery worker process: its app (the API's, plus the tasks and the ack fix) and the per-process
context (model, backend, pipeline).

An acknowledgement that fails because Redis is down (restart, failover) must not stop the worker: kombu
would keep the finished message's prefetch slot forever; ``workers.broker`` fixes that. The delivery
settings themselves are in ``services/jobs/celery_client.py``.

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
from services.core.heap import freeze_startup_heap
from services.core.settings import Settings, get_settings
from services.encoders.base import Encoder
from services.encoders.fingerprint import HashCache, RunningModel
from services.ingest.runner import IngestPipeline
from services.jobs.celery_client import chunk_sender, make_celery
from services.sources.fetch import SafeFetcher
from services.vectorstore.videos import VideoRegistry
from workers import broker
from workers.backends import ApiBackend, DirectBackend, WorkerBackend

log = logging.getLogger(__name__)


def make_worker_celery(settings: Settings) -> Celery:
    """The app a worker runs: the API's app, the chunk task registered, failed acks released."""
    broker.install()  # a failed ack after a Redis restart would otherwise leave the worker idle for good
    app = make_celery(settings)
    app.conf.include = ["workers.tasks"]
    return app


@dataclass
class WorkerContext:
    settings: Settings
    encoder: Encoder
    backend: WorkerBackend
    pipeline: IngestPipeline
    fetcher: SafeFetcher
    model: RunningModel | None = None  # checked against each chunk's collection before it is embedded

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
    from services.db.engine import init_db, make_engine
    from services.jobs.chunks import ChunkStore
    from services.jobs.coordinator import JobCoordinator
    from services.jobs.records import JobStore
    from services.vectorstore.factory import build_store
    from services.vectorstore.thumbnails import ThumbnailStore

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
    encoder = encoder or ClipEncoder(settings.model, settings.device, settings.precision)
    encoder.load()
    model = RunningModel(encoder, HashCache(settings.data_dir / "model-hashes.json"))
    log.info("worker model: %s", model.fingerprint.describe())
    fetcher = SafeFetcher(settings.fetch)
    videos = VideoRegistry(settings.videos_dir)  # the data dir the API shares (docs/video.md)
    pipeline = IngestPipeline(
        encoder, backend.writer, settings.ingest, settings.limits, fetch_url=fetcher, videos=videos
    )
    return WorkerContext(settings, encoder, backend, pipeline, fetcher, model)


_context: WorkerContext | None = None
_context_lock = threading.Lock()


def worker_context() -> WorkerContext:
    """This process's context, built on first use (prefork builds it in ``worker_process_init``)."""
    global _context
    if _context is None:
        with _context_lock:
            if _context is None:
                _context = build_context(get_settings())
                freeze_startup_heap()  # the model's objects stay out of later collections (services/core/heap.py)
    return _context


@worker_process_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _init_process(**_: Any) -> None:
    worker_context()


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _close_process(**_: Any) -> None:
    if _context is not None:
        _context.close()


# The app the worker runs (``signifier worker``; ``celery -A workers.celery_app worker`` works too).
# Built lazily from settings so importing this module never needs Redis.
class _LazyApp:
    _app: Celery | None = None

    def get(self) -> Celery:
        if self._app is None:
            self._app = make_worker_celery(get_settings())
        return self._app


_lazy = _LazyApp()


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return _lazy.get()
    raise AttributeError(name)
