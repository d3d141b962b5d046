"""``POST /v1/collections/{name}/ingest``: a server-side folder or manifest (JSON), or uploaded files (multipart)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, Request, status

from services.accounts.principal import Principal
from services.api.body import FormLimits, MultipartForm, is_multipart, read_form, validate
from services.api.deps import NewCollectionDep, PrincipalDep, RuntimeDep
from services.api.schemas import IngestRequest, JobAccepted
from services.catalog.collections import CollectionInfo
from services.core.errors import AlreadyExists, Forbidden, InvalidInput
from services.core.settings import Limits
from services.jobs.kinds import JobSource, PathSource, UploadSource, UrlsSource, WebDatasetSource
from services.jobs.local import upload_dir
from services.jobs.records import new_job_id
from services.jobs.runners import runner_for
from services.jobs.runners.base import JobContext
from services.runtime import Runtime
from services.sources.grant import ReadGrant, grant_for, upload_grant
from services.sources.readers import open_reader
from services.sources.webdataset import is_webdataset
from services.vectorstore.base import check_collection_name

router = APIRouter(prefix="/v1/collections", tags=["ingest"])

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _check_path(grant: ReadGrant, raw: str) -> str:
    """The absolute path ``raw`` names, once the grant has let a reader open it and it has images.

    Every shard of a pattern, every folder entry and manifest row is checked again when it is read."""
    target = str(grant.locate(raw))
    reader = open_reader(target, grant, shown=raw)  # one refusal for missing and not granted alike
    if next(iter(reader), None) is None:
        raise InvalidInput(f"{raw} contains no images or videos (looked for .jpg, .png, .webp, ..., .mp4, .mkv, ...)")
    return target


def ingest_form(limits: Limits) -> FormLimits:
    """A multipart ingest: up to ``max_request_files`` files, each with an optional ``alt_text`` field."""
    return FormLimits(
        max_files=limits.max_request_files,
        max_fields=limits.max_request_files * 2 + 10,
        max_file_bytes=limits.max_upload_bytes,
        repeated=frozenset({"alt_text"}),
    )


async def _save_uploads(form: MultipartForm, job_dir: Path) -> int:
    """Write the form's files (and their alt-texts, ``<file>.txt``) into the job's folder; their count."""
    files, alt_texts = form.files, form.lists.get("alt_text", [])
    if not files:
        raise InvalidInput("multipart ingest needs one or more 'files' parts")
    if alt_texts and len(alt_texts) != len(files):
        raise InvalidInput(f"got {len(files)} files but {len(alt_texts)} alt_text fields; send one per file or none")
    for i, f in enumerate(files):
        name = _SAFE.sub("_", Path(f.filename or f"upload{i}").name)[-100:] or f"upload{i}"
        target = job_dir / f"{i:05d}_{name}"
        target.write_bytes(await f.read())
        if alt_texts and alt_texts[i].strip():
            target.with_suffix(".txt").write_text(alt_texts[i].strip(), encoding="utf-8")
    return len(files)


@router.post("/{name}/ingest", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
async def ingest(
    name: str, request: Request, existing: NewCollectionDep, runtime: RuntimeDep, principal: PrincipalDep
) -> JobAccepted:
    """Start an ingestion job; poll ``GET /v1/jobs/{job_id}`` for progress and per-item failures.

    JSON: ``{"path": "<folder or manifest on the server>"}`` or ``{"source": {"kind": ..., "path": ...}}``.
    Multipart: ``files`` parts (images) with optional ``alt_text`` fields, one per file, in order.
    A collection the team does not have yet is created for this server's model (``created: true``), once
    the request is valid. A request refused (4xx) leaves no job and no collection behind.
    """
    _check_writer(principal)
    if existing is None:
        check_collection_name(name)  # a bad name is refused before the body is read
    else:
        existing = runtime.models.check(existing)  # 409 if this server's model is not the collection's
    # The body cap (declared or streamed) is enforced before this runs: services/api/body_limit.py.
    if is_multipart(request):
        job_id = new_job_id()
        job_dir = upload_dir(runtime.settings.data_dir, job_id)
        try:
            count = await _save_uploads(await read_form(request, ingest_form(runtime.settings.limits)), job_dir)
            _check_quota(runtime, principal, count)
            info = existing or _create_collection(runtime, principal, name)
            # The job reads the folder the server wrote for it, and only that (the data dir is denied otherwise).
            upload = UploadSource(path=str(job_dir), files=count, grant=upload_grant(job_dir))
            runtime.jobs.create(principal, info.name, info.store_name, upload, job_id=job_id)
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)  # a refused upload leaves nothing on disk
            raise
    else:
        body = validate(IngestRequest, await request.body())
        source = _json_source(runtime, principal, body)
        # A new collection's store name is not known yet; counting the source needs none.
        _check_quota(runtime, principal, lambda: runner_for(source, "", JobContext()).count())
        info = existing or _create_collection(runtime, principal, name)
        job_id = runtime.jobs.create(principal, info.name, info.store_name, source)
    runtime.queue.submit(job_id)
    return JobAccepted(job_id=job_id, state="queued", collection=info.name, created=existing is None)


def _create_collection(runtime: Runtime, principal: Principal, name: str) -> CollectionInfo:
    """The team's new collection ``name`` for this server's model (or the one a concurrent request just made)."""
    try:
        running = runtime.models.running.fingerprint
        return runtime.collections.create(principal, name, runtime.encoder.model_id, running.dim, running)
    except AlreadyExists:
        return runtime.collections.get(principal, name)


def _json_source(runtime: Runtime, principal: Principal, body: IngestRequest) -> JobSource:
    """The job's source from a JSON request, validated (path allowed and readable, URLs well-formed)."""
    if body.source is not None and body.source.kind == "urls":
        urls = body.source.urls or []
        if not urls:
            raise InvalidInput("source kind 'urls' needs a non-empty 'urls' list")
        return UrlsSource(urls=urls)
    raw = body.path or (body.source.path if body.source else None)
    if not raw:
        raise InvalidInput(
            "give 'path' (a folder, manifest or .tar shards on the server), source.urls, or upload files as multipart"
        )
    grant = grant_for(runtime.settings, principal)  # 403 unless the deployment granted this team folders
    target = _check_path(grant, raw)
    webdataset = body.source.kind == "webdataset" if body.source else is_webdataset(raw)
    # ``path`` as the caller gave it (what job records show); ``target`` and ``grant`` are what readers use.
    # "folder" and "manifest" read as any path does (the reader is chosen by what the path is).
    kind = WebDatasetSource if webdataset else PathSource
    return kind(path=raw, target=target, grant=grant)


def _check_quota(runtime: Runtime, principal: Principal, incoming: int | Callable[[], int]) -> None:
    """Refuse a job that would take the team past its points quota (only counted when it has one)."""
    runtime.quotas.check_ingest(
        principal.team, principal.team_name, lambda: runtime.collections.points_used(principal.team), incoming
    )


def _check_writer(principal: Principal) -> None:
    if not principal.can_write():
        raise Forbidden("ingesting needs the owner or editor role")
