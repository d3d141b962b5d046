"""A model's fingerprint: what a collection records of the model its vectors came from, and the test of
whether a running model may read and write those vectors.

Two models may share a collection only if their vectors live in one space: the same weights and config
give the same space whatever the model is called (a hub id and a local copy of its snapshot), while two
checkpoints under one name (a folder retrained in place) do not. So the identity is ``digest``: a short
SHA-256 over the checkpoint's config (``config.json`` and the image processor's config, parsed and
without the keys that only say which library version wrote them) and the bytes of its weight files.
``precision`` is recorded and shown, but is not identity: bf16 and fp32 runs of one checkpoint give
vectors of one space, a little apart.

Hashing reads every weight file once (a ViT-B/32 checkpoint is 605 MB, about half a second); the hash is
kept in a small JSON cache keyed by the file's real path, size and modification time, so a restart does
not read the weights again. Files in the Hugging Face cache are named by their SHA-256 already
(``blobs/<sha256>``), so those are never read at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.encoders.base import Encoder

log = logging.getLogger(__name__)

DIGEST_CHARS = 16
"""Hex digits of the digest kept (64 bits: a clash between two checkpoints is not a practical worry)."""

CONFIG_FILES = ("config.json", "preprocessor_config.json", "processor_config.json")
"""Configs that change the vectors: the model's, and its image preprocessing (size, crop, mean/std)."""

VOLATILE_KEYS = frozenset({"transformers_version", "_name_or_path", "_commit_hash", "torch_dtype", "dtype"})
"""Config keys that say which library wrote the file or how it was cast, not what the model computes."""

_HUB_BLOB = re.compile(r"[0-9a-f]{64}")
_CHUNK = 8 << 20


@dataclass(frozen=True)
class ModelFingerprint:
    """What identifies a model's vector space. ``digest`` is ``None`` for a collection created before
    fingerprints were recorded (only its model id and dim are known)."""

    model_id: str
    family: str
    image_dim: int
    text_dim: int
    precision: str
    digest: str | None

    @property
    def dim(self) -> int:
        return self.image_dim

    def describe(self) -> str:
        """One line for messages: ``'openai/clip-vit-base-patch32' (clip, fp32, 512-d, fingerprint 1a2b…)``."""
        dims = f"{self.image_dim}-d" if self.image_dim == self.text_dim else f"{self.image_dim}/{self.text_dim}-d"
        digest = f"fingerprint {self.digest}" if self.digest else "no fingerprint recorded"
        return f"{self.model_id!r} ({self.family}, {self.precision}, {dims}, {digest})"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelFingerprint:
        return cls(
            model_id=str(d["model_id"]),
            family=str(d.get("family") or "unknown"),
            image_dim=int(d["image_dim"]),
            text_dim=int(d.get("text_dim") or d["image_dim"]),
            precision=str(d.get("precision") or "fp32"),
            digest=d.get("digest"),
        )


def same_space(recorded: ModelFingerprint, running: ModelFingerprint) -> bool:
    """Whether ``running`` may search and add to vectors ``recorded`` made: the same digest and dims; for a
    record without a digest (made before fingerprints), the same model id and dim."""
    if (recorded.image_dim, recorded.text_dim) != (running.image_dim, running.text_dim):
        return False
    if recorded.digest is None or running.digest is None:
        return recorded.model_id == running.model_id
    return recorded.digest == running.digest


