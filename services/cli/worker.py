"""``signifier worker``: a Celery worker that decodes, embeds and stores ingestion chunks."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=256, help="Worker processes, each with its own model.")
    ] = 1,
    pool: Annotated[str, typer.Option(help="prefork (processes), solo (this process) or threads.")] = "prefork",
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "info",
    name: Annotated[str | None, typer.Option(help="Worker name (default: signifier@<host>-<pid>).")] = None,
) -> None:
    """Run a worker on the Redis queue (SIGNIFIER_REDIS_URL): CPU or CUDA (SIGNIFIER_DEVICE), one model per process.

    Points go to the Qdrant server (SIGNIFIER_QDRANT_URL), or to the embedded API that owns the store
    (SIGNIFIER_WORKERS__API_URL with SIGNIFIER_INTERNAL_TOKEN).
    """
    from services.cli.config import load_settings
    from services.core.errors import SignifierError

    settings = load_settings()  # an empty or short SIGNIFIER_INTERNAL_TOKEN stops here, before any connection
    if not settings.redis_url:
        err.print("[bold red]error:[/] a worker needs a queue: set SIGNIFIER_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
        raise typer.Exit(2)
    if not settings.workers.api_url and not settings.qdrant_url:
        err.print(
            "[bold red]error:[/] a worker needs somewhere to store points: SIGNIFIER_QDRANT_URL (server mode), or "
            "SIGNIFIER_WORKERS__API_URL and SIGNIFIER_INTERNAL_TOKEN (the embedded API stores for it)"
        )
        raise typer.Exit(2)
    if settings.workers.api_url and settings.internal_token is None:
        err.print("[bold red]error:[/] SIGNIFIER_WORKERS__API_URL needs SIGNIFIER_INTERNAL_TOKEN (the API's secret)")
        raise typer.Exit(2)
    # Share the CPU between processes instead of each torch grabbing every core (children inherit this).
    os.environ.setdefault("SIGNIFIER_TORCH_THREADS", str(max(1, (os.cpu_count() or 1) // concurrency)))
    try:
        from services.jobs.celery_client import QUEUE
        from workers.celery_app import make_worker_celery

        app = make_worker_celery(settings)
        import workers.tasks  # noqa: F401 - registers the chunk task on this app
    except SignifierError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2) from None
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per internal call is noise
    hostname = name or f"signifier@{socket.gethostname()}-{os.getpid()}"
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--loglevel={loglevel}",
            f"--queues={QUEUE}",
            f"--hostname={hostname}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
