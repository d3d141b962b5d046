from __future__ import annotations

import io

from fastapi import APIRouter, Query, Response

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import PointOut
from services.core.errors import NotFoundError, PointNotFound
from services.core.types import PointRecord
from services.runtime import Runtime
from workers.pipeline.decode import decode_image
from workers.pipeline.grant import PathRefused, serving_grant

router = APIRouter(prefix="/v1/collections", tags=["points"])


def fetch_point(runtime: Runtime, principal: PrincipalDep, name: str, point_id: str, vectors: bool) -> PointRecord:
    info = runtime.collections.get(principal, name)
    found = runtime.store.retrieve(info.store_name, [point_id], with_vectors=vectors)
    if not found:
        raise PointNotFound(point_id, name)
    return found[0]


@router.get("/{name}/points/{point_id}", response_model=PointOut)
def get_point(
    name: str,
    point_id: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    with_vectors: bool = Query(False, description="Include the unit vectors."),
) -> PointOut:
    p = fetch_point(runtime, principal, name, point_id, with_vectors)
    vecs = {k: v.tolist() for k, v in p.vectors.items()} if with_vectors else None
    return PointOut(id=p.id, payload=p.payload, vectors=vecs)


@router.get(
    "/{name}/points/{point_id}/image",
    responses={200: {"content": {"image/jpeg": {}}, "description": "A thumbnail of the point's image."}},
)
def get_point_image(
    name: str,
    point_id: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    size: int = Query(256, ge=16, le=1024, description="Longest side of the thumbnail, in pixels."),
) -> Response:
    p = fetch_point(runtime, principal, name, point_id, vectors=False)
    source = str(p.payload.get("source", ""))
    limits = runtime.settings.limits
    missing = NotFoundError(f"the image of point {point_id!r} is not stored on this server as a file (a URL? moved?)")
    if not source or "://" in source:
        raise missing
    try:  # the file as it is now: a link swapped in since ingestion is refused like a missing file
        data = serving_grant(runtime.settings, principal).read_bytes(source, limits.max_upload_bytes)
    except PathRefused:
        raise missing from None
    img = decode_image(data, limits.max_image_pixels).image.convert("RGB")
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return Response(buf.getvalue(), media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
