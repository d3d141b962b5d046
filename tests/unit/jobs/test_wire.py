"""The worker → API wire format: exact vectors, ids checked as UUIDs, thumbnails checked as small JPEGs."""

from __future__ import annotations

import base64
import io
import uuid

import numpy as np
import pytest
from PIL import Image

from services.core.errors import InvalidInput
from services.core.types import PointRecord
from services.jobs.wire import decode_point, decode_thumbnail, encode_point


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(buf, format="JPEG")
    return buf.getvalue()


def test_round_trip_with_and_without_a_thumbnail() -> None:
    pid = str(uuid.uuid4())
    p = PointRecord(pid, {"image": np.array([0.6, 0.8], np.float32)}, {"source": "a.jpg"})
    wire = encode_point(p, _jpeg())
    back = decode_point(wire)
    assert back.id == pid and back.payload == p.payload
    np.testing.assert_array_equal(back.vectors["image"], p.vectors["image"])
    assert decode_thumbnail(wire) == _jpeg()
    assert "thumbnail" not in encode_point(p) and decode_thumbnail(encode_point(p)) is None


def test_point_ids_must_be_uuids_and_come_back_canonical() -> None:
    pid = uuid.uuid4()
    assert decode_point({"id": str(pid).upper(), "vectors": {}}).id == str(pid)
    for bad in ("../../x", "1", "x" * 10_000):
        with pytest.raises(InvalidInput, match="not a UUID") as info:
            decode_point({"id": bad, "vectors": {}})
        assert len(info.value.message) < 100  # a huge id is not echoed back


@pytest.mark.parametrize(
    ("thumbnail", "message"),
    [
        (base64.b64encode(b"#!/bin/sh\nrm -rf /\n").decode(), "not a decodable JPEG"),
        ("%%% not base64", "not base64"),
        (12, "base64 JPEG"),
        ("A" * 2_000_000, "at most"),
    ],
)
def test_thumbnails_that_are_not_small_jpegs_are_refused(thumbnail: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_thumbnail({"id": str(uuid.uuid4()), "vectors": {}, "thumbnail": thumbnail})
