"""``GET /v1/collections/{name}/videos/{video_id}/stream``: a video whose frames the collection holds,
with HTTP range requests (206), so a browser's ``<video>`` can seek to a moment; and
``GET …/stream-url``: a signed link to it that plays without the key header, which a ``<video>`` cannot
send (``services/accounts/stream_links.py``; ``deps.link_principal`` checks it).

Only files that ingest recorded for this collection are served (``VideoRegistry``: the real path it
opened through the job's read grant, with its size and mtime), and only while the file is still that
one; never a path from the request or from a point's payload (docs/security.md). The route is a
collection route: the caller's team must own the collection, as for every other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import StreamingResponse

from services.api.byte_ranges import Unsatisfiable, parse_range
from services.api.deps import LINK_PARAM, CollectionDep, PrincipalDep, RuntimeDep, SettingsDep
from services.api.schemas import StreamLinkOut
from services.core.errors import VideoNotFound
from services.vectorstore.videos import VideoRecord, VideoRegistry

router = APIRouter(prefix="/v1/collections", tags=["videos"])
BLOCK = 256 * 1024


def get_videos(settings: SettingsDep) -> VideoRegistry:
    return VideoRegistry(settings.videos_dir)


VideosDep = Annotated[VideoRegistry, Depends(get_videos)]


def _send(f: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = length
        while left > 0:
            block = f.read(min(BLOCK, left))
            if not block:
                return
            left -= len(block)
            yield block


def _recorded(videos: VideoRegistry, store_name: str, name: str, video_id: str) -> VideoRecord:
    rec = videos.get(store_name, video_id)
    if rec is None:
        raise VideoNotFound(f"video {video_id!r} has no frames in collection {name!r}")
    return rec


@router.get("/{name}/videos/{video_id}/stream-url", response_model=StreamLinkOut)
def stream_url(
    video_id: str, info: CollectionDep, videos: VideosDep, principal: PrincipalDep, runtime: RuntimeDep
) -> StreamLinkOut:
    """A link to the video's stream that plays without an API key (a ``<video src>`` cannot send one):
    valid for this video of this collection only, until ``expires_at`` (``SIGNIFIER_STREAM_LINK_TTL_S``),
    and only while the key that asked for it is active. Relative to the API's base URL."""
    _recorded(videos, info.store_name, info.name, video_id)
    token, expires = runtime.stream_links.sign(principal.team, principal.key_id, info.id, video_id)
    url = f"/v1/collections/{quote(info.name, safe='')}/videos/{video_id}/stream?{LINK_PARAM}={token}"
    return StreamLinkOut(
        url=url,
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
        expires_in=runtime.stream_links.ttl_s,
    )


@router.get(
    "/{name}/videos/{video_id}/stream",
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The whole video."},
        206: {"content": {"video/mp4": {}}, "description": "The byte range asked for (Content-Range)."},
        416: {"description": "The range starts past the end of the file (Content-Range: bytes */size)."},
    },
)
def stream_video(
    video_id: str,
    info: CollectionDep,
    videos: VideosDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """The video file, whole (200) or the byte range a ``Range: bytes=start-end`` header asks (206).
    Authenticated by the key, or by a signed ``?link=`` from ``…/stream-url`` in its place."""
    rec = _recorded(videos, info.store_name, info.name, video_id)
    f = videos.open(rec)
    if f is None:
        raise VideoNotFound(f"video {video_id!r} changed or was removed since it was ingested; ingest it again")
    size = rec.size
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    try:
        wanted = parse_range(range_, size)
    except Unsatisfiable:
        f.close()
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_send(f, 0, size), media_type=rec.mime, headers=headers)
    headers["Content-Length"] = str(wanted.length)
    headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    return StreamingResponse(_send(f, wanted.start, wanted.length), 206, media_type=rec.mime, headers=headers)
