"""One settings object for the whole service, read from ``SIGNIFIER_*`` environment variables.

Nested groups use ``__`` as the delimiter: ``SIGNIFIER_LIMITS__MAX_TERMS=16``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
BUNDLED_MODEL = "shapes-clip"


class Limits(BaseModel):
    """Bounds that protect the service from oversized or abusive requests."""

    max_expression_chars: int = 2_000
    max_terms: int = 32
    max_limit: int = 1_000
    max_offset: int = 10_000
    max_texts_per_request: int = 256
    max_upload_bytes: int = 25 * 1024 * 1024
    max_request_files: int = 1_000
    max_image_pixels: int = 64_000_000  # decompression-bomb guard (width × height)


class IngestSettings(BaseModel):
    """Tuning of the reader → decode → embed → writer pipeline."""

    batch_size: int = 64  # images per forward pass
    decode_workers: int = 2  # threads decoding and preprocessing images
    upsert_batch: int = 256  # points per store upsert
    max_errors_recorded: int = 10_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIGNIFIER_", env_nested_delimiter="__", extra="ignore", env_file=None
    )

    data_dir: Path = Path("./data")
    model: str = DEFAULT_MODEL
    device: Literal["auto", "cpu", "cuda"] | str = "auto"
    text_cache_size: int = 4_096

    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    redis_url: str | None = None
    database_url: str | None = None
    auth: Literal["local", "required"] = "local"

    host: str = "127.0.0.1"
    port: int = 8000

    limits: Limits = Field(default_factory=Limits)
    ingest: IngestSettings = Field(default_factory=IngestSettings)

    @property
    def mode(self) -> Literal["embedded", "server"]:
        """``server`` when a Qdrant server is configured, else ``embedded`` (Qdrant Edge under data_dir)."""
        return "server" if self.qdrant_url else "embedded"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'signifier.db').resolve()}"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "collections"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own ``Settings`` and inject it."""
    return Settings()
