"""Signed stream links (GET …/videos/{id}/stream-url): a browser's <video> plays a film without the key
header, and the link opens that one video of that one collection, for that team, until it expires —
nothing else. Each test is an attack on the real app (SIGNIFIER_AUTH=required, Qdrant Edge, shapes-clip).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from services.accounts.principal import operator
from services.shapes.film import Scene, write_film
from services.shapes.world import ShapeSpec
from tests.unit.accounts.support import Team, auth_app, make_team, wait_job

pytestmark = pytest.mark.integration


@dataclass
class World:
    client: Any
    alpha: Team
    bravo: Team
    films: Path
    a: str  # alpha's video ids: a.mp4 is in collections "films" and "other", b.mp4 in "films"
    b: str


def _ingest(client: Any, team: Team, collection: str, folder: Path) -> None:
    assert client.post("/v1/collections", json={"name": collection}, headers=team.h()).status_code == 201
    r = client.post(f"/v1/collections/{collection}/ingest", json={"path": str(folder)}, headers=team.h())
    assert r.status_code == 202, r.text
    wait_job(client, r.json()["job_id"], team.h())


def _video(client: Any, team: Team, collection: str, stem: str) -> str:
    body = {"expression": '"a shape"', "limit": 100}
    hits = client.post(f"/v1/collections/{collection}/search", json=body, headers=team.h()).json()["hits"]
    return next(h["payload"]["video_id"] for h in hits if Path(h["payload"]["source"]).name == stem)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("links")
    films, other = tmp / "alpha" / "films", tmp / "alpha" / "other"
    films.mkdir(parents=True)
    other.mkdir()
    write_film(films / "a.mp4", [Scene(ShapeSpec("red", "circle", "large", "snow"), 1.0)], seed=1)
    write_film(films / "b.mp4", [Scene(ShapeSpec("blue", "star", "large", "night"), 1.0)], seed=2)
    shutil.copy(films / "a.mp4", other / "a.mp4")  # the same video (same id) in a second collection
    roots = {"alpha": [tmp / "alpha"], "bravo": [tmp / "alpha"]}
    with auth_app("sqlite", tmp, encoder, rate={"per_minute": 0}, team_ingest_roots=roots) as client:
        runtime = client.app.state.runtime
        alpha, bravo = make_team(runtime, "alpha"), make_team(runtime, "bravo")
        _ingest(client, alpha, "films", films)
        _ingest(client, alpha, "other", other)
        _ingest(client, bravo, "films", films)  # bravo's own collection of the same name, same videos
        a, b = _video(client, alpha, "films", "a.mp4"), _video(client, alpha, "films", "b.mp4")
        yield World(client, alpha, bravo, films, a, b)


def _link(w: World, collection: str, video: str, team: Team | None = None, role: str = "viewer") -> dict[str, Any]:
    r = w.client.get(f"/v1/collections/{collection}/videos/{video}/stream-url", headers=(team or w.alpha).h(role))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _token(link: dict[str, Any]) -> str:
    return str(link["url"].split("?link=")[1])


def test_a_link_plays_the_video_without_a_key_and_seeks(world: World) -> None:
    link = _link(world, "films", world.a)
    assert link["url"].startswith(f"/v1/collections/films/videos/{world.a}/stream?link=")
    assert link["expires_in"] == 3600
    data = (world.films / "a.mp4").read_bytes()
    whole = world.client.get(link["url"])  # no Authorization header, as a <video src> sends it
    assert whole.status_code == 200 and whole.content == data
    part = world.client.get(link["url"], headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == data[10:100]
    assert world.client.get(f"/v1/collections/films/videos/{world.a}/stream").status_code == 401  # no link, no key


def test_a_link_opens_no_other_video_collection_or_team(world: World) -> None:
    token = _token(_link(world, "films", world.a))
    for path in (
        f"/v1/collections/films/videos/{world.b}/stream",  # another video of the same collection
        f"/v1/collections/other/videos/{world.a}/stream",  # the same video in another collection of the team
    ):
        r = world.client.get(f"{path}?link={token}")
        assert r.status_code == 401 and r.json()["detail"]["code"] == "unauthorized", r.text
    # Bravo's "films" holds the same video under the same name: the link names its team, and a link
    # rewritten to Bravo's team fails its signature.
    exp, _team, key, sig = token.split(".")
    forged = f"{exp}.{world.bravo.id}.{key}.{sig}"
    r = world.client.get(f"/v1/collections/films/videos/{world.a}/stream?link={forged}")
    assert r.status_code == 401, r.text


def test_a_link_is_not_a_key_for_any_other_route(world: World) -> None:
    token = _token(_link(world, "films", world.a))
    for path in (
        "/v1/collections/films",
        f"/v1/collections/films/videos/{world.a}/stream-url",  # a link cannot make links
        "/v1/collections",
    ):
        assert world.client.get(f"{path}?link={token}").status_code == 401, path
    r = world.client.post(f"/v1/collections/films/search?link={token}", json={"expression": '"a shape"'})
    assert r.status_code == 401


def test_expired_and_tampered_links_are_refused(world: World) -> None:
    link = _link(world, "films", world.a)
    url, token = link["url"], _token(link)
    exp, team, key, sig = token.split(".")
    base = url.split("?")[0]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for forged in (f"{int(exp) + 86_400}.{team}.{key}.{sig}", f"{exp}.{team}.{key}.{flipped}", "junk", ""):
        r = world.client.get(f"{base}?link={forged}")
        assert r.status_code == 401, (forged, r.text)
    signer = world.client.app.state.runtime.stream_links
    clock = signer.clock
    signer.clock = lambda: clock() + link["expires_in"] + 1  # the link's hour has passed
    try:
        r = world.client.get(url)
        assert r.status_code == 401 and "expired" in r.json()["detail"]["message"], r.text
    finally:
        signer.clock = clock
    assert world.client.get(url).status_code == 200


def test_a_revoked_key_takes_its_links_with_it(world: World) -> None:
    runtime = world.client.app.state.runtime
    made = runtime.accounts.create_key(operator("test"), "viewer", team="alpha", name="short-lived")
    r = world.client.get(
        f"/v1/collections/films/videos/{world.a}/stream-url", headers={"Authorization": f"Bearer {made.key}"}
    )
    url = r.json()["url"]
    assert world.client.get(url).status_code == 200
    runtime.accounts.revoke_key(operator("test"), made.info.id)
    r = world.client.get(url)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]["message"], r.text


def test_links_die_with_their_collection(world: World) -> None:
    url = _link(world, "other", world.a)["url"]
    assert world.client.get(url).status_code == 200
    assert world.client.delete("/v1/collections/other", headers=world.alpha.h()).status_code == 204
    assert world.client.post("/v1/collections", json={"name": "other"}, headers=world.alpha.h()).status_code == 201
    assert world.client.get(url).status_code == 401  # a new collection of that name is another one


def test_another_team_can_neither_stream_nor_link_a_video(world: World) -> None:
    # Bravo's key on a collection only Alpha has: not found, as for every collection route.
    for suffix in ("stream", "stream-url"):
        r = world.client.get(f"/v1/collections/other/videos/{world.a}/{suffix}", headers=world.bravo.h())
        assert r.status_code == 404, r.text
    # Bravo may link its own copy; that link does not open Alpha's collection of the same name.
    bravo_link = _link(world, "films", world.a, team=world.bravo)
    assert world.client.get(bravo_link["url"]).status_code == 200
    alpha_token = _token(_link(world, "films", world.a))
    assert alpha_token.split(".")[1] == world.alpha.id and _token(bravo_link).split(".")[1] == world.bravo.id
    token = _token(bravo_link)
    forged = token[:-1] + ("B" if token[-1] == "A" else "A")  # never the token itself (1 in 16 ends in "A")
    r = world.client.get(f"/v1/collections/films/videos/{world.a}/stream?link={forged}")
    assert r.status_code == 401


def test_a_link_to_a_video_the_collection_lacks_is_not_made(world: World) -> None:
    r = world.client.get("/v1/collections/films/videos/0123456789abcdef0123456789abcdef/stream-url",
                         headers=world.alpha.h("viewer"))  # fmt: skip
    assert r.status_code == 404 and r.json()["detail"]["code"] == "video_not_found", r.text
