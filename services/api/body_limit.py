"""Pure-ASGI middleware that caps request bodies while they arrive, before anything parses them.

A body is refused with 413 when its ``Content-Length`` is over the cap, before a byte of it is read, and
a chunked body is counted as it streams in and cut off the moment it passes the cap: nothing is buffered
whole, so three 200 MB bodies cost the server nothing but the reading. The 413 says
``Connection: close``, so the client stops sending.

Caps: JSON (and every other non-multipart) body ``max_json_body_bytes``; multipart bodies the largest
upload request any route takes (``upload_request_bytes``), which a route lowers to its own cap with
``lower_body_cap`` before it reads the form; worker → API routes ``max_internal_body_bytes``, and only
when the internal token is set (else they are closed and get the JSON cap).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors_asgi import send_error
from services.core.errors import PayloadTooLarge
from services.core.settings import Limits

SCOPE_KEY = "signifier.body_cap"


def upload_request_bytes(limits: Limits) -> int:
    """The largest multipart body any route accepts: an ingest upload of ``max_request_files`` files."""
    return limits.max_upload_bytes * limits.max_request_files


class BodyTooLarge(PayloadTooLarge):
    pass


class BodyCap:
    """One request's cap in bytes, what arrived so far, and whether the cap was passed."""

    def __init__(self, limit: int, setting: str, declared: int | None) -> None:
        self.limit = limit
        self.setting = setting
        self.declared = declared
        self.received = 0
        self.exceeded = False

    def error(self) -> BodyTooLarge:
        self.exceeded = True
        size = f"{self.declared:,} bytes" if self.declared is not None else f"over {self.received:,} bytes"
        hint = "; send images as multipart files" if self.setting == "SIGNIFIER_LIMITS__MAX_JSON_BODY_BYTES" else ""
        return BodyTooLarge(f"request body is {size}, over the limit of {self.limit:,} ({self.setting}){hint}")


def lower_body_cap(request: Request, limit: int, setting: str) -> None:
    """Lower (never raise) this request's body cap, before the route reads its body."""
    cap = request.scope.get(SCOPE_KEY)
    if isinstance(cap, BodyCap) and limit < cap.limit:
        cap.limit, cap.setting = limit, setting


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits, internal_routes: bool) -> None:
        self.app = app
        self.json_bytes = limits.max_json_body_bytes
        self.upload_bytes = upload_request_bytes(limits)
        self.internal_bytes = limits.max_internal_body_bytes if internal_routes else limits.max_json_body_bytes

    def _cap(self, scope: Scope) -> BodyCap:
        headers = dict(scope["headers"])
        raw_length = headers.get(b"content-length")
        declared = int(raw_length) if raw_length is not None and raw_length.isdigit() else None
        if headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            return BodyCap(self.upload_bytes, "SIGNIFIER_LIMITS__MAX_UPLOAD_BYTES × MAX_REQUEST_FILES", declared)
        if scope["path"].startswith("/internal/"):
            return BodyCap(self.internal_bytes, "SIGNIFIER_LIMITS__MAX_INTERNAL_BODY_BYTES", declared)
        return BodyCap(self.json_bytes, "SIGNIFIER_LIMITS__MAX_JSON_BODY_BYTES", declared)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope)
        if cap.declared is not None and cap.declared > cap.limit:
            await _refuse(scope, send, cap.error())
            return
        scope[SCOPE_KEY] = cap
        started = replaced = False

        async def capped_receive() -> Message:
            # A route may have lowered the cap below the declared length: refuse before reading.
            if cap.declared is not None and cap.declared > cap.limit:
                raise cap.error()
            message = await receive()
            if message["type"] == "http.request":
                cap.received += len(message.get("body", b""))
                if cap.received > cap.limit:
                    raise cap.error()
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app made of the overflow (FastAPI turns body errors into a 400), the client gets
            # the 413; the app's own response is dropped.
            nonlocal started, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if cap.exceeded:
                    replaced = True
                    await _refuse(scope, send, cap.error())
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, guarded_send)
        except BodyTooLarge as exc:
            if started or replaced:
                raise
            await _refuse(scope, send, exc)


async def _refuse(scope: Scope, send: Send, exc: BodyTooLarge) -> None:
    # Connection: close, so the client stops sending the rest of the body.
    await send_error(scope, send, 413, exc.code, exc.message, extra=[(b"connection", b"close")])
