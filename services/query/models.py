"""ORM tables of the query service: saved concepts, prompt templates, cached modality means.

Each row belongs to one collection (``collections.id``) and goes when it goes (``ON DELETE CASCADE``),
so it is scoped to that collection's team like the collection itself.

The schema is owned by Alembic: migration 0004 creates these tables.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.timeutil import utcnow
from services.db.engine import Base


class ConceptRow(Base):
    """A named expression saved for one collection, and the model whose vectors it was tuned on."""

    __tablename__ = "query_concepts"
    __table_args__ = (UniqueConstraint("collection_id", "name", name="uq_query_concepts_collection_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    expression: Mapped[str] = mapped_column(Text)  # canonical text form
    description: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(256))
    created_by: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TemplateRow(Base):
    """A collection's prompt templates (JSON list of strings, each with one ``{}``)."""

    __tablename__ = "query_templates"

    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    templates: Mapped[str] = mapped_column(Text)  # JSON array
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModalityMeanRow(Base):
    """The mean and covariance of one named vector over a collection, valid while it holds ``points`` points."""

    __tablename__ = "query_modality_means"

    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True)
    vector: Mapped[str] = mapped_column(String(16), primary_key=True)
    points: Mapped[int] = mapped_column(Integer)  # points in the collection when the mean was taken
    count: Mapped[int] = mapped_column(Integer)  # points that have this vector
    mean: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian, dim values
    cov: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian, dim × dim values (row-major)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
