"""What the CLI commands do, against a running server (``--api``) or the app in-process.

Both go through the one API client (``services/client``): in-process, it wraps an ASGI client of the very
same FastAPI app, so local and remote behaviour cannot drift apart. The embedded store's lock keeps a CLI
from opening a data dir that a running server holds; the error then says to pass ``--api``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.cli.config import load_settings
from services.client.http import Client
from services.client.models import Job, SearchResponse
from services.core.errors import InvalidInput
from services.core.settings import Settings

err = Console(stderr=True)


@contextlib.contextmanager
def client(settings: Settings, api: str | None, key: str | None) -> Iterator[Client]:
    """The server at ``api``, or (``None``) the app built from ``settings`` in this process."""
    if api:
        with Client.connect(api, key) as remote:
            yield remote
        return
    from fastapi.testclient import TestClient

    from services.api.app import create_app

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with TestClient(create_app(settings), headers=headers, raise_server_exceptions=True) as http:
        yield Client(http, location="this process")


def follow_job(c: Client, job_id: str, poll: float = 0.25, what: str = "ingesting") -> Job:
    """The job once it has finished, with a progress bar on stderr meanwhile."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(what, total=None)
        while True:
            job = c.job(job_id)
            progress.update(
                task,
                total=job.total or None,
                completed=job.done + job.failed,
                description=f"{what} ({job.failed} failed)" if job.failed else what,
            )
            if job.finished:
                return job
            time.sleep(poll)


def _ingest(c: Client, path: Path, collection: str, follow: bool = True) -> Job:
    accepted = c.ingest_path(collection, path.resolve())
    if not follow:
        return c.job(accepted.job_id)
    job = follow_job(c, accepted.job_id)
    if job.state == "failed" and job.message:
        raise InvalidInput(f"ingestion failed: {job.message}")
    return job


def ingest_local(settings: Settings, path: Path, collection: str, follow: bool = True) -> Job:
    from services.sources.readers import open_reader

    if not follow and not settings.redis_url:
        # In-process, the job runs inside this command: leaving would stop it.
        raise InvalidInput("--no-follow needs --api or SIGNIFIER_REDIS_URL (workers run the job after this exits)")
    open_reader(path)  # a missing or unsupported path fails before any collection is created
    with client(settings, None, None) as c:
        return _ingest(c, path, collection, follow)


def ingest_http(api: str, key: str | None, path: Path, collection: str, follow: bool = True) -> Job:
    with client(load_settings(), api, key) as c:
        return _ingest(c, path, collection, follow)


def _search(c: Client, collection: str, body: dict[str, Any]) -> tuple[SearchResponse, int | None]:
    """The response, and the collection's size when there are no hits (so the CLI can say it is empty)."""
    res = c.search(collection, body)
    return res, (None if res["hits"] else c.get_collection(collection).points)


def search_local(settings: Settings, collection: str, body: dict[str, Any]) -> tuple[SearchResponse, int | None]:
    with client(settings, None, None) as c:
        return _search(c, collection, body)


def search_http(api: str, key: str | None, collection: str, body: dict[str, Any]) -> tuple[SearchResponse, int | None]:
    with client(load_settings(), api, key) as c:
        return _search(c, collection, body)
