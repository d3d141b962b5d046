"""The collection map: ``POST /v1/collections/{name}/map`` starts the job, ``GET`` reads the newest map."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, PrincipalDep, RuntimeDep
from services.api.query_io import LabelInput, encode_labels
from services.api.routes.collection_jobs import ResultStatus, check_scan, status_of
from services.api.schemas import JobAccepted
from services.core.errors import ResultNotFound
from services.jobs.kinds import MapSource, encode_vectors
from services.jobs.records import new_job_id

router = APIRouter(prefix="/v1/collections", tags=["map"])


class MapRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vector: Literal["image", "text"] = "image"
    method: Literal["umap", "pca"] = Field("umap", description="umap: PCA first, then UMAP; pca: PCA only.")
    clusters: int = Field(0, ge=0, le=64, description="k-means clusters; 0 chooses from the collection's size.")
    vocabulary: list[LabelInput] | None = Field(
        None,
        examples=[["circle", "square", "star"]],
        description="Name clusters by zero-shot against these labels; default: their alt-texts' distinctive words. "
        "409 when this server's model is not the collection's (the labels would be another model's vectors).",
    )


class ClusterOut(BaseModel):
    id: int
    label: str
    size: int
    words: list[str] = Field(description="The alt-texts' most distinctive words.")
    x: float
    y: float
    probability: float | None = Field(None, description="Zero-shot probability of the label (with a vocabulary).")


class MapOut(ResultStatus):
    method: Literal["pca", "umap"]
    final: bool = Field(description="False while a UMAP layout is still to replace this PCA view.")
    vector: str
    left_out: int = Field(description="Points without the vector (not placed).")
    sample_size: int = Field(
        0,
        description="Points the layout was fitted on: every placed point, or the sample "
        "(SIGNIFIER_LIMITS__LAYOUT_SAMPLE_POINTS).",
    )
    sampled: bool = Field(
        False, description="True when PCA, k-means and UMAP were fitted on a sample and the rest placed."
    )
    seed: int = Field(0, description="Where the sample starts: the ids after a seeded random id, in id order.")
    ids: list[str]
    x: list[float] = Field(description="In [0, 1], one per id.")
    y: list[float]
    cluster: list[int] = Field(description="Each point's cluster id.")
    clusters: list[ClusterOut]
    timings: dict[str, float]


@router.post("/{name}/map", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
def compute_map(info: CollectionDep, body: MapRequest, runtime: RuntimeDep, principal: PrincipalDep) -> JobAccepted:
    """Lay the collection out in 2-D (a job: poll ``GET /v1/jobs/{job_id}``; ``GET .../map`` reads it)."""
    check_scan(runtime, info, "map")
    job_id = new_job_id()
    vocab: list[str] = []
    vectors, dim = "", 0
    if body.vocabulary is not None:
        # The labels are this server's text vectors, compared with the collection's centroids: another
        # model's would name clusters at random, so that is the 409 every query meeting the vectors gets.
        info = runtime.models.check(info)
        qs = runtime.query
        vocab, vecs = encode_labels(qs, body.vocabulary, list(qs.templates.get(info.id)) or None)
        vectors, dim = encode_vectors(vecs)
    source = MapSource(
        collection_id=info.id,
        job_id=job_id,
        vector=body.vector,
        method=body.method,
        clusters=body.clusters,
        vocabulary=vocab,
        vocabulary_vectors=vectors,
        dim=dim,
        logit_scale=runtime.encoder.logit_scale,
    )
    runtime.jobs.create(principal, info.name, info.store_name, source, job_id=job_id)
    runtime.queue.submit(job_id)
    return JobAccepted(job_id=job_id, state="queued", collection=info.name)


@router.get("/{name}/map", response_model=MapOut)
def read_map(info: CollectionDep, runtime: RuntimeDep) -> MapOut:
    """The newest map of the collection (while its job runs: the PCA view), with ``stale`` set when the
    collection's point count changed since."""
    result = runtime.results.latest(info.id, "map")
    if result is None:
        raise ResultNotFound("map", info.name, "map")
    return MapOut.model_validate({**result.data, **status_of(result, runtime.store.count(info.store_name))})
