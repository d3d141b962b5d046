"""Dependencies: every route reaches settings, runtime parts and the caller through these aliases.

A route asks for the parts it touches (``EncoderDep``, ``StoreDep``, ``QueryServicesDep``,
``CollectionDep`` ...), never the whole ``Runtime``: what a route can reach is in its signature, and a
test can override one part.

``enforce_access`` runs before every ``/v1/`` route (the app installs it for all routes), so that
isolation does not depend on each route remembering it. In order it: resolves the caller (401),
counts the request against the key's rate limit (429), checks the route's role (403,
``services.accounts.roles``), and checks that the collection or job named in the path belongs to
the caller's team (404). All of this happens before the request body is even validated. The
collection it looked up is the route's ``CollectionDep``, so a request looks its collection up once.
The routes in ``CREATES_COLLECTION`` (ingest) may name a collection the team does not have yet: when
the caller may create collections (editor or owner) the route creates it once the request is valid
(``NewCollectionDep`` is then ``None``); another team's collection of that name is not touched.
After a ``DELETE`` route succeeds it writes the audit record (unless the service wrote its own).
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from services.accounts.admin import Accounts
from services.accounts.principal import LOCAL_OWNER, Principal, is_loopback
from services.accounts.quotas import Quotas
from services.accounts.roles import required_role
from services.catalog.collections import CollectionInfo, CollectionRegistry
from services.catalog.model_check import ModelGuard
from services.core.errors import CollectionNotFound, Forbidden, NotFoundError, Unauthorized
from services.core.settings import Settings
from services.encoders.base import Encoder
from services.jobs.records import JobStore
from services.query.context import QueryServices
from services.runtime import Runtime
from services.vectorstore.base import VectorStore
from services.vectorstore.thumbnails import ThumbnailStore

KEY_HINT = "create one with 'signifier admin create-key --team NAME --role owner'"


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_encoder(runtime: RuntimeDep) -> Encoder:
    return runtime.encoder


async def get_store(runtime: RuntimeDep) -> VectorStore:
    return runtime.store


async def get_thumbnails(runtime: RuntimeDep) -> ThumbnailStore:
    return runtime.thumbnails


async def get_collections(runtime: RuntimeDep) -> CollectionRegistry:
    return runtime.collections


async def get_models(runtime: RuntimeDep) -> ModelGuard:
    return runtime.models


async def get_jobs(runtime: RuntimeDep) -> JobStore:
    return runtime.jobs


async def get_accounts(runtime: RuntimeDep) -> Accounts:
    return runtime.accounts


async def get_quotas(runtime: RuntimeDep) -> Quotas:
    return runtime.quotas


async def get_query_services(runtime: RuntimeDep) -> QueryServices:
    return runtime.query


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EncoderDep = Annotated[Encoder, Depends(get_encoder)]
StoreDep = Annotated[VectorStore, Depends(get_store)]
ThumbnailsDep = Annotated[ThumbnailStore, Depends(get_thumbnails)]
CollectionsDep = Annotated[CollectionRegistry, Depends(get_collections)]
ModelsDep = Annotated[ModelGuard, Depends(get_models)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
QuotasDep = Annotated[Quotas, Depends(get_quotas)]
QueryServicesDep = Annotated[QueryServices, Depends(get_query_services)]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolve_principal(request: Request, runtime: Runtime) -> Principal:
    """Who is calling: the holder of the ``Authorization: Bearer`` key, or the keyless local owner.

    A key that is sent is always checked (a bad one is a 401, never a fallback to the local owner).
    Without a key: 401 when ``auth=required``; with ``auth=local`` the local owner, but only for
    loopback clients and in-process ones (the CLI, tests), so a server started some other way on a
    public address does not hand ownership to the network.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the API key as 'Authorization: Bearer <key>'")
        return runtime.accounts.keys.resolve(token.strip())
    if runtime.settings.auth == "required":
        raise Unauthorized(f"an API key is required: send 'Authorization: Bearer <key>' ({KEY_HINT})")
    host = request.client.host if request.client else None
    # A client that is not an IP address is an in-process ASGI client (TestClient says "testclient").
    if host is None or is_loopback(host) or not _is_ip(host):
        return LOCAL_OWNER
    raise Unauthorized(
        "this server runs without API keys (SIGNIFIER_AUTH=local), which serves keyless requests from this "
        f"machine only; send an API key ({KEY_HINT}) or set SIGNIFIER_AUTH=required"
    )


def get_principal(request: Request, runtime: RuntimeDep) -> Principal:
    """The caller, resolved once per request (``enforce_access`` usually got there first)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is None:
        cached = resolve_principal(request, runtime)
        request.state.principal = cached
    return cached


async def get_principal_dep(request: Request, runtime: RuntimeDep) -> Principal:
    """``get_principal`` as a dependency: no thread hop when ``enforce_access`` resolved the caller already."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    return await run_in_threadpool(get_principal, request, runtime)


PrincipalDep = Annotated[Principal, Depends(get_principal_dep)]


STREAM_ROUTE = "/v1/collections/{name}/videos/{video_id}/stream"
LINK_PARAM = "link"


