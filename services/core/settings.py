"""One settings object for the whole service, read from ``SIGNIFIER_*`` environment variables.

Nested groups use ``__`` as the delimiter: ``SIGNIFIER_LIMITS__MAX_TERMS=16``.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
BUNDLED_MODEL = "shapes-clip"
MIN_INTERNAL_TOKEN_CHARS = 32
TOKEN_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
UNSET = {  # what leaving each secret unset does
    "internal_token": "to disable the worker routes",
    "stream_secret": "for a random key at each start",
}


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
    # Video files in folders and manifests (uploads stay under max_upload_bytes): larger ones are failed unread.
    max_video_bytes: int = 16 * 1024**3
    # Meaning-math endpoints (oppositions, classify, similarity, paths); see docs/api.md.
    max_labels: int = 256  # labels per classify request, text columns per similarity matrix
    max_images_per_request: int = 64  # images (uploads or point ids) per classify/similarity request
    max_path_points: int = 500  # points one path request may order (2-opt is O(n²) per sweep)
    max_walk_steps: int = 200
    max_histogram_bins: int = 200
    # Request-time whole-collection scans (opposition histograms, modality means) read every point up to this
    # many, and a uniform sample of this many above (the response says so); classify jobs read every point.
    scan_exact_points: int = Field(default=250_000, ge=1)
    # The map job fits PCA, k-means and UMAP on every point up to this many, and above it on a seeded sample
    # of this many (the rest placed by the fitted projection and UMAP transform; the map says so).
    layout_sample_points: int = Field(default=100_000, ge=32)
    # Points the map and duplicates jobs read (and the duplicates job searches, in one batched request) at a
    # time: their memory holds one batch of vectors, plus ids and coordinates for every point.
    job_batch_points: int = Field(default=1_024, ge=1)
    # Duplicates job: neighbours above the threshold asked of the store per point (the nearest this many; a
    # point with more is linked to those, which joins the same group unless the rest link only through it).
    max_duplicate_neighbours: int = Field(default=1_024, ge=1)
    max_rerank_candidates: int = 4_096  # nearest neighbours one dedup or diversity (MMR) search may draw
    max_concepts: int = 1_000  # saved concepts per collection
    # Opposition plane (POST .../plane): points placed per request; above it a stated, seeded sample.
    max_plane_points: int = 100_000
    # Rows of collection vectors kept in memory for the plane and relative scores (LRU over collections;
    # 4 × dim bytes each: 300k × 512-d ≈ 600 MB). A larger collection is streamed through each request instead.
    max_cached_points: int = 300_000
    max_templates: int = 32  # prompt templates per collection
    # Request bodies and filters; see docs/api.md ("Limits"). JSON bodies are cut off at this size while
    # they stream in (413), before they are parsed; multipart upload routes have the upload caps above.
    max_json_body_bytes: int = 2 * 1024 * 1024
    max_internal_body_bytes: int = 64 * 1024 * 1024  # worker → API point batches (needs SIGNIFIER_INTERNAL_TOKEN)
    max_filter_conditions: int = 256  # conditions in one filter, all clauses together
    max_filter_values: int = 1_000  # values in one any-of list
    # Time budget of one request's work (scans, paths, similarity ...): past it the request stops with 503.
    request_seconds: float = Field(default=30.0, gt=0)
    # Whole-collection requests (histograms, modality means, ...) running at once; more wait their turn.
    max_heavy_requests: int = Field(default=2, ge=1)


class VideoSettings(BaseModel):
    """Video files (mp4, mkv, webm, mov): which frames become points; see docs/video.md."""

    interval_s: float = Field(default=1.0, gt=0)  # a frame every this many seconds, plus the first of each shot
    # Colour-histogram distance (half the L1 distance of two frames' histograms, in [0, 1]) that counts as a cut.
    cut_threshold: float = Field(default=0.2, gt=0, le=1)
    min_shot_s: float = Field(default=0.5, ge=0)  # a cut closer than this to the previous one is not a cut
    # A sampled frame whose image embedding has at least this cosine with the last kept frame of its shot is dropped.
    dedupe_cosine: float = Field(default=0.98, gt=0, le=1)
    max_frames: int = Field(default=10_000, ge=1)  # per video: a ten-hour file is sampled more sparsely, not more
    chunk_s: float = Field(default=600.0, gt=0)  # Celery: a longer video is split into time ranges of this length
    decode_threads: int = Field(default=0, ge=0)  # FFmpeg decoder threads per video; 0: as many as cores
    cut_side: int = Field(default=64, ge=8, le=512)  # width the cut detector looks at (reduced-resolution decode)
    fast_decode: bool = True  # skip the H.264/HEVC deblocking filter (a fifth less decode CPU; bench/README.md)


class IngestSettings(BaseModel):
    """Tuning of the reader → decode → embed → writer pipeline."""

    batch_size: int = 64  # images per forward pass
    decode_workers: int = 2  # threads decoding and preprocessing images
    upsert_batch: int = 256  # points per store upsert
    max_errors_recorded: int = 10_000
    # Before embedding a batch, look up its content-derived ids and skip those already stored, so a
    # resumed or re-run job does no work twice. Off: every item is re-embedded and its payload replaced.
    skip_existing: bool = True
    # Longest side, in px, of the JPEG thumbnail stored for each point at ingest (under data_dir/thumbnails);
    # the image route serves it, never the source file. 256 is the largest the web UI asks for; 0 stores none.
    thumbnail_side: int = Field(default=256, ge=0, le=1024)
    video: VideoSettings = Field(default_factory=VideoSettings)


class WorkerSettings(BaseModel):
    """Celery workers and the job coordinator (server mode, or embedded API + workers)."""

    # Embedded topology: the API that stores the batches workers embed (it is the single writer).
    api_url: str | None = None
    chunk_size: int = 256  # source items per Celery task
    max_queued_chunks: int = 8  # per job: chunks on the queue at once (back-pressure; the rest wait in SQL)
    requeue_after_s: float = 300.0  # a queued/running chunk silent this long is sent again (lost worker/broker)
    sweep_interval_s: float = 10.0  # how often the API checks running jobs for lost chunks
    max_attempts: int = 5  # deliveries of one chunk before its remaining items are recorded as failed
    max_retries: int = 8  # task retries on transient errors (store, API or network down)
    retry_backoff_s: float = 1.0  # first retry delay, doubled each time, capped at 60 s
    visibility_timeout_s: int = 3600  # Redis: unacked messages of a vanished worker are redelivered after this


class FetchSettings(BaseModel):
    """Image URLs (manifests with a ``url``/``URL`` column): timeouts, size cap, SSRF allowlist."""

    timeout_s: float = 10.0  # connect and per-read timeout
    total_timeout_s: float = 30.0  # the whole download, redirects included
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    attempts: int = 2  # tries on a transient failure (timeout, 5xx, 429) before the item is failed
    # Networks (CIDR) that may be fetched although not public: loopback, private, link-local ... are
    # refused unless listed here (e.g. ["127.0.0.1/32"] for a local test server).
    allow_networks: list[str] = Field(default_factory=list)


class IndexSettings(BaseModel):
    """Index layout of new embedded (Qdrant Edge) collections; see bench/README.md for the measurements.

    An HNSW graph (m=16, ef_construct=128) per named vector, walked on the int8 copies with ``hnsw_ef``
    candidates, the best ``oversampling`` × limit rescored exactly on the float vectors. On CLIP-like data
    (``bench/clip_like.py``) it finds ≥ 0.99 of the exact top 10 for image, text, composite and opposition
    queries at ``hnsw_ef=512`` in ~1 ms (100k × 512), and ≥ 0.96 at 1M × 512 with the default 640 (~2-3 ms).
    Segments (and filtered subsets) smaller than ``full_scan_kb`` are scanned exactly instead, so small
    collections never see a graph. ``hnsw_m=0`` builds no graph at all (every search a full int8 scan: exact,
    ~50 ms at 1M × 512 on 2 cores).
    Payload indexes are created with the collection, before any graph, so the graph gets the extra
    per-field links filtered searches walk. The embedded store takes this part of ``QdrantSettings``.
    """

    hnsw_m: int = 16
    hnsw_ef_construct: int = 128
    # Segments whose vectors take less than this many KiB are scanned, not walked: 20,000 KiB ≈ 10k
    # float32 512-d vectors, where an exact int8 scan takes ~1 ms.
    full_scan_kb: int = 20_000
    quantization: Literal["int8", "none"] = "int8"  # int8 copies in RAM for scans; top hits rescored exactly
    oversampling: float = 2.0  # candidates taken from the int8 scan per requested hit, before rescoring
    # Segments get a graph once their vectors take this many KiB (None: Qdrant's default, 10,000 KiB).
    indexing_kb: int | None = None
    # Threads of each collection's search pool (segments are searched in parallel); None: one per CPU.
    search_threads: int | None = None
    # Build the index in the background once this many points were written since the last build
    # (None: only when ``EmbeddedStore.optimize`` is called). The build runs in a child process on a copy of the
    # shard (Qdrant Edge 0.9.0's build holds the GIL), so searches and writes go on; the copy needs the
    # collection's disk size again while it runs (services/vectorstore/embedded.py).
    optimize_after: int | None = 20_000


class QdrantSettings(IndexSettings):
    """How collections are laid out on a Qdrant server or cluster, and (``IndexSettings``) in the embedded store."""

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None
    collection_prefix: str = ""  # several deployments can share one Qdrant cluster
    # Server mode: float vectors on disk (memory-mapped), int8 copies and graphs in RAM (see ServerStore).
    on_disk_vectors: bool = True
    # Search-time beam width; higher = better recall, slower. On two builds of 1M CLIP-like points
    # (bench/scale.py's engine probe, bench/README.md) image queries found 0.950-0.968 of the true top 10 at
    # 512 and 0.964 at 640 (+0.2 ms); text, composite and opposition queries 0.964-0.980 at 512; at 100k, 512
    # already gave every kind ≥ 0.99. One value serves every kind: a per-kind choice saves fractions of a ms.
    hnsw_ef: int | None = 640
    # The widest beam a filtered search gets. A filter prunes the graph walk, so the embedded store widens
    # ``hnsw_ef`` to hnsw_ef / share for a filter keeping more than 15 % of the points (Edge's estimate), up to
    # this; smaller shares keep ``hnsw_ef`` (services/vectorstore/beam.py has the 1M measurements). A Qdrant
    # server gets this beam for every filtered search (an estimate there would cost a round trip).
    hnsw_ef_filtered: int | None = 1024


class RateSettings(BaseModel):
    """Per-API-key token bucket: ``per_minute`` sustained, ``burst`` at once; 0 turns limiting off.

    In Redis (shared by every API replica) when ``redis_url`` is set, else in this process's memory.
    Requests of the keyless local owner (embedded mode) are not limited.
    """

    per_minute: int = 1_200
    burst: int = 120


class QuotaSettings(BaseModel):
    """Default per-team quotas (a team's own values, set with ``signifier admin``, win); None = unlimited."""

    max_collections: int | None = None
    max_points: int | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNIFIER_", env_nested_delimiter="__", extra="ignore", env_file=None)

    data_dir: Path = Path("./data")
    model: str = DEFAULT_MODEL
    device: Literal["auto", "cpu", "cuda"] | str = "auto"
    # Weights and inputs of both towers (docs/models.md has the measured drift): auto = fp16 on CUDA, fp32 on CPU.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    text_cache_size: int = 4_096

    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    redis_url: str | None = None
    database_url: str | None = None
    auth: Literal["local", "required"] = "local"

    # Server-side folders that ingest requests may read, a deployment admin's grant (services/sources/grant.py).
    # ``{team}`` stands for the caller's team name: '["/srv/images/{team}"]'. With auth=required a root without
    # ``{team}`` refuses to start (every team could read it) and a team without roots cannot ingest paths; with
    # auth=local and no roots the local owner reads any path the process can. The data dir is never readable.
    ingest_roots: list[Path] = Field(default_factory=list)
    # Explicit per-team grants, added to ``ingest_roots``: '{"alpha": ["/srv/a"], "beta": ["/srv/b"]}'.
    team_ingest_roots: dict[str, list[Path]] = Field(default_factory=dict)

    host: str = "127.0.0.1"
    port: int = 8000

    # Shared secret of the internal routes workers call (embedded topology); unset: routes disabled.
    # Set, it must be a real secret (checked at startup): an empty one would open the routes to anyone.
    internal_token: SecretStr | None = None
    # Key of the signed stream links a browser's <video> plays from (services/accounts/stream_links.py;
    # docs/security.md). Unset: a random key drawn at each start (links die with the process; set one
    # when several API processes serve the same deployment). Set, it must be a real secret, as above.
    stream_secret: SecretStr | None = None
    stream_link_ttl_s: int = Field(default=3_600, ge=10, le=86_400)  # how long a signed stream link plays

    # Browser-facing guards (services/api/guards.py). With auth=local only loopback Host values are
    # served (a DNS-rebinding page reaches 127.0.0.1 under its own name); with auth=required these
    # Host values ("api.example.com", "*.example.com"; "*" = any: keys protect every route).
    allowed_hosts: list[str] = Field(default_factory=lambda: ["*"])
    # Origins ("https://app.example.com") besides the server's own whose pages may send POST, PUT,
    # PATCH and DELETE requests; any other Origin gets 403 (the server sends no CORS headers itself).
    allowed_origins: list[str] = Field(default_factory=list)
    # Reverse proxies (IPs or CIDR networks) whose X-Forwarded-For/-Proto are believed; empty: none.
    forwarded_allow_ips: list[str] = Field(default_factory=list)

    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    rate: RateSettings = Field(default_factory=RateSettings)
    quotas: QuotaSettings = Field(default_factory=QuotaSettings)
    workers: WorkerSettings = Field(default_factory=WorkerSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    limits: Limits = Field(default_factory=Limits)
    ingest: IngestSettings = Field(default_factory=IngestSettings)

    @field_validator("internal_token", "stream_secret")
    @classmethod
    def _real_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        problem = None
        if not token.strip():
            problem = "is empty"
        elif any(c.isspace() or not c.isprintable() or not c.isascii() for c in token):
            problem = "contains spaces, control or non-ASCII characters"
        elif len(token) < MIN_INTERNAL_TOKEN_CHARS:
            problem = f"is {len(token)} characters long"
        if problem:
            field = str(info.field_name)
            raise ValueError(
                f"SIGNIFIER_{field.upper()} {problem}; it must be at least {MIN_INTERNAL_TOKEN_CHARS} printable "
                f"characters (make one with: {TOKEN_RECIPE}), or leave it unset ({UNSET[field]})"
            )
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower() for v in value]
        for v in out:
            if not v or ("*" in v[1:]) or (v.startswith("*") and v != "*" and not v.startswith("*.")):
                raise ValueError(f"SIGNIFIER_ALLOWED_HOSTS: {v!r} is not a host name, '*.domain' or '*'")
        return out

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for v in value:
            parts = urlsplit(v.strip().lower())
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"SIGNIFIER_ALLOWED_ORIGINS: {v!r} is not an origin like 'https://app.example.com'")
            out.append(f"{parts.scheme}://{parts.netloc}")
        return out

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for v in value:
            try:
                ipaddress.ip_network(v.strip(), strict=False)
            except ValueError:
                raise ValueError(f"SIGNIFIER_FORWARDED_ALLOW_IPS: {v!r} is not an IP address or CIDR network") from None
        return [v.strip() for v in value]

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

    @property
    def videos_dir(self) -> Path:
        """Records of the video files each collection's frames came from (what the stream route may serve)."""
        return self.data_dir / "videos"

    @property
    def thumbnails_dir(self) -> Path:
        """Per-point thumbnails, one folder per store collection; workers writing to Qdrant share it."""
        return self.data_dir / "thumbnails"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own ``Settings`` and inject it."""
    return Settings()
