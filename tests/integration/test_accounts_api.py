"""Accounts over HTTP: keys, roles, revocation, expiry, rate limits, quotas, audit, local mode, ``serve``.

The real app (Qdrant Edge, shapes-clip), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from services.accounts.principal import operator
from services.cli.admin import refuse_unprotected_bind
from services.core.settings import Settings
from services.shapes.world import write_samples
from tests.unit.accounts.support import BACKENDS, Team, auth_app, fresh_database, make_team, wait_job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("images")
    write_samples(out, 6, seed=21)
    return out


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(backend: str, tmp_path: Path, encoder: Any, images: Path) -> Iterator[TestClient]:
    # The deployment admin's grant: these teams may ingest the shared sample images and the test's folders.
    roots = {team: [images, tmp_path] for team in ("acme", "globex", "small")}
    with auth_app(backend, tmp_path, encoder, team_ingest_roots=roots) as client:
        yield client


def _error(r: Any) -> dict[str, Any]:
    detail: dict[str, Any] = r.json()["detail"]
    return detail


def test_keys_are_required_and_told_how_to_get_one(app: TestClient) -> None:
    assert app.get("/healthz").status_code == 200
    r = app.get("/v1/collections")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in _error(r)["message"] and "create-key" in _error(r)["message"]
    for header in ("Bearer", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer sig_nope"):
        assert app.get("/v1/collections", headers={"Authorization": header}).status_code == 401


def test_key_lifecycle_over_http(app: TestClient) -> None:
    acme = make_team(app.app.state.runtime, "acme")  # type: ignore[attr-defined]
    r = app.post("/v1/admin/keys", json={"role": "editor", "name": "ci"}, headers=acme.h())
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert created["state"] == "active" and created["role"] == "editor" and key.startswith("sig_")
    listed = app.get("/v1/admin/keys", headers=acme.h()).json()
    assert created["id"] in {k["id"] for k in listed}
    assert key not in str(listed) and key.rsplit("_", 1)[1] not in str(listed)  # shown once, never again
    assert app.get("/v1/collections", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    got = app.get(f"/v1/admin/keys/{created['id']}", headers=acme.h()).json()
    assert got["last_used_at"] is not None
    r = app.delete(f"/v1/admin/keys/{created['id']}", headers=acme.h())
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = app.get("/v1/collections", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and "revoked" in _error(r)["message"]


def test_an_expired_key_is_refused(app: TestClient) -> None:
    acme = make_team(app.app.state.runtime, "acme")  # type: ignore[attr-defined]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).isoformat()
    r = app.post("/v1/admin/keys", json={"role": "viewer", "expires_at": soon}, headers=acme.h())
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['key']}"}
    assert app.get("/v1/collections", headers=h).status_code == 200
    time.sleep(3.1)
    r = app.get("/v1/collections", headers=h)
    assert r.status_code == 401 and "expired" in _error(r)["message"]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    assert app.post("/v1/admin/keys", json={"role": "viewer", "expires_at": past}, headers=acme.h()).status_code == 422


def test_roles(app: TestClient, images: Path) -> None:
    acme = make_team(app.app.state.runtime, "acme")  # type: ignore[attr-defined]
    viewer, editor, owner = acme.h("viewer"), acme.h("editor"), acme.h("owner")
    assert app.post("/v1/collections", json={"name": "pics"}, headers=viewer).status_code == 403
    assert app.post("/v1/collections", json={"name": "pics"}, headers=editor).status_code == 201
    r = app.post("/v1/collections/pics/ingest", json={"path": str(images)}, headers=viewer)
    assert r.status_code == 403 and "editor" in _error(r)["message"]
    r = app.post("/v1/collections/pics/ingest", json={"path": str(images)}, headers=editor)
    assert r.status_code == 202
    job = wait_job(app, r.json()["job_id"], viewer)  # viewers may read jobs
    assert job["done"] == 6
    # Ingesting into a name the team does not have creates it, for those who may create collections.
    r = app.post("/v1/collections/new-pics/ingest", json={"path": str(images)}, headers=viewer)
    assert r.status_code == 403 and "editor" in _error(r)["message"]
    assert app.get("/v1/collections/new-pics", headers=viewer).status_code == 404
    r = app.post("/v1/collections/new-pics/ingest", json={"path": str(images)}, headers=editor)
    assert r.status_code == 202 and r.json()["created"] is True, r.text
    assert wait_job(app, r.json()["job_id"], viewer)["done"] == 6
    assert app.get("/v1/collections/new-pics", headers=viewer).json()["points"] == 6
    r = app.post("/v1/collections/new-pics/ingest", json={"path": str(images)}, headers=editor)
    assert r.status_code == 202 and r.json()["created"] is False
    wait_job(app, r.json()["job_id"], viewer)
    assert app.delete("/v1/collections/new-pics", headers=owner).status_code == 204
    search = {"expression": '"a red circle"', "limit": 3}
    assert app.post("/v1/collections/pics/search", json=search, headers=viewer).status_code == 200
    assert app.post("/v1/embed", json={"texts": ["red"]}, headers=viewer).status_code == 200
    for h in (viewer, editor):
        assert app.delete("/v1/collections/pics", headers=h).status_code == 403
        assert app.get("/v1/admin/keys", headers=h).status_code == 403
        assert app.post("/v1/admin/keys", json={"role": "viewer"}, headers=h).status_code == 403
    assert app.delete(f"/v1/jobs/{job['job_id']}", headers=viewer).status_code == 403
    assert app.delete(f"/v1/jobs/{job['job_id']}", headers=editor).status_code == 200  # cancelling is editing
    r = app.put("/v1/collections/pics/concepts/warm", json={"expression": '"red" + "orange"'}, headers=editor)
    assert r.status_code == 201, r.text
    assert app.delete("/v1/collections/pics/concepts/warm", headers=editor).status_code == 403
    assert app.delete("/v1/collections/pics/concepts/warm", headers=owner).status_code == 204
    assert app.delete("/v1/collections/pics/concepts/warm", headers=owner).status_code == 404
    assert app.delete("/v1/collections/pics", headers=owner).status_code == 204
    events = app.get("/v1/admin/audit", headers=owner).json()["events"]
    owner_id, editor_id = acme.keys["owner"].split("_")[1], acme.keys["editor"].split("_")[1]
    assert [(e["action"], e["target"], e["actor_key_id"]) for e in events[:3]] == [
        ("collection.delete", "pics", owner_id),
        ("delete", "/v1/collections/pics/concepts/warm", owner_id),  # once: the refused and the 404 left none
        ("job.cancel", f"/v1/jobs/{job['job_id']}", editor_id),
    ]


def test_same_collection_name_in_two_teams(app: TestClient, images: Path, tmp_path: Path) -> None:
    runtime = app.app.state.runtime  # type: ignore[attr-defined]
    acme, globex = make_team(runtime, "acme"), make_team(runtime, "globex")
    few = tmp_path / "few"
    write_samples(few, 2, seed=5)
    for team, folder in ((acme, images), (globex, few)):
        assert app.post("/v1/collections", json={"name": "photos"}, headers=team.h()).status_code == 201
        r = app.post("/v1/collections/photos/ingest", json={"path": str(folder)}, headers=team.h())
        wait_job(app, r.json()["job_id"], team.h())
    points = {t.name: app.get("/v1/collections/photos", headers=t.h()).json()["points"] for t in (acme, globex)}
    assert points == {"acme": 6, "globex": 2}
    search = {"expression": '"a shape"', "limit": 50}
    hits = {
        t.name: app.post("/v1/collections/photos/search", json=search, headers=t.h()).json()["hits"]
        for t in (acme, globex)
    }
    assert len(hits["acme"]) == 6 and len(hits["globex"]) == 2
    assert {h["payload"]["source"].split("/")[-2] for h in hits["globex"]} == {"few"}
    jobs = {
        t.name: app.get("/v1/jobs", params={"collection": "photos"}, headers=t.h()).json()["jobs"]
        for t in (acme, globex)
    }
    assert len(jobs["acme"]) == len(jobs["globex"]) == 1 and jobs["acme"][0]["job_id"] != jobs["globex"][0]["job_id"]
    # deleting acme's "photos" leaves globex's collection and job records alone
    assert app.delete("/v1/collections/photos", headers=acme.h()).status_code == 204
    assert app.get("/v1/collections/photos", headers=globex.h()).json()["points"] == 2
    assert len(app.get("/v1/jobs", params={"collection": "photos"}, headers=globex.h()).json()["jobs"]) == 1


def test_rate_limit_answers_429_with_retry_after(backend: str, tmp_path: Path, encoder: Any) -> None:
    # 30 a minute: one token back every 2 s, so the first four requests surely fall inside one refill.
    with auth_app(backend, tmp_path, encoder, rate={"per_minute": 30, "burst": 3}) as app:
        acme = make_team(app.app.state.runtime, "acme")  # type: ignore[attr-defined]
        for _ in range(3):
            assert app.get("/v1/collections", headers=acme.h()).status_code == 200
        r = app.get("/v1/collections", headers=acme.h())
        assert r.status_code == 429 and _error(r)["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) in (1, 2)
        assert app.get("/v1/collections", headers=acme.h("viewer")).status_code == 200  # per key
        assert app.get("/healthz").status_code == 200
        time.sleep(2.05)
        assert app.get("/v1/collections", headers=acme.h()).status_code == 200


def test_quotas(app: TestClient, images: Path, tmp_path: Path) -> None:
    runtime = app.app.state.runtime  # type: ignore[attr-defined]
    small = make_team(runtime, "small", max_collections=1, max_points=8)
    assert app.post("/v1/collections", json={"name": "a"}, headers=small.h()).status_code == 201
    r = app.post("/v1/collections", json={"name": "b"}, headers=small.h())
    assert r.status_code == 403 and _error(r)["code"] == "quota_exceeded" and "quota is 1" in _error(r)["message"]
    r = app.post("/v1/collections/a/ingest", json={"path": str(images)}, headers=small.h())
    wait_job(app, r.json()["job_id"], small.h())  # 6 of 8
    more = tmp_path / "more"
    write_samples(more, 3, seed=99)
    r = app.post("/v1/collections/a/ingest", json={"path": str(more)}, headers=small.h())
    assert r.status_code == 403 and _error(r)["code"] == "quota_exceeded", r.text
    assert "6 point(s); 3 more would pass its quota of 8" in _error(r)["message"]
    assert app.get("/v1/jobs", headers=small.h()).json()["jobs"].__len__() == 1  # no job was created
    upload = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted(more.glob("*.png"))]
    r = app.post("/v1/collections/a/ingest", files=upload, headers=small.h())
    assert r.status_code == 403 and _error(r)["code"] == "quota_exceeded"
    assert len(app.get("/v1/jobs", headers=small.h()).json()["jobs"]) == 1  # the refused upload left no job
    team = app.get("/v1/admin/teams/small", headers=small.h()).json()
    assert (team["collections"], team["points"], team["max_points"]) == (1, 6, 8)
    # an admin raises it, and the same job is accepted
    r = app.put("/v1/admin/teams/small/quotas", json={"max_points": 100}, headers=small.h())
    assert r.status_code == 403  # owners cannot lift their own quota
    runtime.accounts.set_quotas(operator("test"), "small", 1, 100)
    # Ingesting into a new name past the collection quota is refused, leaving no job and no collection.
    r = app.post("/v1/collections/b/ingest", json={"path": str(more)}, headers=small.h())
    assert r.status_code == 403 and "quota is 1" in _error(r)["message"], r.text
    assert len(app.get("/v1/jobs", headers=small.h()).json()["jobs"]) == 1
    assert [c["name"] for c in app.get("/v1/collections", headers=small.h()).json()["collections"]] == ["a"]
    assert app.post("/v1/collections/a/ingest", json={"path": str(more)}, headers=small.h()).status_code == 202


def test_admin_routes_manage_users_and_keys(app: TestClient) -> None:
    acme = make_team(app.app.state.runtime, "acme")  # type: ignore[attr-defined]
    r = app.post("/v1/admin/users", json={"name": "alice", "role": "editor"}, headers=acme.h())
    assert r.status_code == 201
    alice = r.json()
    assert app.post("/v1/admin/users", json={"name": "alice", "role": "viewer"}, headers=acme.h()).status_code == 409
    r = app.post("/v1/admin/keys", json={"role": "owner", "user": "alice"}, headers=acme.h())
    assert r.status_code == 422 and "editor" in _error(r)["message"]
    key = app.post("/v1/admin/keys", json={"role": "editor", "user": "alice"}, headers=acme.h()).json()["key"]
    assert (
        app.post("/v1/collections", json={"name": "x"}, headers={"Authorization": f"Bearer {key}"}).status_code == 201
    )
    assert app.post("/v1/admin/teams", json={"name": "mine"}, headers=acme.h()).status_code == 403  # admins only
    r = app.delete(f"/v1/admin/users/{alice['id']}", headers=acme.h())
    assert r.status_code == 200 and r.json()["disabled_at"] is not None
    assert app.get("/v1/collections", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    actions = [e["action"] for e in app.get("/v1/admin/audit", headers=acme.h()).json()["events"]]
    # newest first; the refused attempts (duplicate user, too strong a key, a team) left no event
    assert actions == ["user.disable", "key.create", "user.create", *["key.create"] * 3, "team.create"]


def test_local_mode_owner_on_loopback_only(backend: str, tmp_path: Path, encoder: Any) -> None:
    from services.api.app import create_app
    from tests.conftest import make_settings

    with fresh_database(backend, tmp_path) as url:
        settings = make_settings(tmp_path / "data", database_url=url)  # auth=local, the default
        app = create_app(settings, encoder=encoder)
        with TestClient(app) as local:  # in-process client, like the CLI
            assert local.post("/v1/collections", json={"name": "mine"}).status_code == 201
            assert local.post("/v1/admin/teams", json={"name": "acme"}).status_code == 201  # the local owner is admin
            issued = local.post("/v1/admin/keys", json={"role": "viewer", "team": "acme"}).json()
            bad = local.get("/v1/collections", headers={"Authorization": "Bearer sig_bad"})
            assert bad.status_code == 401  # a key that is sent is checked, never ignored
            # Clients at other addresses, on the same running app (no second lifespan). Network clients must
            # address the server by a loopback name in local mode (services/api/guards.py), as a browser does.
            loopback = TestClient(app, client=("127.0.0.1", 5000), base_url="http://127.0.0.1:8000")
            assert [c["name"] for c in loopback.get("/v1/collections").json()["collections"]] == ["mine"]
            remote = TestClient(app, client=("203.0.113.7", 5000), base_url="http://127.0.0.1:8000")
            r = remote.get("/v1/collections")
            assert r.status_code == 401 and "SIGNIFIER_AUTH" in _error(r)["message"]
            r = remote.get("/v1/collections", headers={"Authorization": f"Bearer {issued['key']}"})
            assert r.status_code == 200 and r.json()["collections"] == []  # acme's view, not the owner's


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    env = {**os.environ, "SIGNIFIER_DATA_DIR": str(tmp_path), "SIGNIFIER_AUTH": "local"}
    r = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "serve", "--host", "0.0.0.0", "--port", "8999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    out = " ".join(r.stderr.split())
    assert "refusing to serve on 0.0.0.0" in out and "signifier admin create-key --team NAME --role owner" in out
    assert refuse_unprotected_bind(Settings(auth="required"), "0.0.0.0") is None
    assert refuse_unprotected_bind(Settings(), "127.0.0.1") is None
    assert refuse_unprotected_bind(Settings(), "::1") is None
    assert refuse_unprotected_bind(Settings(), "192.168.0.10") is not None


def test_cli_admin_commands(app: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.cli.main import app as cli

    settings = app.app.state.runtime.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("SIGNIFIER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SIGNIFIER_DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["admin", *args])
        assert result.exit_code == 0, result.output
        return result

    assert "create-key --team acme --role owner" in run("create-team", "acme").output
    r = runner.invoke(cli, ["admin", "create-team", "acme"])
    assert r.exit_code == 1 and "already exists" in r.output
    key = run("create-key", "--team", "acme", "--role", "owner", "--quiet").stdout.strip()
    h = {"Authorization": f"Bearer {key}"}
    assert app.post("/v1/collections", json={"name": "cli"}, headers=h).status_code == 201
    collections = run("list-collections", "--team", "acme").stdout
    assert "cli-" in collections  # the store name an operator snapshots: <name>-<12 hex digits>
    run("create-user", "carol", "--team", "acme", "--role", "viewer")
    verbose = run("create-key", "--team", "acme", "--user", "carol", "--name", "carol-laptop")
    assert "shown only now" in verbose.output and "revoke-key" in verbose.output
    listed = run("list-keys", "--team", "acme", "--json").stdout
    assert listed.count("\n") == 2 and "carol-laptop" in listed and key not in listed
    key_id = key.split("_")[1]
    assert key_id in run("list-keys").stdout
    run("revoke-key", key)  # the whole key works as well as its id
    assert app.get("/v1/collections", headers=h).status_code == 401
    assert "key.revoke" in run("audit", "--team", "acme").stdout
    assert "acme" in run("list-teams").stdout and "carol" in run("list-users", "--team", "acme").stdout
    run("set-quota", "--team", "acme", "--max-collections", "5")
    assert (
        app.app.state.runtime.quotas.for_team(  # type: ignore[attr-defined]
            app.app.state.runtime.accounts.teams.team_by_name("acme").id  # type: ignore[attr-defined]
        ).max_collections
        == 5
    )


def test_team_listing_shows_usage(app: TestClient, images: Path) -> None:
    runtime = app.app.state.runtime  # type: ignore[attr-defined]
    acme: Team = make_team(runtime, "acme", max_points=1000)
    app.post("/v1/collections", json={"name": "pics"}, headers=acme.h())
    r = app.post("/v1/collections/pics/ingest", json={"path": str(images)}, headers=acme.h())
    wait_job(app, r.json()["job_id"], acme.h())
    teams = app.get("/v1/admin/teams", headers=acme.h()).json()
    assert [(t["name"], t["collections"], t["points"], t["max_points"]) for t in teams] == [("acme", 1, 6, 1000)]
