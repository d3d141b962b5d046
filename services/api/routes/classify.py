"""Zero-shot classification: ``POST /v1/classify`` (images × labels) and, as a job that writes the top
label to each point's payload, ``POST /v1/collections/{name}/classify``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionDep, CollectionsDep, PrincipalDep, QueryServicesDep, RuntimeDep
from services.api.query_io import ImageInput, LabelInput, encode_labels, image_inputs
from services.api.schemas import JobAccepted
from services.core.scoring import ScoringKind
from services.jobs.kinds import ClassifySource
from services.query.classify import (
    check_label_set,
    classifications,
    payload_keys,
    zero_shot,
)

router = APIRouter(tags=["classify"])


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: list[ImageInput] = Field(
        description='Base64 images, or stored points: {"id": ..., "collection": ..., "vector": "image"}.'
    )
    labels: list[LabelInput] = Field(
        examples=[["red", "green", "a blue shape|a blue thing"]],
        description='Texts; "a|b" is an ensemble of prompts; or {"label": name, "prompts": [...]}.',
    )
    templates: list[str] | None = Field(None, examples=[["a photo of a {}", "a {} shape"]])
    collection: str | None = Field(None, description="The collection of points given by id alone.")


class ClassificationOut(BaseModel):
    image: str = Field(description="'upload <i>' for a base64 image, else the point id.")
    top_label: str
    probabilities: dict[str, float] | None = Field(
        description="Per the model's scoring: softmax (sums to 1), independent sigmoids, or null (cosine ranking)."
    )
    similarities: dict[str, float]


class ClassifyResponse(BaseModel):
    results: list[ClassificationOut]
    labels: list[str]
    scoring: ScoringKind = Field(
        description="softmax (CLIP), sigmoid (SigLIP: independent per-label probabilities) or cosine (the model "
        "has no logit scale: labels ranked by cosine, no probabilities)."
    )
    logit_scale: float | None
    logit_bias: float | None = None
    note: str = Field(description="How the probabilities were computed, in words.")


@router.post("/v1/classify", response_model=ClassifyResponse)
def classify(
    body: ClassifyRequest, qs: QueryServicesDep, collections: CollectionsDep, principal: PrincipalDep
) -> ClassifyResponse:
    """Per image: cosine similarity to each label, probabilities by the model family's own formula (CLIP's
    softmax, SigLIP's per-label sigmoid with its bias; none for a model without a logit scale), top label."""
    names, lab_vecs = encode_labels(qs, body.labels, body.templates)
    image_labels, img_vecs = image_inputs(qs, collections, principal, body.images, body.collection)
    rule = qs.encoder.scoring
    sims, probs = zero_shot(img_vecs, lab_vecs, rule)
    return ClassifyResponse(
        results=[
            ClassificationOut(
                image=lbl, top_label=c.top_label, probabilities=c.probabilities, similarities=c.similarities
            )
            for lbl, c in zip(image_labels, classifications(names, sims, probs), strict=True)
        ],
        labels=names,
        scoring=rule.kind,
        logit_scale=rule.scale,
        logit_bias=rule.bias,
        note=rule.note,
    )


class CollectionClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    set: str = Field(
        description="Name of the label set; the payload gets label_<set> and label_<set>_p.", examples=["color"]
    )
    labels: list[LabelInput]
    templates: list[str] | None = Field(None, description="Default: the collection's own prompt templates.")
    vector: Literal["image", "text"] = "image"


class ClassifyJobAccepted(JobAccepted):
    fields: list[str] = Field(description="The payload fields the job writes.")


@router.post(
    "/v1/collections/{name}/classify", status_code=status.HTTP_202_ACCEPTED, response_model=ClassifyJobAccepted
)
def classify_collection(
    info: CollectionDep, body: CollectionClassifyRequest, runtime: RuntimeDep, principal: PrincipalDep
) -> ClassifyJobAccepted:
    """Label every point of the collection (a job: poll ``GET /v1/jobs/{job_id}``); filter on it afterwards,
    e.g. ``{"label_color": "red"}``."""
    label_set = check_label_set(body.set)
    info = runtime.models.check(info)  # the labels are this server's vectors; the points must be of its model
    qs = runtime.query
    templates = body.templates if body.templates is not None else list(qs.templates.get(info.id)) or None
    names, lab_vecs = encode_labels(qs, body.labels, templates)
    # The label vectors travel in the job's record: whoever runs it (this process or a worker) needs no encoder.
    source = ClassifySource.encode(label_set, names, lab_vecs, runtime.encoder.scoring, body.vector)
    job_id = runtime.jobs.create(principal, info.name, info.store_name, source)
    runtime.queue.submit(job_id)
    fields = list(payload_keys(label_set))
    return ClassifyJobAccepted(job_id=job_id, state="queued", collection=info.name, fields=fields)
