"""Videos in the browser (issue 14): the moments view (one row per film, its hits on a timeline, a mark
plays the film from its time), the path view's film strips, and the other views on a collection of
frames. Two shapes-world films are made here with PyAV (seconds) and ingested into the session app.

Screenshots go to ``$SIGNIFIER_TEST_ARTIFACTS/ui`` (default ``artifacts/ui``), taken before the
assertions that could fail, so a failure keeps its picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from services.shapes.film import Scene, two_scene_film, write_film
from services.shapes.world import ShapeSpec
from tests.e2e.conftest import PHONE, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

C = "videos"  # after "shapes" in the picker, so pages opened without ?collection= still show shapes


@pytest.fixture(scope="module")
def films(api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Collection ``videos``: a.mp4 (a red circle in the snow 0–4 s, then a blue star: in the forest 4–6 s, at
    night 6–8 s) and b.mp4 (a green square in the desert 0–3 s, a blue star at night 3–6 s). Frames that look
    alike to shapes-clip are dropped at ingest, so the star's second background gives it a second moment.
    Yields file name → video id."""
    root = tmp_path_factory.mktemp("e2e-films")
    circle, star = two_scene_film()
    night = Scene(ShapeSpec("blue", "star", "large", "night"), 2.0, "a blue star at night")
    write_film(root / "a.mp4", [circle, Scene(star.spec, 2.0, star.subtitle), night], fps=12, seed=1)
    other = [
        Scene(ShapeSpec("green", "square", "large", "desert"), 3.0, "a green square in the desert"),
        Scene(ShapeSpec("blue", "star", "large", "night"), 3.0, "a blue star at night"),
    ]
    write_film(root / "b.mp4", other, fps=12, seed=2)
    assert api.post("/v1/collections", json={"name": C}).status_code == 201
    r = api.post(f"/v1/collections/{C}/ingest", json={"path": str(root)})
    assert r.status_code == 202, r.text
    api.app.state.runtime.queue.wait(r.json()["job_id"], timeout=300)
    job = api.get(f"/v1/jobs/{r.json()['job_id']}").json()
    assert job["state"] == "done" and job["failed"] == 0, job
    hits = api.post(f"/v1/collections/{C}/search", json={"expression": '"a shape"', "limit": 1000}).json()["hits"]
    ids = {Path(h["payload"]["source"]).name: h["payload"]["video_id"] for h in hits}
    assert set(ids) == {"a.mp4", "b.mp4"}, ids
    yield ids
    assert api.delete(f"/v1/collections/{C}").status_code == 204


def _marks(page: Any, video_id: str) -> list[dict[str, Any]]:
    """Each mark of a film's timeline: its time, rank, and where its centre sits along the track (0–1)."""
    return list(
        page.eval_on_selector_all(
            f'.film[data-video-id="{video_id}"] .mark',
            """els => els.map(e => {
              const track = e.parentElement.getBoundingClientRect(), r = e.getBoundingClientRect();
              return {id: e.dataset.id, t: Number(e.dataset.t), rank: Number(e.dataset.rank),
                      at: (r.left + r.width / 2 - track.left) / track.width};
            })""",
        )
    )


