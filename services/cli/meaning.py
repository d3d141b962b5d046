"""``signifier plane``, ``sweep``, ``map`` and ``duplicates``: seeing meaning from the command line.

Like ``search`` they run against a server (``--api``) or the app in this process; the map and duplicates
jobs run in the API's own queue, so without ``--api`` the command waits for the job (leaving would stop it).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from services.cli.common import ApiOpt, FilterOpt, JsonOpt, KeyOpt, console, err, fail, parse_filter, print_json
from services.cli.config import load_settings
from services.client.http import Client
from services.client.models import Job, Plane
from services.core.errors import SignifierError

CollectionOpt = Annotated[str, typer.Option("--collection", "-c", help="The collection.")]
FollowOpt = Annotated[
    bool, typer.Option("--follow/--no-follow", help="Wait for the job and print its result, or return its id at once.")
]
ReadOpt = Annotated[bool, typer.Option("--read", help="Print the newest result; start no job.")]


def plane_command(
    collection: CollectionOpt,
    x: Annotated[tuple[str, str], typer.Option("--x", help="The x axis's poles A B: x = sim(p, A) − sim(p, B).")],
    y: Annotated[tuple[str, str], typer.Option("--y", help="The y axis's poles A B.")],
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Most points placed (a seeded sample).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    extremes: Annotated[int, typer.Option(help="Points listed per quadrant.")] = 3,
    filter_json: FilterOpt = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write every placed point as id,x,y to this file.")
    ] = None,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """Place every point by two oppositions: x = sim(p, x.A) − sim(p, x.B), y likewise (exact deltas)."""
    from services.cli.commands import client

    body: dict[str, Any] = {
        "x": {"a": x[0], "b": x[1]},
        "y": {"a": y[0], "b": y[1]},
        "seed": seed,
        "extremes": extremes,
        "filter": parse_filter(filter_json),
    }
    if limit is not None:
        body["limit"] = limit
    try:
        with client(load_settings(), api, key) as c:
            if as_json:
                print_json(c.request("POST", f"/v1/collections/{collection}/plane", body))
                return
            res = c.plane(collection, body)
    except SignifierError as exc:
        raise fail(str(exc)) from None
    if csv_out is not None:
        with csv_out.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["id", "x", "y"])
            out.writerows((p.id, p.x, p.y) for p in res.points)
    _print_plane(res)
    if csv_out is not None:
        console.print(f"wrote {len(res.points):,} points to {csv_out}")


def _print_plane(res: Plane) -> None:
    def pole(axis: Any, side: str) -> str:
        return str(getattr(axis, side).get("expression", side))

    xa, xb, ya, yb = pole(res.x_axis, "a"), pole(res.x_axis, "b"), pole(res.y_axis, "a"), pole(res.y_axis, "b")
    sample = f" (a seeded sample of {res.total:,})" if res.sampled else ""
    console.print(f"[bold]x[/] = {xa} − {xb}   [bold]y[/] = {ya} − {yb}   {res.placed:,} points placed{sample}")
    for name, axis in (("x", res.x_axis), ("y", res.y_axis)):
        console.print(
            f"  {name}: ‖A − B‖ = {axis.norm:.3f}, from {axis.min:+.4f} to {axis.max:+.4f}, "
            f"mean {axis.mean:+.4f}, std {axis.std:.4f}"
        )
    table = Table()
    for col in ("quadrant", "points", "x", "y", "id", "alt text"):
        table.add_column(col, min_width=36 if col == "id" else None, overflow="fold")
    for q in res.quadrants:
        name = f"{xa if q.x == 'a' else xb} × {ya if q.y == 'a' else yb}"
        if not q.extremes:
            table.add_row(name, str(q.count), "", "", "", "")
        for i, e in enumerate(q.extremes):
            first = i == 0
            table.add_row(
                name if first else "",
                str(q.count) if first else "",
                f"{e.x:+.4f}",
                f"{e.y:+.4f}",
                e.id,
                str(e.payload.get("alt_text", "")),
            )
    console.print(table)


def sweep_command(
    expression: Annotated[str, typer.Argument(help="The expression, e.g. '\"a snowy mountain\"'.")],
    collection: CollectionOpt,
    term: Annotated[str, typer.Option("--term", "-t", help="Added with each weight: expression + w*(term).")],
    weights: Annotated[
        str, typer.Option("--weights", "-w", help="Comma-separated weights, e.g. '0,-0.1,-0.3,-0.5,-1'.")
    ] = "0,-0.25,-0.5,-0.75,-1",
    limit: Annotated[int, typer.Option("--limit", "-n", help="Hits per weight.")] = 5,
    filter_json: FilterOpt = None,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """The top hits of expression + w*(term) at each weight, side by side (exact, one request)."""
    from services.cli.commands import client

    try:
        ws = [float(w) for w in weights.split(",") if w.strip()]
    except ValueError:
        raise fail(f"--weights must be comma-separated numbers, not {weights!r}") from None
    body = {"expression": expression, "term": term, "weights": ws, "limit": limit, "filter": parse_filter(filter_json)}
    try:
        with client(load_settings(), api, key) as c:
            if as_json:
                print_json(c.request("POST", f"/v1/collections/{collection}/sweep", body))
                return
            res = c.sweep(collection, body)
    except SignifierError as exc:
        raise fail(str(exc)) from None
    console.print(f"[bold]{res.query.get('expression', expression)}[/] + w*({res.term.get('expression', term)})")
    table = Table()
    table.add_column("#")
    for s in res.steps:
        table.add_column(f"w = {s.weight:+g}", overflow="fold")
    entries = 0
    for r in range(max((len(s.hits) for s in res.steps), default=0)):
        cells = [str(r + 1)]
        for i, s in enumerate(res.steps):
            if r >= len(s.hits):
                cells.append((s.error or "") if r == 0 else "")
                continue
            h = s.hits[r]
            # Marked where a hit enters: not in the previous weight's top hits.
            entered = i > 0 and h.id not in {p.id for p in res.steps[i - 1].hits}
            entries += entered
            label = str(h.payload.get("alt_text") or h.id[:8])
            cells.append(f"{'[green]+[/] ' if entered else ''}{label} [dim]{h.score:.3f} {h.id[:8]}[/]")
        table.add_row(*cells)
    console.print(table)
    if entries:
        console.print("[green]+[/]: not among the previous weight's hits")


def _job(c: Client, accepted_id: str, follow: bool, what: str) -> Job:
    from services.cli.commands import follow_job

    job = follow_job(c, accepted_id, what=what) if follow else c.job(accepted_id)
    if follow and job.state != "done":
        raise fail(f"{what} job {job.job_id} {job.state}: {job.message or 'no message'}")
    return job


def _started(c: Client, kind: str, start: Callable[[], str], read: bool, follow: bool) -> bool:
    """Start the ``kind`` job (``start`` returns its id) unless ``--read``, and follow it unless
    ``--no-follow``; False when the command is done (the job was only queued)."""
    if read:
        return True
    job = _job(c, start(), follow, kind)
    if not follow:
        console.print(f"queued: {kind} job {job.job_id} ({job.state}); read it with signifier {kind} --read")
        return False
    return True


def _check_follow(api: str | None, follow: bool) -> None:
    if not follow and not api:
        raise fail("--no-follow needs --api: without it the job runs in this command, and leaving would stop it", 2)


def map_command(
    collection: CollectionOpt,
    method: Annotated[str, typer.Option(help="umap (PCA first, then UMAP) or pca.")] = "umap",
    clusters: Annotated[int, typer.Option(help="k-means clusters; 0 chooses from the collection's size.")] = 0,
    vocabulary: Annotated[
        str | None,
        typer.Option(help="Comma-separated labels naming clusters by zero-shot (default: alt-text words)."),
    ] = None,
    read: ReadOpt = False,
    follow: FollowOpt = True,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """Lay the collection out in 2-D as a job (PCA, then UMAP), and print its named clusters."""
    from services.cli.commands import client

    _check_follow(api, follow)
    body: dict[str, Any] = {"method": method, "clusters": clusters}
    if vocabulary is not None:
        body["vocabulary"] = [v.strip() for v in vocabulary.split(",") if v.strip()]
    try:
        with client(load_settings(), api, key) as c:
            if not _started(c, "map", lambda: c.start_map(collection, body).job_id, read, follow):
                return
            if as_json:
                print_json(c.request("GET", f"/v1/collections/{collection}/map"))
                return
            m = c.read_map(collection)
    except SignifierError as exc:
        raise fail(str(exc)) from None
    state = "" if m.final else " (PCA view; UMAP still running)"
    stale = " [yellow]stale: the collection changed since[/]" if m.stale else ""
    console.print(f"map of {collection!r}: {m.method}, {len(m.ids):,} points{state} (job {m.job_id}){stale}")
    table = Table()
    for col in ("cluster", "label", "points", "words", "x", "y", "p"):
        table.add_column(col)
    for cl in sorted(m.clusters, key=lambda c: -c.size):
        p = f"{cl.probability:.2f}" if cl.probability is not None else ""
        table.add_row(str(cl.id), cl.label, str(cl.size), " ".join(cl.words), f"{cl.x:.2f}", f"{cl.y:.2f}", p)
    console.print(table)


def duplicates(
    collection: CollectionOpt,
    threshold: Annotated[
        float | None, typer.Option(help="Cosine at or above which two points are linked (server default 0.95).")
    ] = None,
    groups: Annotated[int, typer.Option("--groups", "-n", help="Groups printed (largest first).")] = 20,
    read: ReadOpt = False,
    follow: FollowOpt = True,
    as_json: JsonOpt = False,
    api: ApiOpt = None,
    key: KeyOpt = None,
) -> None:
    """Group the collection's exact and near duplicates as a job, and print the largest groups."""
    from services.cli.commands import client

    _check_follow(api, follow)
    body = {} if threshold is None else {"threshold": threshold}
    try:
        with client(load_settings(), api, key) as c:
            if not _started(c, "duplicates", lambda: c.start_duplicates(collection, body).job_id, read, follow):
                return
            if as_json:
                print_json(c.request("GET", f"/v1/collections/{collection}/duplicates?limit={max(groups, 1)}"))
                return
            d = c.read_duplicates(collection, limit=max(groups, 1))
    except SignifierError as exc:
        raise fail(str(exc)) from None
    stale = " [yellow]stale: the collection changed since[/]" if d.stale else ""
    console.print(
        f"{d.total_groups} groups, {d.duplicates} duplicates among {d.compared:,} points "
        f"(cosine ≥ {d.threshold}; job {d.job_id}){stale}"
    )
    table = Table()
    for col in ("#", "size", "kind", "similarity", "ids"):
        table.add_column(col, overflow="fold")
    for i, g in enumerate(d.groups[:groups], 1):
        sims = f"{g.min_similarity:.4f}–{g.max_similarity:.4f}"
        table.add_row(str(i), str(len(g.ids)), "exact" if g.exact else "near", sims, " ".join(g.ids))
    console.print(table)
    if d.total_groups > groups:
        err.print(f"… and {d.total_groups - groups} more groups (--groups N, or --json)")
