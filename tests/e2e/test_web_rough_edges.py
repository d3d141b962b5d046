"""UI rough edges a new user hit (issue 15, item 6): bias-probe rows, hover popovers, path frame numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _hits(api: Any, expression: str, limit: int, **payload: str) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"expression": expression, "limit": limit}
    if payload:
        body["filter"] = payload
    r = api.post("/v1/collections/shapes/search", json=body)
    assert r.status_code == 200, r.text
    hits: list[dict[str, Any]] = r.json()["hits"]
    return hits


def test_bias_rows_show_the_image_and_its_alt_text(page_factory: Any, api: Any, shots: Path) -> None:
    picked = _hits(api, '"a shape"', 1, color="red") + _hits(api, '"a shape"', 1, color="blue")
    page, _ = page_factory()
    page.goto(f"/?view=bias&collection=shapes&sel={picked[0]['id']}&sel={picked[1]['id']}")
    # The labels come from each point's payload; wait until both are in before computing.
    page.wait_for_function("() => document.querySelectorAll('.picked li').length === 2")
    page.get_by_label("Prompts, one per line").fill("a red shape\na blue shape")
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Compute the matrix").click()
    page.wait_for_selector("table.heatmap")
    rows = page.locator("table.heatmap tbody tr:not(.contrast-row) th")
    assert rows.count() == 2
    for i, hit in enumerate(picked):
        row = rows.nth(i)
        alt = str(hit["payload"]["alt_text"])
        assert row.inner_text().strip() == (alt if len(alt) <= 48 else alt[:47] + "…")
        assert "point " not in row.inner_text()
        img = row.locator("img.row-thumb")
        assert img.count() == 1 and hit["id"] in str(img.get_attribute("src"))
    settle(page)
    page.screenshot(path=str(shots / "bias-rows.png"))


def test_hover_popover_stays_on_its_own_card(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    q = quote('"a red circle"')
    page.goto(f"/?collection=shapes&q={q}")
    page.wait_for_selector(".grid .hit")
    cards = page.locator(".grid .hit")
    assert cards.count() >= 8
    first = cards.nth(0)
    first.hover()
    popover = first.locator(".hit-details")
    popover.wait_for(state="visible")
    card, pop = first.bounding_box(), popover.bounding_box()
    assert pop["y"] >= card["y"] - 1 and pop["y"] + pop["height"] <= card["y"] + card["height"] + 1
    assert pop["x"] >= card["x"] - 1 and pop["x"] + pop["width"] <= card["x"] + card["width"] + 1
    # No card of the next row lies under the popover.
    for i in range(1, cards.count()):
        other = cards.nth(i).bounding_box()
        if other["y"] > card["y"] + 1:
            assert other["y"] >= pop["y"] + pop["height"], "the popover reaches over the card below"
            break
    page.screenshot(path=str(shots / "hover-popover.png"))


def test_path_frame_numbers_are_labelled(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    q = quote('"a large star"')
    page.goto(f"/?view=path&collection=shapes&k=6&q={q}")
    page.wait_for_selector(".filmstrip .frame")
    labels = page.eval_on_selector_all(".filmstrip .frame-no", "els => els.map(e => e.getAttribute('aria-label'))")
    assert labels == [f"Frame {i} of 6" for i in range(1, 7)]
    legend = page.locator("[data-legend]").first.inner_text()
    assert "place along the path" in legend and "radians" in legend
    settle(page)
    page.screenshot(path=str(shots / "path-labels.png"))
