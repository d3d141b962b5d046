"""The embed stage: one forward pass per batch for images, one for their alt-texts (which can run in two threads)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.core.types import Vector
from services.encoders.base import Encoder
from services.sources.items import PreparedItem


@dataclass(frozen=True)
class EmbeddedBatch:
    items: list[PreparedItem]
    image_vectors: Vector  # (n, d) unit rows
    text_vectors: dict[int, Vector]  # batch index → unit vector, only for items with alt-text
    truncated: set[int]  # batch indices whose alt-text exceeded the model's context


def embed_images(encoder: Encoder, items: list[PreparedItem]) -> Vector:
    """(n, d) unit image vectors of a batch, one forward pass."""
    return encoder.encode_pixels(np.stack([it.pixels for it in items]))


def embed_texts(encoder: Encoder, items: list[PreparedItem]) -> tuple[dict[int, Vector], set[int]]:
    """Alt-text vectors by batch index, and the indices whose alt-text was truncated.

    Empty alt-text gets no text vector (not the embedding of an empty string). Alt-texts repeated within
    the batch ("image", "photo", product-feed boilerplate: common in scraped data) are encoded once.
    """
    texts = {i: (it.item.alt_text or "").strip() for i, it in enumerate(items)}
    unique = list(dict.fromkeys(t for t in texts.values() if t))
    text_vectors: dict[int, Vector] = {}
    truncated: set[int] = set()
    if unique:
        limit = encoder.context_length
        by_text = dict(zip(unique, encoder.encode_texts(unique), strict=True))
        too_long = {t for t in unique if encoder.count_text_tokens(t) > limit}
        for i, text in texts.items():
            if text:
                text_vectors[i] = by_text[text]
                if text in too_long:
                    truncated.add(i)
    return text_vectors, truncated
