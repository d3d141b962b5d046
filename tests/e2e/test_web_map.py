"""The map and duplicates views in the browser, against the real app's stored results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait(api: Any, job_id: str) -> None:
    deadline = time.monotonic() + 300
    while api.get(f"/v1/jobs/{job_id}").json()["state"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_map_view_draws_highlights_and_selects(page_factory: Any, api: Any, shots: Path) -> None:
    r = api.post("/v1/collections/shapes/map", json={"method": "pca", "clusters": 5})
    assert r.status_code == 202, r.text
    _wait(api, r.json()["job_id"])
    m = api.get("/v1/collections/shapes/map").json()
    page, _ = page_factory()
    page.goto("/?view=map&collection=shapes")
    canvas = page.wait_for_selector("canvas.map-canvas")
    assert int(canvas.get_attribute("data-points")) == len(m["ids"])
    labels = page.eval_on_selector_all(".map-clusters button", "els => els.map(e => e.dataset.cluster)")
    assert sorted(int(c) for c in labels) == sorted(c["id"] for c in m["clusters"])

    # Highlight: every hit of the expression is on the map and counted.
    page.get_by_label("Highlight the hits of").fill('"a red circle"')
    page.get_by_role("button", name="Highlight").click()
    page.wait_for_selector("[data-hits]")
    hits = api.post("/v1/collections/shapes/search", json={"expression": '"a red circle"', "limit": 100}).json()
    assert int(canvas.get_attribute("data-highlighted")) == len({h["id"] for h in hits["hits"]} & set(m["ids"]))

    # A dragged box selects exactly the points whose map coordinates fall inside it.
    box = canvas.bounding_box()
    pad = float(canvas.get_attribute("data-pad"))
    w, h = box["width"], box["height"]
    x0, x1, y0, y1 = 0.2, 0.6, 0.3, 0.8  # in map coordinates ([0, 1], y up)
    page.mouse.move(box["x"] + pad + x0 * (w - 2 * pad), box["y"] + pad + (1 - y1) * (h - 2 * pad))
    page.mouse.down()
    page.mouse.move(box["x"] + pad + x1 * (w - 2 * pad), box["y"] + pad + (1 - y0) * (h - 2 * pad), steps=5)
    page.mouse.up()
    expected = [
        i
        for i, x, y in zip(m["ids"], m["x"], m["y"], strict=True)
        if x0 - 0.01 <= x <= x1 + 0.01 and y0 - 0.01 <= y <= y1 + 0.01
    ]
    inner = [
        i
        for i, x, y in zip(m["ids"], m["x"], m["y"], strict=True)
        if x0 + 0.01 <= x <= x1 - 0.01 and y0 + 0.01 <= y <= y1 - 0.01
    ]
    count = int(page.wait_for_selector("[data-selected]").get_attribute("data-selected"))
    assert len(inner) <= count <= len(expected) and count > 0  # sub-pixel rounding at the box's edges only
    settle(page)
    page.screenshot(path=str(shots / "map.png"), full_page=True)

    # A cluster's button selects its members; the selection becomes a search term.
    c = m["clusters"][0]
    page.locator(f'.map-clusters button[data-cluster="{c["id"]}"]').click()
    assert int(page.get_attribute("[data-selected]", "data-selected")) == c["size"]
    page.get_by_role("button", name="Search with the selection as a term").click()
    page.wait_for_selector(".view-search")
    q = parse_qs(urlparse(page.url).query)["q"][0]
    members = {i for i, k in zip(m["ids"], m["cluster"], strict=True) if k == c["id"]}
    # The highlighted expression is kept; the selection is added to it as one parenthesised term.
    assert q.startswith('"a red circle" + (') and q.endswith(")")
    terms = [t.strip()[len("image(") : -1] for t in q[len('"a red circle" + (') : -1].split(" + ")]
    assert 0 < len(terms) <= 16 and set(terms) <= members


def test_map_view_offers_to_compute_a_missing_map(page_factory: Any, api: Any, shots: Path) -> None:
    assert api.post("/v1/collections", json={"name": "unmapped"}).status_code == 201
    page, _ = page_factory()
    page.goto("/?view=map&collection=unmapped")
    page.wait_for_selector("text=No map of this collection yet")
    assert page.get_by_role("button", name="Compute the map").is_enabled()


def test_duplicates_view_finds_and_shows_groups(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    page.goto("/?view=duplicates&collection=shapes")
    page.get_by_label("Threshold").fill("0.97")
    page.get_by_role("button", name="Find duplicates").click()
    page.wait_for_selector(".dup-group", timeout=120_000)
    got = api.get("/v1/collections/shapes/duplicates", params={"limit": 1000}).json()
    assert got["threshold"] == 0.97
    shown = page.eval_on_selector_all(".dup-group", "els => els.map(e => e.dataset.ids.split(' '))")
    assert shown == [g["ids"] for g in got["groups"]]
    assert int(page.get_attribute("[data-groups]", "data-groups")) == got["total_groups"]
    settle(page)
    page.screenshot(path=str(shots / "duplicates.png"))  # lazy thumbnails below the fold never load
