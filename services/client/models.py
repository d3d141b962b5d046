"""What the API answers, as the client reads it (the server's schemas are ``services/api/schemas.py``).

Readers of the wire, not copies of the server's models: they take the fields a caller uses and keep
any others (``extra="allow"``), so a newer server's additions never break an older client.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Collection(WireModel):
    """``family``, ``precision`` and ``fingerprint`` are None from servers before fingerprints (and for a
    collection made before them, until a server with its model id adopts it)."""

    name: str
    points: int
    model: str
    created_at: dt.datetime
    dim: int | None = None
    family: str | None = None
    precision: str | None = None
    fingerprint: str | None = None


class CollectionList(WireModel):
    collections: list[Collection]


class JobAccepted(WireModel):
    job_id: str
    state: JobState
    collection: str
    created: bool = False  # the ingest created the collection


class JobError(WireModel):
    """One item a job could not ingest."""

    item: str
    reason: str


class Job(WireModel):
    """An ingestion job: ``done`` items ended stored (``skipped`` of them were in the collection already,
    so only ``stored`` were written by this job), ``failed`` items are listed in ``errors``."""

    job_id: str
    collection: str
    state: JobState
    total: int
    done: int
    failed: int
    skipped: int = 0  # an older server does not send it
    errors: list[JobError] = []
    errors_omitted: int = 0  # recorded failures not in ``errors`` (the server caps the list)
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def stored(self) -> int:
        """Items this job wrote into the collection (``done`` less those already there)."""
        return self.done - self.skipped


SearchResponse = dict[str, Any]  # the API's typed search response lands with the typed hit model


# --- typed results for library users (``signifier.Client``) ------------------------------------


class Hit(WireModel):
    """One search hit: the point's id, its cosine score and its payload (source, alt_text, ...)."""

    id: str
    score: float
    payload: dict[str, Any] = {}
    contributions: dict[str, float] | None = None
    thumbnail_url: str = ""


class SearchResults(WireModel):
    """Hits of one search; in a notebook, a grid of thumbnails with their scores."""

    hits: list[Hit]
    query: dict[str, Any] = {}
    timings: dict[str, float] = {}
    warnings: list[str] = []  # e.g. a filter key no stored payload has (why a search found nothing)

    def __len__(self) -> int:
        return len(self.hits)

    def _repr_html_(self) -> str:
        cells = []
        for h in self.hits:
            label = html.escape(str(h.payload.get("alt_text") or h.id))
            cells.append(
                '<figure style="margin:4px;width:136px;display:inline-block;vertical-align:top">'
                f'<img src="{html.escape(h.thumbnail_url)}" alt="{label}" loading="lazy" '
                'style="width:128px;height:128px;object-fit:cover">'
                f'<figcaption style="font:11px sans-serif"><b>{h.score:.3f}</b> {label}</figcaption></figure>'
            )
        return f'<div class="signifier-hits">{"".join(cells)}</div>'


class PoleHit(WireModel):
    id: str
    delta: float
    sim_a: float
    sim_b: float
    payload: dict[str, Any] = {}


class Pole(WireModel):
    hits: list[PoleHit]


class Oppositions(WireModel):
    """Both poles of A vs B: ``a.hits`` lean to A, ``b.hits`` to B, by ``delta`` = sim to own pole − other."""

    a: Pole
    b: Pole
    axis_norm: float


class Classification(WireModel):
    image: str
    top_label: str
    probabilities: dict[str, float] | None
    similarities: dict[str, float]


class Classifications(WireModel):
    results: list[Classification]
    labels: list[str]
    scoring: str = "softmax"
    logit_scale: float | None
    logit_bias: float | None = None
    note: str = ""


class Similarity(WireModel):
    """Cosine similarity of each image (row) to each text (column); in a notebook, a heatmap table."""

    rows: list[str]
    columns: list[str]
    matrix: list[list[float]]

    def to_numpy(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.matrix, dtype=np.float32)

    def _repr_html_(self) -> str:
        m = self.to_numpy()
        lo, hi = (float(m.min()), float(m.max())) if m.size else (0.0, 1.0)
        span = (hi - lo) or 1.0
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for name, row in zip(self.rows, m, strict=True):
            tds = []
            for v in row:
                alpha = (float(v) - lo) / span
                tds.append(f'<td style="background:rgba(220,40,40,{alpha:.2f});text-align:right">{v:.3f}</td>')
            body.append(f"<tr><th>{html.escape(name)}</th>{''.join(tds)}</tr>")
        return f'<table class="signifier-similarity"><tr><th></th>{head}</tr>{"".join(body)}</table>'


class Embeddings(WireModel):
    model: str
    dim: int
    vectors: list[list[float]]

    def to_numpy(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.vectors, dtype=np.float32).reshape(len(self.vectors), self.dim)
