"""``POST /v1/embed``: unit vectors for texts or base64 images, for clients that compose their own queries."""

from __future__ import annotations

from fastapi import APIRouter

from services.api.deps import QueryServicesDep
from services.api.schemas import EmbedRequest, EmbedResponse
from services.core.errors import InvalidInput

router = APIRouter(prefix="/v1", tags=["embed"])


@router.post("/embed", response_model=EmbedResponse)
def embed(body: EmbedRequest, qs: QueryServicesDep) -> EmbedResponse:
    """Unit vectors for texts or images, for clients that compose their own queries."""
    limits = qs.limits
    if bool(body.texts) == bool(body.images):
        raise InvalidInput("give either 'texts' or 'images' (a non-empty list)")
    items = body.texts or body.images or []
    if len(items) > limits.max_texts_per_request:
        raise InvalidInput(f"at most {limits.max_texts_per_request} items per request, got {len(items)}")
    enc = qs.encoder
    if body.texts:
        if any(not t.strip() for t in body.texts):
            raise InvalidInput("texts must not be empty")
        vectors = qs.encode_texts(body.texts)
    else:
        vectors = enc.encode_images([qs.decode_base64(b, f"images[{i}]") for i, b in enumerate(body.images or [])])
    return EmbedResponse(model=enc.model_id, dim=enc.dim, vectors=vectors.tolist())
