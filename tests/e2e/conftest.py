"""Browser fixtures: the real app served over HTTP by uvicorn on 127.0.0.1, and Debian's headless Chromium
driven by Playwright (never a downloaded browser: ``playwright install`` is not used)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import artifacts_dir

CHROMIUM = os.environ.get("SIGNIFIER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, lifespan: str = "on") -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL, then stops it."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-e2e-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_url(api: Any) -> Iterator[str]:
    """The ``api`` fixture's app (collection ``shapes`` ingested) served by uvicorn on 127.0.0.1.

    The TestClient already ran the lifespan (the runtime is on ``app.state``), so uvicorn serves the same
    app with ``lifespan="off"``: one runtime, one store, no second ingestion.
    """
    with serve(api.app, lifespan="off") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (Python) is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Recorder:
    """Every request a page makes, so a test can prove that none left this machine."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.urls: list[str] = []
        self.console_errors: list[str] = []

    def foreign(self) -> list[str]:
        return [u for u in self.urls if not (u.startswith(self.base) or u.startswith(("data:", "blob:")))]


@pytest.fixture
def page_factory(browser: Any, live_url: str) -> Iterator[Any]:
    """``make(viewport)`` → (page, recorder). Each page gets a fresh context (fresh sessionStorage)."""
    contexts: list[Any] = []
    recorders: list[Recorder] = []

    def make(viewport: dict[str, int] = LAPTOP) -> tuple[Any, Recorder]:
        ctx = browser.new_context(viewport=viewport, base_url=live_url, reduced_motion="reduce")
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        rec = Recorder(live_url)
        recorders.append(rec)
        page = ctx.new_page()
        page.on("request", lambda r: rec.urls.append(r.url))
        # The browser logs every 4xx answer ("Failed to load resource"); the UI expects some (a parse
        # error is a 422), so only script errors count.
        page.on(
            "console",
            lambda m: m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and rec.console_errors.append(m.text),
        )
        page.on("pageerror", lambda e: rec.console_errors.append(str(e)))
        return page, rec

    yield make
    for ctx in contexts:
        ctx.close()
    for rec in recorders:
        assert rec.foreign() == [], f"the page made requests off this server: {rec.foreign()}"
        assert rec.console_errors == [], f"script errors in the page: {rec.console_errors}"


def settle(page: Any) -> None:
    """Wait until the images in view have loaded (lazy ones below the fold never start)."""
    page.wait_for_function(
        "() => [...document.images].filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete)"
    )


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go (CI keeps them as artifacts): $SIGNIFIER_TEST_ARTIFACTS/ui, default artifacts/ui."""
    d = artifacts_dir() / "ui"
    d.mkdir(parents=True, exist_ok=True)
    return d
