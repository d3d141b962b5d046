"""Local mode (``SIGNIFIER_AUTH=local``, the default) against the web pages its user opens.

Review finding: keyless requests from loopback act as the owner, and any page could send them. A
cross-origin "simple request" (``text/plain`` or form-encoded body: no CORS preflight) started
server-path ingests and searches; with DNS rebinding (the page's own name now resolving to
127.0.0.1, ``Host: evil.example``) the page could also read every answer. And ``X-Forwarded-For:
garbage`` from loopback made the client a non-IP name, which the app takes for an in-process client.

The server here is a real ``signifier serve`` in local mode; requests are made the way a browser
would make them for such a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.support import SharedServer

LOCAL = {"SIGNIFIER_AUTH": None, "SIGNIFIER_INGEST_ROOTS": None}
EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    server = SharedServer(tmp_path_factory.mktemp("local"), env=LOCAL)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def images(local_server: SharedServer) -> Path:
    from services.shapes.world import write_samples

    folder = local_server.tmp / "images"
    write_samples(folder, 4, seed=1)
    return folder


@pytest.fixture(scope="module")
def collection(local_server: SharedServer) -> str:
    with local_server.client() as c:
        r = c.post("/v1/collections", json={"name": "mine"})
        assert r.status_code == 201, r.text
    return "mine"


def test_a_rebound_host_name_is_refused(local_server: SharedServer, collection: str) -> None:
    with local_server.client() as c:
        for path in ("/v1/collections", "/", "/healthz", f"/v1/collections/{collection}"):
            r = c.get(path, headers={"Host": f"evil.example:{local_server.port}"})
            assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert "127.0.0.1" in r.json()["detail"]["message"]
        r = c.post(f"/v1/collections/{collection}/search", json={"expression": '"red"'},
                   headers={"Host": "evil.example"})  # fmt: skip
        assert r.status_code == 400
        # The loopback names a browser uses for the real UI are served, with or without a port.
        for host in (f"127.0.0.1:{local_server.port}", f"localhost:{local_server.port}", "localhost", "[::1]:80"):
            assert c.get("/v1/collections", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize("ctype", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None])
def test_simple_request_bodies_are_refused(
    local_server: SharedServer, collection: str, images: Path, ctype: str | None
) -> None:
    # What <form enctype="text/plain"> or fetch(url, {method: "POST", body: "..."}) sends, with no preflight.
    headers = {"Content-Type": ctype} if ctype else {}
    ingest = f'{{"path": "{images}"}}'
    search = '{"expression": "\\"red\\"", "limit": 3}'
    with local_server.client() as c:
        r = c.post(f"/v1/collections/{collection}/ingest", content=ingest, headers=headers)
        assert r.status_code == 415, (ctype, r.status_code, r.text)
        assert "application/json" in r.json()["detail"]["message"]
        r = c.post(f"/v1/collections/{collection}/search", content=search, headers=headers)
        assert r.status_code == 415, (ctype, r.status_code, r.text)
        r = c.post("/v1/collections", content='{"name": "planted"}', headers=headers)
        assert r.status_code == 415, (ctype, r.status_code, r.text)
        assert "planted" not in [x["name"] for x in c.get("/v1/collections").json()["collections"]]


def test_multipart_is_taken_only_where_uploads_are(local_server: SharedServer, collection: str) -> None:
    with local_server.client() as c:
        r = c.post("/v1/embed", files={"x": ("a.txt", b"{}", "text/plain")})
        assert r.status_code == 415, r.text
        r = c.post(f"/v1/collections/{collection}/search", data={"expression": '"red"', "limit": "2"},
                   files={"files": ("a.png", _png(), "image/png")})  # fmt: skip
        assert r.status_code == 200, r.text


def test_a_foreign_origin_cannot_change_anything(local_server: SharedServer, collection: str, images: Path) -> None:
    with local_server.client(headers={"Origin": EVIL}) as c:
        r = c.post("/v1/collections", json={"name": "from-evil"})
        assert r.status_code == 403, r.text
        assert "SIGNIFIER_ALLOWED_ORIGINS" in r.json()["detail"]["message"]
        assert c.post(f"/v1/collections/{collection}/ingest", json={"path": str(images)}).status_code == 403
        # A form post (multipart, also a "simple request") from the page.
        r = c.post(f"/v1/collections/{collection}/ingest", files={"files": ("a.png", _png(), "image/png")})
        assert r.status_code == 403, r.text
        assert c.delete(f"/v1/collections/{collection}").status_code == 403
        for origin in (
            "null",
            f"http://127.0.0.1.evil.example:{local_server.port}",
            f"http://localhost:{local_server.port + 1}",
        ):
            r = c.post("/v1/collections", json={"name": "from-evil"}, headers={"Origin": origin})
            assert r.status_code == 403, origin
    with local_server.client() as c:
        assert "from-evil" not in [x["name"] for x in c.get("/v1/collections").json()["collections"]]
        assert c.get(f"/v1/collections/{collection}").status_code == 200


def test_the_same_origin_ui_flow_still_works(local_server: SharedServer, images: Path) -> None:
    own = local_server.url  # http://127.0.0.1:PORT, the page the UI is served from
    with local_server.client(headers={"Origin": own}) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert c.post("/v1/collections", json={"name": "ui"}).status_code == 201
        job = c.post("/v1/collections/ui/ingest", json={"path": str(images)})
        assert job.status_code == 202, job.text
        assert local_server.wait_job(c, job.json()["job_id"])["state"] == "done"
        up = c.post("/v1/collections/ui/ingest", files={"files": ("a.png", _png(), "image/png")})
        assert up.status_code == 202, up.text
        local_server.wait_job(c, up.json()["job_id"])
        hits = c.post("/v1/collections/ui/search", json={"expression": '"red"', "limit": 3})
        assert hits.status_code == 200 and hits.json()["hits"], hits.text
        assert c.put("/v1/collections/ui/concepts/warm", json={"expression": '"red"'}).status_code == 201
        assert c.delete("/v1/collections/ui").status_code == 204
    # The same page opened as localhost.
    with httpx.Client(
        base_url=f"http://localhost:{local_server.port}", headers={"Origin": f"http://localhost:{local_server.port}"}
    ) as c:
        assert c.post("/v1/collections", json={"name": "ui2"}).status_code == 201


def test_a_garbage_forwarded_for_is_not_an_in_process_client(local_server: SharedServer) -> None:
    with local_server.client() as c:
        # Proxy headers are off: the client is the loopback peer, so a rebound Host is still refused ...
        r = c.get("/v1/collections", headers={"X-Forwarded-For": "garbage", "Host": "evil.example"})
        assert r.status_code == 400, r.text
        # ... and the request is the loopback peer's (the local owner), whatever it claims.
        assert c.get("/v1/collections", headers={"X-Forwarded-For": "garbage"}).status_code == 200
        assert c.get("/v1/collections", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200


def test_a_trusted_proxy_forwards_only_ip_clients(make_server) -> None:  # type: ignore[no-untyped-def]
    server = make_server(env={**LOCAL, "SIGNIFIER_FORWARDED_ALLOW_IPS": '["127.0.0.1/32"]'}).start()
    with server.client() as c:
        assert c.get("/v1/collections").status_code == 200  # the proxy itself, no header: loopback
        r = c.get("/v1/collections", headers={"X-Forwarded-For": "garbage"})
        assert r.status_code == 400 and "X-Forwarded-For" in r.json()["detail"]["message"], r.text
        # A remote client behind the local proxy is not the local owner.
        assert c.get("/v1/collections", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def test_forwarded_garbage_changes_nothing_with_keys(shared_server: SharedServer) -> None:
    with shared_server.client() as anon, shared_server.client("alpha", "viewer") as viewer:
        assert anon.get("/v1/collections", headers={"X-Forwarded-For": "garbage"}).status_code == 401
        assert viewer.get("/v1/collections", headers={"X-Forwarded-For": "garbage"}).status_code == 200


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()
