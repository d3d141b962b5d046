"""The encoder interface: texts and images in, unit-norm float32 vectors out."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from services.core.scoring import Scoring
from services.core.types import Vector

Precision = Literal["fp32", "bf16", "fp16"]

PixelBatch = npt.NDArray[np.float32]
"""Preprocessed images, shape (n, 3, H, W), already normalised with the model's mean/std."""


class Encoder(ABC):
    """A CLIP-family model. ``load()`` is lazy and thread-safe; outputs are L2-normalised float32."""

    model_id: str

    def __init__(self) -> None:
        # Re-entrant: properties used while loading (dim, …) call load() again on the same thread.
        self._lock = threading.RLock()
        self._loaded = False

    def load(self) -> None:
        """Load weights once (thread-safe); later calls return at once."""
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @abstractmethod
    def _load(self) -> None: ...

    @property
    @abstractmethod
    def dim(self) -> int:
        """Embedding size (e.g. 512 for ViT-B/32)."""

    @property
    @abstractmethod
    def logit_scale(self) -> float:
        """The model's learned temperature (exp of ``logit_scale``), used for softmax over labels."""

    @property
    def family(self) -> str:
        """The model family (``clip``, ``siglip``, ``siglip2``, ``shapes-clip`` …); see ``families.py``."""
        return "clip"

    @property
    def precision(self) -> Precision:
        """The precision images and texts are encoded at."""
        return "fp32"

    @property
    def scoring(self) -> Scoring:
        """How zero-shot probabilities are computed for this model (default: CLIP's softmax)."""
        return Scoring("softmax", self.logit_scale)

    @property
    @abstractmethod
    def image_size(self) -> int:
        """Side of the square input the vision tower expects, in pixels."""

    @abstractmethod
    def preprocess(self, image: object) -> npt.NDArray[np.float32]:
        """One PIL image → (3, H, W) float32, ready for ``encode_pixels``. Pure; safe in worker threads."""

    @abstractmethod
    def encode_pixels(self, pixels: PixelBatch) -> Vector:
        """(n, 3, H, W) → (n, dim) unit vectors."""

    @abstractmethod
    def encode_texts(self, texts: Sequence[str]) -> Vector:
        """n texts → (n, dim) unit vectors. Texts longer than the context are truncated."""

    def encode_images(self, images: Sequence[object]) -> Vector:
        """n PIL images → (n, dim) unit vectors."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_pixels(np.stack([self.preprocess(im) for im in images]))

    @property
    def decode_side(self) -> int | None:
        """Shortest side worth decoding a JPEG at for this model (``decode_image``'s ``draft_side``);
        None decodes at full size. Ingestion and query uploads pass the same value, so the same bytes
        give the same vector either way."""
        return None

    def count_text_tokens(self, text: str) -> int:
        """Tokens the text takes, specials included (used to flag truncated alt-text)."""
        return 0

    @property
    def context_length(self) -> int:
        return 77