def test_moments_view_rows_marks_and_playback(page_factory: Any, api: Any, films: dict[str, str], shots: Path) -> None:
    page, _ = page_factory()
    page.goto(f"/?view=moments&collection={C}&moments=3&q={quote(chr(34) + 'a blue star' + chr(34))}")
    page.wait_for_selector(".film .mark")
    settle(page)
    # Each player shows its best moment as its poster until it plays (posters are no document.images).
    page.evaluate(
        """() => Promise.all([...document.querySelectorAll('.film video')].map(v => new Promise((ok, fail) => {
          const img = new Image(); img.onload = ok; img.onerror = fail; img.src = v.poster; })))"""
    )
    assert page.eval_on_selector_all(".film video", "vs => vs.map(v => v.readyState)") == [0, 0]  # nothing loaded yet
    page.screenshot(path=str(shots / "moments.png"), full_page=True)

    rows = page.eval_on_selector_all(".film", "els => els.map(e => e.dataset.videoId)")
    assert sorted(rows) == sorted(films.values())  # one row per video
    body = {"expression": '"a blue star"', "limit": 10, "group_by": "video", "group_size": 3}
    groups = {g["video_id"]: g for g in api.post(f"/v1/collections/{C}/search", json=body).json()["groups"]}
    assert rows == list(groups)  # best video first, as the API ranks them

    a = films["a.mp4"]
    marks = _marks(page, a)
    want = groups[a]["moments"]
    assert [m["id"] for m in marks] == [h["id"] for h in want]
    assert [m["t"] for m in marks] == [h["payload"]["timestamp"] for h in want]
    # The star is on screen from 4 s to 8 s: its moments rank first, and they are in there, drawn in there.
    duration = groups[a]["duration"]
    assert abs(duration - 8.0) < 0.2
    inside = [4.0 <= m["t"] < 8.0 for m in marks]
    assert inside == [True, True, False], marks
    assert all(("blue star" in h["payload"]["alt_text"]) == i for h, i in zip(want, inside, strict=True))
    for m in marks:
        assert m["at"] == pytest.approx(m["t"] / duration, abs=0.02), m
    ticks = page.eval_on_selector_all(
        f'.film[data-video-id="{a}"] .tick', "els => els.map(e => [Number(e.dataset.t), e.textContent])"
    )
    assert ticks[0] == [0, "0:00"] and ticks[-1][0] == pytest.approx(duration)

    video = f'.film[data-video-id="{a}"] video'
    src = page.eval_on_selector(video, "v => v.currentSrc || v.src")
    assert src.endswith(f"/v1/collections/{C}/videos/{a}/stream")
    last = marks[-1]  # not the first moment, so the seek is seen to move the playhead
    page.click(f'.film[data-video-id="{a}"] .mark[data-rank="{last["rank"]}"]')
    page.wait_for_function(
        "([sel, t]) => { const v = document.querySelector(sel);"
        " return v.readyState >= 1 && !v.seeking && Math.abs(v.currentTime - t) < 0.75; }",
        arg=[video, last["t"]],
    )
    assert page.eval_on_selector(video, "v => v.controls")  # the browser's controls come with playing
    playhead = page.eval_on_selector(f'.film[data-video-id="{a}"] .playhead', "e => Number(e.dataset.t)")
    assert abs(playhead - last["t"]) < 0.75
    # A moment's thumbnail plays it too.
    first = marks[0]
    page.click(f'.film[data-video-id="{a}"] .moment-thumbs li[data-id="{first["id"]}"] button')
    page.wait_for_function(
        "([sel, t]) => { const v = document.querySelector(sel);"
        " return !v.seeking && Math.abs(v.currentTime - t) < 0.75; }",
        arg=[video, first["t"]],
    )
    page.eval_on_selector(video, "v => v.pause()")


def test_path_view_lays_a_films_frames_out_as_a_strip(
    page_factory: Any, api: Any, films: dict[str, str], shots: Path
) -> None:
    a = films["a.mp4"]
    expression = '"a shape"'
    page, _ = page_factory()
    page.goto(f"/?view=path&collection={C}&k=12&video={a}&q={quote(expression)}")
    strip = f'.film-strip[data-video-id="{a}"] .filmstrip .frame'
    page.wait_for_selector(strip)
    settle(page)
    page.screenshot(path=str(shots / "film-strip.png"), full_page=True)
    body = {"expression": expression, "limit": 12, "filter": {"video_id": a}}
    order = api.post(f"/v1/collections/{C}/path", json=body).json()["order"]
    assert page.eval_on_selector_all(".film-strip", "els => els.length") == 1
    frames = page.eval_on_selector_all(
        strip,
        "els => els.map(e => [e.dataset.id, Number(e.dataset.timestamp), e.querySelector('.frame-step').textContent])",
    )
    assert [f[0] for f in frames] == [p["id"] for p in order]  # path order
    assert [f[1] for f in frames] == [p["payload"]["timestamp"] for p in order]
    for _, t, label in frames:  # each frame says when it is: m:ss.d
        assert label == f"0:{int(t):02d}.{int(t * 10) % 10}", (t, label)

    # Without ?video= the path runs through both films: one strip each, the places along the path shared out.
    page.get_by_role("button", name="All videos").click()
    page.wait_for_selector(".film-strip >> nth=1")
    places = page.eval_on_selector_all(
        ".film-strip", "els => els.map(s => [...s.querySelectorAll('.frame')].map(f => Number(f.dataset.place)))"
    )
    assert len(places) == 2 and all(p == sorted(p) for p in places)
    everything = api.post(f"/v1/collections/{C}/path", json={"expression": expression, "limit": 12}).json()["order"]
    assert sorted(p for strip_places in places for p in strip_places) == list(range(1, len(everything) + 1))


