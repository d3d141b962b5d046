"""The ``signifier`` command line: serve, ingest, search, collections, samples."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from services.cli.admin import app as admin_app
from services.cli.admin import refuse_unprotected_bind
from services.cli.common import (
    ApiOpt,
    FilterOpt,
    JsonOpt,
    KeyOpt,
    console,
    err,
    fail,
    parse_filter,
    print_json,
    set_verbose,
)
from services.cli.config import load_settings
from services.cli.help import hide_flag_types
from services.cli.meaning import duplicates as duplicates_command
from services.cli.meaning import map_command, plane_command, sweep_command
from services.cli.worker import worker as worker_command
from services.core.errors import SignifierError
from services.core.settings import BUNDLED_MODEL, Settings

hide_flag_types()
app = typer.Typer(help="Signifier: meaning math over CLIP embeddings.", no_args_is_help=True, add_completion=False)
collections_app = typer.Typer(help="List, create and delete collections.", no_args_is_help=True)
samples_app = typer.Typer(help="Generate sample collections.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(samples_app, name="samples")
app.add_typer(admin_app, name="admin")
app.command("worker")(worker_command)

_fail = fail


def _settings() -> Settings:
    return load_settings()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more; show tracebacks of errors.")] = False,
) -> None:
    set_verbose(verbose)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format='{"ts":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}',
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the REST API and the web UI."""
    import uvicorn

    from services.api.app import create_app
    from services.encoders.clip import ClipEncoder

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    from services.sources.grant import roots_refusal

    refusal = refuse_unprotected_bind(settings, host) or roots_refusal(settings)
    if refusal:
        raise _fail(refusal, code=2)
    try:
        # Load the model here, not in the server's startup, so a model that cannot load (or a device that
        # is not there) is one line and a non-zero exit rather than uvicorn's startup traceback.
        encoder = ClipEncoder(settings.model, settings.device, settings.precision)
        encoder.load()
        console.print(
            f"Signifier on [bold]http://{host}:{port}[/] — UI at /, API docs at /docs "
            f"(mode {settings.mode}, model {settings.model}, data {settings.data_dir.resolve()})"
        )
        app_ = create_app(settings, encoder=encoder, advertise_url=f"http://{host}:{port}")
        # uvicorn's proxy headers would trust X-Forwarded-For from 127.0.0.1 and take any text as the
        # client; SIGNIFIER_FORWARDED_ALLOW_IPS and services/api/forwarded.py do that job instead.
        uvicorn.run(app_, host=host, port=port, log_level="info", proxy_headers=False)
    except SignifierError as exc:
        raise _fail(exc.message) from None


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="A folder (name.txt alt-text), a manifest, or .tar shards ('s/{00000..00009}.tar').")
    ],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Target collection (created if missing).")],
    api: ApiOpt = None,
    key: KeyOpt = None,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Show progress until the job ends, or return its id at once.")
    ] = True,
) -> None:
    """Ingest a folder, manifest or WebDataset shards into a collection, with a progress bar.

    Exits 0 when every item was stored, 1 when any item failed (or the job did), 2 on bad settings.
    """
    from services.cli.commands import ingest_http, ingest_local

    try:
        if api:
            job = ingest_http(api, key, path, collection, follow)
        else:
            job = ingest_local(_settings(), path, collection, follow)
    except SignifierError as exc:
        raise _fail(exc.message) from None
    if not follow:
        console.print(f"queued: job {job.job_id} ({job.state}); follow it with GET /v1/jobs/{job.job_id}")
        return
    style = "green" if job.failed == 0 and job.state == "done" else "yellow"
    already = f", {job.skipped} already stored" if job.skipped else ""
    console.print(
        f"[{style}]{job.state}[/]: {job.stored} stored{already}, {job.failed} failed "
        f"of {job.total} in collection {collection!r} (job {job.job_id})"
    )
    for e in job.errors[:20]:
        console.print(f"  [red]failed[/] {e.item}: {e.reason}")
    if job.failed > 20:
        console.print(f"  … and {job.failed - 20} more (see GET /v1/jobs/{job.job_id})")
    if job.state != "done" or job.failed:
        # Exit 1 when any item failed, so scripts and CI notice partial ingests (README, "Using it").
        raise typer.Exit(1)


