"""The isolation walk: every route of the app, called by team Alpha on team Bravo's resources.

The route table comes from the app itself (its OpenAPI document, plus the routes hidden from it), so
a new route is walked the day it is added. A route with a path parameter this file cannot fill fails
the test until a builder is added to ``PARAMS``; a route that should answer without a key must be
listed in ``PUBLIC``. For every other route:

- no key, a malformed key, a made-up key → 401;
- Alpha's owner key (and Alpha's admin key, outside /v1/admin) with Bravo's collection, job, point,
  concept, key, user or team → 404 or 403, and nothing of Bravo's in the answer;
- Alpha's own collection with Bravo's point, job or concept → 404 or 403 (except PUT, which creates);
- a route that creates the collection it names (ingest) creates Alpha's *own* collection of Bravo's
  name: with the walk's empty body that is a 422 that creates nothing, and with a real source Alpha
  gets its own collection while Bravo's stays as it was;
- the same request with Bravo's own key is *not* refused (so the refusal above is isolation, not a
  missing resource);
- routes without parameters (listings) never show Alpha anything of Bravo's.

It runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from services.accounts.principal import operator
from services.shapes.film import Scene, write_film
from services.shapes.world import ShapeSpec, write_samples
from tests.unit.accounts.support import BACKENDS, Team, auth_app, make_team, wait_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Routes that answer without a key. Anything under /v1/ never belongs here.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
    }
)
# Path parameter → the attribute of ``World`` holding Bravo's value for it.
PARAMS: dict[str, str] = {
    "name": "collection",
    "job_id": "job",
    "point_id": "point",
    "concept": "concept",
    "key_id": "key_id",
    "user_id": "user_id",
    "team": "team",
    "store_name": "store_name",
    "idx": "idx",
    "video_id": "video",
}
# Routes for Celery workers, authenticated by SIGNIFIER_INTERNAL_TOKEN instead of an API key: no API key
# opens them (401), and they are not team-scoped (a worker acts for a job whose team was checked).
WORKER_ROUTES = "/internal/"
INTERNAL_TOKEN = "walk-internal-token-0123456789abcdef"  # >= 32 characters, as Settings demand
# Parameters naming something inside a collection: Alpha's own collection with Bravo's value must fail too.
INSIDE_COLLECTION = ("job_id", "point_id", "concept", "video_id")
# Routes that create the collection their path names for the caller's team when it has none of that name
# (services/api/deps.py CREATES_COLLECTION): Alpha naming Bravo's collection there is Alpha creating its own.
CREATES_OWN: frozenset[tuple[str, str]] = frozenset({("POST", "/v1/collections/{name}/ingest")})
BODY_METHODS = ("POST", "PUT", "PATCH")


@dataclass
class World:
    client: Any
    alpha: Team
    bravo: Team
    alpha_admin: str
    bravo_admin: str
    collection: str  # Bravo's alone
    shared: str  # a name both teams use
    job: str
    point: str
    concept: str
    key_id: str
    user_id: str
    team: str
    store_name: str
    idx: str
    video: str  # a video of Bravo's collection (its frames are points there)
    points: int  # Bravo's collection's size: 4 images and the film's frames
    secrets: tuple[str, ...]  # strings only Bravo's answers may contain


def _ingest(client: Any, team: Team, collection: str, folder: Path) -> str:
    r = client.post(f"/v1/collections/{collection}/ingest", json={"path": str(folder)}, headers=team.h())
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    wait_job(client, job_id, team.h())
    return job_id


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    bravo_images, alpha_images = tmp / "bravo-only-images", tmp / "alpha-images"
    write_samples(bravo_images, 4, seed=11)
    write_samples(alpha_images, 2, seed=12)
    # A short film beside Bravo's images, so that the video stream route has a video of Bravo's to refuse.
    write_film(bravo_images / "bravo-film.mp4", [Scene(ShapeSpec("red", "circle", "large", "snow"), 1.0)], seed=13)
    roots = {"alpha": [alpha_images], "bravo": [bravo_images]}  # the deployment admin's grant of server folders
    with auth_app(
        request.param, tmp, encoder, rate={"per_minute": 0}, internal_token=INTERNAL_TOKEN, team_ingest_roots=roots
    ) as client:
        runtime = client.app.state.runtime
        alpha, bravo = make_team(runtime, "alpha"), make_team(runtime, "bravo")
        op = operator("test")
        alpha_admin = runtime.accounts.create_key(op, "owner", team="alpha", admin=True).key
        bravo_admin = runtime.accounts.create_key(op, "owner", team="bravo", admin=True).key
        for team in (alpha, bravo):
            assert client.post("/v1/collections", json={"name": "shared"}, headers=team.h()).status_code == 201
        assert client.post("/v1/collections", json={"name": "bravo-private"}, headers=bravo.h()).status_code == 201
        job = _ingest(client, bravo, "bravo-private", bravo_images)
        _ingest(client, alpha, "shared", alpha_images)
        hits = client.post(
            "/v1/collections/bravo-private/search", json={"expression": '"a shape"', "limit": 1}, headers=bravo.h()
        ).json()["hits"]
        concept = "bravo-concept"
        paths = {p for p in client.app.openapi()["paths"]}
        if "/v1/collections/{name}/concepts/{concept}" in paths:
            r = client.put(
                f"/v1/collections/bravo-private/concepts/{concept}", json={"expression": '"red"'}, headers=bravo.h()
            )
            assert r.status_code < 300, f"the walk could not save Bravo's concept (adjust the builder): {r.text}"
        user = client.post("/v1/admin/users", json={"name": "bob", "role": "viewer"}, headers=bravo.h())
        assert user.status_code == 201, user.text
        key_id = runtime.accounts.keys.resolve(bravo.keys["viewer"]).key_id
        bravo_principal = runtime.accounts.keys.resolve(bravo.keys["owner"])
        store_name = runtime.collections.get(bravo_principal, "bravo-private").store_name
        frames, _ = runtime.store.scroll(store_name, limit=100)
        for kind, body in (("map", {"method": "pca"}), ("duplicates", {})):  # stored results the GETs read
            r = client.post(f"/v1/collections/bravo-private/{kind}", json=body, headers=bravo.h())
            assert r.status_code == 202, r.text
            assert wait_job(client, r.json()["job_id"], bravo.h())["state"] == "done"
        video = next(p.payload["video_id"] for p in frames if p.payload.get("video_id"))
        yield World(
            client=client,
            alpha=alpha,
            bravo=bravo,
            alpha_admin=alpha_admin,
            bravo_admin=bravo_admin,
            collection="bravo-private",
            shared="shared",
            job=job,
            point=hits[0]["id"],
            concept=concept,
            key_id=key_id,
            user_id=user.json()["id"],
            team="bravo",
            store_name=store_name,
            idx="0",
            video=video,
            points=client.get("/v1/collections/bravo-private", headers=bravo.h()).json()["points"],
            secrets=("bravo-only-images", bravo.id, "bravo-private", job, hits[0]["id"], key_id, user.json()["id"]),
        )


def _hidden_routes(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of API routes left out of the OpenAPI document, included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            if not route.include_in_schema:
                yield route.path, set(route.methods)
        elif hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.16x keeps included routers unflattened
            for ctx in route.effective_route_contexts():
                if not ctx.include_in_schema:
                    yield ctx.path, set(getattr(ctx.original_route, "methods", ()) or ())
        elif hasattr(route, "routes") and not hasattr(route, "app"):  # pragma: no cover - older FastAPI
            yield from _hidden_routes(route.routes)


def route_table(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves: its OpenAPI paths and the routes hidden from them."""
    out = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }
    for path, methods in _hidden_routes(app.routes):
        out.update((m, path) for m in methods if m != "HEAD")
    return sorted(out)


