"""``signifier admin``: teams, users and API keys, straight in the accounts database.

These commands run where the server runs (``docker compose exec api signifier admin ...``) and act
as the deployment's operator: they need no key, and the audit log names them ``cli:<user>``. The
database is the one the server uses (``SIGNIFIER_DATABASE_URL``, else SQLite under the data dir).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.accounts.admin import Accounts
from services.accounts.keys import KeyInfo
from services.accounts.principal import Principal, is_loopback, operator
from services.cli.config import load_settings
from services.core.errors import SignifierError
from services.core.settings import Settings

app = typer.Typer(help="Teams, users and API keys (run on the server; acts as the operator).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

TeamOpt = Annotated[str, typer.Option("--team", "-t", help="Team name.")]
RoleOpt = Annotated[str, typer.Option("--role", "-r", help="owner, editor (ingest, save concepts) or viewer (search).")]


def _accounts() -> tuple[Accounts, Principal]:
    from services.db.engine import init_db, make_engine

    settings = load_settings()
    sessions = init_db(make_engine(settings.resolved_database_url))
    return Accounts(sessions), operator(getpass.getuser())


def _fail(exc: SignifierError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc.message}")
    return typer.Exit(1)


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _quota(value: int | None) -> str:
    return "default" if value is None else f"{value:,}"


def refuse_unprotected_bind(settings: Settings, host: str) -> str | None:
    """Why ``signifier serve --host host`` must not start, or ``None`` when it may.

    Without keys (``auth=local``) every keyless request acts as the local owner, so only loopback is safe.
    """
    if settings.auth == "required" or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host} without API keys: with SIGNIFIER_AUTH=local anyone who reaches this "
        "address would act as the owner of every collection.\n"
        "Either bind 127.0.0.1 (the default), or require keys:\n"
        "  signifier admin create-team NAME\n"
        "  signifier admin create-key --team NAME --role owner     # prints the key, once\n"
        f"  SIGNIFIER_AUTH=required signifier serve --host {host}\n"
        "then send 'Authorization: Bearer <key>' with every request."
    )


@app.command("create-team")
def create_team(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits, '_' or '-'.")],
    max_collections: Annotated[int | None, typer.Option(help="Quota (default: SIGNIFIER_QUOTAS__...).")] = None,
    max_points: Annotated[int | None, typer.Option(help="Quota (default: SIGNIFIER_QUOTAS__...).")] = None,
) -> None:
    """Create a team. Then give it an owner key with 'create-key --team NAME --role owner'."""
    accounts, op = _accounts()
    try:
        team = accounts.create_team(op, name, max_collections, max_points)
    except SignifierError as exc:
        raise _fail(exc) from None
    console.print(f"created team [bold]{team.name}[/] ({team.id})")
    console.print(f"next: signifier admin create-key --team {team.name} --role owner")


@app.command("list-teams")
def list_teams() -> None:
    """Teams with their quotas."""
    accounts, op = _accounts()
    table = Table()
    for col in ("name", "id", "created", "max collections", "max points"):
        table.add_column(col, overflow="fold")
    for t in accounts.list_teams(op):
        table.add_row(t.name, t.id, _when(t.created_at), _quota(t.max_collections), _quota(t.max_points))
    console.print(table)


@app.command("set-quota")
def set_quota(
    team: TeamOpt,
    max_collections: Annotated[int | None, typer.Option(help="Unset: back to the deployment default.")] = None,
    max_points: Annotated[int | None, typer.Option(help="Unset: back to the deployment default.")] = None,
) -> None:
    """Set a team's own quotas (options left out fall back to the deployment's defaults)."""
    accounts, op = _accounts()
    try:
        t = accounts.set_quotas(op, team, max_collections, max_points)
    except SignifierError as exc:
        raise _fail(exc) from None
    console.print(f"team {t.name}: max collections {_quota(t.max_collections)}, max points {_quota(t.max_points)}")


@app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="e.g. alice or alice@example.com")],
    team: TeamOpt,
    role: RoleOpt = "viewer",
) -> None:
    """Add a user to a team. Keys issued for them (--user) can never do more than their role."""
    accounts, op = _accounts()
    try:
        user = accounts.create_user(op, name, role, team)
    except SignifierError as exc:
        raise _fail(exc) from None
    console.print(f"created user [bold]{user.name}[/] ({user.role}) in team {team}: {user.id}")
    console.print(f"next: signifier admin create-key --team {team} --user {user.name} --role {user.role}")


@app.command("list-users")
def list_users(team: Annotated[str | None, typer.Option("--team", "-t", help="Default: every team.")] = None) -> None:
    accounts, op = _accounts()
    try:
        users = accounts.list_users(op, team)
        names = {t.id: t.name for t in accounts.list_teams(op)}
    except SignifierError as exc:
        raise _fail(exc) from None
    table = Table()
    for col in ("team", "name", "role", "id", "created", "disabled"):
        table.add_column(col, overflow="fold")
    for u in users:
        table.add_row(names.get(u.team_id, u.team_id), u.name, u.role, u.id, _when(u.created_at), _when(u.disabled_at))
    console.print(table)


@app.command("create-key")
def create_key(
    team: TeamOpt,
    role: RoleOpt = "viewer",
    user: Annotated[str | None, typer.Option("--user", "-u", help="Issue it to this user of the team.")] = None,
    name: Annotated[str, typer.Option("--name", "-n", help="A label: what or who the key is for.")] = "",
    expires_in_days: Annotated[float | None, typer.Option(min=0.0001, help="Stop working after N days.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May administer every team (create teams, keys).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key (for scripts).")] = False,
) -> None:
    """Issue an API key and print it. It is shown only this once: only its hash is stored."""
    accounts, op = _accounts()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None
    try:
        issued = accounts.create_key(op, role, team=team, user=user, name=name, expires_at=expires, admin=admin)
    except SignifierError as exc:
        raise _fail(exc) from None
    if quiet:
        sys.stdout.write(issued.key + "\n")
        return
    info = issued.info
    err.print(
        f"API key {info.id} for team {team} (role {info.role}{', admin' if info.admin else ''}"
        f"{', user ' + user if user else ''}, expires {_when(info.expires_at)}). "
        "It is shown only now; store it in a password manager:"
    )
    sys.stdout.write(issued.key + "\n")  # plain, unwrapped: copy-paste safe
    err.print(
        "Use it as  Authorization: Bearer <key>  e.g.\n"
        # The key itself only on stdout, once: stderr lands in terminals' scrollback and CI logs.
        "  curl -H 'Authorization: Bearer <key>' http://HOST:8000/v1/collections\n"
        "  export SIGNIFIER_API_KEY='<key>'   # for 'signifier ... --api URL'\n"
        f"Revoke it with: signifier admin revoke-key {info.id}",
        soft_wrap=True,
    )


def _key_row(k: KeyInfo, team_names: dict[str, str]) -> list[str]:
    return [
        k.id,
        team_names.get(k.team_id, k.team_id),
        k.role + (" +admin" if k.admin else ""),
        k.name or "-",
        k.state(),
        _when(k.created_at),
        _when(k.expires_at),
        _when(k.last_used_at),
    ]


@app.command("list-keys")
def list_keys(
    team: Annotated[str | None, typer.Option("--team", "-t", help="Default: every team.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Keys with their state and last use (never the keys themselves)."""
    accounts, op = _accounts()
    try:
        keys = accounts.list_keys(op, team)
        names = {t.id: t.name for t in accounts.list_teams(op)}
    except SignifierError as exc:
        raise _fail(exc) from None
    if as_json:
        for k in keys:
            row: dict[str, Any] = {**k.__dict__, "team": names.get(k.team_id), "state": k.state()}
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=16)  # copied into revoke-key: never truncated
    for col in ("team", "role", "name", "state", "created", "expires", "last used"):
        table.add_column(col, overflow="fold")
    for k in keys:
        table.add_row(*_key_row(k, names))
    console.print(table)