def canonical_config(raw: bytes) -> bytes:
    """A config file's content, independent of key order, formatting and the ``VOLATILE_KEYS``."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(json.loads(raw)), sort_keys=True, separators=(",", ":")).encode()


def weight_files(model_dir: Path) -> list[Path]:
    """The weight files ``from_pretrained`` reads: the safetensors files if there are any, else the
    PyTorch ``.bin`` files (shards included), in name order."""
    safetensors = sorted(model_dir.glob("*.safetensors"))
    if safetensors:
        return safetensors
    return sorted(p for p in model_dir.glob("*.bin") if p.name != "training_args.bin")


class HashCache:
    """SHA-256 of files, remembered in a JSON file by (real path, size, mtime); ``path=None``: memory only.

    Several processes may share the file (API and workers on one data dir): writes replace it whole, so
    a reader never sees half of one, and a lost update only costs a hash computed again."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # a damaged cache is only a slower start
        return data if isinstance(data, dict) else {}

    def sha256(self, file: Path) -> str:
        real = file.resolve()
        if real.parent.name == "blobs" and _HUB_BLOB.fullmatch(real.name):
            return real.name  # the Hugging Face cache names LFS files by their SHA-256
        st = real.stat()
        key = str(real)
        with self._lock:
            hit = self._entries.get(key)
            if hit and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
                return str(hit["sha256"])
        digest = _sha256_file(real)
        with self._lock:
            self._entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            self._write()
        return digest

    def _write(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._entries, indent=1, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:  # a read-only data dir: hashes are computed again next start
            log.warning("could not write the model hash cache %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def checkpoint_digest(model_dir: Path, cache: HashCache | None = None) -> str | None:
    """The short digest of a checkpoint folder's configs and weights; ``None`` if it holds no weights."""
    weights = weight_files(model_dir)
    if not weights:
        return None
    cache = cache or HashCache()
    h = hashlib.sha256()
    for name in CONFIG_FILES:
        f = model_dir / name
        if f.is_file():
            h.update(f"config {name}\n".encode())
            h.update(canonical_config(f.read_bytes()))
    for w in weights:
        h.update(f"\nweights {w.name} {cache.sha256(w)}".encode())
    return h.hexdigest()[:DIGEST_CHARS]


def _model_dir(encoder: Encoder) -> Path | None:
    """The folder the encoder's checkpoint was loaded from: a local path, or its Hugging Face cache snapshot."""
    path = getattr(encoder, "path", None)
    if not isinstance(path, str):
        return None
    local = Path(path)
    if local.is_dir():
        return local
    try:
        from transformers.utils.hub import cached_file

        config = cached_file(path, "config.json", local_files_only=True)
    except (OSError, ValueError, ImportError):
        return None
    return Path(config).parent if config else None


def _family(encoder: Encoder, model_dir: Path | None) -> str:
    family = getattr(encoder, "family", None)
    if isinstance(family, str) and family:
        return family
    if model_dir is not None and (model_dir / "config.json").is_file():
        with contextlib.suppress(OSError, ValueError):
            model_type = json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("model_type")
            if isinstance(model_type, str) and model_type:
                return model_type.removesuffix("_model").replace("_", "-")
    return type(encoder).__name__.removesuffix("Encoder").lower() or "unknown"


def fingerprint(encoder: Encoder, cache: HashCache | None = None) -> ModelFingerprint:
    """The running model's fingerprint (loads it). An encoder without a checkpoint folder (a test's fake)
    gets a digest of its model id and dims, stable across runs."""
    encoder.load()
    dim = encoder.dim
    image_dim = int(getattr(encoder, "image_dim", dim))
    text_dim = int(getattr(encoder, "text_dim", dim))
    model_dir = _model_dir(encoder)
    started = time.perf_counter()
    digest = checkpoint_digest(model_dir, cache) if model_dir is not None else None
    if digest is None:
        seed = f"no checkpoint {encoder.model_id} {type(encoder).__name__} {image_dim} {text_dim}"
        digest = hashlib.sha256(seed.encode()).hexdigest()[:DIGEST_CHARS]
    fp = ModelFingerprint(
        model_id=encoder.model_id,
        family=_family(encoder, model_dir),
        image_dim=image_dim,
        text_dim=text_dim,
        precision=str(getattr(encoder, "precision", "fp32")),
        digest=digest,
    )
    log.info("model fingerprint %s in %.3f s", fp.describe(), time.perf_counter() - started)
    return fp


class RunningModel:
    """The fingerprint of this process's encoder, computed once (on first use, or at startup)."""

    def __init__(self, encoder: Encoder, cache: HashCache | None = None) -> None:
        self.encoder = encoder
        self.cache = cache
        self._lock = threading.Lock()
        self._fingerprint: ModelFingerprint | None = None

    @property
    def fingerprint(self) -> ModelFingerprint:
        if self._fingerprint is None:
            with self._lock:
                if self._fingerprint is None:
                    self._fingerprint = fingerprint(self.encoder, self.cache)
        return self._fingerprint