def test_other_views_work_on_a_collection_of_frames(page_factory: Any, films: dict[str, str], shots: Path) -> None:
    # page_factory fails the test on any script error in the page.
    page, _ = page_factory()
    page.goto(f"/?collection={C}&q={quote(chr(34) + 'a blue star' + chr(34))}")
    page.wait_for_selector(".view-search .grid .hit .frame-time")
    alts = page.eval_on_selector_all(".view-search .grid .hit", "els => els.map(e => e.dataset.alt)")
    assert alts[0].startswith("a blue star"), alts  # the subtitle is the frame's alt-text
    page.goto(f"/?view=opposition&collection={C}&a=star&b=circle")
    page.wait_for_selector(".pole-a .hit")
    settle(page)
    page.screenshot(path=str(shots / "opposition-frames.png"), full_page=True)
    a_alts = page.eval_on_selector_all(".pole-a .hit", "els => els.map(e => e.dataset.alt)")
    assert "star" in a_alts[0], a_alts
    page.goto(f"/?view=plane&collection={C}&xa=star&xb=circle&ya=night&yb=snow")
    page.wait_for_selector(".quadrant li")
    page.goto(
        f"/?view=sweep&collection={C}&q={quote(chr(34) + 'a blue shape' + chr(34))}"
        f"&term={quote(chr(34) + 'night' + chr(34))}&weights=0,1"
    )
    page.wait_for_selector(".sweep-col .sweep-hits li")


def test_moments_view_fits_a_phone(page_factory: Any, films: dict[str, str], shots: Path) -> None:
    page, _ = page_factory(PHONE)
    page.goto(f"/?view=moments&collection={C}&q={quote(chr(34) + 'a blue star' + chr(34))}")
    page.wait_for_selector(".film .mark")
    settle(page)
    page.screenshot(path=str(shots / "moments-phone.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    # The player sits above the timeline, both as wide as the row.
    player, track = (page.locator(s).first.bounding_box() for s in (".film video", ".film .timeline-track"))
    assert player and track and player["y"] + player["height"] <= track["y"]


def test_a_video_that_cannot_be_played_says_so(page_factory: Any, api: Any, tmp_path: Path) -> None:
    # The stream route serves a video only while its file is as ingested; changed, it is a 404 for the player.
    name = "videos-changed"
    film = write_film(tmp_path / "c.mp4", two_scene_film()[:1], fps=12, seed=3)
    assert api.post("/v1/collections", json={"name": name}).status_code == 201
    try:
        r = api.post(f"/v1/collections/{name}/ingest", json={"path": str(tmp_path)})
        assert r.status_code == 202, r.text
        api.app.state.runtime.queue.wait(r.json()["job_id"], timeout=120)
        film.write_bytes(b"not the film any more")
        page, _ = page_factory()
        page.goto(f"/?view=moments&collection={name}&q={quote(chr(34) + 'a red circle' + chr(34))}")
        page.click(".film .mark")
        note = page.wait_for_selector(".film .error-note")
        assert "could not be played" in (note.text_content() or "")
    finally:
        assert api.delete(f"/v1/collections/{name}").status_code == 204


def test_moments_view_on_a_collection_of_images(page_factory: Any) -> None:
    page, _ = page_factory()
    page.goto(f"/?view=moments&collection=shapes&q={quote(chr(34) + 'a blue star' + chr(34))}")
    note = page.wait_for_selector(".view-moments .empty >> text=No video frames")
    assert page.eval_on_selector_all(".film", "els => els.length") == 0
    assert "image" in (page.text_content(".view-moments .query-info") or "") and note
