"""The FastAPI app factory. Heavy parts are built in the lifespan and kept on ``app.state``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.api.body_limit import BodyLimitMiddleware
from services.api.budget import RequestBudgetMiddleware
from services.api.deps import enforce_access
from services.api.errors import ERROR_RESPONSES, install_error_handlers
from services.api.guards import install_guards
from services.api.routes import (
    admin,
    classify,
    collections,
    concepts,
    duplicates,
    embed,
    health,
    ingest,
    internal,
    jobs,
    maps,
    oppositions,
    paths,
    plane,
    points,
    search,
    similarity,
    sweep,
    videos,
)
from services.api.text_input import reject_lone_surrogates
from services.core.errors import InvalidInput
from services.core.heap import freeze_startup_heap, thaw_heap
from services.core.settings import Settings, get_settings
from services.encoders.base import Encoder
from services.runtime import build_runtime
from services.sources.grant import roots_refusal
from services.vectorstore.base import VectorStore

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(
    settings: Settings | None = None,
    encoder: Encoder | None = None,
    store: VectorStore | None = None,
    advertise_url: str | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own settings (and may pass an encoder or store)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        refusal = roots_refusal(settings)  # `signifier serve` says so first; this covers any other launcher
        if refusal:
            raise InvalidInput(refusal)
        runtime = build_runtime(settings, encoder=encoder, store=store, advertise_url=advertise_url)
        runtime.encoder.load()  # fail at startup, with a clear message, if the model is missing
        app.state.runtime = runtime
        # The fingerprint is hashed now (cached on disk), not on the first request that checks a collection.
        model = runtime.models.fingerprint.describe()
        log.info("signifier ready: mode=%s model=%s data=%s", settings.mode, model, settings.data_dir)
        log.debug("startup heap frozen: %d objects", freeze_startup_heap())
        try:
            yield
        finally:
            thaw_heap()
            runtime.close()

    app = FastAPI(
        title="Signifier",
        version="0.1.0",
        summary="Meaning math over CLIP embeddings: search image collections with expressions.",
        lifespan=lifespan,
        # Authentication, rate limit, role and team scope of every /v1/ route, before the route runs;
        # then (authenticated callers only) a JSON body must be valid Unicode text.
        dependencies=[Depends(enforce_access), Depends(reject_lone_surrogates)],
        responses=ERROR_RESPONSES,
        docs_url=None,  # /docs and /redoc are served below from static/vendor: FastAPI's own load a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    # Starlette runs the middleware added last first. Outermost: the trusted-proxy rewrite and the guards
    # against web pages (Host, Origin, Content-Type); then the body cap, so a body over it is refused
    # before anything reads it; innermost, each request's time budget.
    app.add_middleware(RequestBudgetMiddleware, limits=settings.limits)
    app.add_middleware(BodyLimitMiddleware, limits=settings.limits, internal_routes=settings.internal_token is not None)
    install_guards(app, settings)
    # maps, duplicates: the collection map and duplicate groups (jobs whose results are stored).
    query_routers = (oppositions, plane, sweep, classify, similarity, paths, concepts, maps, duplicates)
    for module in (health, collections, ingest, jobs, points, videos, search, embed, admin, internal, *query_routers):
        app.include_router(module.router)

    if (STATIC_DIR / "index.html").is_file():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def index() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

        # Swagger UI and ReDoc from the vendored copies (`make web-vendor`), so both work offline.
        vendor = "/static/vendor"

        @app.get("/docs", include_in_schema=False)
        def swagger_ui() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
                swagger_css_url=f"{vendor}/swagger-ui.css",
                swagger_favicon_url="data:,",
            )

        @app.get("/redoc", include_in_schema=False)
        def redoc() -> HTMLResponse:
            return get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{vendor}/redoc.standalone.js",
                redoc_favicon_url="data:,",
                with_google_fonts=False,
            )

    return app
