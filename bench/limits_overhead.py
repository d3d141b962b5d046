"""Per-request cost of the request limits: the body-cap and time-budget middlewares, and filter validation.

    python bench/limits_overhead.py [--requests 20000]

Drives a one-route Starlette app straight through ASGI (no sockets, so only the middlewares' own work
is measured) with and without ``BodyLimitMiddleware`` + ``RequestBudgetMiddleware``, for an empty
and a 64 KiB JSON body (sent in 16 chunks), and times ``parse_filter`` on a typical filter and on
one at the condition cap (256). Prints microseconds per call as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.api.body_limit import BodyLimitMiddleware
from services.api.budget import RequestBudgetMiddleware
from services.core.settings import Limits
from services.vectorstore.filters import parse_filter


async def _echo(request: Request) -> Response:
    return Response(str(len(await request.body())))


def _app(limited: bool) -> Any:
    app: Any = Starlette(routes=[Route("/x", _echo, methods=["POST"])])
    if limited:
        app = RequestBudgetMiddleware(BodyLimitMiddleware(app, Limits(), internal_routes=False), Limits())
    return app


async def _drive(app: Any, body: bytes, n: int, chunks: int) -> float:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": "/x",
        "raw_path": b"/x", "query_string": b"", "root_path": "", "scheme": "http",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
    }
    step = max(1, len(body) // chunks)
    parts = [body[i : i + step] for i in range(0, len(body), step)] or [b""]

    async def send(_: Any) -> None:
        return None

    t0 = time.perf_counter()
    for _ in range(n):
        queue = iter(parts)

        async def receive(queue: Any = queue) -> dict[str, Any]:
            part = next(queue, None)
            return {"type": "http.request", "body": part or b"", "more_body": part is not None}

        await app(dict(scope), receive, send)
    return (time.perf_counter() - t0) / n * 1e6


def _time(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    n = ap.parse_args().requests
    out: dict[str, float] = {}
    for label, body, chunks in (("empty", b"", 1), ("64KiB", b"x" * 65_536, 16)):
        bare = asyncio.run(_drive(_app(False), body, n, chunks))
        limited = asyncio.run(_drive(_app(True), body, n, chunks))
        out[f"request_{label}_bare_us"] = round(bare, 2)
        out[f"request_{label}_limited_us"] = round(limited, 2)
        out[f"request_{label}_overhead_us"] = round(limited - bare, 2)
    typical = {"must": [{"key": "color", "match": {"value": "red"}}, {"key": "width", "range": {"gte": 100}}]}
    at_cap = {"should": [{"key": f"k{i}", "match": {"value": i}} for i in range(256)]}
    out["filter_typical_us"] = round(_time(lambda: parse_filter(typical), n), 2)
    out["filter_256_conditions_us"] = round(_time(lambda: parse_filter(at_cap), max(n // 50, 100)), 2)
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
