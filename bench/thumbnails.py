"""What the stored thumbnails cost: bytes on disk per thumbnail (and per million points), and decode-stage
time per image with and without making one.

    .venv/bin/python bench/thumbnails.py [--shapes 300] [--photos 300] [--side 256] [--draft-side 128]

Data: ``--shapes`` shapes-world PNGs (64 px, flat colours: what the bundled model ingests) and ``--photos``
photo-like 640×480 JPEGs (smooth gradients, blobs and sensor-like noise, quality 90). Each image goes
through the ingest decode stage (``prepare``) twice, thumbnails off and on, and the bytes of the
thumbnails it makes are stored in a ``ThumbnailStore``; disk use is the files' sizes and the blocks they
take (4 KiB blocks round small files up).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from services.core.settings import Limits
from services.encoders.transforms import PreprocessConfig, preprocess
from services.ingest.prepare import prepare
from services.sources.items import PreparedItem, SourceItem
from services.vectorstore.thumbnails import ThumbnailStore


def photo_like(rng: np.random.Generator, w: int = 640, h: int = 480) -> bytes:
    """A JPEG that compresses like a photo: a smooth two-colour gradient, a few soft blobs, noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = (xx / w * rng.uniform(0.3, 1) + yy / h * rng.uniform(0.3, 1))[..., None] / 2
    img = a * (1 - t) + b * t
    for _ in range(rng.integers(3, 8)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(30, 160)
        mask = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        img = img * (1 - mask) + rng.uniform(0, 255, 3) * mask
    img += rng.normal(0, rng.uniform(4, 14), img.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def shapes(count: int, out: Path) -> list[bytes]:
    from services.shapes.world import write_samples

    return [p.read_bytes() for p in write_samples(out, count, seed=11)]


def measure(name: str, images: list[bytes], side: int, draft_side: int, root: Path) -> None:
    if not images:
        return
    # The model's preprocessing at the encoder's scale (decode_side = 2 × resize, as ClipEncoder has it).
    cfg = PreprocessConfig(resize=draft_side // 2, crop=draft_side // 2)
    limits = Limits()
    store = ThumbnailStore(root / "thumbnails")

    def run(thumbnail_side: int) -> tuple[float, list[PreparedItem]]:
        out = []
        t0 = time.perf_counter()
        for i, data in enumerate(images):
            item = SourceItem(f"{name}{i}", "bytes", data=data)
            prepared = prepare(
                item, lambda im: preprocess(im, cfg), limits, draft_side=draft_side, thumbnail_side=thumbnail_side
            )
            assert isinstance(prepared, PreparedItem), prepared
            out.append(prepared)
        return (time.perf_counter() - t0) / len(images) * 1e3, out

    timings: dict[int, list[float]] = {0: [], side: []}
    prepared: list[PreparedItem] = []
    for _ in range(3):  # alternate, so a noisy neighbour slows both alike
        for s in (0, side):
            ms, items = run(s)
            timings[s].append(ms)
            if s:
                prepared = items
    for it in prepared:
        assert it.thumbnail is not None
        store.write(name, str(uuid.uuid4()), it.thumbnail)
    files = list((root / "thumbnails" / name).glob("*/*.jpg"))
    sizes = [f.stat().st_size for f in files]
    blocks = [f.stat().st_blocks * 512 for f in files]
    mean, on_disk = statistics.mean(sizes), statistics.mean(blocks)
    off, on = timings[0], timings[side]
    print(
        f"{name:7s} {len(images)} images: thumbnail {side} px mean {mean / 1024:.1f} KiB "
        f"(median {statistics.median(sizes) / 1024:.1f}, max {max(sizes) / 1024:.1f}), "
        f"{on_disk / 1024:.1f} KiB in blocks → {mean * 1e6 / 2**30:.1f} GiB per million points "
        f"({on_disk * 1e6 / 2**30:.1f} GiB in 4 KiB blocks)"
    )
    print(
        f"        decode stage per image: {min(off):.2f}–{max(off):.2f} ms without, "
        f"{min(on):.2f}–{max(on):.2f} ms with (+{min(on) - min(off):.2f} ms at best)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", type=int, default=300)
    ap.add_argument("--photos", type=int, default=300)
    ap.add_argument("--side", type=int, default=256)
    ap.add_argument("--draft-side", type=int, default=128, help="the encoder's decode_side (shapes-clip: 128)")
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory(prefix="signifier-thumbs-") as tmp:
        root = Path(tmp)
        measure("shapes", shapes(args.shapes, root / "shapes"), args.side, args.draft_side, root)
        measure("photos", [photo_like(rng) for _ in range(args.photos)], args.side, args.draft_side, root)


if __name__ == "__main__":
    main()
