"""What the CLI commands do, against a running server (``--api``) or the app in-process.

In-process, the CLI runs the very same FastAPI app through an ASGI client, so local and remote
behaviour cannot drift apart. The embedded store's lock keeps a CLI from opening a data dir that
a running server holds; the error then says to pass ``--api``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.cli.config import load_settings
from services.core.errors import (
    CollectionNotFound,
    ExpressionError,
    InvalidInput,
    NotFoundError,
    StoreUnavailable,
)
from services.core.settings import Settings

err = Console(stderr=True)


@contextlib.contextmanager
def client(settings: Settings, api: str | None, key: str | None) -> Iterator[Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if api:
        with httpx.Client(base_url=api.rstrip("/"), headers=headers, timeout=120) as c:
            yield c
        return
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    with TestClient(create_app(settings), headers=headers, raise_server_exceptions=True) as c:
        yield c


def _check(resp: httpx.Response) -> Any:
    if resp.status_code < 400:
        return resp.json() if resp.content else None
    try:
        detail = resp.json().get("detail", {})
    except ValueError:
        detail = {"message": resp.text[:200]}
    message = detail.get("message", str(detail)) if isinstance(detail, dict) else str(detail)
    code = detail.get("code", "") if isinstance(detail, dict) else ""
    if code == "invalid_expression":
        raise ExpressionError(message, int(detail.get("position", 0)), detail.get("expression", ""))
    if code == "collection_not_found":
        raise NotFoundError(message)
    if resp.status_code == 404:
        raise NotFoundError(message)
    if resp.status_code == 503:
        raise StoreUnavailable(message)
    raise InvalidInput(f"{message} (HTTP {resp.status_code})")


def call(settings: Settings, api: str | None, key: str | None, method: str, path: str, body: Any = None) -> Any:
    try:
        with client(settings, api, key) as c:
            return _check(c.request(method, path, json=body))
    except httpx.TransportError as exc:
        raise StoreUnavailable(f"cannot reach the server at {api}: {exc}") from None


def _ensure_collection(c: httpx.Client, name: str) -> None:
    resp = c.get(f"/v1/collections/{name}")
    if resp.status_code == 404:
        _check(c.post("/v1/collections", json={"name": name}))
    else:
        _check(resp)


def _follow(c: httpx.Client, job_id: str, poll: float = 0.25) -> dict[str, Any]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("ingesting", total=None)
        while True:
            job: dict[str, Any] = _check(c.get(f"/v1/jobs/{job_id}"))
            progress.update(
                task,
                total=job["total"] or None,
                completed=job["done"] + job["failed"],
                description=f"ingesting ({job['failed']} failed)" if job["failed"] else "ingesting",
            )
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(poll)


def _ingest(c: httpx.Client, path: Path, collection: str, follow: bool = True) -> dict[str, Any]:
    _ensure_collection(c, collection)
    accepted = _check(c.post(f"/v1/collections/{collection}/ingest", json={"path": str(path.resolve())}))
    if not follow:
        queued: dict[str, Any] = _check(c.get(f"/v1/jobs/{accepted['job_id']}"))
        return queued
    job = _follow(c, accepted["job_id"])
    if job["state"] == "failed" and job.get("message"):
        raise InvalidInput(f"ingestion failed: {job['message']}")
    return job


def ingest_local(settings: Settings, path: Path, collection: str, follow: bool = True) -> dict[str, Any]:
    from services.sources.readers import open_reader

    if not follow and not settings.redis_url:
        # In-process, the job runs inside this command: leaving would stop it.
        raise InvalidInput("--no-follow needs --api or SIGNIFIER_REDIS_URL (workers run the job after this exits)")
    open_reader(path)  # a missing or unsupported path fails before any collection is created
    with client(settings, None, None) as c:
        return _ingest(c, path, collection, follow)


def ingest_http(api: str | None, key: str | None, path: Path, collection: str, follow: bool = True) -> dict[str, Any]:
    try:
        with client(load_settings(), api, key) as c:
            return _ingest(c, path, collection, follow)
    except httpx.TransportError as exc:
        raise StoreUnavailable(f"cannot reach the server at {api}: {exc}") from None


def search_local(settings: Settings, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = call(settings, None, None, "POST", f"/v1/collections/{collection}/search", body)
    return result


def search_http(api: str | None, key: str | None, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = call(load_settings(), api, key, "POST", f"/v1/collections/{collection}/search", body)
    return result


__all__ = ["CollectionNotFound", "call", "ingest_http", "ingest_local", "search_http", "search_local"]
