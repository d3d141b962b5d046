"""The one table from an HTTP answer of the API to a domain error (``services/core/errors.py``).

The server renders every error as ``{"detail": {"code", "message", ...}}`` (``services/api/errors.py``);
this reads it back into the class the server raised, or the nearest one, so a caller handles a remote
call exactly like a local one. Messages of refusals carry the status (``... (HTTP 409)``); a not-found,
a bad expression and an unavailable store read as the server wrote them.

Whether an answer is worth retrying is a property of its status (429 and 5xx: the server may recover),
not of the class, so a caller with patience (a worker) retries exactly those and nothing else.
"""

from __future__ import annotations

from typing import Any

from services.client.transport import Response
from services.core.errors import (
    AlreadyExists,
    ExpressionError,
    Forbidden,
    InvalidInput,
    ModelMismatch,
    NotFoundError,
    PayloadTooLarge,
    RateLimited,
    SignifierError,
    StoreUnavailable,
    Unauthorized,
)


class ApiUnreachable(StoreUnavailable):
    """The API cannot be reached, or kept answering 429/5xx for as long as the caller would wait (transient)."""


def is_transient(status: int) -> bool:
    """Answers a later try may cure: too many requests, or the server failing or restarting."""
    return status == 429 or status >= 500


def detail_of(resp: Response) -> tuple[str, str, dict[str, Any]]:
    """``(code, message, detail)`` of an error answer; a body that is not the API's JSON gives its text."""
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200], {}
    detail = body.get("detail", {}) if isinstance(body, dict) else body
    if not isinstance(detail, dict):
        return "", str(detail), {}
    return str(detail.get("code", "")), str(detail.get("message", detail)), detail


def error_from(resp: Response) -> SignifierError:
    """The domain error an error answer (status >= 400) stands for."""
    code, message, detail = detail_of(resp)
    status = resp.status_code
    if code == "invalid_expression":
        return ExpressionError(message, int(detail.get("position") or 0), str(detail.get("expression") or ""))
    if status == 404 or code == "collection_not_found":
        return NotFoundError(message)
    if status == 503:
        return StoreUnavailable(message)
    if code == "model_mismatch":
        return ModelMismatch(f"{message} (HTTP {status})", detail.get("collection_model"), detail.get("server_model"))
    refused = f"{message} (HTTP {status})"
    match status:
        case 401:
            return Unauthorized(refused)
        case 403:
            return Forbidden(refused)
        case 409:
            return AlreadyExists(refused)
        case 413:
            return PayloadTooLarge(refused)
        case 429:
            return RateLimited(refused, _retry_after(resp))
        case _:
            return InvalidInput(refused)


def _retry_after(resp: Response) -> int:
    try:
        return max(1, int(resp.headers.get("retry-after", "1")))
    except ValueError:
        return 1
