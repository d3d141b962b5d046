"""Video ingestion: the pipeline vs a naive loop, as multiples of real time (film seconds per wall second).

    nice -n 19 .venv/bin/python bench/video.py [--seconds 60] [--model shapes-clip|vit-b-32] [--threads 2]

Film: a synthetic 1080p H.264 film (libx264 veryfast, 24 fps, B-frames) of shapes scenes upscaled to
1920×1080, 3–10 s each with hard cuts between them, a slow pan in every shot and per-frame grain.

- pipeline: ``IngestPipeline`` as ingestion runs it: FFmpeg decodes with its own threads, the cut detector
  sees every frame at 64 px wide (a pixel grid read
  from the decoded planes), only the sampled frames (1 per second and the
  first of each shot) are converted at model size, preprocessing runs in a thread ahead of the model,
  frames are embedded in batches, near-duplicates dropped, thumbnails written, points upserted.
- naive: decode every frame at full size into a PIL image (FFmpeg's default threading), find cuts on the
  full-size frame's histogram, embed each sampled frame by itself, upsert one point at a time — the
  same frames come out, so the two store the same moments.

Also times a decode-only pass (every frame, threaded, no conversion): the floor under any pipeline.
``--model vit-b-32`` is a ViT-B/32-size CLIP checkpoint (``CLIPModel(CLIPConfig())``, random weights:
throughput does not depend on them) written with ``save_pretrained`` under ``--workdir`` and loaded by
``ClipEncoder`` like any checkpoint folder (its text tower is unused: the film has no subtitles). The
machine's load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from services.core.settings import IngestSettings, Limits, VideoSettings
from services.core.types import PointRecord
from services.encoders.base import Encoder
from services.ingest.ids import point_id
from services.ingest.runner import IngestPipeline
from services.ingest.video import frame_key
from services.ingest.writer import StoreWriter
from services.shapes.film import Scene, write_film
from services.shapes.world import random_spec
from services.sources.cuts import CutDetector, signature
from services.sources.items import FailedItem, SourceItem
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.thumbnails import ThumbnailStore


def make_film(path: Path, seconds: float, fps: int, seed: int = 3) -> tuple[Path, list[float]]:
    """The 1080p film and its true cut times."""
    rng = random.Random(seed)
    scenes, frames, cuts = [], 0, []
    while frames < seconds * fps:
        length = min(rng.uniform(3, 10), seconds - frames / fps)
        if scenes:
            cuts.append(round(frames / fps, 3))  # scene_frames makes round(length × fps) frames
        scenes.append(Scene(random_spec(rng), length))
        frames += max(1, round(length * fps))
    write_film(path, scenes, fps=fps, size=(1920, 1080), seed=seed, noise=4.0, srt=False)
    return path, cuts


class _Quiet:
    def progress(self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float]) -> None:
        if failed:
            raise RuntimeError(f"unexpected failures: {failed[:3]}")

    def cancelled(self) -> bool:
        return False


def decode_only(path: Path, threads: int) -> tuple[float, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        s.codec_context.thread_count = threads
        t0, n = time.perf_counter(), 0
        for _ in c.decode(s):
            n += 1
    return time.perf_counter() - t0, n


def run_pipeline(encoder: Encoder, store: EmbeddedStore, root: Path, film: Path, threads: int) -> dict[str, Any]:
    video = VideoSettings(interval_s=1.0, decode_threads=threads)
    settings = IngestSettings(batch_size=32, video=video)
    pipeline = IngestPipeline(encoder, StoreWriter(store, ThumbnailStore(root / "thumbs")), settings, Limits())
    t0, c0 = time.perf_counter(), time.process_time()
    result = pipeline.run("pipeline", [SourceItem(str(film))], _Quiet())
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "result": result}


def run_naive(encoder: Encoder, store: EmbeddedStore, film: Path) -> dict[str, Any]:
    import av

    vs = VideoSettings()
    detector = CutDetector(vs.cut_threshold, vs.min_shot_s)
    t0, c0 = time.perf_counter(), time.process_time()
    decode_s = embed_s = 0.0
    prev, sampled = None, 0
    with av.open(str(film)) as c:
        s = c.streams.video[0]
        frames = c.decode(s)
        while True:
            d0 = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            img = frame.to_image()  # every frame, full size
            t = float(frame.time)
            is_cut = detector.feed(t, signature(np.asarray(img)))
            decode_s += time.perf_counter() - d0
            if prev is None or int(t) != int(prev) or is_cut:
                e0 = time.perf_counter()
                vec = encoder.encode_images([img])[0]
                pid = point_id("naive", frame_key("naive", t))
                store.upsert("naive", [PointRecord(pid, {"image": vec}, {"timestamp": t})])
                embed_s += time.perf_counter() - e0
                sampled += 1
            prev = t
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu": time.process_time() - c0,
        "decode": decode_s,
        "embed": embed_s,
        "frames": sampled,
    }


def vit_b32_checkpoint(workdir: Path) -> Path:
    """A ViT-B/32-size CLIP checkpoint folder (``CLIPModel(CLIPConfig())``, random weights, written with
    ``save_pretrained`` with its image processor), built once under ``workdir``; shared with
    bench/fingerprint.py."""
    from bench.fingerprint import b32_checkpoint

    workdir.mkdir(parents=True, exist_ok=True)
    return b32_checkpoint(workdir / "clip-b32")


def loadavg() -> str:
    """The machine's 1-, 5- and 15-minute load averages (the figures' context on a shared machine)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--model", default="shapes-clip", help="shapes-clip, or vit-b-32 (random weights)")
    ap.add_argument("--threads", type=int, default=2, help="torch and FFmpeg threads (the cores measured on)")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "signifier-bench-fingerprint")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from services.encoders.clip import ClipEncoder

    model = str(vit_b32_checkpoint(args.workdir)) if args.model == "vit-b-32" else args.model
    encoder: Encoder = ClipEncoder(model, "cpu")  # the normal loading code, for either
    encoder.load()
    encoder.encode_pixels(np.zeros((2, 3, encoder.image_size, encoder.image_size), np.float32))  # warm-up
    with tempfile.TemporaryDirectory(prefix="signifier-video-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        film, cuts = make_film(root / "film.mp4", args.seconds, args.fps)
        size_mb = film.stat().st_size / 1e6
        print(
            f"film: {args.seconds:.0f} s 1080p H.264 at {args.fps} fps, {len(cuts)} cuts, {size_mb:.1f} MB, "
            f"made in {time.perf_counter() - t:.0f} s; model {args.model}; {args.threads} threads; "
            f"load average {loadavg()}"
        )
        dec_s, n = decode_only(film, args.threads)
        print(f"decode only : {args.seconds / dec_s:6.1f}x real time ({n / dec_s:.0f} frames/s, every frame)")
        store = EmbeddedStore(root / "store", flush_interval_s=1.0, optimize_after=None)
        try:
            for name in ("naive", "pipeline"):
                store.create_collection(CollectionSpec(name, encoder.dim))
            pipe = run_pipeline(encoder, store, root, film, args.threads)
            r = pipe["result"]
            points = store.count("pipeline")
            shots: dict[int, float] = {}
            for p in store.scroll("pipeline", limit=100_000)[0]:
                shot, ts = int(p.payload["shot"]), float(p.payload["timestamp"])
                shots[shot] = min(ts, shots.get(shot, ts))
            found = sorted(ts for shot, ts in shots.items() if shot > 0)
            hit = sum(any(abs(f - c) <= 1.0 for f in found) for c in cuts)
            naive = None if args.skip_naive else run_naive(encoder, store, film)
        finally:
            store.close()
    cores = args.threads
    ps = pipe["seconds"]
    tm = r.timings
    stage = max(
        ("decode+cuts+preprocess", tm["decode"]), ("embed", tm["embed"]), ("upsert", tm["upsert"]), key=lambda kv: kv[1]
    )[0]
    print(
        f"pipeline    : {args.seconds / ps:6.1f}x real time ({ps:.1f} s, CPU {pipe['cpu'] / ps / cores:.0%} of "
        f"{cores} cores; {points} points; stages: decode+cuts+preprocess {tm['decode']:.1f} s (decode thread), "
        f"embed {tm['embed']:.1f} s, upsert {tm['upsert']:.1f} s; bound by {stage})"
    )
    print(f"cuts        : {hit} of {len(cuts)} true cuts found within 1 s, {len(found)} shots opened")
    if naive is not None:
        ns = naive["seconds"]
        nstage = "decode" if naive["decode"] > naive["embed"] else "embed"
        print(
            f"naive loop  : {args.seconds / ns:6.1f}x real time ({ns:.1f} s, CPU {naive['cpu'] / ns / cores:.0%}; "
            f"{naive['frames']} frames embedded; decode+convert {naive['decode']:.1f} s, "
            f"embed+upsert {naive['embed']:.1f} s; bound by {nstage})"
        )
        print(f"ratio       : {ns / ps:.1f}x  (goal: pipeline >= 8x real time with shapes-clip)")
    print(f"load average: {loadavg()} (1, 5, 15 min) at the end")


if __name__ == "__main__":
    main()
