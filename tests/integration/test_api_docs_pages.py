"""/docs and /redoc load their scripts and styles from this server (static/vendor), never from a CDN."""

from __future__ import annotations

import re
from typing import Any


def test_docs_pages_reference_no_external_url(api: Any) -> None:
    for path in ("/docs", "/redoc"):
        r = api.get(path)
        assert r.status_code == 200, path
        assert re.findall(r"https?://[^\s\"'<>]+", r.text) == [], path
        for asset in re.findall(r"/static/vendor/[\w.-]+", r.text):
            assert api.get(asset).status_code == 200, asset
