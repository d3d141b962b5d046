"""``GET /v1/collections/{name}/points/{id}``: one stored point, and its thumbnail."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from services.api.deps import CollectionDep, StoreDep, ThumbnailsDep
from services.api.schemas import PointOut
from services.catalog.collections import CollectionInfo
from services.core.errors import NotFoundError, PointNotFound
from services.core.types import PointRecord
from services.encoders.thumbnail import shrink
from services.vectorstore.base import VectorStore

router = APIRouter(prefix="/v1/collections", tags=["points"])


def fetch_point(store: VectorStore, info: CollectionInfo, point_id: str, vectors: bool) -> PointRecord:
    found = store.retrieve(info.store_name, [point_id], with_vectors=vectors)
    if not found:
        raise PointNotFound(point_id, info.name)
    return found[0]


@router.get("/{name}/points/{point_id}", response_model=PointOut)
def get_point(
    point_id: str,
    info: CollectionDep,
    store: StoreDep,
    with_vectors: bool = Query(False, description="Include the unit vectors."),
) -> PointOut:
    p = fetch_point(store, info, point_id, with_vectors)
    vecs = {k: v.tolist() for k, v in p.vectors.items()} if with_vectors else None
    return PointOut(id=p.id, payload=p.payload, vectors=vecs)


@router.get(
    "/{name}/points/{point_id}/image",
    responses={200: {"content": {"image/jpeg": {}}, "description": "The point's thumbnail, a JPEG."}},
)
def get_point_image(
    point_id: str,
    info: CollectionDep,
    store: StoreDep,
    thumbnails: ThumbnailsDep,
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
    p = fetch_point(store, info, point_id, vectors=False)
    stored = thumbnails.read(info.store_name, p.id)
    if stored is None:
        raise NotFoundError(
            f"point {p.id} has no stored thumbnail: it was ingested before thumbnails were kept at ingest, "
            "or with SIGNIFIER_INGEST__THUMBNAIL_SIDE=0; ingest its image again to make one"
        )
    return Response(shrink(stored, size), media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})
