"""Signifier's own encoder and ingestion pipeline on a CUDA device: ViT-B/32 and ViT-L/14 sizes, fp16 and bf16.

    python bench/gpu_encode.py [--models vit-b32-random,vit-l14-random] [--precisions fp16,bf16]
                               [--count 2048] [--batch-size 256] [--out results.json]

The checkpoints are full-size 224 px ``CLIPModel``s with random weights, built once into ``--cache-dir`` by
the tests' builder (``tests/support/checkpoints.py``; throughput does not depend on the weights' values), and
loaded through ``ClipEncoder`` as a server loads a model (``SIGNIFIER_PRECISION`` = each precision). Per
model and precision it measures, in images/s:

- tower: ``encoder.encode_pixels`` on preprocessed batches (CUDA synchronised): the GPU's ceiling;
- decode: JPEG bytes (256–512 px) → the model's preprocessed array, the pipeline's own functions
  (``decode_image`` with the encoder's draft side + ``encoder.preprocess``) on ``--decode-workers`` threads;
- pipeline: ``IngestPipeline`` over a folder of those JPEGs into an embedded store (thumbnails off).

and says which bounds the pipeline: decoding (the CPU) when decode is slower than the tower, else the GPU.
Anchors: clip-retrieval reports ≈2,500 images/s for ViT-B/32 on one A100 (resize-bound), 312/s for ViT-L/14.

Without CUDA it prints why and exits 0 (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ANCHORS = {"vit-b32-random": 2500.0, "vit-l14-random": 312.0}
"""clip-retrieval's reported images/s on one A100."""


def write_jpegs(out: Path, count: int) -> list[bytes]:
    """``count`` JPEGs of 256–512 px (smooth noise), written to ``out``; returns their bytes."""
    import numpy as np
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    blobs = []
    for i in range(count):
        side = 256 + (i * 37) % 257
        small = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(small).resize((side, side), Image.Resampling.BILINEAR).save(buf, format="JPEG", quality=90)
        blobs.append(buf.getvalue())
        (out / f"im{i:05d}.jpg").write_bytes(buf.getvalue())
    return blobs


def bench_tower(encoder: Any, batch_size: int, batches: int = 8) -> float:
    import numpy as np
    import torch

    side = encoder.image_size
    pixels = np.random.default_rng(1).standard_normal((batch_size, 3, side, side)).astype(np.float32)
    for _ in range(2):
        encoder.encode_pixels(pixels)  # warm-up (kernels, allocator)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        encoder.encode_pixels(pixels)
    torch.cuda.synchronize()
    return batch_size * batches / (time.perf_counter() - t0)


def bench_decode(encoder: Any, blobs: list[bytes], threads: int) -> float:
    from services.encoders.decode import decode_image

    def one(data: bytes) -> int:
        return int(encoder.preprocess(decode_image(data, 64_000_000, encoder.decode_side).image).shape[0])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, blobs[:64]))
        t0 = time.perf_counter()
        list(pool.map(one, blobs))
    return len(blobs) / (time.perf_counter() - t0)


def bench_pipeline(encoder: Any, folder: Path, store_dir: Path, batch_size: int, threads: int, name: str) -> float:
    from services.core.settings import IngestSettings, Limits
    from services.ingest.runner import IngestPipeline
    from services.ingest.writer import StoreWriter
    from services.sources.readers import FolderReader
    from services.vectorstore.base import CollectionSpec
    from services.vectorstore.embedded import EmbeddedStore
    from services.vectorstore.thumbnails import ThumbnailStore

    class Quiet:
        def progress(self, done: int, failed: list[Any], *, batch: int, timings: dict[str, float]) -> None:
            if failed:
                raise RuntimeError(f"unexpected failures: {failed[:3]}")

        def cancelled(self) -> bool:
            return False

    store = EmbeddedStore(store_dir, flush_interval_s=1.0, optimize_after=None)
    try:
        store.create_collection(CollectionSpec(name, encoder.dim))
        settings = IngestSettings(batch_size=batch_size, decode_workers=threads, thumbnail_side=0)
        pipeline = IngestPipeline(encoder, StoreWriter(store, ThumbnailStore(store_dir / "thumbs")), settings, Limits())
        t0 = time.perf_counter()
        pipeline.run(name, iter(FolderReader(folder)), Quiet())
        seconds = time.perf_counter() - t0
        return store.count(name) / seconds
    finally:
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="vit-b32-random,vit-l14-random")
    ap.add_argument("--precisions", default="fp16,bf16")
    ap.add_argument("--count", type=int, default=2048, help="JPEGs for the decode and pipeline runs")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--decode-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "signifier-bench-models")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_encode: no CUDA device here (torch.cuda.is_available() is False); skipped.")
        return 0

    from services.encoders.clip import ClipEncoder
    from tests.support.checkpoints import cached_random_clip

    print(f"device {torch.cuda.get_device_name(0)}, torch {torch.__version__}, {args.decode_workers} decode threads")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="signifier-gpu-bench-") as tmp:
        root = Path(tmp)
        blobs = write_jpegs(root / "jpegs", args.count)
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            path = cached_random_clip(model, args.cache_dir)
            for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
                encoder = ClipEncoder(str(path), args.device, precision)
                encoder.load()
                tower = bench_tower(encoder, args.batch_size)
                decode = bench_decode(encoder, blobs, args.decode_workers)
                name = f"{model}-{precision}".replace("-", "_")
                pipe = bench_pipeline(
                    encoder, root / "jpegs", root / f"store-{name}", args.batch_size, args.decode_workers, name
                )
                bound = "decode (CPU)" if decode < tower else "GPU"
                row = {
                    "model": model,
                    "precision": precision,
                    "tower_images_s": round(tower, 1),
                    "decode_images_s": round(decode, 1),
                    "pipeline_images_s": round(pipe, 1),
                    "pipeline_vs_ceiling": round(pipe / min(tower, decode), 3),
                    "bound": bound,
                    "anchor_a100_images_s": ANCHORS.get(model),
                }
                results.append(row)
                print(
                    f"{model:15} {precision}: tower {tower:8.0f}/s  decode {decode:7.0f}/s  pipeline {pipe:7.0f}/s "
                    f"({row['pipeline_vs_ceiling']:.0%} of min(tower, decode)); bound: {bound}; "
                    f"anchor {ANCHORS.get(model, float('nan')):.0f}/s on an A100"
                )
                del encoder
                torch.cuda.empty_cache()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
