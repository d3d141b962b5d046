"""The API client: one error table for every caller, retries only where the caller has patience."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.client.errors import ApiUnreachable, error_from
from services.client.http import Client, Retry
from services.core import errors as e


def _resp(status: int, detail: Any = None, **kw: Any) -> httpx.Response:
    if detail is None:
        return httpx.Response(status, text="plain text body", **kw)
    return httpx.Response(status, json={"detail": detail}, **kw)


@pytest.mark.parametrize(
    ("status", "detail", "cls", "message"),
    [
        (404, {"code": "collection_not_found", "message": "collection 'x' does not exist"}, e.NotFoundError,
         "collection 'x' does not exist"),
        (404, {"code": "job_not_found", "message": "no job"}, e.NotFoundError, "no job"),
        (503, {"code": "store_unavailable", "message": "locked"}, e.StoreUnavailable, "locked"),
        (422, {"code": "invalid_input", "message": "bad limit"}, e.InvalidInput, "bad limit (HTTP 422)"),
        (409, {"code": "already_exists", "message": "taken"}, e.AlreadyExists, "taken (HTTP 409)"),
        (401, {"code": "unauthorized", "message": "who?"}, e.Unauthorized, "who? (HTTP 401)"),
        (403, {"code": "quota_exceeded", "message": "full"}, e.Forbidden, "full (HTTP 403)"),
        (413, {"code": "payload_too_large", "message": "big"}, e.PayloadTooLarge, "big (HTTP 413)"),
        (500, {"code": "internal_error", "message": "bug"}, e.InvalidInput, "bug (HTTP 500)"),
        (400, "just a string", e.InvalidInput, "just a string (HTTP 400)"),
        (502, None, e.InvalidInput, "plain text body (HTTP 502)"),
    ],
)  # fmt: skip
def test_one_error_table(status: int, detail: Any, cls: type[e.SignifierError], message: str) -> None:
    err = error_from(_resp(status, detail))
    assert type(err) is cls and err.message == message


def test_expression_errors_keep_their_position() -> None:
    detail = {"code": "invalid_expression", "message": "unexpected end", "position": 7, "expression": '"red" +'}
    err = error_from(_resp(422, detail))
    assert isinstance(err, e.ExpressionError) and err.position == 7 and err.expression == '"red" +'
    assert str(err) == "unexpected end (at position 7)"


def test_rate_limited_carries_retry_after() -> None:
    err = error_from(_resp(429, {"code": "rate_limited", "message": "slow down"}, headers={"Retry-After": "3"}))
    assert isinstance(err, e.RateLimited) and err.retry_after == 3


def _client(answers: list[httpx.Response | Exception], retry: Retry | None) -> tuple[Client, list[str]]:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    http = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handle))
    return Client(http, retry=retry, location="http://api.test"), calls


def test_without_retry_the_first_failure_is_the_answer() -> None:
    c, calls = _client([_resp(503, {"code": "store_unavailable", "message": "locked"})], None)
    with pytest.raises(e.StoreUnavailable, match="locked"):
        c.request("GET", "/v1/collections")
    c, calls = _client([httpx.ConnectError("refused")], None)
    with pytest.raises(ApiUnreachable, match=r"cannot reach the server at http://api\.test: refused"):
        c.request("GET", "/v1/collections")
    assert calls == ["/v1/collections"]


def test_with_retry_transient_answers_are_retried_and_refusals_are_not() -> None:
    fast = Retry(patience_s=5.0, first_delay_s=0.001, max_delay_s=0.001)
    ok = httpx.Response(200, json={"ids": []})
    c, calls = _client([httpx.ConnectError("down"), _resp(502, None), _resp(429, {"message": "wait"}), ok], fast)
    assert c.request("POST", "/internal/x") == {"ids": []} and len(calls) == 4
    c, calls = _client([_resp(404, {"message": "gone"})], fast)
    with pytest.raises(e.NotFoundError):
        c.request("POST", "/internal/x")
    c, calls = _client([_resp(422, {"message": "bad"})], fast)
    with pytest.raises(e.InvalidInput, match=r"bad \(HTTP 422\)"):
        c.request("POST", "/internal/x")
    assert len(calls) == 1


def test_retry_gives_up_as_unreachable_after_its_patience() -> None:
    c, calls = _client([_resp(503, {"message": "restarting"})], Retry(patience_s=0.05, first_delay_s=0.01))
    with pytest.raises(ApiUnreachable, match=r"the API at http://api\.test is unreachable: HTTP 503: restarting"):
        c.request("POST", "/internal/x")
    assert len(calls) >= 2 and isinstance(ApiUnreachable("x"), e.StoreUnavailable)  # transient for Celery


def test_connect_takes_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    def auth(api_key: str | None = None) -> str | None:
        with Client.connect("http://api.test/", api_key) as c:
            assert isinstance(c.http, httpx.Client)
            return c.http.headers.get("authorization")

    monkeypatch.setenv("SIGNIFIER_API_KEY", "sk-env")
    assert auth() == "Bearer sk-env" and auth("sk-arg") == "Bearer sk-arg"
    monkeypatch.delenv("SIGNIFIER_API_KEY")
    assert auth() is None
