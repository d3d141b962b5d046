"""Data for the Celery tests: shapes manifests with bad rows, WebDataset shards with a broken one."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

MODEL_DIR = Path(__file__).resolve().parents[2] / "services" / "shapes" / "model"


def test_model() -> str:
    """The model the worker processes load: shapes-clip (or ``SIGNIFIER_TEST_MODEL``, e.g. a throwaway one)."""
    override = os.environ.get("SIGNIFIER_TEST_MODEL")
    if override:
        return override
    if not (MODEL_DIR / "config.json").is_file():
        pytest.skip("the bundled shapes-clip model is not built (make train-shapes)")
    return "shapes-clip"


test_model.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


@dataclass(frozen=True)
class Dataset:
    manifest: Path
    total: int
    ok: int
    bad: int
    distinct: int


def make_dataset(tmp: Path, count: int, seed: int = 11) -> Dataset:
    """``count`` shapes PNGs in manifest.jsonl, plus a truncated JPEG and a missing file."""
    from services.shapes.world import write_samples

    write_samples(tmp, count, seed=seed)
    manifest = tmp / "manifest.jsonl"
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp.glob("*.png")}
    buf = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 64), "orange").save(buf, format="JPEG")
    (tmp / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with manifest.open("a") as f:
        f.write(json.dumps({"path": "truncated.jpg", "alt_text": "cut short", "color": "orange"}) + "\n")
        f.write(json.dumps({"path": "missing.png", "alt_text": "nowhere"}) + "\n")
    return Dataset(manifest, count + 2, count, 2, len(hashes))


@dataclass(frozen=True)
class Shards:
    ok: int
    bad: int


def make_shards(tmp: Path, shards: int, per_shard: int) -> Shards:
    """``shards`` good tars of ``per_shard`` samples ({key}.png, .txt, .json) and one cut mid-sample."""
    from services.shapes.world import write_samples

    src = tmp / "src"
    write_samples(src, shards * per_shard + 6, seed=5)
    rows = [json.loads(line) for line in (src / "manifest.jsonl").read_text().splitlines()]
    out = tmp / "shards"
    out.mkdir()
    for s in range(shards + 1):
        chunk = rows[s * per_shard : (s + 1) * per_shard] if s < shards else rows[shards * per_shard :]
        path = out / f"{s:05d}.tar"
        with tarfile.open(path, "w") as tf:
            for i, row in enumerate(chunk):
                key = f"{s:05d}{i:04d}"
                meta = {"url": f"https://example.invalid/{key}.png", "caption": row["alt_text"], "status": "success"}
                for name, data in (
                    (f"{key}.png", (src / row["path"]).read_bytes()),
                    (f"{key}.txt", row["alt_text"].encode()),
                    (f"{key}.json", json.dumps(meta).encode()),
                ):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
        if s == shards:  # cut the last shard in the middle of its 4th sample's image
            with tarfile.open(path) as tf:
                fourth_png = tf.getmembers()[9]
            path.write_bytes(path.read_bytes()[: fourth_png.offset_data + 100])
    return Shards(ok=shards * per_shard + 3, bad=1)
