"""What the model fingerprint adds to startup: hashing the weights cold and from the cache, beside loading.

    .venv/bin/python bench/fingerprint.py                 # shapes-clip and a ViT-B/32-size random CLIP
    .venv/bin/python bench/fingerprint.py --model PATH    # any checkpoint folder or cached hub id

The ViT-B/32-size checkpoint (``CLIPModel(CLIPConfig())``, 151 M parameters, 605 MB of safetensors) is built
once under ``--workdir`` with random weights. For each model it prints the load time, the fingerprint's time
with an empty hash cache (every weight byte read and hashed) and with the cache the first run wrote, and
both as a fraction of the load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def b32_checkpoint(out: Path) -> Path:
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    CLIPModel(CLIPConfig()).eval().save_pretrained(out)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(out)
    from tests.support.tiny_clip import tiny_clip_checkpoint

    tok = tiny_clip_checkpoint(out / "_tok")  # any tokenizer will do: only loading and hashing are timed
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (out / name).write_bytes((tok / name).read_bytes())
    return out


def measure(model: str, cache_dir: Path) -> None:
    from services.encoders.clip import ClipEncoder
    from services.encoders.fingerprint import HashCache, fingerprint

    enc = ClipEncoder(model, device="cpu")
    t = time.perf_counter()
    enc.load()
    load = time.perf_counter() - t
    cache_file = cache_dir / f"{abs(hash(model))}.json"
    cache_file.unlink(missing_ok=True)
    t = time.perf_counter()
    fp = fingerprint(enc, HashCache(cache_file))
    cold = time.perf_counter() - t
    t = time.perf_counter()
    fingerprint(enc, HashCache(cache_file))
    warm = time.perf_counter() - t
    print(f"{model}: {fp.describe()}")
    print(
        f"  load {load:.2f} s; fingerprint cold {cold:.3f} s ({cold / load:.1%} of load), "
        f"cached {warm * 1000:.1f} ms ({warm / load:.2%} of load)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="model id or path (repeatable)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "signifier-bench-fingerprint")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    models = args.model or ["shapes-clip", str(b32_checkpoint(args.workdir / "clip-b32"))]
    for m in models:
        measure(m, args.workdir)


if __name__ == "__main__":
    main()