def _params(path: str) -> list[str]:
    return [seg[1:-1].split(":")[0] for seg in path.split("/") if seg.startswith("{") and seg.endswith("}")]


def _fill(path: str, values: dict[str, str]) -> str:
    for p in _params(path):
        path = path.replace("{" + p + "}", values[p]).replace("{" + p + ":path}", values[p])
    return path


def _call(client: Any, method: str, url: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if method in BODY_METHODS:
        kwargs["json"] = {}
    return client.request(method, url, **kwargs)


def _leaks(text: str, world: World, asked: str) -> list[str]:
    return [s for s in world.secrets if s in text and s not in asked]


def test_every_route_is_known(world: World) -> None:
    """Each route is public, or has only parameters the walk can fill."""
    unknown = [
        f"{m} {p}: parameter {{{param}}}"
        for m, p in route_table(world.client.app)
        if (m, p) not in PUBLIC
        for param in _params(p)
        if param not in PARAMS
    ]
    assert not unknown, (
        "the isolation walk cannot fill these path parameters; add a builder to PARAMS in "
        f"tests/integration/test_isolation.py: {unknown}"
    )
    assert not [p for m, p in PUBLIC if p.startswith("/v1/")]


def test_without_a_valid_key_every_route_is_401(world: World) -> None:
    c = world.client
    revoked = c.post("/v1/admin/keys", json={"role": "viewer"}, headers=world.bravo.h()).json()
    assert c.delete(f"/v1/admin/keys/{revoked['id']}", headers=world.bravo.h()).status_code == 200
    values = {p: getattr(world, attr) for p, attr in PARAMS.items()}
    checked = 0
    for method, path in route_table(c.app):
        url = _fill(path, values) if _params(path) else path
        if (method, path) in PUBLIC:
            assert _call(c, method, url, None).status_code < 400, f"public {method} {path} refused"
            continue
        for key in (None, "not-a-key", "sig_0123456789abcdef_" + "A" * 43, revoked["key"], world.bravo.keys["owner"]):
            if key == world.bravo.keys["owner"] and not path.startswith(WORKER_ROUTES):
                continue  # a valid API key opens every route but the workers' ones
            r = _call(c, method, url, key)
            assert r.status_code == 401, f"{method} {path} with key {key!r}: {r.status_code} {r.text[:200]}"
            assert r.headers.get("www-authenticate") == "Bearer"
        r = c.request(method, url, headers={"Authorization": "Basic YWxpY2U6cGFzcw=="})
        assert r.status_code == 401, f"{method} {path} with Basic auth: {r.status_code}"
        checked += 1
    assert checked >= 20  # the walk saw the API, not an empty table


def test_alpha_cannot_reach_bravos_resources_on_any_route(world: World) -> None:
    c = world.client
    bravo_values = {p: getattr(world, attr) for p, attr in PARAMS.items()}
    alpha_inside = {**bravo_values, "name": world.shared}  # Alpha's own collection, Bravo's ids
    failures: list[str] = []
    walked = 0
    for method, path in route_table(c.app):
        params = _params(path)
        if (method, path) in PUBLIC or not params:
            continue
        walked += 1
        attempts = [(world.alpha.keys["owner"], bravo_values, "owner")]
        if not path.startswith("/v1/admin"):  # admins administer accounts, they do not read other teams' data
            attempts.append((world.alpha_admin, bravo_values, "admin"))
        # (Not for PUT: putting a concept of that name into your own collection creates your own.)
        if "name" in params and any(p in params for p in INSIDE_COLLECTION) and method != "PUT":
            attempts.append((world.alpha.keys["owner"], alpha_inside, "own collection"))
        for key, values, who in attempts:
            url = _fill(path, values)
            r = _call(c, method, url, key)
            refusals = (401, 403, 404) if path.startswith(WORKER_ROUTES) else (403, 404)
            if (method, path) in CREATES_OWN:
                refusals = (403, 404, 422)  # the walk's body {} is invalid: nothing is created
            if r.status_code not in refusals:
                failures.append(f"{method} {url} as Alpha ({who}): {r.status_code} {r.text[:200]}")
            elif leaked := _leaks(r.text, world, url):
                failures.append(f"{method} {url} as Alpha ({who}) leaks {leaked}: {r.text[:200]}")
    assert walked >= 8
    assert not failures, "\n".join(failures)


def test_bravo_reaches_its_own_resources_on_every_route(world: World) -> None:
    """The control: the refusals above are isolation, not parameters that point at nothing."""
    c = world.client
    values = {p: getattr(world, attr) for p, attr in PARAMS.items()}
    failures = []
    for method, path in route_table(c.app):
        if (method, path) in PUBLIC or not _params(path) or method == "DELETE":  # DELETE: destructive
            continue
        if path.startswith(WORKER_ROUTES):  # not team-scoped; a worker's token opens them
            continue
        url = _fill(path, values)
        r = _call(c, method, url, world.bravo_admin)
        if r.status_code in (401, 403, 404):
            failures.append(f"{method} {url} as Bravo: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)


def test_listings_never_show_alpha_anything_of_bravos(world: World) -> None:
    c = world.client
    failures = []
    for method, path in route_table(c.app):
        if method != "GET" or (method, path) in PUBLIC or _params(path):
            continue
        for query in ("", f"?collection={world.collection}", f"?team={world.team}"):
            r = c.get(path + query, headers=world.alpha.h())
            if r.status_code not in (200, 403, 404):
                failures.append(f"GET {path}{query}: {r.status_code} {r.text[:200]}")
            elif leaked := _leaks(r.text, world, path + query):
                failures.append(f"GET {path}{query} shows Alpha {leaked}")
    assert not failures, "\n".join(failures)


def test_after_the_walk_bravos_data_is_intact(world: World) -> None:
    c, h = world.client, world.bravo.h()
    assert c.get(f"/v1/collections/{world.collection}", headers=h).json()["points"] == world.points
    assert c.get(f"/v1/jobs/{world.job}", headers=h).json()["state"] == "done"
    assert c.get(f"/v1/collections/{world.collection}/points/{world.point}", headers=h).status_code == 200
    shared = {
        t: c.get(f"/v1/collections/{world.shared}", headers=team.h()).json()["points"]
        for t, team in (("alpha", world.alpha), ("bravo", world.bravo))
    }
    assert shared == {"alpha": 2, "bravo": 0}  # one name, two collections
    # The walk's refused ingests created nothing for Alpha under Bravo's name.
    assert c.get(f"/v1/collections/{world.collection}", headers=world.alpha.h()).status_code == 404


def test_ingest_under_bravos_collection_name_creates_alphas_own(world: World) -> None:
    """The ingest route creates a collection Alpha has not got: naming Bravo's makes Alpha's own, and Bravo's
    points, job and answers stay Bravo's (runs last: Alpha's collection is deleted again)."""
    c, a, b = world.client, world.alpha.h(), world.bravo.h()
    folder = Path(c.app.state.runtime.settings.data_dir).parent / "alpha-images"  # Alpha's granted folder
    r = c.post(f"/v1/collections/{world.collection}/ingest", json={"path": str(folder)}, headers=a)
    assert r.status_code == 202 and r.json()["created"] is True, r.text
    assert not _leaks(r.text, world, world.collection)
    job = wait_job(c, r.json()["job_id"], a)
    assert job["done"] == 2 and not _leaks(str(job), world, world.collection), job
    assert c.get(f"/v1/collections/{world.collection}", headers=a).json()["points"] == 2
    assert c.get(f"/v1/collections/{world.collection}", headers=b).json()["points"] == world.points
    hits = c.post(f"/v1/collections/{world.collection}/search", json={"expression": '"a shape"'}, headers=a)
    assert {h["id"] for h in hits.json()["hits"]}.isdisjoint({world.point})
    assert c.delete(f"/v1/collections/{world.collection}", headers=a).status_code == 204
    assert c.get(f"/v1/collections/{world.collection}", headers=b).json()["points"] == world.points
