"""The thumbnail store: paths come only from a checked store name and a UUID; writes are atomic."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from services.core.errors import InvalidInput
from services.vectorstore.thumbnails import ThumbnailStore

PID = str(uuid.uuid4())


def test_write_read_replace_and_layout(tmp_path: Path) -> None:
    thumbs = ThumbnailStore(tmp_path / "thumbnails")
    assert thumbs.read("photos-0123456789ab", PID) is None
    thumbs.write("photos-0123456789ab", PID, b"first")
    path = tmp_path / "thumbnails" / "photos-0123456789ab" / PID[:2] / f"{PID}.jpg"
    assert path.read_bytes() == b"first"
    thumbs.write("photos-0123456789ab", PID.upper(), b"second")  # the same id, any case: replaced in place
    assert thumbs.read("photos-0123456789ab", PID) == b"second"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("store_name", ["../other", "a/b", "", ".hidden", "x" * 65, "photos\0"])
def test_store_names_that_could_leave_the_root_are_refused(tmp_path: Path, store_name: str) -> None:
    thumbs = ThumbnailStore(tmp_path / "thumbnails")
    with pytest.raises(InvalidInput):
        thumbs.write(store_name, PID, b"x")
    with pytest.raises(InvalidInput):
        thumbs.delete_collection(store_name)
    assert thumbs.read(store_name, PID) is None
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("point_id", ["../../etc/passwd", "1", "", "not-a-uuid", f"{PID}/../x"])
def test_point_ids_must_be_uuids(tmp_path: Path, point_id: str) -> None:
    thumbs = ThumbnailStore(tmp_path)
    with pytest.raises(InvalidInput):
        thumbs.write("c", point_id, b"x")
    assert thumbs.read("c", point_id) is None


def test_a_symlink_planted_in_place_of_a_thumbnail_is_not_followed(tmp_path: Path) -> None:
    thumbs = ThumbnailStore(tmp_path / "thumbnails")
    thumbs.write("c", PID, b"mine")
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    path = thumbs.path("c", PID)
    path.unlink()
    os.symlink(secret, path)
    assert thumbs.read("c", PID) is None


def test_delete_collection_removes_only_its_own(tmp_path: Path) -> None:
    thumbs = ThumbnailStore(tmp_path)
    other = str(uuid.uuid4())
    thumbs.write_many("a", {PID: b"1", other: b"2"})
    thumbs.write("b", PID, b"3")
    thumbs.delete_collection("a")
    assert thumbs.read("a", PID) is None and thumbs.read("a", other) is None
    assert thumbs.read("b", PID) == b"3"
    thumbs.delete_collection("never-made")  # nothing to delete is fine
