"""What a job runs on: its kind (a closed vocabulary) and its source, one pydantic class per kind.

A job's source is written once, when the job is accepted, and read by whoever runs it (the API's local
queue, the coordinator that plans it, a Celery worker). ``JobSource`` is a discriminated union on
``kind``, so a record is validated when it is read and a ``match`` that forgets a kind is a type error.
A record this version cannot read (an older shape, a kind it does not know) is refused with a message
that says to submit the job again (``parse_source``).

Adding a kind: one class here, one runner in ``services/jobs/runners/``, one route.
"""

from __future__ import annotations

import base64
import os
from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from services.core.errors import InvalidInput
from services.core.scoring import Scoring, ScoringKind
from services.core.types import Vector
from services.sources.grant import ReadGrant


class JobKind(StrEnum):
    UPLOAD = "upload"
    PATH = "path"
    URLS = "urls"
    WEBDATASET = "webdataset"
    CLASSIFY = "classify"
    MAP = "map"
    DUPLICATES = "duplicates"


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def public(self) -> dict[str, Any]:
        """The source as the job's team may see it (``GET /v1/jobs``): no grant, no server-side paths."""
        return self.model_dump(mode="json", exclude={"grant", "target"})

    def public_item(self, item: str) -> str:
        """A failed item's name as the team may see it (without server folders it did not name)."""
        return item


class UploadSource(_Source):
    """Files uploaded with the request, saved under the server's data dir (``path``; never shown)."""

    kind: Literal[JobKind.UPLOAD] = JobKind.UPLOAD
    path: str
    files: int
    grant: ReadGrant  # only the upload folder: the job reads what the server wrote for it, nothing else

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "files": self.files}

    def public_item(self, item: str) -> str:
        base = self.path.rstrip("/") + "/"
        return item[len(base) :] if item.startswith(base) else item


class _ServerPath(_Source):
    """A path on the server: ``path`` as the caller gave it (what job records show), ``target`` the
    absolute path readers open, under ``grant`` (recorded at submission, enforced by every worker)."""

    path: str
    target: str
    grant: ReadGrant

    def public_item(self, item: str) -> str:
        target, given = self.target, self.path
        if target == given:
            return item
        if item.startswith(target):  # a folder's entries
            return given + item[len(target) :]
        folder = os.path.dirname(target) + "/"  # a manifest's rows, a pattern's shards
        if item.startswith(folder):
            return os.path.join(os.path.dirname(given), item[len(folder) :])
        return item


class PathSource(_ServerPath):
    """A folder or a manifest (.csv, .jsonl, .parquet) on the server."""

    kind: Literal[JobKind.PATH] = JobKind.PATH


class WebDatasetSource(_ServerPath):
    """``.tar`` shards on the server: one file or a brace pattern (``shards/{00000..00099}.tar``)."""

    kind: Literal[JobKind.WEBDATASET] = JobKind.WEBDATASET


class UrlsSource(_Source):
    """Image URLs given inline: each a string or ``{"url", "alt_text", ...extra payload}``."""

    kind: Literal[JobKind.URLS] = JobKind.URLS
    urls: list[str | dict[str, Any]]


