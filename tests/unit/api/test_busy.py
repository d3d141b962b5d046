"""A request refused because the heavy-request line is full is a 503 that says when to retry."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.api.errors import install_error_handlers
from services.core.budget import HeavyGate, heavy_turn, request_budget


def test_a_busy_refusal_is_a_503_with_retry_after() -> None:
    gate = HeavyGate(slots=1, waiting=0)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/scan")
    def scan() -> dict[str, str]:
        with request_budget(5, gate), heavy_turn("a scan"):
            return {"ran": "yes"}

    with TestClient(app) as client:
        assert client.get("/scan").status_code == 200  # a free slot: it runs
        with gate.turn(0):  # the one slot is taken, and no one may wait
            r = client.get("/scan")
    assert r.status_code == 503 and r.json()["detail"]["code"] == "busy"
    assert r.headers["retry-after"] == "1"
