"""ORM tables of jobs: job records, per-item failures, chunks, counted batches and job results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.core.timeutil import utcnow
from services.db.engine import Base


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection: Mapped[str] = mapped_column(String(64), index=True)  # the team's name for it
    # The vector store's name for the collection: where the job's points go (a resumed job needs it).
    store_name: Mapped[str] = mapped_column(String(128), default="")
    team: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # Of ``done``: items the collection held already (same content), not embedded or written again.
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a ``JobSource`` (services/jobs/kinds.py)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=func.now())


class JobErrorRow(Base):
    """One failed item of a job: what it was and why it failed."""

    __tablename__ = "job_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class JobChunkRow(Base):
    """One Celery-sized slice of a job's source (rows, files or a tar shard), the unit of (re)delivery.

    ``state``: pending (planned, not on the queue) → queued → running → done | failed. ``updated_at`` is
    touched on every batch, so a chunk whose worker vanished is noticed and sent again.
    """

    __tablename__ = "job_chunks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    items: Mapped[int] = mapped_column(Integer, default=0)  # entries planned (the job's total counts these)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobBatchRow(Base):
    """A batch whose outcome was counted: the key makes counting idempotent when a task is redelivered."""

    __tablename__ = "job_batches"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    decode_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    embed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    upsert_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class JobResultRow(Base):
    """What a job computed about a collection (a map's layout, duplicate groups): zlib-compressed JSON.

    ``points``: the collection's point count when the job read it; a count that moved since means the
    result is stale (it describes a collection that has changed). A job may write its result more than
    once (a map stores its PCA view first, then the UMAP layout over it)."""

    __tablename__ = "job_results"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
