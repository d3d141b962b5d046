"""ORM table of the collection catalog: which team owns a collection, its store name, its model."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.core.timeutil import utcnow
from services.db.engine import Base


class CollectionRow(Base):
    """A collection's owning team and the model whose vectors it holds (queries must use the same model).

    Users name a collection within their team (``name``, unique per team); the vector store knows it
    by ``store_name``, unique in the deployment, so two teams can both have a collection "photos".
    """

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("team", "name", name="uq_collections_team_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    store_name: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(256))
    dim: Mapped[int] = mapped_column(Integer)
    # The model's fingerprint (services/encoders/fingerprint.py); null for collections made before 0006,
    # until a server with the same model id adopts its own (services/catalog/model_check.py).
    model_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_family: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_precision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text_dim: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
