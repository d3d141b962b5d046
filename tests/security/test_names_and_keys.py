"""Operator-side findings: names that end in a newline, and an API key printed more than once.

``re.match`` with a ``$`` pattern lets ``"x\\n"`` through (``$`` matches before a final newline), so a
team or user could be named so that it prints like another in logs and tables. And ``signifier admin
create-key`` printed the key three times, twice on stderr, which terminals' scrollback and CI logs keep.
"""

from __future__ import annotations

import pytest

LOCAL = {"SIGNIFIER_AUTH": None, "SIGNIFIER_INGEST_ROOTS": None}


@pytest.mark.parametrize("name", ["crew\n", "crew\r\n", "crew\nbeta"])
def test_cli_refuses_a_team_name_with_a_newline(make_server, name: str) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    res = server.run_cli("admin", "create-team", name, check=False)
    assert res.returncode != 0, res.stdout
    assert "invalid team name" in res.stderr, res.stderr
    server.run_cli("admin", "create-team", "crew")
    res = server.run_cli("admin", "create-user", "alice\n", "--team", "crew", check=False)
    assert res.returncode != 0 and "invalid user name" in res.stderr, res.stdout + res.stderr
    teams = server.run_cli("admin", "list-teams").stdout
    assert teams.count("crew") == 1, teams


def test_rest_admin_refuses_names_with_a_newline(make_server) -> None:  # type: ignore[no-untyped-def]
    # In local mode the keyless loopback caller is the local owner, a deployment admin.
    server = make_server(env=LOCAL).start()
    with server.client() as admin:
        r = admin.post("/v1/admin/teams", json={"name": "crew\n"})
        assert r.status_code == 422, r.text
        assert admin.post("/v1/admin/teams", json={"name": "crew"}).status_code == 201
        r = admin.post("/v1/admin/users", json={"name": "alice\n", "role": "viewer", "team": "crew"})
        assert r.status_code == 422, r.text
        r = admin.post("/v1/collections", json={"name": "photos\n"})
        assert r.status_code == 422, r.text


def test_create_key_prints_the_key_once(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server()
    server.run_cli("admin", "create-team", "crew")
    res = server.run_cli("admin", "create-key", "--team", "crew", "--role", "owner")
    key = res.stdout.strip().splitlines()[-1]
    assert key.startswith("sig_"), res.stdout
    assert (res.stdout + res.stderr).count(key) == 1, res.stderr
    assert "Bearer <key>" in res.stderr  # the hints keep their shape, with a placeholder
