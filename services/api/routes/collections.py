from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import CollectionCreate, CollectionList, CollectionOut
from services.catalog.collections import CollectionInfo
from services.runtime import Runtime

router = APIRouter(prefix="/v1/collections", tags=["collections"])


def _out(runtime: Runtime, info: CollectionInfo) -> CollectionOut:
    return CollectionOut(
        name=info.name,
        points=runtime.store.count(info.store_name),
        model=info.model,
        dim=info.dim,
        created_at=info.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CollectionOut)
def create_collection(body: CollectionCreate, runtime: RuntimeDep, principal: PrincipalDep) -> CollectionOut:
    """Create an empty collection for this server's model (named vectors ``image`` and ``text``, cosine)."""
    info = runtime.collections.create(principal, body.name, runtime.encoder.model_id, runtime.encoder.dim)
    return _out(runtime, info)


@router.get("", response_model=CollectionList)
def list_collections(runtime: RuntimeDep, principal: PrincipalDep) -> CollectionList:
    return CollectionList(collections=[_out(runtime, c) for c in runtime.collections.list_for(principal)])


@router.get("/{name}", response_model=CollectionOut)
def get_collection(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> CollectionOut:
    return _out(runtime, runtime.collections.get(principal, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(name: str, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Delete the collection, its points and its job records."""
    runtime.collections.delete(principal, name)
    runtime.jobs.delete_for_collection(name, team=principal.team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
