"""``/v1/collections``: create, list, describe and delete a team's collections."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.api.deps import CollectionDep, CollectionsDep, EncoderDep, JobsDep, ModelsDep, PrincipalDep, StoreDep
from services.api.schemas import CollectionCreate, CollectionList, CollectionOut
from services.catalog.collections import CollectionInfo
from services.vectorstore.base import VectorStore

router = APIRouter(prefix="/v1/collections", tags=["collections"])


def _out(store: VectorStore, info: CollectionInfo) -> CollectionOut:
    # Not a twin of CollectionInfo: the count comes from the store, and the store name stays inside.
    return CollectionOut(
        name=info.name,
        points=store.count(info.store_name),
        model=info.model,
        dim=info.dim,
        family=info.family,
        precision=info.precision,
        fingerprint=info.digest,
        created_at=info.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CollectionOut)
def create_collection(
    body: CollectionCreate,
    collections: CollectionsDep,
    encoder: EncoderDep,
    models: ModelsDep,
    store: StoreDep,
    principal: PrincipalDep,
) -> CollectionOut:
    """Create an empty collection for this server's model (named vectors ``image`` and ``text``, cosine);
    it records the model's fingerprint, and servers running another model get 409 on it."""
    fp = models.fingerprint
    return _out(store, collections.create(principal, body.name, encoder.model_id, fp.dim, fp))


@router.get("", response_model=CollectionList)
def list_collections(collections: CollectionsDep, store: StoreDep, principal: PrincipalDep) -> CollectionList:
    return CollectionList(collections=[_out(store, c) for c in collections.list_for(principal)])


@router.get("/{name}", response_model=CollectionOut)
def get_collection(info: CollectionDep, store: StoreDep) -> CollectionOut:
    return _out(store, info)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(name: str, collections: CollectionsDep, jobs: JobsDep, principal: PrincipalDep) -> Response:
    """Delete the collection, its points and its job records."""
    collections.delete(principal, name)
    jobs.delete_for_collection(name, team=principal.team)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
