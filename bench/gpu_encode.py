"""Embed-stage throughput of a ViT-B/32-sized CLIP on a CUDA device, and the decode stage separately.

    python bench/gpu_encode.py [--batch-sizes 64,128,256,512,1024] [--dtypes fp16,bf16] [--out results.json]

The model is ``CLIPModel(CLIPConfig())`` — the default config is ViT-B/32's shape (224 px, patch 32,
12 layers, width 768, projection 512) with random weights; throughput does not depend on the
weights' values, so no download is needed. For each dtype (autocast) and batch size it times
``get_image_features`` (CUDA events, after warm-up) and reports images/s and the fraction of the
GPU's dense peak this represents (FLOPs per image counted from the architecture, peak from
``--peak-tflops`` or a table of known GPUs). The decode stage (JPEG bytes → preprocessed 224 px
array, the pipeline's own functions) is timed on the CPU with a thread pool.

Without CUDA it prints why and exits 0 (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Dense bf16/fp16 tensor-core peaks in TFLOP/s (no sparsity), by device-name fragment.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "T4": 65.0}


def vit_flops_per_image(image: int = 224, patch: int = 32, width: int = 768, layers: int = 12, mlp: int = 3072,
                        proj: int = 512) -> float:
    """Forward FLOPs (2 × multiply-adds) of a CLIP ViT image tower for one image."""
    tokens = (image // patch) ** 2 + 1
    embed = 2 * (image // patch) ** 2 * (3 * patch * patch) * width
    attn_proj = 2 * tokens * width * width * 4  # q, k, v, out
    attn_mix = 2 * 2 * tokens * tokens * width  # scores and weighted sum
    ffn = 2 * 2 * tokens * width * mlp
    return embed + layers * (attn_proj + attn_mix + ffn) + 2 * width * proj


def bench_decode(n: int, threads: int) -> dict[str, float]:
    """JPEG decode + resize + normalise to (3, 224, 224) with the pipeline's own functions, images/s."""
    import numpy as np
    from PIL import Image

    from services.encoders.decode import decode_image
    from services.encoders.transforms import PreprocessConfig, preprocess

    rng = np.random.default_rng(0)
    blobs = []
    for i in range(32):
        side = 256 + (i * 8) % 257
        arr = (rng.random((side, side, 3)) * 255).astype("uint8")
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=90)
        blobs.append(buf.getvalue())
    cfg = PreprocessConfig()

    def one(i: int) -> int:
        img = decode_image(blobs[i % len(blobs)], 64_000_000, draft_side=2 * cfg.resize).image  # as the encoder does
        return int(preprocess(img, cfg).shape[0])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(threads * 4)))  # warm-up
        t0 = time.perf_counter()
        list(pool.map(one, range(n)))
        seconds = time.perf_counter() - t0
    return {"images_per_s": round(n / seconds, 1), "threads": threads, "images": n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", default="64,128,256,512,1024")
    ap.add_argument("--dtypes", default="fp16,bf16")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--peak-tflops", type=float, default=None)
    ap.add_argument("--decode-images", type=int, default=2000)
    ap.add_argument("--decode-threads", type=int, default=min(16, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, default=None, help="Also write the results as JSON here.")
    args = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_encode: no CUDA device here (torch.cuda.is_available() is False); skipped.")
        return 0
    from transformers import CLIPConfig, CLIPModel

    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(dev)
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    model = CLIPModel(CLIPConfig()).to(dev).eval()
    flops = vit_flops_per_image()
    print(f"{name}; torch {torch.__version__}; ViT-B/32-sized CLIP, random weights; "
          f"{flops / 1e9:.2f} GFLOP/image; peak {peak or '?'} TFLOP/s")
    results: dict[str, object] = {"device": name, "torch": torch.__version__, "gflop_per_image": flops / 1e9,
                                  "peak_tflops": peak, "embed": []}
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
    for dname in args.dtypes.split(","):
        dtype = dtypes[dname.strip()]
        for bs in (int(b) for b in args.batch_sizes.split(",")):
            x = torch.randn(bs, 3, 224, 224, device=dev)
            with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                for _ in range(3):
                    model.get_image_features(pixel_values=x)
                torch.cuda.synchronize()
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(args.iters):
                    model.get_image_features(pixel_values=x)
                end.record()
                torch.cuda.synchronize()
            seconds = start.elapsed_time(end) / 1000 / args.iters
            ips = bs / seconds
            frac = ips * flops / (peak * 1e12) if peak else None
            row = {"dtype": dname, "batch": bs, "images_per_s": round(ips, 1), "ms_per_batch": round(seconds * 1e3, 2),
                   "fraction_of_peak": None if frac is None else round(frac, 3)}
            results["embed"].append(row)  # type: ignore[attr-defined]
            print(f"  embed {dname} batch {bs:5d}: {ips:10.1f} images/s  {seconds * 1e3:8.2f} ms/batch"
                  + (f"  {frac:.1%} of peak" if frac is not None else ""))
            del x
            torch.cuda.empty_cache()
    decode = bench_decode(args.decode_images, args.decode_threads)
    results["decode"] = decode
    print(f"  decode (CPU, {decode['threads']} threads, JPEG 256–512 px → 224 px): {decode['images_per_s']} images/s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
