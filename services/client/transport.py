"""The shape of HTTP client the API client drives: ``httpx.Client``, or Starlette's ``TestClient``.

Starlette's ``TestClient`` subclasses ``httpx2.Client`` when that package is installed (it is here, as
Starlette 1.x prefers it), not ``httpx.Client``; both have this shape, so the API client asks for the
shape, not a class, and local (in-process) and remote calls share its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self, **kwargs: Any) -> Any: ...


class HttpClient(Protocol):
    @property
    def base_url(self) -> object: ...

    def request(self, method: str, url: str, *, json: Any = None) -> Response: ...

    def close(self) -> None: ...
