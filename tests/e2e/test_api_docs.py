"""The API's own docs pages in the browser with every request off this machine aborted: Swagger UI at
/docs lists the operations and ReDoc at /redoc renders, both from the vendored copies."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _offline(page: Any, base: str) -> None:
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())


def test_swagger_ui_lists_the_operations_offline(page_factory: Any, live_url: str) -> None:
    page, _ = page_factory()
    _offline(page, live_url)
    page.goto("/docs")
    page.locator(".opblock", has_text="/v1/collections/{name}/search").first.wait_for(state="visible")


def test_redoc_renders_offline(page_factory: Any, live_url: str) -> None:
    page, _ = page_factory()
    _offline(page, live_url)
    page.goto("/redoc")
    page.get_by_text("/v1/collections/{name}/search").first.wait_for(state="attached")
