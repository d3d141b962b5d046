"""``Client``: JSON calls to the API, answers as typed models, errors as domain errors.

It wraps an HTTP client (``transport.HttpClient``): a remote ``httpx.Client`` (``Client.connect``) or
Starlette's ``TestClient`` over the app in-process (the CLI without ``--api``), so local and remote use
run the same code. With a ``Retry``
it keeps trying while the API is unreachable or answers 429/5xx (a worker waiting out an API restart);
without one, the first failure is the answer.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.client.errors import ApiUnreachable, detail_of, error_from, is_transient
from services.client.models import (
    Collection,
    CollectionList,
    CollectionMap,
    Duplicates,
    Job,
    JobAccepted,
    Plane,
    SearchResponse,
    Sweep,
)
from services.client.transport import HttpClient, Response

log = logging.getLogger(__name__)

API_KEY_ENV = "SIGNIFIER_API_KEY"


@dataclass(frozen=True)
class Retry:
    """Back off from ``first_delay_s``, doubling up to ``max_delay_s``, for at most ``patience_s`` in all."""

    patience_s: float = 60.0
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0


class Client:
    """The API through ``http``. ``location`` names the server in errors (default: its base URL)."""

    def __init__(self, http: HttpClient, *, retry: Retry | None = None, location: str | None = None) -> None:
        self.http = http
        self.retry = retry
        self.location = location if location is not None else str(http.base_url)

    @classmethod
    def connect(
        cls, base_url: str, api_key: str | None = None, *, timeout_s: float = 120.0, retry: Retry | None = None
    ) -> Client:
        """A client of the server at ``base_url``; the key is ``api_key``, else ``$SIGNIFIER_API_KEY``, else none."""
        key = api_key or os.environ.get(API_KEY_ENV) or None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)
        return cls(http, retry=retry, location=base_url)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one call ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON (``None`` when empty); an error answer raises its domain error."""
        retry = self.retry
        if retry is None:
            try:
                resp = self.http.request(method, path, json=body)
            except httpx.TransportError as exc:
                raise ApiUnreachable(f"cannot reach the server at {self.location}: {exc}") from None
            return _answer(resp)
        deadline = time.monotonic() + retry.patience_s
        delay = retry.first_delay_s
        while True:
            try:
                resp = self.http.request(method, path, json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if not is_transient(resp.status_code):
                    return _answer(resp)
                problem = f"HTTP {resp.status_code}: {detail_of(resp)[1]}"
            if time.monotonic() + delay > deadline:
                raise ApiUnreachable(f"the API at {self.location} is unreachable: {problem}")
            log.warning("API call %s %s failed (%s); retrying in %.1f s", method, path, problem, delay)
            time.sleep(delay)
            delay = min(delay * 2, retry.max_delay_s)

    # --- collections ---------------------------------------------------------------------------

    def list_collections(self) -> list[Collection]:
        return CollectionList.model_validate(self.request("GET", "/v1/collections")).collections

    def get_collection(self, name: str) -> Collection:
        return Collection.model_validate(self.request("GET", f"/v1/collections/{name}"))

    def create_collection(self, name: str) -> Collection:
        return Collection.model_validate(self.request("POST", "/v1/collections", {"name": name}))

    def delete_collection(self, name: str) -> None:
        self.request("DELETE", f"/v1/collections/{name}")

    # --- ingestion and jobs --------------------------------------------------------------------

    def ingest_path(self, collection: str, path: str | Path) -> JobAccepted:
        """Queue a job ingesting a folder, manifest or shards that the server can read at ``path``."""
        body = {"path": str(path)}
        return JobAccepted.model_validate(self.request("POST", f"/v1/collections/{collection}/ingest", body))

    def job(self, job_id: str) -> Job:
        return Job.model_validate(self.request("GET", f"/v1/jobs/{job_id}"))

    # --- search --------------------------------------------------------------------------------

    def search(self, collection: str, body: dict[str, Any]) -> SearchResponse:
        result: SearchResponse = self.request("POST", f"/v1/collections/{collection}/search", body)
        return result

    def plane(self, collection: str, body: dict[str, Any]) -> Plane:
        return Plane.model_validate(self.request("POST", f"/v1/collections/{collection}/plane", body))

    def sweep(self, collection: str, body: dict[str, Any]) -> Sweep:
        return Sweep.model_validate(self.request("POST", f"/v1/collections/{collection}/sweep", body))

    # --- collection jobs: the map and duplicate groups ----------------------------------------

    def start_map(self, collection: str, body: dict[str, Any]) -> JobAccepted:
        return JobAccepted.model_validate(self.request("POST", f"/v1/collections/{collection}/map", body))

    def read_map(self, collection: str) -> CollectionMap:
        return CollectionMap.model_validate(self.request("GET", f"/v1/collections/{collection}/map"))

    def start_duplicates(self, collection: str, body: dict[str, Any]) -> JobAccepted:
        return JobAccepted.model_validate(self.request("POST", f"/v1/collections/{collection}/duplicates", body))

    def read_duplicates(self, collection: str, offset: int = 0, limit: int = 100) -> Duplicates:
        path = f"/v1/collections/{collection}/duplicates?offset={int(offset)}&limit={int(limit)}"
        return Duplicates.model_validate(self.request("GET", path))


def _answer(resp: Response) -> Any:
    if resp.status_code >= 400:
        raise error_from(resp)
    return resp.json() if resp.content else None
