"""``signifier.Client``: the API for notebook users, typed results on the one API client (``http.Client``).

Every call goes through ``http.Client.request``, the code the CLI's ``--api`` mode and the workers use, so
errors are the same domain errors (``NotFoundError`` for an unknown collection, with the server's message).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.client.errors import error_from
from services.client.http import Client as ApiClient
from services.client.models import (
    Classifications,
    CollectionMap,
    Duplicates,
    Embeddings,
    Job,
    Oppositions,
    Plane,
    SearchResults,
    Similarity,
    Sweep,
)
from services.client.options import search_options

DEFAULT_URL = "http://127.0.0.1:8000"


class IngestJob:
    """A queued job (ingest, map, duplicates); ``wait()`` shows its progress and returns the final record."""

    def __init__(self, client: Client, job_id: str, kind: str = "ingest") -> None:
        self.client = client
        self.job_id = job_id
        self.kind = kind

    def status(self) -> Job:
        return self.client.api.job(self.job_id)

    def wait(self, poll_s: float = 0.5, timeout_s: float | None = None, progress: bool = True) -> Job:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, disable=not progress, transient=False) as bar:
            task = bar.add_task(f"{self.kind} {self.job_id[:8]}", total=None)
            while True:
                job = self.status()
                bar.update(task, total=job.total or None, completed=job.done + job.failed, description=job.state)
                if job.finished:
                    return job
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"job {self.job_id} still {job.state} after {timeout_s} s")
                time.sleep(poll_s)

    def __repr__(self) -> str:
        return f"IngestJob({self.job_id!r}, kind={self.kind!r})"


class Client:
    """Signifier at ``url``; the key is ``api_key``, else ``$SIGNIFIER_API_KEY``, else none.

    ``thumbnails``: how result grids show images in a notebook: ``"url"`` (``<img>`` tags pointing at
    the server, which a browser can load only without a key), ``"embed"`` (data URIs fetched with the
    key), or ``"auto"`` (embed when a key is set).
    """

    def __init__(
        self, url: str = DEFAULT_URL, api_key: str | None = None, *, timeout_s: float = 120.0, thumbnails: str = "auto"
    ) -> None:
        self.url = url.rstrip("/")
        self.api = ApiClient.connect(self.url, api_key, timeout_s=timeout_s)
        keyed = "authorization" in {k.lower() for k in getattr(self.api.http, "headers", {})}
        self.embed_thumbnails = thumbnails == "embed" or (thumbnails == "auto" and keyed)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queries -------------------------------------------------------------------------------

    def search(
        self,
        collection: str,
        expression: str,
        limit: int = 20,
        filter: dict[str, Any] | None = None,
        *,
        dedup: bool = False,
        dedup_threshold: float | None = None,
        diversity: float | None = None,
        relative: bool = False,
        min_z: float | None = None,
        min_percentile: float | None = None,
        background: list[str] | None = None,
        **options: Any,
    ) -> SearchResults:
        """Hits of an expression (``'"a red circle" - "red" + "blue"'``).

        ``dedup`` hides hits whose cosine to a higher-ranked hit is ≥ ``dedup_threshold`` (server default
        0.95); ``diversity`` (0–1) re-ranks by MMR. ``relative`` adds each hit's ``z`` and ``percentile``
        against a stated sample (``res.relative``); ``min_z`` / ``min_percentile`` cut on them (and turn
        them on); ``background`` expressions (keyboard mash) are subtracted first. ``options``: offset,
        vector, explain, center, relative_sample...
        """
        body: dict[str, Any] = {"expression": expression, "limit": limit, "filter": filter, **options}
        body |= search_options(
            dedup=dedup,
            dedup_threshold=dedup_threshold,
            diversity=diversity,
            relative=relative,
            min_z=min_z,
            min_percentile=min_percentile,
            background=background,
        )
        res = SearchResults.model_validate(self.api.request("POST", f"/v1/collections/{collection}/search", body))
        for hit in res.hits:
            hit.thumbnail_url = self.thumbnail(collection, hit.id)
        return res

    def oppositions(
        self, collection: str, a: str, b: str, limit: int = 20, filter: dict[str, Any] | None = None, **options: Any
    ) -> Oppositions:
        body = {"a": a, "b": b, "limit": limit, "filter": filter, **options}
        return Oppositions.model_validate(self.api.request("POST", f"/v1/collections/{collection}/oppositions", body))

    def plane(
        self,
        collection: str,
        x: tuple[str, str],
        y: tuple[str, str],
        limit: int | None = None,
        filter: dict[str, Any] | None = None,
        **options: Any,
    ) -> Plane:
        """Every point at (sim(p, x[0]) − sim(p, x[1]), sim(p, y[0]) − sim(p, y[1])), exactly, or a seeded
        sample of ``limit``; ``options``: seed, vector, extremes, center, templates. ``.to_numpy()``: (n, 2)."""
        body: dict[str, Any] = {"x": {"a": x[0], "b": x[1]}, "y": {"a": y[0], "b": y[1]}, "filter": filter, **options}
        if limit is not None:
            body["limit"] = limit
        return self.api.plane(collection, body)

    def sweep(
        self,
        collection: str,
        expression: str,
        term: str,
        weights: list[float],
        limit: int = 10,
        filter: dict[str, Any] | None = None,
        **options: Any,
    ) -> Sweep:
        """The top ``limit`` of ``expression + w*(term)`` at each weight ``w``, exactly, in one request."""
        body = {"expression": expression, "term": term, "weights": weights, "limit": limit, "filter": filter, **options}
        return self.api.sweep(collection, body)

    def compute_map(
        self, collection: str, method: str = "umap", clusters: int = 0, vocabulary: list[Any] | None = None
    ) -> IngestJob:
        """Start the map job (PCA at once, then UMAP); ``wait()`` on it, then read it with ``map()``.
        ``vocabulary`` names clusters by zero-shot (409 if this server's model is not the collection's)."""
        body: dict[str, Any] = {"method": method, "clusters": clusters}
        if vocabulary is not None:
            body["vocabulary"] = vocabulary
        return IngestJob(self, self.api.start_map(collection, body).job_id, kind="map")

    def map(self, collection: str) -> CollectionMap:
        """The newest map (the PCA view while UMAP runs); ``NotFoundError`` before any map job."""
        return self.api.read_map(collection)

    def find_duplicates(self, collection: str, threshold: float | None = None) -> IngestJob:
        """Start the duplicates job (every pair compared, exactly); read its groups with ``duplicates()``."""
        body = {} if threshold is None else {"threshold": threshold}
        return IngestJob(self, self.api.start_duplicates(collection, body).job_id, kind="duplicates")

    def duplicates(self, collection: str, offset: int = 0, limit: int = 100) -> Duplicates:
        """A page of the newest duplicates job's groups, largest first."""
        return self.api.read_duplicates(collection, offset, limit)

    def classify(
        self, images: list[Any], labels: list[str], collection: str | None = None, **options: Any
    ) -> Classifications:
        """``images``: point ids (of ``collection``), ``{"id", "collection"}`` objects, or image bytes/paths."""
        body = {"images": _images(images), "labels": labels, "collection": collection, **options}
        return Classifications.model_validate(self.api.request("POST", "/v1/classify", body))

    def similarity(
        self, images: list[Any], texts: list[str], collection: str | None = None, **options: Any
    ) -> Similarity:
        """Images (rows) × texts (columns) cosine matrix; ``images`` as in ``classify``."""
        body = {"images": _images(images), "texts": texts, "collection": collection, **options}
        return Similarity.model_validate(self.api.request("POST", "/v1/similarity", body))

    def embed(
        self, texts: list[str] | None = None, images: list[bytes | str | Path] | None = None
    ) -> npt.NDArray[np.float32]:
        """Unit vectors, one row each, as a float32 array of shape (n, dim)."""
        body = {"texts": texts} if texts is not None else {"images": _images(images or [])}
        return Embeddings.model_validate(self.api.request("POST", "/v1/embed", body)).to_numpy()

    # --- collections and ingestion -------------------------------------------------------------

    def collections(self) -> list[str]:
        return [c.name for c in self.api.list_collections()]

    def ingest(self, collection: str, path: str | Path | None = None, urls: list[str] | None = None) -> IngestJob:
        """Queue ingestion of a folder/manifest the server can read (``path``), or of image ``urls``; the server
        creates the collection if the team has none of that name (an editor or owner key)."""
        if urls is not None:
            body: dict[str, Any] = {"source": {"kind": "urls", "urls": urls}}
        else:
            body = {"path": str(path)}
        accepted = self.api.request("POST", f"/v1/collections/{collection}/ingest", body)
        return IngestJob(self, str(accepted["job_id"]))

    def thumbnail(self, collection: str, point_id: str, size: int = 128) -> str:
        """The point's thumbnail: the server's URL, or a data URI when thumbnails are embedded."""
        path = f"/v1/collections/{collection}/points/{point_id}/image?size={size}"
        if not self.embed_thumbnails:
            return self.url + path
        resp = self.api.http.request("GET", path)
        if resp.status_code >= 400:
            raise error_from(resp)
        return "data:image/jpeg;base64," + base64.b64encode(resp.content).decode()


def _images(items: list[Any]) -> list[Any]:
    """Point ids and ``{"id"...}`` objects as they are; bytes and paths as base64 image files."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, bytes):
            out.append(base64.b64encode(item).decode())
        elif isinstance(item, Path):
            out.append(base64.b64encode(item.read_bytes()).decode())
        elif isinstance(item, str):
            out.append({"id": item})
        else:
            out.append(item)
    return out
