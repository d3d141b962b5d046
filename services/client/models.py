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
    z: float | None = None  # with relative scores: (relative − sample mean) / sample std
    percentile: float | None = None  # share of the sample scoring ≤ this hit, 0–100
    relative_score: float | None = None  # score − mean similarity to the background prompts
    thumbnail_url: str = ""


class RelativeInfo(WireModel):
    """The stated sample the relative scores come from, and how many hits the cut-offs dropped."""

    sample: int
    seed: int
    points: int
    mean: float
    std: float
    background: list[str] = []
    min_z: float | None = None
    min_percentile: float | None = None
    cut: int = 0


class SearchResults(WireModel):
    """Hits of one search; in a notebook, a grid of thumbnails with their scores."""

    hits: list[Hit]
    query: dict[str, Any] = {}
    timings: dict[str, float] = {}
    warnings: list[str] = []  # e.g. a filter key no stored payload has (why a search found nothing)
    relative: RelativeInfo | None = None  # with relative / min_z / min_percentile / background

    def __len__(self) -> int:
        return len(self.hits)

    def _repr_html_(self) -> str:
        cells = []
        for h in self.hits:
            label = html.escape(str(h.payload.get("alt_text") or h.id))
            z = f" z {h.z:+.2f}" if h.z is not None else ""
            cells.append(
                '<figure style="margin:4px;width:136px;display:inline-block;vertical-align:top">'
                f'<img src="{html.escape(h.thumbnail_url)}" alt="{label}" loading="lazy" '
                'style="width:128px;height:128px;object-fit:cover">'
                f'<figcaption style="font:11px sans-serif"><b>{h.score:.3f}</b>{z} {label}</figcaption></figure>'
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


# --- the plane, sweeps, the map and duplicate groups --------------------------------------------


class PlanePoint(WireModel):
    id: str
    x: float
    y: float


class PlaneAxis(WireModel):
    """One axis: its poles as parsed (``a``, ``b``), ‖A − B‖, and its coordinates' spread."""

    a: dict[str, Any]
    b: dict[str, Any]
    norm: float
    min: float
    max: float
    mean: float
    std: float


class PlaneExtreme(WireModel):
    id: str
    x: float
    y: float
    payload: dict[str, Any] = {}


class Quadrant(WireModel):
    x: Literal["a", "b"]
    y: Literal["a", "b"]
    count: int
    extremes: list[PlaneExtreme]


class Plane(WireModel):
    """Every point (or a stated sample) at (sim(p, x.a) − sim(p, x.b), sim(p, y.a) − sim(p, y.b)).

    ``to_numpy()`` is the (n, 2) float32 coordinates in the order of ``ids``; in a notebook, a scatter
    (SVG, up to 5,000 points drawn) with each quadrant's count.
    """

    points: list[PlanePoint]
    x_axis: PlaneAxis
    y_axis: PlaneAxis
    total: int
    placed: int
    sampled: bool
    seed: int = 0
    quadrants: list[Quadrant] = []
    timings: dict[str, float] = {}

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.points]

    def to_numpy(self) -> npt.NDArray[np.float32]:
        return np.asarray([(p.x, p.y) for p in self.points], dtype=np.float32).reshape(len(self.points), 2)

    def _repr_html_(self) -> str:
        size, pad, most = 320, 12, 5_000
        xy = self.to_numpy()[:most]
        (x0, y0), (x1, y1) = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else ((-1.0, -1.0), (1.0, 1.0))
        hx = max(abs(float(x0)), abs(float(x1))) or 1.0  # centred on 0: the quadrants are the four corners
        hy = max(abs(float(y0)), abs(float(y1))) or 1.0
        half = (size - 2 * pad) / 2
        dots = "".join(
            f'<circle cx="{size / 2 + x / hx * half:.1f}" cy="{size / 2 - y / hy * half:.1f}" r="1.5"/>' for x, y in xy
        )
        counts = {(q.x, q.y): q.count for q in self.quadrants}

        def pole(axis: PlaneAxis, side: str) -> str:
            return html.escape(str(getattr(axis, side).get("expression", side)))

        corner = (
            f'<text x="{size - pad}" y="{pad + 10}" text-anchor="end">{counts.get(("a", "a"), "")}</text>'
            f'<text x="{pad}" y="{pad + 10}">{counts.get(("b", "a"), "")}</text>'
            f'<text x="{pad}" y="{size - pad}">{counts.get(("b", "b"), "")}</text>'
            f'<text x="{size - pad}" y="{size - pad}" text-anchor="end">{counts.get(("a", "b"), "")}</text>'
        )
        sample = f", a sample of {self.total:,}" if self.sampled else ""
        return (
            f'<figure class="signifier-plane" style="font:11px sans-serif;margin:4px">'
            f'<svg width="{size}" height="{size}" style="background:#fafafa;border:1px solid #ddd">'
            f'<line x1="0" y1="{size / 2}" x2="{size}" y2="{size / 2}" stroke="#bbb"/>'
            f'<line x1="{size / 2}" y1="0" x2="{size / 2}" y2="{size}" stroke="#bbb"/>'
            f'<g fill="#3366cc" fill-opacity="0.5">{dots}</g><g fill="#555">{corner}</g></svg>'
            f"<figcaption>x: {pole(self.x_axis, 'a')} − {pole(self.x_axis, 'b')}; "
            f"y: {pole(self.y_axis, 'a')} − {pole(self.y_axis, 'b')}; "
            f"{self.placed:,} points placed{sample}</figcaption></figure>"
        )


