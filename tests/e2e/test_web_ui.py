"""The web UI in real headless Chromium against the real app (shapes-clip, Qdrant Edge, 300 sample images).

Assertions read what the page renders (``data-*`` attributes on result cards carry the point's payload),
so each test fails if the UI, the API or the model's semantics break. Screenshots go to
``$SIGNIFIER_TEST_ARTIFACTS/ui`` (default ``artifacts/ui``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.e2e.conftest import LAPTOP, PHONE, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RED_TO_BLUE = '"a red circle" - "red" + "blue"'


def payloads(page: Any, selector: str = ".view-search .grid .hit", n: int = 12) -> list[dict[str, Any]]:
    raw = page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.payload)")
    return [json.loads(p) for p in raw[:n]]


def share(items: list[dict[str, Any]], **attrs: str) -> float:
    return sum(all(p.get(k) == v for k, v in attrs.items()) for p in items) / max(len(items), 1)


def first_id(page: Any) -> str:
    return str(page.get_attribute(".view-search .grid .hit >> nth=0", "data-id"))


def wait_first_changes(page: Any, before: str) -> None:
    page.wait_for_function(
        "id => { const h = document.querySelector('.view-search .grid .hit'); return h && h.dataset.id !== id }",
        arg=before,
    )


def search(page: Any, expression: str) -> None:
    page.goto("/?collection=shapes")
    page.fill("#expr", expression)
    page.press("#expr", "Enter")
    page.wait_for_selector(".view-search .grid .hit")


def test_red_circle_minus_red_plus_blue_shows_blue_circles(page_factory: Any, shots: Path) -> None:
    page, _ = page_factory()
    search(page, RED_TO_BLUE)
    first = page.locator(".view-search .grid .hit").first
    first.hover()
    settle(page)
    page.screenshot(path=str(shots / "search-laptop.png"))  # before the assertions: a failure keeps its picture
    top = payloads(page)
    assert share(top, color="blue", shape="circle") >= 0.75, top
    # The alt-text is rendered for each result (hover/focus panel and the image's alt).
    assert "blue" in (first.get_attribute("data-alt") or "")
    assert "blue" in (first.locator("img").get_attribute("alt") or "")
    # The parsed expression is shown as chips with the server's weights.
    chips = page.eval_on_selector_all(".chip", "els => els.map(e => [e.dataset.term, Number(e.dataset.weight)])")
    assert chips == [['"a red circle"', 1.0], ['"red"', -1.0], ['"blue"', 1.0]]
    # Hover shows the per-term contributions, which sum to the score.
    values = page.eval_on_selector_all(
        ".view-search .grid .hit >> nth=0 >> .contrib tr", "els => els.map(e => Number(e.dataset.value))"
    )
    assert len(values) == 3
    assert sum(values) == pytest.approx(float(first.get_attribute("data-score") or "nan"), abs=1e-4)
    assert page.locator(".view-search .grid .hit >> nth=0 >> .hit-details").is_visible()
    # The URL holds the query.
    assert parse_qs(urlparse(page.url).query) == {"collection": ["shapes"], "q": [RED_TO_BLUE]}


def test_url_reproduces_the_search(page_factory: Any) -> None:
    page, _ = page_factory()
    search(page, RED_TO_BLUE)
    ids = page.eval_on_selector_all(".view-search .grid .hit", "els => els.map(e => e.dataset.id)")
    other, _ = page_factory()
    other.goto(f"/?collection=shapes&q={quote(RED_TO_BLUE)}")
    other.wait_for_selector(".view-search .grid .hit")
    assert other.input_value("#expr") == RED_TO_BLUE
    assert other.eval_on_selector_all(".view-search .grid .hit", "els => els.map(e => e.dataset.id)") == ids


def test_moving_a_slider_requeries_and_changes_the_first_result(page_factory: Any, shots: Path) -> None:
    page, _ = page_factory()
    search(page, RED_TO_BLUE)
    before = first_id(page)
    # Keyboard only: focus the "blue" weight slider and press Home (its minimum, −1).
    slider = page.get_by_label('Weight of blue', exact=True)
    slider.focus()
    page.keyboard.press("Home")
    wait_first_changes(page, before)
    assert page.input_value("#expr") == '"a red circle" - "red" - "blue"'
    assert parse_qs(urlparse(page.url).query)["q"] == ['"a red circle" - "red" - "blue"']
    top = payloads(page)
    assert share(top, color="blue") == 0.0, top
    # The grid shows what entered and what left.
    assert page.locator('.view-search .grid .hit[data-change="entered"]').count() > 0
    assert page.locator('.left [data-change="left"]').count() > 0
    settle(page)
    page.screenshot(path=str(shots / "search-slider.png"))


def test_less_like_this_and_typed_weights(page_factory: Any) -> None:
    page, _ = page_factory()
    search(page, '"a green star"')
    first = first_id(page)
    page.get_by_role("button", name=re.compile("^Less like")).first.click()
    page.wait_for_selector('.chip[data-kind="point"]')
    assert page.input_value("#expr") == f'"a green star" - 0.5*image({first})'
    # The image chip's typed weight: −1 takes the whole image away, so it cannot stay first.
    num = page.locator('.chip[data-kind="point"] input[type="number"]')
    num.fill("-1")
    num.press("Enter")
    page.wait_for_function(
        "expr => document.querySelector('#expr').value === expr", arg=f'"a green star" - image({first})'
    )
    wait_first_changes(page, first)
    ids = page.eval_on_selector_all(".view-search .grid .hit", "els => els.map(e => e.dataset.id)")
    assert first not in ids  # x·q = (x·t − 1)/‖t − x‖ ≤ 0: the image itself drops out of the results
    # A typed weight beyond the slider's range is taken as typed.
    num = page.get_by_label("Weight of a green star, typed")
    num.fill("2")
    num.press("Enter")
    page.wait_for_function("() => document.querySelector('#expr').value.startsWith('2*\"a green star\"')")
    assert page.get_attribute('.chip[data-term=\'"a green star"\']', "data-weight") == "2"


def test_dropping_an_image_adds_an_upload_term(page_factory: Any, shapes_samples: Path) -> None:
    page, _ = page_factory()
    page.goto("/?collection=shapes")
    page.wait_for_selector("#expr")
    sample = shapes_samples / "shape_00000.png"
    # A real drop event with a File in its DataTransfer, as a desktop drag would make.
    data = list(sample.read_bytes())
    page.evaluate(
        """(bytes) => {
          const file = new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'});
          const dt = new DataTransfer();
          dt.items.add(file);
          const target = document.querySelector('main');
          target.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
          target.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    page.wait_for_selector('.chip[data-kind="upload"]')
    assert page.input_value("#expr") == "upload(0)"
    page.wait_for_selector(".view-search .grid .hit")
    # The dropped file is in the collection, so it is its own nearest neighbour.
    assert str(payloads(page, n=1)[0]["source"]).endswith("shape_00000.png")


def test_parse_error_is_shown_inline_at_the_servers_position(page_factory: Any, api: Any, shots: Path) -> None:
    bad = '"a red circle" - * "red"'
    expected = api.post("/v1/collections/shapes/search", json={"expression": bad}).json()["detail"]
    assert isinstance(expected["position"], int)
    page, _ = page_factory()
    page.goto("/?collection=shapes")
    page.fill("#expr", bad)
    page.press("#expr", "Enter")
    err = page.wait_for_selector(".expr-error")
    assert err.get_attribute("data-position") == str(expected["position"])
    assert expected["message"] in (err.text_content() or "")
    mark = page.locator(".expr-backdrop mark.tok-error")
    assert mark.get_attribute("data-start") == str(expected["position"])
    assert mark.text_content() == bad[expected["position"]]
    assert page.get_attribute("#expr", "aria-invalid") == "true"
    settle(page)
    page.screenshot(path=str(shots / "parse-error.png"))
    # Fixing the text clears the mark; the search then runs.
    page.fill("#expr", '"a red circle" - "red"')
    assert page.locator(".expr-backdrop mark.tok-error").count() == 0
    page.press("#expr", "Enter")
    page.wait_for_selector(".view-search .grid .hit")
    assert page.locator(".expr-error").count() == 0


def test_opposition_large_small_puts_large_shapes_on_the_a_side(page_factory: Any, shots: Path) -> None:
    page, _ = page_factory()
    page.goto("/?collection=shapes")
    page.get_by_role("link", name="Opposition").click()
    page.get_by_label("Pole A").fill("large")
    page.get_by_label("Pole B").fill("small")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector(".pole-a .hit")
    a_side = payloads(page, ".pole-a .hit")
    b_side = payloads(page, ".pole-b .hit")
    assert share(a_side, size="large") >= 0.8, a_side
    assert share(b_side, size="small") >= 0.8, b_side
    assert parse_qs(urlparse(page.url).query) == {"view": ["opposition"], "collection": ["shapes"], "a": ["large"],
                                                  "b": ["small"]}
    # Deltas (sim_a − sim_b): descending on the A side.
    deltas = [float(x) for x in page.eval_on_selector_all(".pole-a .hit", "els => els.map(e => e.dataset.score)")]
    assert deltas == sorted(deltas, reverse=True)
    settle(page)
    page.screenshot(path=str(shots / "opposition-laptop.png"), full_page=True)


def test_phone_width_has_no_horizontal_scroll(page_factory: Any, shots: Path) -> None:
    page, _ = page_factory(PHONE)
    page.goto(f"/?collection=shapes&q={quote(RED_TO_BLUE)}")
    page.wait_for_selector(".view-search .grid .hit")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    # Two results per row on a phone.
    xs = page.eval_on_selector_all(
        ".view-search .grid .hit", "els => els.slice(0, 3).map(e => e.getBoundingClientRect().x)"
    )
    assert xs[0] == xs[2] != xs[1]
    settle(page)
    page.screenshot(path=str(shots / "search-phone.png"), full_page=False)
    page.goto("/?view=opposition&collection=shapes&a=large&b=small")
    page.wait_for_selector(".pole-a .hit")
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    settle(page)
    page.screenshot(path=str(shots / "opposition-phone.png"), full_page=False)


def test_keyboard_reaches_search_and_results(page_factory: Any) -> None:
    page, _ = page_factory(LAPTOP)
    page.goto(f"/?collection=shapes&q={quote(RED_TO_BLUE)}")
    page.wait_for_selector(".view-search .grid .hit")
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.id || document.activeElement.className"))
        if "hit" in seen[-1].split():
            break
    assert "expr" in seen and "collection" in seen
    assert "hit" in seen[-1].split(), seen
    # A focused result shows its details, as hover does.
    assert page.locator(".hit:focus .hit-details").is_visible()


@pytest.fixture
def jobs_collection(api: Any) -> Any:
    """The collection the jobs test creates through the UI, deleted afterwards (the ``api`` app is shared)."""
    yield "e2e-jobs"
    api.delete("/v1/collections/e2e-jobs")


def test_jobs_view_ingests_and_reports_failures(
    page_factory: Any, shapes_samples: Path, tmp_path: Path, jobs_collection: str
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("shape_00001.png", "shape_00002.png"):
        (folder / name).write_bytes((shapes_samples / name).read_bytes())
    broken = [f"broken{i:02d}.png" for i in range(12)]  # more than the 10 failures the job list carries
    for name in broken:
        (folder / name).write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    page, _ = page_factory()
    page.goto("/?view=jobs")
    page.get_by_label("New collection").fill(jobs_collection)
    page.get_by_role("button", name="Create").click()
    page.wait_for_function(
        "name => new URLSearchParams(location.search).get('collection') === name", arg=jobs_collection
    )
    page.get_by_label("Folder or manifest on the server").fill(str(folder))
    page.get_by_role("button", name="Ingest", exact=True).click()
    job = page.wait_for_selector('.job[data-state="done"], .job[data-state="failed"]', timeout=60_000)
    assert job.get_attribute("data-state") == "done"
    text = job.text_content() or ""
    assert "2 stored, 12 failed of 14" in text
    assert all(name in text for name in broken), text  # the job itself is fetched for the 2 the list left out
    assert float(page.get_attribute(".job progress", "value") or 0) == 14
    # The same folder again: nothing new is stored, and the view says so.
    page.get_by_role("button", name="Ingest", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('.job').length === 2")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.job')].every(j => j.dataset.state === 'done')", timeout=60_000
    )
    again = page.locator(".job").first.text_content() or ""
    assert "0 stored, 2 already stored, 12 failed of 14" in again, again
    # An upload (multipart) starts a second job; the list shows it on top when it is done.
    page.locator('label.file-button:has-text("Upload images") input[type=file]').set_input_files(
        str(shapes_samples / "shape_00003.png")
    )
    page.wait_for_function("() => document.querySelectorAll('.job').length === 3")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.job')].every(j => j.dataset.state === 'done')", timeout=60_000
    )
    texts = page.eval_on_selector_all(".job", "els => els.map(e => e.textContent)")
    assert any("upload" in t and "1 stored of 1" in t for t in texts), texts


@pytest.mark.parametrize(
    "expression",
    [
        RED_TO_BLUE,
        '0.3*"a large square" - 0.25*"night" + 2*"snow"',
        '-"red" + "a star" | "a photo of a star"',
        '0.5*("a" | "b") - axis("large", "small")',
        '"say \\"hi\\"" + 1e-3*"x\\\\y"',
        '"x"/3 + "y"*1e-7',
    ],
)
def test_chips_rebuild_the_servers_expression(page_factory: Any, api: Any, expression: str) -> None:
    """The browser's terms → text (used when a slider moves) parses back to exactly the server's terms."""
    q = api.post("/v1/collections/shapes/search", json={"expression": expression, "limit": 1}).json()["query"]
    page, _ = page_factory()
    page.goto("/static/index.html")
    rebuilt = page.evaluate("async (terms) => (await import('/static/js/expr.js')).buildExpression(terms)", q["terms"])
    again = api.post("/v1/collections/shapes/search", json={"expression": rebuilt, "limit": 1}).json()["query"]
    assert (again["expression"], again["terms"]) == (q["expression"], q["terms"])


def test_highlighting_tokens_cover_the_text(page_factory: Any) -> None:
    page, _ = page_factory()
    page.goto("/static/index.html")
    src = '0.5*"a \\"red\\" one" - image(3f2a9c1e-0000-4000-8000-000000000000) + @happy-face | axis("a", "b") $'
    tokens = page.evaluate("async (s) => (await import('/static/js/expr.js')).tokenize(s)", src)
    assert "".join(t["text"] for t in tokens) == src
    kinds = {t["text"]: t["type"] for t in tokens if t["type"] != "space"}
    assert kinds["0.5"] == "number"
    assert kinds['"a \\"red\\" one"'] == "string"
    assert kinds["image"] == kinds["axis"] == "function"
    assert kinds["@happy-face"] == "concept"
    assert kinds["$"] == "unknown"
    assert [t["start"] for t in tokens] == [sum(len(u["text"]) for u in tokens[:i]) for i in range(len(tokens))]


def test_payload_filter_is_applied_and_kept_in_the_url(page_factory: Any) -> None:
    page, _ = page_factory()
    search(page, '"a blue shape"')
    page.locator("details.filter summary").click()
    box = page.get_by_label("Payload filter (JSON)")
    box.fill("{not json")
    box.press("Enter")
    assert "Not a JSON object" in (page.text_content("details.filter .error-note") or "")
    box.fill('{"shape": "star"}')
    box.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('filter') === '{\"shape\":\"star\"}'")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.view-search .grid .hit')]"
        ".every(h => JSON.parse(h.dataset.payload).shape === 'star')"
    )
    top = payloads(page)
    assert top and share(top, shape="star") == 1.0
    assert share(top, color="blue") >= 0.5
    assert page.locator(".search-warnings").count() == 0  # a key the payloads have: nothing to warn about
    # A misspelt key matches no point; the server's warning says why there are no results.
    box.fill('{"shap": "star"}')
    box.press("Enter")
    warning = page.wait_for_selector(".view-search .search-warnings li")
    text = warning.text_content() or ""
    assert "filter key 'shap'" in text and "match no point" in text and "'shape'" in text, text


def test_save_a_concept_and_use_it_as_a_chip(page_factory: Any, api: Any) -> None:
    page, _ = page_factory()
    search(page, '"blue" - "red"')
    try:
        page.get_by_label("Save as concept @").fill("e2e-bluish")
        page.get_by_role("button", name="Save", exact=True).click()
        page.get_by_role("button", name="@e2e-bluish").click()
        page.wait_for_selector('.chip[data-kind="concept"][data-term="@e2e-bluish"]')
        assert page.input_value("#expr") == '"blue" - "red" + @e2e-bluish'
        page.wait_for_selector(".view-search .grid .hit")
    finally:
        api.delete("/v1/collections/shapes/concepts/e2e-bluish")
