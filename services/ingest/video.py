"""The video stage: one video file (or one time range of it) → sampled frames → points, in batches.

Decoding and preprocessing run in a thread ahead of the model (FFmpeg decodes with its own threads);
this thread embeds a batch, drops frames nearly identical to the last kept frame of their shot (image
cosine ≥ ``dedupe_cosine``), embeds the frames' subtitle alt-texts, stores the batch and reports it.
Point ids come from the video's SHA-256 and the frame's timestamp (``frame_key``): ingesting the same
video again, or a chunk again after its worker died, writes the same points.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from services.core.errors import SignifierError
from services.core.settings import IngestSettings, Limits
from services.encoders.base import Encoder
from services.encoders.decode import DecodedImage
from services.encoders.thumbnail import make_thumbnail
from services.ingest.embed import EmbeddedBatch, embed_texts
from services.ingest.writer import PointWriter, build_points, write_points
from services.sources.grant import UNRESTRICTED
from services.sources.items import FailedItem, PreparedItem, SourceItem
from services.sources.subtitles import Cue, overlapping
from services.sources.video import (
    DecodeStopped,
    SampledFrame,
    SampleWindow,
    VideoError,
    VideoInfo,
    file_hash,
    open_container,
    open_file,
    probe,
    read_cues,
    sample_frames,
)
from services.vectorstore.videos import MIME_TYPES, VideoRecord, VideoRegistry

Report = Callable[[int, list[FailedItem], dict[str, float]], bool]
"""(frames stored, failures, stage seconds) of one batch → True to go on, False: the job was cancelled."""

VIDEO_KEYS = ("media", "video_id", "timestamp", "shot", "frame", "duration", "fps")
_T = TypeVar("_T")


def video_id(sha256: str) -> str:
    """The video's id in payloads and URLs: the first 32 hex digits of its SHA-256."""
    return sha256[:32]


def frame_key(sha256: str, timestamp: float) -> str:
    """A frame's content key (its point id derives from it): the video's hash and the time in ms."""
    return f"{sha256}@{round(timestamp * 1000)}"


@dataclass(frozen=True)
class _Frame:
    sampled: SampledFrame
    pixels: Any
    thumbnail: bytes | None


