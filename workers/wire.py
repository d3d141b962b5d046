"""Points on the wire between a worker and the API's internal route: vectors as base64 float32.

Base64 of the raw little-endian float32 bytes is exact (no decimal round trip) and about a third of
the size of a JSON number list.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from services.core.errors import InvalidInput
from services.core.types import PointRecord


def _b64(v: object) -> str:
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")


def encode_point(p: PointRecord) -> dict[str, Any]:
    return {
        "id": p.id,
        "vectors": {k: _b64(v) for k, v in p.vectors.items()},
        "payload": p.payload,
    }


def decode_point(d: Any) -> PointRecord:
    """A point from its wire form; raises ``InvalidInput`` on anything malformed."""
    if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("vectors"), dict):
        raise InvalidInput("each point needs an 'id' string and a 'vectors' object")
    vectors = {}
    for name, raw in d["vectors"].items():
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidInput(f"vector {name!r} of point {d['id']!r} is not base64") from None
        if len(data) % 4:
            raise InvalidInput(f"vector {name!r} of point {d['id']!r} is not float32 data")
        vectors[str(name)] = np.frombuffer(data, dtype="<f4").astype(np.float32)
    payload = d.get("payload") or {}
    if not isinstance(payload, dict):
        raise InvalidInput(f"payload of point {d['id']!r} must be an object")
    return PointRecord(id=d["id"], vectors=vectors, payload=payload)
