"""Points on the wire between a worker and the API's internal route: vectors as base64 float32, and the
point's JPEG thumbnail (optional) as base64 under ``thumbnail``.

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
from services.encoders.thumbnail import MAX_BYTES, check_thumbnail
from services.vectorstore.base import parse_point_id


def _b64(v: object) -> str:
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")


def _short(value: object) -> str:
    """A value for an error message, cut short: a message never echoes huge input."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def encode_point(p: PointRecord, thumbnail: bytes | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "vectors": {k: _b64(v) for k, v in p.vectors.items()},
        "payload": p.payload,
    }
    if thumbnail is not None:
        out["thumbnail"] = base64.b64encode(thumbnail).decode("ascii")
    return out


def decode_thumbnail(d: dict[str, Any]) -> bytes | None:
    """The point's thumbnail from its wire form (None: it has none), checked to be a small whole JPEG;
    raises ``InvalidInput`` otherwise."""
    raw = d.get("thumbnail")
    if raw is None:
        return None
    what = f"thumbnail of point {_short(d.get('id'))}"
    if not isinstance(raw, str) or len(raw) > (MAX_BYTES + 2) // 3 * 4:  # refused before decoding
        raise InvalidInput(f"{what} must be a base64 JPEG of at most {MAX_BYTES:,} bytes")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not base64") from None
    try:
        return check_thumbnail(data)
    except InvalidInput as exc:
        raise InvalidInput(f"point {_short(d.get('id'))}: {exc.message}") from None


def decode_point(d: Any) -> PointRecord:
    """A point from its wire form, its id in canonical UUID form; raises ``InvalidInput`` on anything malformed."""
    if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("vectors"), dict):
        raise InvalidInput("each point needs an 'id' string and a 'vectors' object")
    pid = parse_point_id(d["id"])
    if pid is None:
        raise InvalidInput(f"point id {_short(d['id'])} is not a UUID")
    vectors = {}
    for name, raw in d["vectors"].items():
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise InvalidInput(f"vector {_short(name)} of point {pid} is not base64") from None
        if len(data) % 4:
            raise InvalidInput(f"vector {_short(name)} of point {pid} is not float32 data")
        vectors[str(name)] = np.frombuffer(data, dtype="<f4").astype(np.float32)
    payload = d.get("payload") or {}
    if not isinstance(payload, dict):
        raise InvalidInput(f"payload of point {pid} must be an object")
    return PointRecord(id=pid, vectors=vectors, payload=payload)
