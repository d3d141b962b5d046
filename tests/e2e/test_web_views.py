"""Bias probe, classify and path views in the browser (the UI ships with its API: every route is there)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def point_id(api: Any, **payload: str) -> str:
    r = api.post("/v1/collections/shapes/search", json={"expression": '"a shape"', "limit": 1, "filter": payload})
    assert r.status_code == 200, r.text
    return str(r.json()["hits"][0]["id"])


def test_classify_view(page_factory: Any, api: Any, shots: Path) -> None:
    red = point_id(api, color="red", size="large")
    blue = point_id(api, color="blue", size="large")
    page, _ = page_factory()
    page.goto(f"/?view=classify&collection=shapes&sel={red}&sel={blue}")
    page.get_by_label("Labels (comma or line separated)").fill("red, green, blue")
    page.get_by_role("button", name="Classify", exact=True).click()
    page.wait_for_selector(".classified-item")
    tops = page.eval_on_selector_all(".classified-item", "els => els.map(e => e.dataset.topLabel)")
    assert tops == ["red", "blue"]
    probs = page.eval_on_selector_all(".classified-item >> nth=0 >> tr", "els => els.map(e => Number(e.dataset.p))")
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    settle(page)
    page.screenshot(path=str(shots / "classify.png"))


def test_bias_view_heatmap_contrast_and_csv(page_factory: Any, api: Any, shots: Path) -> None:
    red = point_id(api, color="red", shape="circle")
    blue = point_id(api, color="blue", shape="circle")
    page, _ = page_factory()
    page.goto(f"/?view=bias&collection=shapes&sel={red}&sel={blue}")
    page.get_by_label("Prompts, one per line").fill("a red shape\na blue shape\na circle")
    page.get_by_role("button", name="Compute the matrix").click()
    page.wait_for_selector("table.heatmap")
    cell = "table.heatmap tbody tr:not(.contrast-row) td"
    values = page.eval_on_selector_all(cell, "els => els.map(e => Number(e.dataset.value))")
    assert len(values) == 6
    # The red circle is nearer "a red shape" than the blue circle is, and the other way round.
    assert values[0] > values[3] and values[4] > values[1]
    contrast = page.eval_on_selector_all(".contrast-row td", "els => els.map(e => Number(e.dataset.value))")
    assert contrast == pytest.approx([values[j] - values[3 + j] for j in range(3)], abs=1e-6)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["", "a red shape", "a blue shape", "a circle"]
    assert len(rows) == 4  # two images and the contrast row
    assert [float(v) for v in rows[1][1:]] == pytest.approx(values[:3], abs=1e-5)
    settle(page)
    page.screenshot(path=str(shots / "bias.png"), full_page=True)


def test_path_view_film_strip(page_factory: Any, api: Any, shots: Path) -> None:
    expression = '"a large star"'
    page, _ = page_factory()
    page.goto(f"/?view=path&collection=shapes&k=8&q={quote(expression)}")
    ordered = '.filmstrip[aria-label="Results in path order"] .frame'
    page.wait_for_selector(ordered)
    ids = page.eval_on_selector_all(ordered, "els => els.map(e => e.dataset.id)")
    top = api.post("/v1/collections/shapes/search", json={"expression": expression, "limit": 8}).json()["hits"]
    assert sorted(ids) == sorted(h["id"] for h in top)  # the same images, in path order
    # A walk from a small red circle to a large blue square starts red and ends blue.
    page.get_by_label("From").fill("a small red circle")
    page.get_by_label("To", exact=True).fill("a large blue square")
    page.get_by_role("button", name="Walk").click()
    page.wait_for_selector('.filmstrip[aria-label="Walk from A to B"] .frame')
    walk = [json.loads(p) for p in page.eval_on_selector_all(
        '.filmstrip[aria-label="Walk from A to B"] .frame', "els => els.map(e => e.dataset.payload)"
    )]
    assert len(walk) >= 2
    assert walk[0]["color"] == "red" and walk[-1]["color"] == "blue", walk
    settle(page)
    page.screenshot(path=str(shots / "path.png"))
