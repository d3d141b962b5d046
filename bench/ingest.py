"""Ingestion throughput: the pipeline vs the notebook loop, same run, same model, same store kind.

    .venv/bin/python bench/ingest.py [--count 2000] [--model shapes-clip] [--batch-size 64] [--thumbnail-side 256]
    nice -n 19 .venv/bin/python bench/ingest.py --model vit-b32-random --precisions fp32,bf16 --count 160

``--model vit-b32-random``: a ViT-B/32-size ``CLIPModel`` with random weights (throughput does not depend on
their values), built by the bench itself with the tests' checkpoint builder (``tests/support/checkpoints.py``)
into a cache folder (``--cache-dir``), processor and tokenizer included; any other value is a model id/path.

Data: ``count`` images, half shapes PNGs (64 px) and half JPEG re-encodes of them upscaled to a random
256–512 px (a realistic web size: decode and resize cost something), each with an alt-text sidecar.

- naive: what a notebook does — load the checkpoint with ``AutoModel.from_pretrained``, then for each
  image: ``Image.open`` → ``processor(images=img)`` → ``model.get_image_features`` → normalise →
  upsert one point into the store. Image vectors only.
- pipeline: ``IngestPipeline`` as ingestion runs it (decode threads running ahead, JPEGs decoded at a
  reduced DCT scale, batched inference in a thread of its own on the encoder's inference-ready model,
  batched upserts); it also embeds every alt-text and writes every thumbnail (``--thumbnail-side``,
  the setting's default; 0: none), so the comparison is conservative.

- tower: the image tower alone (``encoder.encode_pixels`` on already-preprocessed batches), the ceiling
  the pipeline's embed stage can reach at that precision.

Both write into a fresh Qdrant Edge store (embedded mode). Prints images/s of each, the ratios, and how
busy the CPU was (process CPU time / (wall time × cores)): a pipeline near 100 % is bound by the
arithmetic itself, not by waiting. ``--precisions fp32,bf16`` runs pipeline and tower at each
(``SIGNIFIER_PRECISION``); the notebook loop is fp32, as a notebook runs it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from services.core.settings import IngestSettings, Limits
from services.core.types import PointRecord, l2_normalize
from services.encoders.clip import ClipEncoder
from services.encoders.decode import content_hash
from services.ingest.ids import point_id
from services.ingest.runner import IngestPipeline
from services.ingest.writer import StoreWriter
from services.sources.items import FailedItem
from services.sources.readers import FolderReader
from services.vectorstore.base import CollectionSpec
from services.vectorstore.embedded import EmbeddedStore
from services.vectorstore.thumbnails import ThumbnailStore


def make_images(out: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` images: half shapes PNGs, half JPEG re-encodes at 256–512 px (alt-text sidecars for all)."""
    from services.shapes.world import write_samples

    pngs = out / "png"
    n_png = count - count // 2
    write_samples(pngs, n_png, seed=seed)
    rng = random.Random(seed)
    jpgs = out / "jpg"
    jpgs.mkdir()
    for i, png in enumerate(sorted(pngs.glob("*.png"))[: count // 2]):
        side = rng.randint(256, 512)
        img = Image.open(png).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
        target = jpgs / f"re{i:05d}.jpg"
        img.save(target, format="JPEG", quality=90)
        target.with_suffix(".txt").write_text(png.with_suffix(".txt").read_text())
    return sorted(p for p in out.rglob("*") if p.suffix in (".png", ".jpg"))


class _Quiet:
    def progress(
        self, done: int, failed: list[FailedItem], *, batch: int, timings: dict[str, float], skipped: int = 0
    ) -> None:
        if failed:
            raise RuntimeError(f"unexpected failures: {failed[:3]}")

    def cancelled(self) -> bool:
        return False


def run_naive(encoder: ClipEncoder, store: EmbeddedStore, files: list[Path]) -> tuple[float, float]:
    """The notebook loop; returns (seconds, CPU seconds)."""
    import torch
    from transformers import AutoImageProcessor, AutoModel

    import services.shapes.modeling  # noqa: F401 - lets AutoModel read the bundled checkpoint

    # The same checkpoint, loaded as a notebook loads it (the encoder's copy is rewritten for inference).
    processor = AutoImageProcessor.from_pretrained(encoder.path)
    model = AutoModel.from_pretrained(encoder.path).eval()
    t0, c0 = time.perf_counter(), time.process_time()
    for path in files:
        data = path.read_bytes()
        img = Image.open(path).convert("RGB")
        inputs = processor(images=img, return_tensors="pt")
        with torch.inference_mode():
            out = model.get_image_features(**inputs)
        feats = out if hasattr(out, "shape") else out.pooler_output
        vec = l2_normalize(feats[0].float().numpy())
        pid = point_id("naive", content_hash(data))
        store.upsert("naive", [PointRecord(pid, {"image": vec}, {"source": str(path)})])
    return time.perf_counter() - t0, time.process_time() - c0


def run_pipeline(
    encoder: ClipEncoder,
    store: EmbeddedStore,
    root: Path,
    batch_size: int,
    workers: int,
    thumbnail_side: int,
    collection: str = "pipeline",
) -> tuple[float, float]:
    """The ingestion pipeline with default settings (but batch size, decode threads and thumbnail side);
    (seconds, CPU seconds). Thumbnails go to a ThumbnailStore beside the store, as in the server."""
    settings = IngestSettings(batch_size=batch_size, decode_workers=workers, thumbnail_side=thumbnail_side)
    writer = StoreWriter(store, ThumbnailStore(root.parent / f"thumbnails-{collection}"))
    pipeline = IngestPipeline(encoder, writer, settings, Limits())
    t0, c0 = time.perf_counter(), time.process_time()
    result = pipeline.run(collection, iter(FolderReader(root)), _Quiet())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"  pipeline stages (summed): decode {result.timings['decode']:.2f} s (over {workers} threads), "
        f"embed {result.timings['embed']:.2f} s, upsert {result.timings['upsert']:.2f} s"
    )
    return seconds, cpu


def run_tower(encoder: ClipEncoder, files: list[Path], batch_size: int) -> float:
    """The image tower alone on the same images, preprocessed beforehand (not timed); the faster of two
    passes, in seconds (the first also warms the batch shapes up)."""
    pixels = np.stack([encoder.preprocess(Image.open(p)) for p in files])
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        for start in range(0, len(pixels), batch_size):
            encoder.encode_pixels(pixels[start : start + batch_size])
        best = min(best, time.perf_counter() - t0)
    return best


def bench_model(name: str, cache_dir: Path) -> str:
    """A model id/path; ``vit-b32-random``/``vit-l14-random`` are built (once) into ``cache_dir``."""
    from tests.support.checkpoints import RANDOM_MODELS, cached_random_clip

    if name not in RANDOM_MODELS:
        return name
    t = time.perf_counter()
    path = cached_random_clip(name, cache_dir)
    print(f"{name} (random weights) ready in {path} after {time.perf_counter() - t:.1f} s")
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--model", default="shapes-clip", help="a model id/path, or vit-b32-random / vit-l14-random")
    ap.add_argument("--precisions", default="fp32", help="comma-separated: fp32, bf16, fp16")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "signifier-bench-models")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--decode-workers", type=int, default=IngestSettings().decode_workers)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--thumbnail-side", type=int, default=IngestSettings().thumbnail_side)
    ap.add_argument("--skip-naive", action="store_true", help="time the pipeline only (before/after comparisons)")
    args = ap.parse_args()
    model = bench_model(args.model, args.cache_dir)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]

    with tempfile.TemporaryDirectory(prefix="signifier-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        files = make_images(root / "images", args.count)
        print(
            f"{len(files)} images ({args.count - args.count // 2} PNG 64 px, {args.count // 2} JPEG 256–512 px) "
            f"generated in {time.perf_counter() - t:.1f} s; model {args.model} on {args.device}"
        )
        store = EmbeddedStore(root / "store", flush_interval_s=1.0, optimize_after=None)
        rows: dict[str, tuple[float, float, float]] = {}  # precision: (pipeline s, pipeline CPU s, tower s)
        naive_s = naive_cpu = 0.0
        try:
            for precision in precisions:
                encoder = ClipEncoder(model, args.device, precision)
                encoder.load()
                encoder.encode_pixels(np.zeros((2, 3, encoder.image_size, encoder.image_size), np.float32))  # warm-up
                if not args.skip_naive and not naive_s:
                    store.create_collection(CollectionSpec("naive", encoder.dim))
                    naive_s, naive_cpu = run_naive(encoder, store, files)
                name = f"pipeline_{precision}"
                store.create_collection(CollectionSpec(name, encoder.dim))
                print(f"[{precision}]")
                pipe_s, pipe_cpu = run_pipeline(
                    encoder,
                    store,
                    root / "images",
                    args.batch_size,
                    args.decode_workers,
                    args.thumbnail_side,
                    collection=name,
                )
                if not args.skip_naive:
                    assert store.count("naive") == store.count(name), "both runs must store the same images"
                rows[precision] = (pipe_s, pipe_cpu, run_tower(encoder, files, args.batch_size))
        finally:
            store.close()
    n, cores = len(files), os.cpu_count() or 1
    if not args.skip_naive:
        busy = naive_cpu / naive_s / cores
        print(f"naive loop (fp32)  : {n / naive_s:8.1f} images/s  ({naive_s:.2f} s, CPU {busy:.0%} busy)")
    for precision, (pipe_s, pipe_cpu, tower_s) in rows.items():
        print(
            f"pipeline {precision:<9} : {n / pipe_s:8.1f} images/s  ({pipe_s:.2f} s, CPU "
            f"{pipe_cpu / pipe_s / cores:.0%} busy, batch {args.batch_size}, {args.decode_workers} decode threads, "
            f"+ alt-text vectors, thumbnails {args.thumbnail_side or 'off'})"
        )
        print(f"tower {precision:<12} : {n / tower_s:8.1f} images/s  (image tower alone, preprocessed input)")
        print(f"  pipeline / tower ceiling : {tower_s / pipe_s:.0%}  (goal >= 90 % at fp32)")
        if not args.skip_naive:
            print(f"  pipeline / naive loop    : {naive_s / pipe_s:.1f}x")
    if "fp32" in rows:
        for precision, (pipe_s, _, tower_s) in rows.items():
            if precision != "fp32":
                print(
                    f"{precision} vs fp32: pipeline {rows['fp32'][0] / pipe_s:.2f}x, tower "
                    f"{rows['fp32'][2] / tower_s:.2f}x  (goal >= 2x)"
                )


if __name__ == "__main__":
    main()
