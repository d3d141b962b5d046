"""Request and response models of the REST API (the public contract in docs/api.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sources.items import FailedItem


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, examples=["shapes"])


class CollectionOut(BaseModel):
    name: str
    points: int
    model: str = Field(description="Id of the model the collection's vectors came from (SIGNIFIER_MODEL).")
    dim: int
    family: str | None = Field(None, description="The model's family (clip, siglip, shapes-clip, ...).")
    precision: str | None = Field(None, description="The precision the vectors were computed at (fp32, bf16, fp16).")
    fingerprint: str | None = Field(
        None,
        description="Hash of the model's config and weights; a server with another one gets 409 on this "
        "collection. null: created before fingerprints, adopted by the next server with the same model id.",
    )
    vectors: list[str] = ["image", "text"]
    distance: str = "cosine"
    created_at: dt.datetime


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class SourceSpec(BaseModel):
    """``path``: a folder, a manifest, a ``.tar`` shard or a brace pattern of shards (``webdataset``).
    ``urls`` (kind ``urls``): image URLs, each a string or ``{"url", "alt_text", ...extra payload}``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["folder", "manifest", "path", "webdataset", "urls"] = "path"
    path: str | None = None
    urls: list[str | dict[str, Any]] | None = Field(None, max_length=100_000)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, description="A folder or a manifest (.csv/.jsonl/.parquet) on the server.")
    source: SourceSpec | None = None


class JobAccepted(BaseModel):
    job_id: str
    state: str
    collection: str
    created: bool = Field(
        default=False, description="The ingest created the collection (the team had none of that name)."
    )


class JobOut(BaseModel):
    job_id: str
    collection: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int
    done: int = Field(description="Items that ended stored: written by this job, or already in the collection.")
    failed: int
    skipped: int = Field(
        default=0,
        description="Of `done`: items the collection held already (same image content, same point id), so they "
        "were neither embedded nor written again. Newly stored = `done - skipped`.",
    )
    errors: list[FailedItem]  # {"item", "reason"}: the one failed-item type, services/sources/items.py
    errors_omitted: int = Field(
        default=0,
        description="Recorded item failures not in `errors`: the list is capped (`max_errors` for one job, "
        "10 per job in the job list); fetch the job with a larger `max_errors` for more.",
    )
    message: str | None = None
    source: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class JobList(BaseModel):
    jobs: list[JobOut]


class PointOut(BaseModel):
    id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]] | None = None


class EmbedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] | None = None
    images: list[str] | None = Field(None, description="Base64-encoded image files.")


class EmbedResponse(BaseModel):
    model: str
    dim: int
    vectors: list[list[float]]


class StreamLinkOut(BaseModel):
    """A signed link to one video's stream (``GET …/videos/{video_id}/stream-url``)."""

    url: str = Field(description="The stream route with its ?link= token, relative to the API's base URL.")
    expires_at: dt.datetime
    expires_in: int = Field(description="Seconds the link plays from now.")
