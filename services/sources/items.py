"""What flows through the ingestion pipeline: source items in, prepared items, failures out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from services.sources.grant import ReadGrant

ItemKind = Literal["file", "url", "bytes"]


@dataclass(frozen=True)
class SourceItem:
    """One image to ingest. ``source`` is what the user sees (a path or URL) and what payload stores."""

    source: str
    kind: ItemKind = "file"
    alt_text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None  # for kind="bytes" (tar members, uploads held in memory)
    grant: ReadGrant | None = None  # kind="file": what the job may read (None: unchecked, library use)
    # A video's planned time range (``t0``, ``t1`` s, frame ``cap``, the film's ``cuts`` and ``sha``); None: all of it.
    clip: dict[str, Any] | None = None


@dataclass(frozen=True)
class FailedItem:
    """An item that ended as failed (``item``: its path, URL, row or point id), with a reason a person can
    act on. The one type for it end to end: the pipeline yields it, job records store it, workers send it
    (``POST /internal/v1/jobs/.../batches``) and ``GET /v1/jobs/{id}`` returns it as ``errors``.

    A frozen dataclass, not a pydantic model: the pipeline makes one per failed entry of million-item
    sources, positionally; pydantic validates and serialises it where it crosses the wire all the same.
    """

    item: str
    reason: str


@dataclass(frozen=True)
class PreparedItem:
    """A decoded, preprocessed image ready for the encoder, and its JPEG thumbnail (None: none kept)."""

    item: SourceItem
    content_hash: str
    pixels: npt.NDArray[np.float32]
    width: int
    height: int
    thumbnail: bytes | None = None
