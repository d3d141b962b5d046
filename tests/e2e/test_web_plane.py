"""The opposition plane, the weight sweep, relative scores and three search rough edges (issue 15) in real
headless Chromium against the real app (shapes-clip, Qdrant Edge, 300 sample images).

Screenshots go to ``$SIGNIFIER_TEST_ARTIFACTS/ui`` (default ``artifacts/ui``), taken before the assertions
that could fail, so a failure keeps its picture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.e2e.conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLANE_URL = "/?view=plane&collection=shapes&xa=large&xb=small&ya=snow&yb=night"


def _payload(api: Any, pid: str) -> dict[str, Any]:
    out: dict[str, Any] = api.get(f"/v1/collections/shapes/points/{pid}").json()["payload"]
    return out


def test_plane_view_places_every_point_and_lists_the_corners(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    page.goto(PLANE_URL)
    page.wait_for_selector('canvas.scatter-canvas[data-points="300"]')
    page.wait_for_selector(".quadrant[data-quadrant='aa'] li")
    settle(page)
    page.screenshot(path=str(shots / "plane-laptop.png"), full_page=True)
    assert "All 300 items" in (page.text_content(".plane-info") or "")
    # The quadrant lists are laid out as on the plane and hold what their corner says.
    order = page.eval_on_selector_all(".quadrant", "els => els.map(e => e.dataset.quadrant)")
    assert order == ["ba", "aa", "bb", "ab"]
    corner = page.eval_on_selector_all(".quadrant[data-quadrant='aa'] li", "els => els.map(e => e.dataset.id)")
    payloads = [_payload(api, i) for i in corner]
    assert len(payloads) == 6
    assert sum(p["size"] == "large" and p["background"] == "snow" for p in payloads) >= 5, payloads
    assert "large × snow" in (page.text_content(".quadrant[data-quadrant='aa'] h3") or "")
    # Zoomed in on a corner, the dots become thumbnails.
    canvas = page.locator("canvas.scatter-canvas")
    box = canvas.bounding_box()
    assert box is not None
    for _ in range(6):
        page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.15)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(50)
    page.wait_for_function("() => Number(document.querySelector('canvas.scatter-canvas').dataset.thumbs) > 0")
    page.screenshot(path=str(shots / "plane-zoomed.png"))


def test_plane_box_selection_becomes_a_search_term(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    page.goto(PLANE_URL)
    page.wait_for_selector('canvas.scatter-canvas[data-points="300"]')
    page.check("text=Box select (or Shift-drag)")
    canvas = page.locator("canvas.scatter-canvas")
    box = canvas.bounding_box()
    assert box is not None
    # The right half, upper third: large shapes on snow.
    x0, y0 = box["x"] + box["width"] * 0.6, box["y"] + 5
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] * 0.3, steps=8)
    page.mouse.up()
    sel = page.wait_for_selector("[data-selected]")
    n = int(sel.get_attribute("data-selected") or 0)
    settle(page)
    page.screenshot(path=str(shots / "plane-selection.png"), full_page=True)
    assert 0 < n < 300
    # The selection is exactly the points of the plane inside the box, recomputed from the API's coordinates.
    view = json.loads(canvas.get_attribute("data-view") or "{}")
    plane = api.post(
        "/v1/collections/shapes/plane",
        json={"x": {"a": '"large"', "b": '"small"'}, "y": {"a": '"snow"', "b": '"night"'}},
    ).json()

    def data(px: float, py: float) -> tuple[float, float]:
        return (
            view["x0"] + (px - box["x"]) / box["width"] * (view["x1"] - view["x0"]),
            view["y0"] + (box["height"] - (py - box["y"])) / box["height"] * (view["y1"] - view["y0"]),
        )

    (ax, ay), (bx, by) = data(x0, y0), data(box["x"] + box["width"] - 5, box["y"] + box["height"] * 0.3)
    inside = [p for p in plane["points"] if ax <= p["x"] <= bx and by <= p["y"] <= ay]
    assert abs(len(inside) - n) <= 2, (len(inside), n)  # a point on the box's edge may fall either side
    term = page.text_content("code[data-term]") or ""
    assert term.startswith("(image(") and term.count("image(") == min(8, n)
    page.click("text=Search with the selection")
    page.wait_for_selector(".view-search .grid .hit")
    q = parse_qs(urlparse(page.url).query)
    assert q["q"] == [term] and "view" not in q
    hits = page.eval_on_selector_all(".view-search .grid .hit", "els => els.map(e => JSON.parse(e.dataset.payload))")
    assert sum(h["background"] == "snow" for h in hits[:12]) >= 9, hits[:12]


def test_sweep_view_lays_weights_side_by_side_and_marks_entries(page_factory: Any, api: Any, shots: Path) -> None:
    page, _ = page_factory()
    weights = [0, -0.3, -0.6, -1]
    page.goto(
        f"/?view=sweep&collection=shapes&q={quote(chr(34) + 'a red shape' + chr(34))}"
        f"&term={quote(chr(34) + 'circle' + chr(34))}&weights={quote(', '.join(map(str, weights)))}"
    )
    page.wait_for_selector(".sweep-col .sweep-hits li")
    settle(page)
    page.screenshot(path=str(shots / "sweep-laptop.png"), full_page=True)
    cols = page.eval_on_selector_all(
        ".sweep-col",
        "els => els.map(c => ({w: Number(c.dataset.weight), ids: [...c.querySelectorAll('li')].map(l => l.dataset.id),"
        " marks: [...c.querySelectorAll('li')].map(l => l.dataset.change)}))",
    )
    want = api.post(
        "/v1/collections/shapes/sweep",
        json={"expression": '"a red shape"', "term": '"circle"', "weights": weights, "limit": 8},
    ).json()
    assert [c["w"] for c in cols] == weights
    assert [c["ids"] for c in cols] == [[h["id"] for h in s["hits"]] for s in want["steps"]]
    for i, c in enumerate(cols):
        prev = set(cols[i - 1]["ids"]) if i else None
        nxt = set(cols[i + 1]["ids"]) if i + 1 < len(cols) else None
        for pid, mark in zip(c["ids"], c["marks"], strict=True):
            if prev is not None and pid not in prev:
                assert mark == "entered"
            elif nxt is not None and pid not in nxt:
                assert mark == "leaving"
            else:
                assert mark == "stayed"
    assert any(m == "entered" for c in cols for m in c["marks"]), "the sweep should change the results"


def test_search_center_control_sends_center(page_factory: Any) -> None:
    page, _ = page_factory()
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: r.url.endswith("/v1/collections/shapes/search") and bodies.append(json.loads(r.post_data or "{}")),
    )
    page.goto("/?collection=shapes&q=" + quote('"a blue star"'))
    page.wait_for_selector(".view-search .grid .hit")
    assert bodies and "center" not in bodies[-1]
    page.check("input[name=center]")
    page.wait_for_function("() => document.querySelector('.query-info')?.textContent.includes('centred')")
    assert bodies[-1]["center"] is True
    assert parse_qs(urlparse(page.url).query)["center"] == ["1"]
    page.uncheck("input[name=center]")
    page.wait_for_function("() => !document.querySelector('.query-info')?.textContent.includes('centred')")
    assert "center" not in bodies[-1]


def test_parse_error_uses_one_position_convention(page_factory: Any, api: Any) -> None:
    bad = '("a red circle" + "blue"'
    detail = api.post("/v1/collections/shapes/search", json={"expression": bad}).json()["detail"]
    page, _ = page_factory()
    page.goto("/?collection=shapes")
    page.fill("#expr", bad)
    page.press("#expr", "Enter")
    text = page.wait_for_selector(".expr-error").text_content() or ""
    # Before: "missing ')' to close '(' at position 0 at character 25" (0-based and 1-based at once).
    assert "position" not in text, text
    assert "at character 1" in text and f"at character {detail['position'] + 1}" in text, text


def test_a_failed_query_clears_the_previous_results(page_factory: Any, shots: Path) -> None:
    page, _ = page_factory()
    page.goto("/?collection=shapes&q=" + quote('"a red circle"'))
    page.wait_for_selector(".view-search .grid .hit")
    page.fill("#expr", '"a red circle" + ')
    page.press("#expr", "Enter")
    page.wait_for_selector(".expr-error")
    page.screenshot(path=str(shots / "search-failed-query.png"))
    assert page.locator(".view-search .grid .hit").count() == 0
    assert page.locator(".query-info").count() == 0
    # A server error that is not a parse error clears them too.
    page.fill("#expr", "image(00000000-0000-0000-0000-000000000000)")
    page.press("#expr", "Enter")
    page.wait_for_selector(".error-note[data-status='404']")
    assert page.locator(".view-search .grid .hit").count() == 0


def test_relative_scores_are_shown_on_the_cards(page_factory: Any, api: Any) -> None:
    page, _ = page_factory()
    page.goto("/?collection=shapes&q=" + quote('"a green shape"') + "&rel=1")
    page.wait_for_selector(".view-search .grid .hit .relative")
    zs = page.eval_on_selector_all(".view-search .grid .hit .relative", "els => els.map(e => Number(e.dataset.z))")
    want = api.post(
        "/v1/collections/shapes/search", json={"expression": '"a green shape"', "limit": 24, "relative": True}
    ).json()
    assert zs == pytest.approx([h["z"] for h in want["hits"]], abs=1e-6)
    assert "seeded sample of 300" in page.inner_text(".relative-info")
    cut_at = round(want["hits"][11]["z"] + 0.005, 2)  # keeps the top 11 or 12, hides the rest
    page.fill("input[name=min_z]", str(cut_at))
    page.press("input[name=min_z]", "Tab")
    page.wait_for_function("() => document.querySelector('.relative-info')?.textContent.includes('below min z')")
    zs = page.eval_on_selector_all(".view-search .grid .hit .relative", "els => els.map(e => Number(e.dataset.z))")
    assert 10 <= len(zs) <= 12 and min(zs) >= cut_at
