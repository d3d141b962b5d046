"""Cosine drift of bf16 and fp16 against fp32, images and texts, through Signifier's encoder.

    nice -n 19 .venv/bin/python bench/precision.py [--models shapes-clip,vit-b32-random] [--count 64]

For each model, the same images (shapes renders and smooth-noise photos, 4:3 and square) and texts are
encoded at fp32 and at each lower precision (``SIGNIFIER_PRECISION``); it prints the cosine between each
vector and its fp32 counterpart (mean and minimum), and how often the top-1 text of each image stays the
same. ``shapes-clip`` has trained weights; ``vit-b32-random`` (built by the bench) has random ones, whose
activations are not those of a trained model, so take its drift as the order of magnitude.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from services.encoders.clip import ClipEncoder

TEXTS = [
    "a red circle",
    "a blue square",
    "a small green star in the snow",
    "a photo of a dog",
    "a large triangle",
    "an old black and white picture of a city street at night",
    "purple",
    "a yellow shape in the forest",
]


def inputs(count: int) -> tuple[list[Image.Image], list[str]]:
    from services.shapes.world import random_spec, render

    rng, nrng = random.Random(5), np.random.default_rng(5)
    images: list[Image.Image] = [render(random_spec(rng), rng) for _ in range(count // 2)]
    for i in range(count - count // 2):
        w, h = (320, 240) if i % 2 else (256, 256)
        small = nrng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
        images.append(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR))
    return images, list(TEXTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="shapes-clip,vit-b32-random")
    ap.add_argument("--precisions", default="bf16,fp16")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "signifier-bench-models")
    args = ap.parse_args()
    from tests.support.checkpoints import RANDOM_MODELS, cached_random_clip

    images, texts = inputs(args.count)
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        path = str(cached_random_clip(model, args.cache_dir)) if model in RANDOM_MODELS else model
        ref = ClipEncoder(path, args.device, "fp32")
        ref_i, ref_t = ref.encode_images(images), ref.encode_texts(texts)
        ref_top = (ref_i @ ref_t.T).argmax(axis=1)
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            enc = ClipEncoder(path, args.device, precision)
            vi, vt = enc.encode_images(images), enc.encode_texts(texts)
            ci, ct = (vi * ref_i).sum(axis=1), (vt * ref_t).sum(axis=1)
            same = float(((vi @ vt.T).argmax(axis=1) == ref_top).mean())
            print(
                f"{model:15} {precision} vs fp32: images cos mean {ci.mean():.6f} min {ci.min():.6f} | "
                f"texts cos mean {ct.mean():.6f} min {ct.min():.6f} | top-1 text unchanged {same:.0%} "
                f"({len(images)} images, {len(texts)} texts)"
            )


if __name__ == "__main__":
    main()
