"""Domain errors → HTTP responses: a clear message and the right status, never a stack trace.

Every error body has one shape, ``{"detail": {"code", "message", ...}}`` (``ErrorResponse``, declared for
every route's 4XX and 5XX in the OpenAPI spec). Bodies are rendered so that no input can break them (a
lone surrogate echoed in a message becomes U+FFFD), and an unexpected exception is answered with a 500
by ``UnexpectedErrorMiddleware``, which keeps the connection open (a client that went away is only an
info line: nobody is left to answer).
"""

from __future__ import annotations

import http
import json
import logging
import re
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core import errors as e
from services.core.excerpt import excerpt

log = logging.getLogger(__name__)

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
INTERNAL_ERROR = {"detail": {"code": "internal_error", "message": "internal server error; see the server log"}}


class SafeJSONResponse(JSONResponse):
    """A JSONResponse that always renders: characters UTF-8 cannot encode (lone surrogates that came in
    with the request and are echoed in a message) become U+FFFD instead of failing the response."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE_RE.sub("\ufffd", text).encode("utf-8")


class Problem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="Stable machine-readable reason, e.g. collection_not_found, invalid_expression.")
    message: str = Field(description="What went wrong and what to do, for people.")
    position: int | None = Field(None, description="invalid_expression, invalid_text: 0-based character offset.")
    expression: str | None = Field(None, description="invalid_expression: the expression as sent.")
    field: str | None = Field(None, description="invalid_text: the field that holds the bad text.")
    collection_model: dict[str, Any] | None = Field(
        None,
        description="model_mismatch: the model the collection's vectors came from (model_id, family, image_dim, "
        "text_dim, precision, digest).",
    )
    server_model: dict[str, Any] | None = Field(None, description="model_mismatch: the model this server runs.")
    problems: list[Problem] | None = Field(None, description="invalid_request: one entry per invalid field.")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx response."""

    detail: ErrorDetail


# The app's ``responses=``: every operation documents its errors once, with the one shared model.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorResponse, "description": "The request cannot be served as sent (see detail.code)."},
    "5XX": {"model": ErrorResponse, "description": "A server-side failure (unavailable model or store; bug)."},
}

STATUS: list[tuple[type[e.SignifierError], int]] = [
    (e.NotFoundError, 404),
    (e.AlreadyExists, 409),
    (e.ModelMismatch, 409),
    (e.ExpressionError, 422),
    (e.ImageError, 422),
    (e.InvalidInput, 422),
    (e.PayloadTooLarge, 413),
    (e.Unauthorized, 401),
    (e.RateLimited, 429),
    (e.Forbidden, 403),
    (e.ModelLoadError, 503),
    (e.StoreUnavailable, 503),
    (e.TimeBudgetExceeded, 503),
    (e.Busy, 503),
]

# A message quotes its input only as an excerpt; this bounds any message that was built from a whole one.
MESSAGE_CHARS = 1_000


def status_for(exc: e.SignifierError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_body(exc: e.SignifierError) -> dict[str, object]:
    detail: dict[str, object] = {"code": exc.code, "message": excerpt(exc.message, MESSAGE_CHARS)}
    if isinstance(exc, e.ExpressionError):
        detail["position"] = exc.position
        detail["expression"] = excerpt(exc.expression)
    if isinstance(exc, e.InvalidText):
        detail["field"] = exc.field
        detail["position"] = exc.position
    if isinstance(exc, e.ModelMismatch):
        detail["collection_model"] = exc.collection_model
        detail["server_model"] = exc.server_model
    return {"detail": detail}


_DISCONNECTS = (ClientDisconnect, anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError)


def is_client_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception in a group) only says the client went away: a closed socket,
    a body cut short, a stream whose peer is gone."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_client_disconnect(inner) for inner in exc.exceptions)
    return isinstance(exc, _DISCONNECTS)


class UnexpectedErrorMiddleware:
    """Innermost middleware: an exception no handler took becomes a 500 ``ErrorResponse``, logged once.

    Starlette's own last-resort handler (``ServerErrorMiddleware``) sends its 500 and then re-raises, so
    uvicorn drops the keep-alive connection and the client's next request on it fails with a reset.
    Answering here, without re-raising, keeps the connection usable. Only if the response had already
    started (nothing sensible can follow half a body) does the exception travel on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if is_client_disconnect(exc):
                # The browser left (a tab closed mid-search): nobody is there to answer, and it is no fault.
                log.info("client disconnected during %s %s", scope.get("method"), scope.get("path"))
                return
            if started:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await SafeJSONResponse(INTERNAL_ERROR, status_code=500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Handlers for domain, validation and HTTP errors, and the 500 middleware. Call before adding other
    middleware, so that ``UnexpectedErrorMiddleware`` stays the innermost one."""

    @app.exception_handler(e.SignifierError)
    async def _domain(_: Request, exc: e.SignifierError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthorized) else None
        if isinstance(exc, e.RateLimited | e.Busy):
            headers = {"Retry-After": str(exc.retry_after)}
        return SafeJSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        message = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
        return SafeJSONResponse(
            {"detail": {"code": "invalid_request", "message": message, "problems": problems}}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        # Routing's own errors (unknown path 404, wrong method 405, unparsable body 400) in the same shape.
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        # "route_not_found", not the domain's "not_found": a client can tell "no such route" from "no such thing".
        try:
            code = http.HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        except ValueError:
            code = "http_error"
        if exc.status_code == 404:
            code = "route_not_found"
        return SafeJSONResponse(
            {"detail": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_middleware(UnexpectedErrorMiddleware)
