"""Video files as timed frames: open (through the read grant, within Limits), probe, read subtitles, and
sample frames every ``interval_s`` seconds and at shot cuts (PyAV, which bundles FFmpeg's libraries).

Decoding is FFmpeg's own, threaded (``decode_threads``). Every frame is decoded, since an H.264 P- or
B-frame needs its references, but only the cut detector's small copy (``cut_side`` px wide, a grid of
pixels read from the decoded planes in place) is made of each; the model-sized image is made only for
the frames that are sampled.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from services.core.errors import PayloadTooLarge, SignifierError
from services.core.settings import Limits, VideoSettings
from services.sources.cuts import CutDetector, signature
from services.sources.grant import UNRESTRICTED, ReadGrant
from services.sources.subtitles import Cue, embedded_cues, parse_subtitles

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mkv", ".webm", ".mov"})
SUBTITLE_SUFFIXES = (".srt", ".vtt")
MAX_SUBTITLE_BYTES = 8 * 1024 * 1024
HASH_BLOCK = 1024 * 1024


class VideoError(SignifierError):
    """A video that cannot be read: not a video, truncated, an unsupported codec, no decodable frame."""


def is_video(path: str | Path) -> bool:
    return Path(str(path)).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What the container says: ``duration`` in seconds, frames per second, frame size, codec name."""

    duration: float
    fps: float
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class SampledFrame:
    """One frame chosen to become a point: ``timestamp`` (s), its decoded index in the video (counted from
    0 at the start, as ``timestamp × fps``), its ``shot`` (0 before the first cut), whether it opens a shot,
    and its image at model size."""

    timestamp: float
    index: int
    shot: int
    cut: bool
    image: Image.Image


def _av() -> Any:
    import av

    return av


def open_file(path: str | Path, grant: ReadGrant, limits: Limits, shown: str | None = None) -> BinaryIO:
    """The video opened through ``grant``; ``PayloadTooLarge`` past ``max_video_bytes``."""
    f = grant.open(path, shown)
    size = os.fstat(f.fileno()).st_size
    if size > limits.max_video_bytes:
        f.close()
        raise PayloadTooLarge(f"video is {size:,} bytes, over the limit of {limits.max_video_bytes:,} bytes")
    return f


def file_hash(f: BinaryIO) -> str:
    """SHA-256 of the whole file (hex), read in 1 MiB blocks; the file is left at its start."""
    h = hashlib.sha256()
    f.seek(0)
    while block := f.read(HASH_BLOCK):
        h.update(block)
    f.seek(0)
    return h.hexdigest()


