"""What the API answers, as the client reads it (the server's schemas are ``services/api/schemas.py``).

Readers of the wire, not copies of the server's models: they take the fields a caller uses and keep
any others (``extra="allow"``), so a newer server's additions never break an older client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Collection(WireModel):
    name: str
    points: int
    model: str
    created_at: dt.datetime


class CollectionList(WireModel):
    collections: list[Collection]


class JobAccepted(WireModel):
    job_id: str
    state: JobState
    collection: str


class JobError(WireModel):
    """One item a job could not ingest."""

    item: str
    reason: str


class Job(WireModel):
    job_id: str
    collection: str
    state: JobState
    total: int
    done: int
    failed: int
    errors: list[JobError] = []
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


SearchResponse = dict[str, Any]  # the API's typed search response lands with the typed hit model
