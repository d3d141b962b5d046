"""``UnexpectedErrorMiddleware`` over real HTTP: a bug in a route is a 500 ``ErrorResponse``, logged once,
and the keep-alive connection survives it (uvicorn in a thread, a tiny app whose route raises)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from services.api.errors import install_error_handlers
from services.core.errors import InvalidInput


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    @app.get("/bad")
    def bad() -> dict[str, str]:
        raise InvalidInput("say \udc30 again")  # a message that echoes a lone surrogate

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/half")
    def half() -> StreamingResponse:
        def body() -> Iterator[bytes]:
            yield b"partial"
            raise RuntimeError("after the headers")

        return StreamingResponse(body())

    return app


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _port(r: httpx.Response) -> int:
    return int(r.extensions["network_stream"].get_extra_info("client_addr")[1])


def test_a_500_keeps_the_connection_and_logs_the_traceback_once(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")  # does not propagate to caplog's root handler
    uvicorn_log.addHandler(caplog.handler)
    try:
        with httpx.Client(base_url=base_url, timeout=10) as client, caplog.at_level(logging.ERROR):
            first = client.get("/ok")
            r = client.get("/boom")
            assert r.status_code == 500
            assert r.json()["detail"]["code"] == "internal_error"
            assert r.json()["detail"]["message"] == "internal server error; see the server log"
            after = client.get("/ok")  # the same connection: before, this was a reset
            assert after.status_code == 200
            assert _port(first) == _port(r) == _port(after)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert len(logged) == 1, [rec.getMessage() for rec in logged]
    assert "unhandled error on GET /boom" in logged[0].getMessage()
    assert "a bug" not in r.text  # no stack trace or exception text reaches the client


def test_an_error_message_that_echoes_a_lone_surrogate_still_renders(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        r = client.get("/bad")
        assert r.status_code == 422
        assert r.json()["detail"]["message"] == "say \ufffd again"
        assert client.get("/ok").status_code == 200


def test_routing_errors_have_the_same_shape(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        r = client.get("/nowhere")
        assert r.status_code == 404 and r.json()["detail"] == {"code": "route_not_found", "message": "Not Found"}
        r = client.post("/ok")
        assert r.status_code == 405 and r.json()["detail"]["code"] == "method_not_allowed"
        assert r.headers["allow"] == "GET"


def test_an_error_after_the_response_started_still_ends_that_response(base_url: str) -> None:
    # Half a body cannot be turned into a 500; the connection must go, and the next one works.
    with httpx.Client(base_url=base_url, timeout=10) as client, pytest.raises(httpx.HTTPError):
        client.get("/half").read()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        assert client.get("/ok").status_code == 200


def test_a_client_leaving_mid_body_is_an_info_line_not_an_unhandled_error(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A browser closing its tab mid-request: the body is cut short and the socket closed.
    host, port = base_url.removeprefix("http://").split(":")
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10)
                time.sleep(0.2)  # the route is waiting on the rest of the body
            deadline = time.monotonic() + 5
            while not any("disconnected" in rec.getMessage() for rec in caplog.records):
                assert time.monotonic() < deadline, [rec.getMessage() for rec in caplog.records]
                time.sleep(0.05)
            time.sleep(0.2)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    messages = [rec.getMessage() for rec in caplog.records]
    assert not [rec for rec in caplog.records if rec.exc_info], messages
    assert not [m for m in messages if "unhandled" in m.lower()], messages
    assert any("client disconnected during POST /upload" in m for m in messages), messages
    with httpx.Client(base_url=base_url, timeout=10) as client:
        assert client.get("/ok").status_code == 200
