"""Where each point's thumbnail is kept: ``<root>/<store name>/<id[:2]>/<id>.jpg``.

A thumbnail's path is derived only from the collection's store name (checked against the strict
collection-name pattern) and the point id (a canonical UUID): never from a payload or a request path, so
no input can name a file outside ``root``. 256 shard folders per collection keep a million thumbnails at
about 4,000 files a folder. Writes go to a temporary file renamed into place, so re-ingesting an image
replaces its thumbnail atomically and a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from services.core.errors import InvalidInput
from services.vectorstore.base import check_collection_name, check_point_id

# Reads refuse a symlink in the last component: nothing this module writes is one.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class ThumbnailStore:
    """Thumbnails of every collection under one folder (``Settings.thumbnails_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, store_name: str, point_id: str) -> Path:
        """The thumbnail's file; raises ``InvalidInput`` for a malformed store name or point id."""
        pid = check_point_id(point_id)
        return self.root / check_collection_name(store_name) / pid[:2] / f"{pid}.jpg"

    def write(self, store_name: str, point_id: str, jpeg: bytes) -> None:
        """Store (or atomically replace) one point's thumbnail."""
        target = self.path(store_name, point_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(jpeg)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def write_many(self, store_name: str, thumbnails: Mapping[str, bytes]) -> None:
        for point_id, jpeg in thumbnails.items():
            self.write(store_name, point_id, jpeg)

    def read(self, store_name: str, point_id: str) -> bytes | None:
        """The point's thumbnail, or None when it has none (or the id is not a point id)."""
        try:
            target = self.path(store_name, point_id)
        except InvalidInput:
            return None
        try:
            fd = os.open(target, _READ_FLAGS)
        except OSError:  # missing, or not a plain file this store wrote
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def delete_collection(self, store_name: str) -> None:
        """Remove every thumbnail of a store collection (the collection is being deleted)."""
        shutil.rmtree(self.root / check_collection_name(store_name), ignore_errors=True)
