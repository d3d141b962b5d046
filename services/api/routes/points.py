from __future__ import annotations

from fastapi import APIRouter, Query, Response

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import PointOut
from services.catalog.collections import CollectionInfo
from services.core.errors import NotFoundError, PointNotFound
from services.core.types import PointRecord
from services.encoders.thumbnail import shrink
from services.runtime import Runtime

router = APIRouter(prefix="/v1/collections", tags=["points"])


def fetch_point(runtime: Runtime, principal: PrincipalDep, name: str, point_id: str, vectors: bool) -> PointRecord:
    return _collection_point(runtime, principal, name, point_id, vectors)[1]


def _collection_point(
    runtime: Runtime, principal: PrincipalDep, name: str, point_id: str, vectors: bool
) -> tuple[CollectionInfo, PointRecord]:
    info = runtime.collections.get(principal, name)
    found = runtime.store.retrieve(info.store_name, [point_id], with_vectors=vectors)
    if not found:
        raise PointNotFound(point_id, name)
    return info, found[0]


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
    responses={200: {"content": {"image/jpeg": {}}, "description": "The point's thumbnail, a JPEG."}},
)
def get_point_image(
    name: str,
    point_id: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    size: int = Query(
        256,
        ge=16,
        le=1024,
        description="Longest side of the thumbnail, in pixels. The thumbnail stored at ingest "
        "(SIGNIFIER_INGEST__THUMBNAIL_SIDE, 256 by default) is served scaled down to this, or as stored "
        "when this is larger: never enlarged.",
    ),
) -> Response:
    """The JPEG thumbnail made when the point was ingested. The source file is never read again, so a
    file changed (or swapped for a link) after ingestion, or a point's ``source`` payload, cannot change
    what is served."""
    info, p = _collection_point(runtime, principal, name, point_id, vectors=False)
    stored = runtime.thumbnails.read(info.store_name, p.id)
    if stored is None:
        raise NotFoundError(
            f"point {p.id} has no stored thumbnail: it was ingested before thumbnails were kept at ingest, "
            "or with SIGNIFIER_INGEST__THUMBNAIL_SIDE=0; ingest its image again to make one"
        )
    return Response(shrink(stored, size), media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