def link_principal(request: Request, runtime: Runtime, template: str) -> Principal | None:
    """The caller a signed stream link stands for, on the stream route only and only when no key is sent;
    None: no link to check. ``Unauthorized`` for a link that is malformed, expired, made for another video,
    collection or team, or made with a key revoked since. The collection it names is looked up in the
    link's team (``enforce_access`` then finds it there again), and the principal is a viewer of that team.
    """
    token = request.query_params.get(LINK_PARAM)
    if template != STREAM_ROUTE or token is None or "authorization" in request.headers:
        return None
    signer = runtime.stream_links
    claims = signer.claims(token)
    principal = Principal(
        team=claims.team, role="viewer", user="stream-link", key_id=claims.key_id, team_name=claims.team
    )
    try:
        info = runtime.collections.get(principal, request.path_params["name"])
    except CollectionNotFound:
        raise Unauthorized("this stream link is not valid for this video") from None
    signer.check(claims, info.id, str(request.path_params.get("video_id", "")))
    if claims.key_id is not None:
        try:
            state = runtime.accounts.keys.get(claims.key_id).state()
        except NotFoundError:
            state = "deleted"
        if state != "active":
            raise Unauthorized(f"the API key this stream link was made with is {state}")
    request.state.principal = principal
    return principal


def check_access(request: Request, runtime: Runtime, template: str) -> Principal:
    """The checks ``enforce_access`` makes before a ``/v1/`` route runs (blocking: they read the database)."""
    principal = link_principal(request, runtime, template) or get_principal(request, runtime)
    if principal.key_id is not None:
        runtime.rate_limiter.hit(principal.key_id)
    needed = required_role(request.method, template)
    if not principal.at_least(needed):
        raise Forbidden(f"{request.method} {template} needs the {needed} role; this key's role is {principal.role}")
    params = request.path_params
    if template.startswith("/v1/collections/{name}") and "name" in params:
        # CollectionNotFound for other teams' collections; the route's CollectionDep is this lookup.
        try:
            request.state.collection = runtime.collections.get(principal, params["name"])
        except CollectionNotFound:
            if (request.method, template) not in CREATES_COLLECTION or not principal.can_write():
                raise
            request.state.collection = None  # the route creates the team's own, once the request is valid
    if "job_id" in params and template.startswith("/v1/jobs/"):
        runtime.jobs.get(principal, params["job_id"], max_errors=0)  # JobNotFound likewise
    return principal


async def enforce_access(request: Request, runtime: RuntimeDep) -> AsyncIterator[None]:
    """The access policy of every ``/v1/`` route: authenticate, rate-limit, authorise, scope; and, once
    the route has succeeded, the audit record of a deletion.

    Async, with the database work in one worker-thread call: a sync generator dependency costs FastAPI two
    thread hops (enter, exit), and each hop is 0.1-0.4 ms of a search's latency on a 2-core box.
    """
    route = request.scope.get("route")
    template: str = getattr(route, "path", request.url.path)
    if not template.startswith("/v1/"):
        yield  # /healthz, /metrics, the UI, the OpenAPI docs: public
        return
    principal = await run_in_threadpool(check_access, request, runtime, template)
    yield  # the route runs; an error it raises ends here, unaudited
    if request.method == "DELETE" and template not in SELF_AUDITED and not template.startswith("/v1/admin/"):
        action = "job.cancel" if template == "/v1/jobs/{job_id}" else "delete"
        await run_in_threadpool(
            runtime.accounts.audit.record, principal, action, request.url.path, principal.team, route=template
        )


def lookup_collection(name: str, request: Request, runtime: Runtime) -> CollectionInfo:
    """The collection ``/v1/collections/{name}`` names, as ``enforce_access`` found it within the
    caller's team (looked up here only if that check did not run, e.g. under a test's override)."""
    info: CollectionInfo | None = getattr(request.state, "collection", None)
    if info is None:
        info = runtime.collections.get(get_principal(request, runtime), name)
        request.state.collection = info
    return info


async def get_collection(name: str, request: Request, runtime: RuntimeDep) -> CollectionInfo:
    """``lookup_collection``, without a thread hop when ``enforce_access`` already found it."""
    info: CollectionInfo | None = getattr(request.state, "collection", None)
    if info is not None:
        return info
    return await run_in_threadpool(lookup_collection, name, request, runtime)


CollectionDep = Annotated[CollectionInfo, Depends(get_collection)]


def lookup_collection_or_new(name: str, request: Request, runtime: Runtime) -> CollectionInfo | None:
    """The collection the path names, or ``None`` when the team has none of that name yet and the route
    (one of ``CREATES_COLLECTION``) may create it; only a caller who may create collections gets ``None``."""
    if getattr(request.state, "collection", "unset") is None:
        return None  # enforce_access found none and allowed the route to create it
    try:
        return lookup_collection(name, request, runtime)
    except CollectionNotFound:
        if not get_principal(request, runtime).can_write():
            raise
        return None


async def get_collection_or_new(name: str, request: Request, runtime: RuntimeDep) -> CollectionInfo | None:
    found: CollectionInfo | None = getattr(request.state, "collection", None)
    if found is not None:
        return found
    return await run_in_threadpool(lookup_collection_or_new, name, request, runtime)


NewCollectionDep = Annotated[CollectionInfo | None, Depends(get_collection_or_new)]

# Routes that create the collection their path names when the caller's team has none of that name
# (the caller must be allowed to create collections): ingesting into a new name starts a collection,
# as ``signifier ingest -c NEW`` always did.
CREATES_COLLECTION: frozenset[tuple[str, str]] = frozenset({("POST", "/v1/collections/{name}/ingest")})


# DELETE routes whose service writes its own audit record, inside its own transaction.
SELF_AUDITED: frozenset[str] = frozenset({"/v1/collections/{name}"})
