"""The model fingerprint: what makes two checkpoints one model, and the hash cache that keeps startup fast."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from services.encoders.fingerprint import (
    HashCache,
    ModelFingerprint,
    canonical_config,
    checkpoint_digest,
    same_space,
    weight_files,
)


def _fp(model_id: str = "m", digest: str | None = "d1", image_dim: int = 512, text_dim: int = 512) -> ModelFingerprint:
    return ModelFingerprint(model_id, "clip", image_dim, text_dim, "fp32", digest)


def _checkpoint(d: Path, weights: bytes = b"w" * 1000, **config: object) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": 512, **config}))
    (d / "model.safetensors").write_bytes(weights)
    return d


def test_same_space_is_the_digest_and_dims_not_the_name_or_precision() -> None:
    assert same_space(_fp("a", "d1"), _fp("b", "d1"))  # one checkpoint under two names
    assert not same_space(_fp("a", "d1"), _fp("a", "d2"))  # a folder retrained in place
    assert not same_space(_fp(digest="d1", text_dim=512), _fp(digest="d1", text_dim=256))
    bf16 = ModelFingerprint("m", "clip", 512, 512, "bf16", "d1")
    assert same_space(_fp(), bf16)


def test_a_record_without_a_digest_matches_by_model_id_and_dim() -> None:
    assert same_space(_fp("a", None), _fp("a", "d9"))
    assert not same_space(_fp("a", None), _fp("b", "d9"))
    assert not same_space(_fp("a", None, image_dim=64, text_dim=64), _fp("a", "d9"))


def test_round_trip_through_a_dict() -> None:
    fp = ModelFingerprint("openai/clip", "clip", 512, 512, "bf16", "0123456789abcdef")
    assert ModelFingerprint.from_dict(json.loads(json.dumps(fp.as_dict()))) == fp
    assert "fingerprint 0123456789abcdef" in fp.describe() and "bf16" in fp.describe()
    assert "no fingerprint recorded" in _fp(digest=None).describe()


def test_canonical_config_ignores_key_order_formatting_and_the_writer_version() -> None:
    a = json.dumps({"b": 1, "a": {"x": 2, "transformers_version": "4.40"}, "_name_or_path": "/here"}).encode()
    b = json.dumps({"a": {"x": 2}, "b": 1, "transformers_version": "5.24.0", "dtype": "float32"}, indent=2).encode()
    assert canonical_config(a) == canonical_config(b)
    assert canonical_config(a) != canonical_config(json.dumps({"a": {"x": 3}, "b": 1}).encode())


def test_weight_files_prefer_safetensors_as_from_pretrained_does(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    (tmp_path / "training_args.bin").write_bytes(b"x")
    assert [p.name for p in weight_files(tmp_path)] == ["pytorch_model.bin"]
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(b"x")
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"x")
    assert [p.name for p in weight_files(tmp_path)] == [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ]


def test_digest_follows_weights_and_config_not_the_folder(tmp_path: Path) -> None:
    a = _checkpoint(tmp_path / "a")
    copy = tmp_path / "elsewhere" / "a-copy"
    shutil.copytree(a, copy)
    assert checkpoint_digest(a) == checkpoint_digest(copy)
    assert len(checkpoint_digest(a) or "") == 16
    assert checkpoint_digest(_checkpoint(tmp_path / "w", weights=b"v" * 1000)) != checkpoint_digest(a)
    assert checkpoint_digest(_checkpoint(tmp_path / "c", projection_dim=256)) != checkpoint_digest(a)
    (tmp_path / "p").mkdir()
    shutil.copytree(a, tmp_path / "p" / "x")
    (tmp_path / "p" / "x" / "preprocessor_config.json").write_text('{"crop_size": 256}')
    assert checkpoint_digest(tmp_path / "p" / "x") != checkpoint_digest(a)
    assert checkpoint_digest(tmp_path / "p") is None  # no weights: no digest


def test_hash_cache_reads_a_file_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.encoders import fingerprint as mod

    f = tmp_path / "model.safetensors"
    f.write_bytes(b"a" * 100)
    reads: list[Path] = []
    real = mod._sha256_file
    monkeypatch.setattr(mod, "_sha256_file", lambda p: reads.append(p) or real(p))
    cache_file = tmp_path / "cache" / "hashes.json"
    first = HashCache(cache_file).sha256(f)
    assert HashCache(cache_file).sha256(f) == first  # a new process: from the file
    assert len(reads) == 1
    f.write_bytes(b"b" * 100)
    os.utime(f, ns=(1, 1))
    assert HashCache(cache_file).sha256(f) != first
    assert len(reads) == 2
    cache_file.write_text("{not json")
    assert HashCache(cache_file).sha256(f)  # a damaged cache is only a slower start


def test_hub_blobs_are_not_read_their_name_is_their_hash(tmp_path: Path) -> None:
    blob_name = "ab" * 32
    blobs = tmp_path / "models--x" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / blob_name).write_bytes(b"weights")
    snap = tmp_path / "models--x" / "snapshots" / "rev"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(blobs / blob_name)
    assert HashCache().sha256(snap / "model.safetensors") == blob_name