class ClassifySource(_Source):
    """A label set applied to every point of a collection (``label_<set>`` and ``label_<set>_p``).

    The label vectors are encoded once, when the job is accepted, and travel in the record (base64
    float32, ``(len(labels), dim)``), so whoever runs the job needs no text encoder and every chunk
    uses the same vectors."""

    kind: Literal[JobKind.CLASSIFY] = JobKind.CLASSIFY
    set: str
    labels: list[str]
    vector: Literal["image", "text"] = "image"
    label_vectors: str
    dim: int
    # The model's zero-shot formula (services/core/scoring.py); records written before it was kept are softmax.
    scoring: ScoringKind = "softmax"
    logit_scale: float | None
    logit_bias: float | None = None

    @classmethod
    def encode(
        cls,
        label_set: str,
        labels: list[str],
        vectors: Vector,
        scoring: Scoring | float,
        vector: Literal["image", "text"],
    ) -> ClassifySource:
        """``scoring``: the encoder's ``Scoring``, or a bare logit scale (CLIP's softmax)."""
        rule = scoring if isinstance(scoring, Scoring) else Scoring("softmax", float(scoring))
        v = np.asarray(vectors, dtype="<f4")
        return cls(
            set=label_set,
            labels=labels,
            vector=vector,
            label_vectors=base64.b64encode(v.tobytes()).decode("ascii"),
            dim=int(v.shape[1]),
            scoring=rule.kind,
            logit_scale=rule.scale,
            logit_bias=rule.bias,
        )

    def rule(self) -> Scoring:
        return Scoring(self.scoring, self.logit_scale, self.logit_bias)

    def vectors(self) -> Vector:
        raw = np.frombuffer(base64.b64decode(self.label_vectors), dtype="<f4")
        return raw.reshape(len(self.labels), self.dim).astype(np.float32)

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "set": self.set, "labels": self.labels, "vector": self.vector}


class MapSource(_Source):
    """The collection map: a 2-D layout of every point's ``vector`` (PCA first, then UMAP unless
    ``method`` is ``pca``), with ``clusters`` k-means clusters (0: chosen from the collection's size).

    With a ``vocabulary``, clusters are named by zero-shot against it (its vectors encoded at submission
    and carried here, like a classify job's labels); without one, by their alt-texts' distinctive words.
    ``collection_id`` and ``job_id`` (chosen at submission, as an upload's is): where the result is stored."""

    kind: Literal[JobKind.MAP] = JobKind.MAP
    collection_id: str
    job_id: str
    vector: Literal["image", "text"] = "image"
    method: Literal["umap", "pca"] = "umap"
    clusters: int = 0
    vocabulary: list[str] = []
    vocabulary_vectors: str = ""
    dim: int = 0
    logit_scale: float = 100.0

    def vectors(self) -> Vector:
        raw = np.frombuffer(base64.b64decode(self.vocabulary_vectors), dtype="<f4")
        return raw.reshape(len(self.vocabulary), self.dim).astype(np.float32)

    def public(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", exclude={"collection_id", "job_id", "vocabulary_vectors", "dim", "logit_scale"}
        )


class DuplicatesSource(_Source):
    """Duplicate groups of a collection: points linked by cosine ≥ ``threshold`` of their ``vector``;
    ``collection_id`` and ``job_id``: where the result is stored."""

    kind: Literal[JobKind.DUPLICATES] = JobKind.DUPLICATES
    collection_id: str
    job_id: str
    threshold: float
    vector: Literal["image", "text"] = "image"

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "threshold": self.threshold, "vector": self.vector}


def encode_vectors(vectors: Vector) -> tuple[str, int]:
    """Rows as base64 little-endian float32 (a record's carried vectors) and their dimension."""
    v = np.asarray(vectors, dtype="<f4")
    return base64.b64encode(v.tobytes()).decode("ascii"), int(v.shape[1])


JobSource = Annotated[
    UploadSource | PathSource | WebDatasetSource | UrlsSource | ClassifySource | MapSource | DuplicatesSource,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[JobSource] = TypeAdapter(JobSource)


def parse_source(record: Any) -> JobSource:
    """A stored source record as its typed source; raises ``InvalidInput`` for a shape this version cannot
    run (recorded by an older version, or a kind it does not know): the job has to be submitted again."""
    try:
        return _ADAPTER.validate_python(record)
    except ValidationError:
        kind = record.get("kind") if isinstance(record, dict) else None
        what = f"a {kind!r} job" if isinstance(kind, str) else "a job"
        raise InvalidInput(
            f"this is {what} recorded in a form this server version cannot run (an older version wrote it); "
            "submit it again"
        ) from None


def dump_source(source: JobSource) -> dict[str, Any]:
    """The JSON record stored in ``jobs.source``."""
    return source.model_dump(mode="json")
