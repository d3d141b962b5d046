"""The embed stage: one forward pass per batch for images, one for their alt-texts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.core.types import Vector
from services.encoders.base import Encoder
from workers.pipeline.items import PreparedItem


@dataclass(frozen=True)
class EmbeddedBatch:
    items: list[PreparedItem]
    image_vectors: Vector  # (n, d) unit rows
    text_vectors: dict[int, Vector]  # batch index → unit vector, only for items with alt-text
    truncated: set[int]  # batch indices whose alt-text exceeded the model's context


def embed_batch(encoder: Encoder, items: list[PreparedItem]) -> EmbeddedBatch:
    """Encode a batch. Empty alt-text gets no text vector (not the embedding of an empty string)."""
    image_vectors = encoder.encode_pixels(np.stack([it.pixels for it in items]))
    with_text = [i for i, it in enumerate(items) if (it.item.alt_text or "").strip()]
    texts = [(items[i].item.alt_text or "").strip() for i in with_text]
    text_vectors: dict[int, Vector] = {}
    truncated: set[int] = set()
    if texts:
        vecs = encoder.encode_texts(texts)
        limit = encoder.context_length
        for i, text, vec in zip(with_text, texts, vecs, strict=True):
            text_vectors[i] = vec
            if encoder.count_text_tokens(text) > limit:
                truncated.add(i)
    return EmbeddedBatch(items, image_vectors, text_vectors, truncated)
