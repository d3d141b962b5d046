"""The API's JSON error body sent straight from ASGI middleware (outside FastAPI's exception handlers)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Scope, Send


async def send_error(
    scope: Scope, send: Send, status: int, code: str, message: str, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """``{"detail": {"code", "message"}}`` with ``status`` (and ``extra`` headers), the shape of
    ``services/api/errors.py``; a websocket is closed with 1008 (policy violation) instead."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