def open_container(f: BinaryIO) -> Any:
    """A PyAV input container over ``f``; ``VideoError`` (with FFmpeg's reason) if it is not a video."""
    av = _av()
    try:
        container = av.open(f, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise VideoError(f"not a readable video: {_reason(exc)}") from None
    if not container.streams.video:
        container.close()
        raise VideoError("the file has no video stream")
    return container


def probe(container: Any, limits: Limits) -> VideoInfo:
    """Duration, rate, size and codec of the first video stream; refuses frames over ``max_image_pixels``
    and codecs this FFmpeg build cannot decode."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx is None or not getattr(ctx, "name", None):
        raise VideoError("unsupported video codec (this FFmpeg build has no decoder for it)")
    w, h = int(ctx.width or 0), int(ctx.height or 0)
    if w * h > limits.max_image_pixels:
        raise VideoError(f"frames are {w}×{h} px, over the limit of {limits.max_image_pixels:,} pixels")
    fps = float(stream.average_rate or stream.guessed_rate or 25)
    if container.duration:
        duration = container.duration / 1_000_000
    elif stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    else:
        duration = 0.0
    return VideoInfo(duration=duration, fps=fps, width=w, height=h, codec=str(ctx.name))


def read_cues(video: Path, grant: ReadGrant, container: Any | None) -> list[Cue]:
    """Subtitles: ``<stem>.srt`` or ``<stem>.vtt`` beside the video (read through the grant), else the
    container's first text subtitle stream, else none."""
    for suffix in SUBTITLE_SUFFIXES:
        side = video.with_suffix(suffix)
        if os.path.lexists(side):
            data = grant.read_bytes(side, MAX_SUBTITLE_BYTES)
            return parse_subtitles(data.decode("utf-8", errors="replace"))
    if container is not None and container.streams.subtitles:
        try:
            cues = embedded_cues(container, container.streams.subtitles[0])
        finally:
            container.seek(0)
        return cues
    return []


def effective_interval(settings: VideoSettings, duration: float) -> float:
    """The sampling step: ``interval_s``, stretched so that a long video stays within ``max_frames``
    (half of the cap for the clock, half left for frames at cuts)."""
    if duration <= 0:
        return settings.interval_s
    return max(settings.interval_s, duration / max(1, settings.max_frames // 2))


def frame_side(info: VideoInfo, shortest: int) -> tuple[int, int]:
    """(w, h) of the frame scaled so its shortest side is ``shortest`` px (never enlarged), even sides."""
    w, h = info.width, info.height
    if min(w, h) <= shortest or shortest <= 0:
        return w, h
    s = shortest / min(w, h)
    return max(2, round(w * s / 2) * 2), max(2, round(h * s / 2) * 2)


@dataclass
class SampleWindow:
    """Which part of the video one run samples: ``[t0, t1)`` seconds, at most ``cap`` frames. ``cuts``
    (seconds): the video's cuts found by a planning pass, used instead of detecting them here, so that
    every chunk of a film numbers shots alike; None: detect them while decoding."""

    t0: float = 0.0
    t1: float = math.inf
    cap: int = 10_000
    cuts: list[float] | None = None


def sample_frames(
    container: Any, info: VideoInfo, settings: VideoSettings, window: SampleWindow, side: int
) -> Iterator[SampledFrame]:
    """Frames of ``window``, every ``effective_interval`` seconds on a grid from 0 s and the first frame of
    every shot, in time order, at ``side`` px (shortest side). Raises ``VideoError`` when FFmpeg fails
    before any frame of the window; a failure later ends the stream (``DecodeStopped``)."""
    av = _av()
    stream = _decoding(container, settings)
    interval = effective_interval(settings, info.duration)
    fps = info.fps or 25.0
    size = frame_side(info, side)
    cut_h = max(2, round(settings.cut_side * info.height / max(1, info.width)))
    detector = CutDetector(settings.cut_threshold, settings.min_shot_s)
    planned = sorted(window.cuts) if window.cuts is not None else None
    if window.t0 > 0:
        # Back to the keyframe before t0: the frames before it are decoded as the cut detector's reference.
        container.seek(int(window.t0 / float(stream.time_base)), stream=stream, backward=True)
    shot, sent, prev_t, pending_cut = 0, 0, None, 0
    if planned is not None:
        pending_cut = _bisect(planned, window.t0 - 1e-6)
        shot = pending_cut
    try:
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else (prev_t or -1 / fps) + 1 / fps
            if t >= window.t1:
                return
            is_cut = False
            if planned is None:
                small = _small(frame, settings.cut_side, cut_h)
                is_cut = detector.feed(t, signature(small))
                shot += int(is_cut)
            else:
                while pending_cut < len(planned) and planned[pending_cut] <= t + 1e-6:
                    pending_cut += 1
                    is_cut = True
                shot = pending_cut
            on_grid = prev_t is None or math.floor(t / interval + 1e-9) != math.floor(prev_t / interval + 1e-9)
            prev_t = t
            if t < window.t0 - 1e-6:
                continue
            if on_grid or is_cut:
                image = frame.to_image(width=size[0], height=size[1])
                yield SampledFrame(round(t, 3), round(t * fps), shot, is_cut or (shot == 0 and sent == 0), image)
                sent += 1
                if sent >= window.cap:
                    return
    except av.error.FFmpegError as exc:
        if prev_t is None:
            raise VideoError(f"no decodable video frames: {_reason(exc)}") from None
        raise DecodeStopped(prev_t, _reason(exc)) from None


def detect_cuts(container: Any, info: VideoInfo, settings: VideoSettings) -> list[float]:
    """Every cut of the video (seconds), from one pass of small frames: the planning pass of a film that
    is split into chunks, so that shot numbers agree across chunks."""
    stream = _decoding(container, settings)
    cut_h = max(2, round(settings.cut_side * info.height / max(1, info.width)))
    detector = CutDetector(settings.cut_threshold, settings.min_shot_s)
    av = _av()
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                detector.feed(float(frame.time), signature(_small(frame, settings.cut_side, cut_h)))
    except av.error.FFmpegError:
        pass  # a damaged tail: the chunks that reach it record the failure
    return [round(c, 3) for c in detector.cuts]


def _decoding(container: Any, settings: VideoSettings) -> Any:
    """The first video stream, set up for decoding: FFmpeg's frame and slice threads, and (``fast_decode``)
    no H.264/HEVC deblocking filter: a fifth less decode time, for 8×8 block edges at low bitrates that a
    model's 224 px input averages away (bench/README.md)."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    if settings.decode_threads:
        stream.codec_context.thread_count = settings.decode_threads
    if settings.fast_decode:
        stream.codec_context.options = {"skip_loop_filter": "all"}
    return stream


# Planar 8-bit YUV layouts read straight from the decoded planes: name → (chroma x step, chroma y step, full range).
_PLANAR_YUV = {
    "yuv420p": (2, 2, False),
    "yuvj420p": (2, 2, True),
    "yuv422p": (2, 1, False),
    "yuvj422p": (2, 1, True),
    "yuv444p": (1, 1, False),
    "yuvj444p": (1, 1, True),
}


def _small(frame: Any, width: int, height: int) -> Any:
    """The cut detector's copy of a frame: ``width`` × ``height`` RGB.

    For planar 8-bit YUV (what H.264, HEVC, VP9 and AV1 decode to almost always) the copy is a grid of
    ``width × height`` pixels picked from the decoded planes in place, then turned to RGB (BT.601) in
    numpy: no pass over the full frame, ~0.05 ms a 1080p frame against ~1.2 ms for swscale's cheapest
    scaler, which is a third of the decode cost (bench/README.md, "Video ingestion"). A histogram of
    2,304 sampled pixels finds the same cuts as one of an averaged copy. Other layouts go through
    swscale."""
    layout = _PLANAR_YUV.get(frame.format.name)
    if layout is None:
        return frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="FAST_BILINEAR")
    sx, sy, full = layout
    ys, xs = _grid(frame.height, frame.width, height, width)
    planes = frame.planes
    y = _plane(planes[0])[np.ix_(ys, xs)].astype(np.float32)
    u = _plane(planes[1])[np.ix_(ys // sy, xs // sx)].astype(np.float32) - 128.0
    v = _plane(planes[2])[np.ix_(ys // sy, xs // sx)].astype(np.float32) - 128.0
    if not full:
        y, u, v = (y - 16.0) * (255 / 219), u * (255 / 224), v * (255 / 224)
    rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _plane(plane: Any) -> Any:
    """One decoded plane as a (rows, line_size) uint8 view, no copy (rows may be padded on the right)."""
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)


@functools.lru_cache(maxsize=16)
def _grid(h: int, w: int, rows: int, cols: int) -> tuple[Any, Any]:
    """Row and column indices of an evenly spread ``rows × cols`` grid over an ``h × w`` frame."""
    return np.linspace(0, h - 1, rows).round().astype(np.intp), np.linspace(0, w - 1, cols).round().astype(np.intp)


class DecodeStopped(Exception):
    """FFmpeg failed after ``at`` seconds of the video had been decoded."""

    def __init__(self, at: float, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


def _bisect(values: list[float], x: float) -> int:
    import bisect

    return bisect.bisect_right(values, x)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).strip().rstrip(".")


def open_video(path: str | Path, limits: Limits, grant: ReadGrant = UNRESTRICTED) -> tuple[BinaryIO, Any, VideoInfo]:
    """(file, container, info) of a video; the caller closes the container, then the file."""
    f = open_file(path, grant, limits)
    try:
        container = open_container(f)
    except BaseException:
        f.close()
        raise
    try:
        return f, container, probe(container, limits)
    except BaseException:
        container.close()
        f.close()
        raise


def estimate_frames(path: str | Path, grant: ReadGrant, limits: Limits, settings: VideoSettings) -> int:
    """Frames a video will give at most, from its declared duration (1 for a file that does not open:
    its run records the failure). Used for job totals before the video is decoded."""
    try:
        f, container, info = open_video(path, limits, grant)
    except SignifierError:
        return 1
    with f:
        container.close()
    return max(1, math.ceil(info.duration / effective_interval(settings, info.duration)))


def plan_video(
    path: str | Path, grant: ReadGrant, limits: Limits, settings: VideoSettings
) -> list[tuple[dict[str, Any], int]]:
    """Time-range chunks of one video, each ``({"t0", "t1", "cap", "cuts", "sha"}, estimated frames)``;
    one chunk ``({}, n)`` for a video no longer than ``chunk_s`` or one that does not open.

    A film that is split is hashed and its cuts found here, in one pass of small frames (a second
    decode of the film, on the planner; docs/video.md): every chunk then numbers shots alike and needs
    not read the whole file to know the film's id."""
    try:
        f, container, info = open_video(path, limits, grant)
    except SignifierError:
        return [({}, 1)]
    with f:
        try:
            if info.duration <= settings.chunk_s:
                return [({}, max(1, math.ceil(info.duration / effective_interval(settings, info.duration))))]
            interval = effective_interval(settings, info.duration)
            length = math.ceil(settings.chunk_s / interval) * interval  # chunks start on the sampling grid
            cuts = detect_cuts(container, info, settings)
        finally:
            container.close()
        sha = file_hash(f)
    n = math.ceil(info.duration / length)
    out: list[tuple[dict[str, Any], int]] = []
    for k in range(n):
        t0, t1 = round(k * length, 6), (round((k + 1) * length, 6) if k < n - 1 else None)
        span = (t1 if t1 is not None else info.duration) - t0
        cap = max(1, math.ceil(settings.max_frames * span / info.duration))
        inside = [c for c in cuts if t0 <= c < (t1 if t1 is not None else math.inf)]
        est = max(1, math.ceil(span / interval) + len(inside))
        out.append(({"t0": t0, "t1": t1, "cap": cap, "cuts": cuts, "sha": sha}, min(est, cap)))
    return out
