from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import EmbedRequest, EmbedResponse
from services.core.errors import ImageError, InvalidInput, PayloadTooLarge
from services.core.settings import Limits
from services.encoders.decode import decode_image

router = APIRouter(prefix="/v1", tags=["embed"])


def decode_base64_image(data: str, limits: Limits, label: str = "image", draft_side: int | None = None) -> object:
    """A PIL image from base64 (a ``data:`` URL prefix is allowed), with size and bomb guards."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    if len(data) * 3 // 4 > limits.max_upload_bytes:
        raise PayloadTooLarge(f"{label} is over the limit of {limits.max_upload_bytes:,} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{label} is not valid base64") from None
    try:
        return decode_image(raw, limits.max_image_pixels, draft_side).image
    except ImageError as exc:
        raise ImageError(f"{label}: {exc.message}") from None


@router.post("/embed", response_model=EmbedResponse)
def embed(body: EmbedRequest, runtime: RuntimeDep, principal: PrincipalDep) -> EmbedResponse:
    """Unit vectors for texts or images, for clients that compose their own queries."""
    limits = runtime.settings.limits
    if bool(body.texts) == bool(body.images):
        raise InvalidInput("give either 'texts' or 'images' (a non-empty list)")
    items = body.texts or body.images or []
    if len(items) > limits.max_texts_per_request:
        raise InvalidInput(f"at most {limits.max_texts_per_request} items per request, got {len(items)}")
    enc = runtime.encoder
    if body.texts:
        if any(not t.strip() for t in body.texts):
            raise InvalidInput("texts must not be empty")
        vectors = runtime.text_cache.get_many(body.texts, enc.encode_texts)
    else:
        images = [
            decode_base64_image(b, limits, f"images[{i}]", enc.decode_side) for i, b in enumerate(body.images or [])
        ]
        vectors = enc.encode_images(images)
    return EmbedResponse(model=enc.model_id, dim=enc.dim, vectors=vectors.tolist())
