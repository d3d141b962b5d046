"""Server mode in the browser: a 401 brings up the key prompt; the key goes in the Authorization header
and is kept in sessionStorage only (never localStorage, never the URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.e2e.conftest import LAPTOP, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def keyed_url(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Iterator[str]:
    from services.api.app import create_app

    app = create_app(make_settings(tmp_path_factory.mktemp("keyed"), auth="required"), encoder=encoder)
    with serve(app) as url:
        yield url


def test_key_prompt_uses_session_storage_only(browser: Any, keyed_url: str, shots: Path) -> None:
    ctx = browser.new_context(viewport=LAPTOP, base_url=keyed_url)
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        auth_headers: list[str] = []
        page.on("request", lambda r: r.url.startswith(keyed_url + "/v1/")
                and auth_headers.append(r.headers.get("authorization", "")))
        page.goto("/")
        dialog = page.get_by_role("dialog", name="API key needed")
        dialog.wait_for()
        page.screenshot(path=str(shots / "key-prompt.png"))
        page.get_by_role("textbox", name="API key").fill("sk-test-not-a-real-key")
        page.get_by_role("button", name="Use key").click()
        # The retried request carries the key; this server knows no such key, so it says 401 once more.
        page.wait_for_selector(".error-note[data-status='401']")
        assert "Bearer sk-test-not-a-real-key" in auth_headers
        assert auth_headers[0] == ""  # the first request went without a key
        storage = page.evaluate("() => [sessionStorage.getItem('signifier.apiKey'), localStorage.length]")
        assert storage == ["sk-test-not-a-real-key", 0]
        assert "sk-test" not in page.url
        page.get_by_role("button", name="Forget API key").click()
        assert page.evaluate("() => sessionStorage.getItem('signifier.apiKey')") is None
    finally:
        ctx.close()
