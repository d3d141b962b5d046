"""Which video files a collection's frames came from: ``<root>/<store name>/<video id>.json``.

Ingest records each video it stored frames of (its real path, size and modification time, checked
through the job's read grant when it was read). The stream route serves only recorded videos, and only
while the file is the one recorded (same size and mtime, not swapped for a symlink): never a path from a
request or a point's payload. Paths are derived from the store name and the video id (32 hex digits)
alone, like thumbnails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from services.core.errors import InvalidInput
from services.vectorstore.base import check_collection_name

_VIDEO_ID = re.compile(r"[0-9a-f]{32}")
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def check_video_id(video_id: object) -> str:
    if not isinstance(video_id, str) or not _VIDEO_ID.fullmatch(video_id):
        raise InvalidInput(f"{video_id!r} is not a video id (32 lowercase hex digits)")
    return video_id


@dataclass(frozen=True)
class VideoRecord:
    """A video as ingest read it: ``path`` (real, absolute), ``size`` (bytes), ``mtime_ns``, ``source``
    (as the job named it), ``duration`` (s) and the container's MIME type."""

    video_id: str
    path: str
    size: int
    mtime_ns: int
    source: str
    duration: float
    mime: str


MIME_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}


class VideoRegistry:
    """Video records of every collection under one folder (``<data dir>/videos``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, store_name: str, video_id: str) -> Path:
        return self.root / check_collection_name(store_name) / f"{check_video_id(video_id)}.json"

    def record(self, store_name: str, rec: VideoRecord) -> None:
        """Write (or atomically replace) a video's record."""
        target = self._path(store_name, rec.video_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(rec), f)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, store_name: str, video_id: str) -> VideoRecord | None:
        try:
            target = self._path(store_name, video_id)
            fd = os.open(target, _READ_FLAGS)
        except (InvalidInput, OSError):
            return None
        with os.fdopen(fd, "r", encoding="utf-8") as f:
            return VideoRecord(**json.load(f))

    def open(self, rec: VideoRecord) -> BinaryIO | None:
        """The recorded file opened for reading, if it is still the file ingest read; else None."""
        try:
            fd = os.open(rec.path, _READ_FLAGS)
        except OSError:
            return None
        st = os.fstat(fd)
        if (st.st_size, st.st_mtime_ns) != (rec.size, rec.mtime_ns) or os.path.realpath(rec.path) != rec.path:
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")

    def delete_collection(self, store_name: str) -> None:
        shutil.rmtree(self.root / check_collection_name(store_name), ignore_errors=True)