class VideoIngest:
    """Runs videos into a collection. Collaborators are handed in, as for ``IngestPipeline``."""

    def __init__(
        self,
        encoder: Encoder,
        store: PointWriter,
        ingest: IngestSettings,
        limits: Limits,
        registry: VideoRegistry | None = None,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.ingest = ingest
        self.limits = limits
        self.registry = registry

    def run(self, collection: str, item: SourceItem, report: Report) -> None:
        """Ingest ``item`` (a video file; ``item.clip``: the time range a planned chunk covers). Every
        problem is reported as a ``FailedItem``; frames stored before a failure stay stored."""
        grant = item.grant or UNRESTRICTED
        try:
            f = open_file(item.source, grant, self.limits)
        except SignifierError as exc:
            report(0, [FailedItem(item.source, exc.message)], {})
            return
        with f:
            clip = item.clip or {}
            t0 = time.perf_counter()
            sha = str(clip.get("sha") or file_hash(f))
            try:
                container = open_container(f)
            except VideoError as exc:
                report(0, [FailedItem(item.source, exc.message)], {})
                return
            try:
                self._run_open(collection, item, container, sha, time.perf_counter() - t0, report)
            finally:
                container.close()

    def _run_open(
        self, collection: str, item: SourceItem, container: Any, sha: str, hash_s: float, report: Report
    ) -> None:
        clip = item.clip or {}
        failures: list[FailedItem] = []
        try:
            info = probe(container, self.limits)
        except VideoError as exc:
            report(0, [FailedItem(item.source, exc.message)], {})
            return
        try:
            cues = read_cues(Path(item.source), item.grant or UNRESTRICTED, container)
        except SignifierError as exc:
            cues = []
            failures.append(FailedItem(item.source, f"subtitles not read (frames kept without them): {exc.message}"))
        vid = video_id(sha)
        if self.registry is not None:
            self._record(collection, item, vid, info, container)
        vs = self.ingest.video
        window = SampleWindow(
            t0=float(clip.get("t0", 0.0)),
            t1=float(clip["t1"]) if clip.get("t1") is not None else math.inf,
            cap=int(clip.get("cap", vs.max_frames)),
            cuts=list(clip["cuts"]) if clip.get("cuts") is not None else None,
        )
        side = max(self.ingest.thumbnail_side, self.encoder.decode_side or self.encoder.image_size)
        frames = sample_frames(container, info, vs, window, side)
        last: tuple[int, Any] | None = None  # (shot, unit vector) of the last kept frame
        sent, last_t = 0, None
        timings = {"decode": hash_s, "embed": 0.0, "upsert": 0.0}
        try:
            for batch, decode_s in _prefetch(self._batches(frames), depth=2):
                timings["decode"] += decode_s
                t0 = time.perf_counter()
                vectors = self.encoder.encode_pixels(np.stack([b.pixels for b in batch]))
                kept: list[int] = []
                for i, fr in enumerate(batch):
                    s = fr.sampled
                    same_shot = last is not None and last[0] == s.shot and not s.cut
                    if same_shot and last is not None and float(np.dot(last[1], vectors[i])) >= vs.dedupe_cosine:
                        continue
                    kept.append(i)
                    last = (s.shot, vectors[i])
                last_t = batch[-1].sampled.timestamp
                items = [self._prepared(item, sha, vid, info, cues, batch[i]) for i in kept]
                texts, truncated = embed_texts(self.encoder, items) if items else ({}, set())
                timings["embed"] += time.perf_counter() - t0
                t1 = time.perf_counter()
                if items:
                    embedded = EmbeddedBatch(items, vectors[kept], texts, truncated)
                    points = build_points(collection, embedded)
                    thumbs = {p.id: it.thumbnail for p, it in zip(points, items, strict=True) if it.thumbnail}
                    write_points(self.store, collection, points, thumbs, self.ingest.upsert_batch)
                timings["upsert"] += time.perf_counter() - t1
                sent += len(items)
                if not report(len(items), failures, timings):
                    return
                failures, timings = [], {"decode": 0.0, "embed": 0.0, "upsert": 0.0}
        except VideoError as exc:
            failures.append(FailedItem(item.source, exc.message))
        except DecodeStopped as exc:
            failures.append(
                FailedItem(f"{item.source}@{exc.at:.1f}s", f"decoding stopped after {exc.at:.1f} s: {exc.reason}")
            )
        else:
            end = min(window.t1, info.duration) if info.duration else None
            step = max(vs.interval_s, 2.0 / max(1.0, info.fps))
            if sent == 0 and last_t is None:
                failures.append(FailedItem(item.source, "no decodable video frames"))
            elif end is not None and last_t is not None and last_t < end - 2 * step and sent < window.cap:
                failures.append(
                    FailedItem(
                        f"{item.source}@{last_t:.1f}s",
                        f"the video ends at {last_t:.1f} s of the {info.duration:.1f} s its container declares "
                        "(truncated or damaged)",
                    )
                )
        if failures:
            report(0, failures, timings)

    def _batches(self, frames: Iterator[SampledFrame]) -> Iterator[tuple[list[_Frame], float]]:
        """Frames preprocessed for the model (and thumbnailed), ``batch_size`` at a time, with seconds spent."""
        size = max(1, self.ingest.batch_size)
        thumb_side = self.ingest.thumbnail_side
        out: list[_Frame] = []
        t0 = time.perf_counter()
        for s in frames:
            pixels = self.encoder.preprocess(s.image)
            thumb = None
            if thumb_side > 0:
                thumb = make_thumbnail(DecodedImage(s.image, s.image.width, s.image.height, None), thumb_side)
            out.append(_Frame(s, pixels, thumb))
            if len(out) >= size:
                yield out, time.perf_counter() - t0
                out, t0 = [], time.perf_counter()
        if out:
            yield out, time.perf_counter() - t0

    def _prepared(
        self, item: SourceItem, sha: str, vid: str, info: VideoInfo, cues: list[Cue], fr: _Frame
    ) -> PreparedItem:
        s = fr.sampled
        meta = {k: v for k, v in item.metadata.items() if k not in VIDEO_KEYS}
        meta.update(
            media="video",
            video_id=vid,
            timestamp=s.timestamp,
            shot=s.shot,
            frame=s.index,
            duration=round(info.duration, 3),
            fps=round(info.fps, 3),
        )
        text = overlapping(cues, s.timestamp, s.timestamp + 1.0 / max(1.0, info.fps)) if cues else ""
        alt = "\n".join(t for t in (item.alt_text, text) if t) or None
        frame_item = SourceItem(item.source, item.kind, alt, meta)
        return PreparedItem(frame_item, frame_key(sha, s.timestamp), fr.pixels, info.width, info.height, fr.thumbnail)

    def _record(self, collection: str, item: SourceItem, vid: str, info: VideoInfo, container: Any) -> None:
        """Record the file the grant opened (its real path, and its size and mtime as opened)."""
        assert self.registry is not None
        f = container.file if hasattr(container, "file") else None
        real = os.path.realpath(item.source)
        st = os.fstat(f.fileno()) if f is not None and hasattr(f, "fileno") else os.stat(real)
        mime = MIME_TYPES.get(Path(real).suffix.lower(), "application/octet-stream")
        self.registry.record(
            collection, VideoRecord(vid, real, st.st_size, st.st_mtime_ns, item.source, round(info.duration, 3), mime)
        )


def _prefetch(source: Iterator[_T], depth: int) -> Iterator[_T]:
    """``source`` run in a thread, at most ``depth`` items ahead; its exceptions are raised here."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for x in source:
                while not stop.is_set():
                    try:
                        q.put(("item", x), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))

    thread = threading.Thread(target=produce, name="video-decode", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)
