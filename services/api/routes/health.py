from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import EncoderDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(settings: SettingsDep, encoder: EncoderDep) -> dict[str, Any]:
    """200 while the server is serving; says which mode and model it runs."""
    return {"status": "ok", "mode": settings.mode, "model": encoder.model_id}


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
