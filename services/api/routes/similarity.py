"""``POST /v1/similarity``: image terms × text terms → a cosine matrix (JSON, or CSV with ``Accept: text/csv``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import CollectionsDep, PrincipalDep, QueryServicesDep
from services.api.query_io import ImageInput, LabelInput, encode_labels, image_inputs
from services.core.errors import InvalidInput
from services.query.similarity import SimilarityMatrix, contrasts, cosine_matrix, to_csv

router = APIRouter(tags=["similarity"])


class SimilarityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    images: list[ImageInput] = Field(description='Rows: base64 images or {"id": ..., "collection": ...}.')
    texts: list[LabelInput] = Field(
        description='Columns: texts ("a|b" ensembles, {"label", "prompts"} objects allowed).',
        examples=[["a doctor", "a teacher", "a nurse"]],
    )
    row_labels: list[str] | None = Field(None, description="Names for the rows (default: 'upload i' or the id).")
    contrasts: list[list[int | str]] = Field(
        default_factory=list,
        description="Pairs of rows (indices or labels); each adds row a − row b.",
        examples=[[[0, 1]]],
    )
    templates: list[str] | None = None
    probabilities: bool = Field(
        False,
        description="Also each row's zero-shot probabilities over the columns, by the model's own formula (CLIP: "
        "softmax; SigLIP: per-column sigmoid); null for a model without a logit scale.",
    )
    collection: str | None = Field(None, description="The collection of points given by id alone.")


class ContrastOut(BaseModel):
    a: str
    b: str
    values: list[float]


class SimilarityResponse(BaseModel):
    rows: list[str]
    columns: list[str]
    matrix: list[list[float]]
    contrasts: list[ContrastOut]
    probabilities: list[list[float]] | None = None


@router.post(
    "/v1/similarity",
    response_model=SimilarityResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV when the client accepts text/csv."}},
)
def similarity(
    body: SimilarityRequest,
    request: Request,
    qs: QueryServicesDep,
    collections: CollectionsDep,
    principal: PrincipalDep,
) -> SimilarityResponse | Response:
    """The matrix of cosine similarities between each image (row) and each text (column)."""
    if len(body.texts) > qs.limits.max_labels:
        raise InvalidInput(f"at most {qs.limits.max_labels} texts per request, got {len(body.texts)}")
    if not body.texts:
        raise InvalidInput("give at least one text")
    columns, col_vecs = encode_labels(qs, body.texts, body.templates, min_labels=1)
    labels, row_vecs = image_inputs(qs, collections, principal, body.images, body.collection)
    if body.row_labels is not None:
        if len(body.row_labels) != len(labels):
            raise InvalidInput(f"row_labels has {len(body.row_labels)} names for {len(labels)} images")
        labels = list(body.row_labels)
    m = cosine_matrix(row_vecs, col_vecs)
    row_probs = qs.encoder.scoring.probabilities(m) if body.probabilities else None
    probs = None if row_probs is None else row_probs.tolist()
    result = SimilarityMatrix(labels, columns, m.tolist(), contrasts(m, labels, body.contrasts), probs)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(to_csv(result), media_type="text/csv; charset=utf-8")
    return SimilarityResponse.model_validate(result, from_attributes=True)
