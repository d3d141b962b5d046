"""The heavy collaborators of one process, built once: encoder, store, database, job queue, query service.

The API's lifespan and the CLI's in-process commands both build a ``Runtime``; tests hand in
their own encoder or store.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from services.accounts.admin import Accounts
from services.accounts.quotas import Quotas
from services.accounts.ratelimit import RateLimiter, build_rate_limiter
from services.accounts.stream_links import StreamSigner
from services.catalog.collections import CollectionRegistry
from services.catalog.model_check import ModelGuard
from services.core.settings import Settings
from services.db.engine import init_db, make_engine
from services.encoders.base import Encoder
from services.encoders.cache import TextEmbeddingCache
from services.encoders.clip import ClipEncoder
from services.encoders.fingerprint import HashCache, RunningModel
from services.ingest.runner import IngestPipeline
from services.ingest.writer import StoreWriter
from services.jobs.queue import JobQueue, build_queue
from services.jobs.records import JobStore
from services.jobs.results import JobResults
from services.jobs.runners.base import JobContext
from services.query.context import QueryServices, build_query_services
from services.sources.fetch import SafeFetcher
from services.vectorstore.base import VectorStore
from services.vectorstore.factory import build_store
from services.vectorstore.thumbnails import ThumbnailStore
from services.vectorstore.videos import VideoRegistry


@dataclass
class Runtime:
    settings: Settings
    encoder: Encoder
    store: VectorStore
    thumbnails: ThumbnailStore  # each point's thumbnail, made at ingest; the image route serves only these
    sessions: sessionmaker[Session]
    collections: CollectionRegistry
    models: ModelGuard  # this process's model fingerprint, and the check of a collection against it
    jobs: JobStore
    text_cache: TextEmbeddingCache
    queue: JobQueue  # in-process, or Celery workers when SIGNIFIER_REDIS_URL is set
    query: QueryServices
    accounts: Accounts
    quotas: Quotas
    rate_limiter: RateLimiter
    results: JobResults  # what map and duplicates jobs computed
    stream_links: StreamSigner  # signs and checks the links a <video> streams from (docs/security.md)

    def close(self) -> None:
        self.queue.shutdown()
        self.store.close()
        self.sessions.kw["bind"].dispose()


def stream_signer(settings: Settings) -> StreamSigner:
    """The stream-link signer: under ``SIGNIFIER_STREAM_SECRET``, else a key drawn for this process."""
    secret = settings.stream_secret
    key = secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32)
    return StreamSigner(key, settings.stream_link_ttl_s)


def running_model(settings: Settings, encoder: Encoder) -> RunningModel:
    """The encoder's fingerprint, its weight hashes cached in the data dir (``model-hashes.json``)."""
    return RunningModel(encoder, HashCache(settings.data_dir / "model-hashes.json"))


def build_runtime(
    settings: Settings,
    encoder: Encoder | None = None,
    store: VectorStore | None = None,
    advertise_url: str | None = None,
) -> Runtime:
    """Build every heavy part once. ``advertise_url`` names this server in the embedded store's lock."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    encoder = encoder or ClipEncoder(settings.model, settings.device, settings.precision)
    store = store or build_store(settings, advertise_url=advertise_url)
    sessions = init_db(make_engine(settings.resolved_database_url))
    jobs = JobStore(sessions, settings.ingest.max_errors_recorded)
    results = JobResults(sessions)
    thumbnails = ThumbnailStore(settings.thumbnails_dir)
    videos = VideoRegistry(settings.videos_dir)
    text_cache = TextEmbeddingCache(settings.text_cache_size)
    collections = CollectionRegistry(sessions, store, settings.quotas, thumbnails, videos)
    models = ModelGuard(collections, running_model(settings, encoder))
    pipeline = IngestPipeline(
        encoder,
        StoreWriter(store, thumbnails),
        settings.ingest,
        settings.limits,
        fetch_url=SafeFetcher(settings.fetch),
        videos=videos,
    )
    return Runtime(
        settings=settings,
        encoder=encoder,
        store=store,
        thumbnails=thumbnails,
        sessions=sessions,
        collections=collections,
        models=models,
        jobs=jobs,
        text_cache=text_cache,
        # Workers open the store themselves only in server mode; an embedded store is this process's alone.
        queue=build_queue(
            settings,
            JobContext(
                pipeline,
                store,
                shared_store=settings.mode == "server",
                results=results,
                model=models.running,
                limits=settings.limits,
            ),
            jobs,
        ),
        query=build_query_services(sessions, encoder, text_cache, store, settings.limits, models),
        accounts=Accounts(sessions),
        quotas=Quotas(sessions, settings.quotas),
        rate_limiter=build_rate_limiter(settings.rate, settings.redis_url),
        results=results,
        stream_links=stream_signer(settings),
    )
