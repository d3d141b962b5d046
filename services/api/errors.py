"""Domain errors → HTTP responses: a clear message and the right status, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.core import errors as e
from services.core.excerpt import excerpt

log = logging.getLogger(__name__)

STATUS: list[tuple[type[e.SignifierError], int]] = [
    (e.NotFoundError, 404),
    (e.AlreadyExists, 409),
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
    return {"detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.SignifierError)
    async def _domain(_: Request, exc: e.SignifierError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, e.Unauthorized) else None
        if isinstance(exc, e.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        message = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
        return JSONResponse(
            {"detail": {"code": "invalid_request", "message": message, "problems": problems}}, status_code=422
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": {"code": "internal_error", "message": "internal server error; see the server log"}},
            status_code=500,
        )
