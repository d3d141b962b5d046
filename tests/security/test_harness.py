"""The harness itself: the two teams' keys work and are kept apart (so the attacks below mean something)."""

from __future__ import annotations

from tests.security.support import SharedServer


def test_each_team_sees_only_its_own_collections(shared_server: SharedServer) -> None:
    with shared_server.client("alpha") as a, shared_server.client("beta") as b, shared_server.client() as anon:
        assert a.post("/v1/collections", json={"name": "harness-a"}).status_code == 201
        assert "harness-a" not in [c["name"] for c in b.get("/v1/collections").json()["collections"]]
        assert "harness-a" in [c["name"] for c in a.get("/v1/collections").json()["collections"]]
        assert b.get("/v1/collections/harness-a").status_code == 404
        assert anon.get("/v1/collections").status_code == 401
