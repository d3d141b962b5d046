"""Point ids derived from content, so re-ingesting the same image is idempotent."""

from __future__ import annotations

import uuid

# A fixed namespace: ids stay stable across versions and machines.
_NAMESPACE = uuid.UUID("6f1d7f0e-5b8e-4c6a-9a41-2b7c1e0d9a53")


def point_id(collection: str, content_hash: str) -> str:
    """UUIDv5 of (collection, SHA-256 of the image bytes): the same image in the same collection → same id."""
    return str(uuid.uuid5(_NAMESPACE, f"{collection}:{content_hash}"))