@app.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (list-keys), or the whole key.")]) -> None:
    """Revoke a key: its next request is refused with 401."""
    from services.accounts.keys import parse_key

    accounts, op = _accounts()
    try:
        info = accounts.revoke_key(op, parse_key(key_id) or key_id)
    except SignifierError as exc:
        raise _fail(exc) from None
    console.print(f"revoked API key {info.id} at {_when(info.revoked_at)}")


@app.command("list-collections")
def list_collections(
    team: Annotated[str | None, typer.Option("--team", "-t", help="Default: every team.")] = None,
) -> None:
    """Every team's collections and the name each has in the vector store (for snapshots and backups)."""
    from services.catalog.collections import CollectionRegistry

    accounts, op = _accounts()
    try:
        names = {t.id: t.name for t in accounts.list_teams(op)}
        team_id = accounts.get_team(op, team).id if team else None
    except SignifierError as exc:
        raise _fail(exc) from None
    # The registry only reads here: no vector store is opened (a running server may hold it).
    rows = CollectionRegistry(accounts.sessions, store=None).list_all()  # type: ignore[arg-type]
    table = Table()
    for col in ("team", "name", "store name", "model", "created"):
        table.add_column(col, overflow="fold")
    for c in rows:
        if team_id is None or c.team == team_id:
            table.add_row(names.get(c.team, c.team), c.name, c.store_name, c.model, _when(c.created_at))
    console.print(table)


@app.command("audit")
def audit(
    team: Annotated[str | None, typer.Option("--team", "-t", help="Default: every team.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
) -> None:
    """Admin actions and deletions, newest first."""
    accounts, op = _accounts()
    try:
        events = accounts.audit_events(op, team=team, limit=limit)
    except SignifierError as exc:
        raise _fail(exc) from None
    table = Table()
    for col in ("when", "actor", "action", "target", "detail"):
        table.add_column(col)
    for e in events:
        table.add_row(_when(e.at), e.actor, e.action, e.target, json.dumps(e.detail, default=str))
    console.print(table)