@app.command()
def search(
    expression: Annotated[str, typer.Argument(help='e.g. \'"a red circle" - "red" + "blue"\'')],
    collection: Annotated[str, typer.Option("--collection", "-c")],
    limit: Annotated[int, typer.Option("--limit", "-n")] = 10,
    vector: Annotated[str, typer.Option(help="image or text")] = "image",
    explain: Annotated[bool, typer.Option(help="Show per-term contributions.")] = False,
    filter_json: FilterOpt = None,
    dedup: Annotated[bool, typer.Option("--dedup", help="Hide near-duplicates of higher-ranked hits.")] = False,
    dedup_threshold: Annotated[
        float | None, typer.Option(help="Cosine at or above which --dedup hides a hit (server default 0.95).")
    ] = None,
    diversity: Annotated[
        float | None, typer.Option(help="MMR re-ranking, 0 (relevance only) to 1 (dissimilarity only).")
    ] = None,
    relative: Annotated[
        bool, typer.Option("--relative", help="Add each hit's z-score and percentile against a stated sample.")
    ] = False,
    min_z: Annotated[
        float | None, typer.Option(help="Drop hits whose z-score is below this (implies --relative).")
    ] = None,
    min_percentile: Annotated[
        float | None, typer.Option(help="Drop hits below this percentile, 0-100 (implies --relative).")
    ] = None,
    background: Annotated[
        list[str] | None,
        typer.Option(help="A background expression (e.g. keyboard mash) subtracted first; repeat for more."),
    ] = None,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """Search a collection with an expression."""
    from services.cli.commands import search_http, search_local
    from services.client.options import search_options

    body: dict[str, Any] = {"expression": expression, "vector": vector, "limit": limit, "explain": explain}
    filter_ = parse_filter(filter_json)
    if filter_ is not None:
        body["filter"] = filter_
    body |= search_options(
        dedup=dedup,
        dedup_threshold=dedup_threshold,
        diversity=diversity,
        relative=relative,
        min_z=min_z,
        min_percentile=min_percentile,
        background=background,
    )
    try:
        res, points = search_http(api, key, collection, body) if api else search_local(_settings(), collection, body)
    except SignifierError as exc:
        raise _fail(str(exc)) from None
    for warning in res.get("warnings", []):
        err.print(f"[yellow]warning[/]: {warning}", highlight=False)
    if as_json:
        print_json(res)
        return
    if points == 0:
        err.print(
            f"collection {collection!r} is empty; add images with "
            f"[bold]signifier ingest PATH -c {collection}[/] (a folder, a manifest or .tar shards)"
        )
        return
    _print_hits(res)


def _print_hits(res: dict[str, Any]) -> None:
    q = res["query"]
    console.print(f"[bold]{q['expression']}[/]  (‖Σ wt‖ = {q['norm']:.3f}, over {q['vector']} vectors)")
    table = Table(show_lines=False)
    for col in ("#", "score", "id", "alt text", "source"):
        # Whole ids, never cut: image("<id>") in an expression takes exactly what is shown here.
        table.add_column(col, min_width=36 if col == "id" else None, overflow="fold")
    explain = bool(res["hits"] and "contributions" in res["hits"][0])
    relative = res.get("relative")
    if relative:
        table.add_column("z")
        table.add_column("pct")
    if explain:
        table.add_column("contributions")
    for i, h in enumerate(res["hits"], 1):
        payload = h["payload"]
        row = [str(i), f"{h['score']:.4f}", h["id"], payload.get("alt_text", ""), payload.get("source", "")]
        if relative:
            row += [f"{h['z']:+.2f}", f"{h['percentile']:.1f}"]
        if explain:
            row.append(", ".join(f"{k}: {v:+.3f}" for k, v in h["contributions"].items()))
        table.add_row(*row)
    console.print(table)
    if relative:
        bg = f", background {', '.join(relative['background'])}" if relative["background"] else ""
        cut = f"; {relative['cut']} hits below the cut-off dropped" if relative["cut"] else ""
        console.print(
            f"z and percentile against {relative['sample']:,} sampled of {relative['points']:,} points "
            f"(seed {relative['seed']}, mean {relative['mean']:.4f}, std {relative['std']:.4f}{bg}){cut}"
        )


@collections_app.command("list")
def collections_list(api: ApiOpt = None, key: KeyOpt = None) -> None:
    """List collections with their sizes and the model each one's vectors came from."""
    from services.cli.commands import client

    try:
        with client(_settings(), api, key) as c:
            collections = c.list_collections()
    except SignifierError as exc:
        raise _fail(exc.message) from None
    table = Table()
    for col in ("name", "points", "model", "family", "precision", "dim", "fingerprint", "created"):
        table.add_column(col)
    for info in collections:
        table.add_row(
            info.name,
            str(info.points),
            info.model,
            info.family or "-",
            info.precision or "-",
            str(info.dim) if info.dim is not None else "-",
            info.fingerprint or "(none yet)",
            info.created_at.isoformat()[:19],
        )
    console.print(table)


@collections_app.command("create")
def collections_create(name: str, api: ApiOpt = None, key: KeyOpt = None) -> None:
    """Create an empty collection."""
    from services.cli.commands import client

    try:
        with client(_settings(), api, key) as c:
            c.create_collection(name)
    except SignifierError as exc:
        raise _fail(exc.message) from None
    console.print(f"created collection {name!r}")


@collections_app.command("delete")
def collections_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """Delete a collection and all its points."""
    from services.cli.commands import client

    if not yes:
        typer.confirm(f"Delete collection {name!r} and all its points?", abort=True)
    try:
        with client(_settings(), api, key) as c:
            c.delete_collection(name)
    except SignifierError as exc:
        raise _fail(exc.message) from None
    console.print(f"deleted collection {name!r}")


@samples_app.command("shapes")
def samples_shapes(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1_000_000)] = 500,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same images).")] = 0,
) -> None:
    """Write N images of the shapes world (PNG + alt-text sidecars + manifest.jsonl)."""
    from rich.progress import Progress

    from services.shapes.world import write_samples

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("rendering shapes", total=count)
        write_samples(out, count, seed=seed, progress=lambda n: progress.update(task, completed=n))
    console.print(
        f"wrote {count} images to {out} (alt-text sidecars and manifest.jsonl); "
        f"use SIGNIFIER_MODEL={BUNDLED_MODEL} to search them"
    )


# After serve, ingest and search, so --help lists those first.
app.command("plane")(plane_command)
app.command("sweep")(sweep_command)
app.command("map")(map_command)
app.command("duplicates")(duplicates_command)


if __name__ == "__main__":
    app()