class SweepHit(WireModel):
    id: str
    score: float
    payload: dict[str, Any] = {}


class SweepStep(WireModel):
    weight: float
    hits: list[SweepHit]
    norm: float
    error: str | None = None


class Sweep(WireModel):
    """The top k of ``expression + w*(term)`` at each weight; in a notebook, one column per weight."""

    steps: list[SweepStep]
    query: dict[str, Any] = {}
    term: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def ranks(self) -> dict[float, list[str]]:
        """Each weight's hit ids, best first."""
        return {s.weight: [h.id for h in s.hits] for s in self.steps}

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{s.weight:+g}</th>" for s in self.steps)
        depth = max((len(s.hits) for s in self.steps), default=0)
        rows = []
        for r in range(depth):
            cells = []
            for s in self.steps:
                if r < len(s.hits):
                    h = s.hits[r]
                    label = html.escape(str(h.payload.get("alt_text") or h.id[:8]))
                    cells.append(f"<td>{label} <small>{h.score:.3f}</small></td>")
                else:
                    cells.append("<td></td>")
            rows.append(f"<tr><th>{r + 1}</th>{''.join(cells)}</tr>")
        return f'<table class="signifier-sweep"><tr><th>#</th>{head}</tr>{"".join(rows)}</table>'


class MapCluster(WireModel):
    id: int
    label: str
    size: int
    words: list[str] = []
    x: float
    y: float
    probability: float | None = None  # the zero-shot label's probability (with a vocabulary)


class CollectionMap(WireModel):
    """The newest map of a collection: ids at (x, y) in [0, 1], each in a named cluster.

    ``final`` is False while UMAP still runs (this is then the PCA view); ``stale`` when the collection
    changed since the job read it.
    """

    job_id: str
    state: str
    points: int
    current_points: int
    stale: bool
    method: Literal["pca", "umap"]
    final: bool
    vector: str
    left_out: int = 0
    ids: list[str]
    x: list[float]
    y: list[float]
    cluster: list[int]
    clusters: list[MapCluster]
    timings: dict[str, float] = {}

    def to_numpy(self) -> npt.NDArray[np.float32]:
        """(n, 2) float32 layout in the order of ``ids``."""
        return np.stack([np.asarray(self.x, np.float32), np.asarray(self.y, np.float32)], axis=1).reshape(-1, 2)


class DuplicateGroup(WireModel):
    ids: list[str]
    exact: bool
    min_similarity: float
    max_similarity: float


class Duplicates(WireModel):
    """A page of the newest duplicates job's groups (largest first)."""

    job_id: str
    state: str
    points: int
    current_points: int
    stale: bool
    threshold: float
    vector: str
    compared: int
    left_out: int = 0
    total_groups: int
    duplicates: int
    groups: list[DuplicateGroup]
