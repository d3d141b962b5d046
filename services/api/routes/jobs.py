from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Query

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import ItemErrorOut, JobList, JobOut
from services.core.errors import Forbidden, InvalidInput
from services.jobs.local import resumable
from services.jobs.records import JobInfo

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


# What only readers need: the read grant, the absolute target, the store's internal collection name.
_INTERNAL = frozenset({"grant", "target", "cleanup"})


def public_source(source: dict[str, Any]) -> dict[str, Any]:
    """A job's source as its team may see it: no read grant, no absolute server path it did not name.

    An upload job shows ``{"kind": "upload", "files": n}`` (its folder is in the server's data dir);
    a path job shows the path as the caller gave it."""
    out = {k: v for k, v in source.items() if k not in _INTERNAL}
    if source.get("kind") == "upload":
        out.pop("path", None)
    return out


def public_item(item: str, source: dict[str, Any]) -> str:
    """An item error's name without the server folder it was read from (upload dir, resolved target)."""
    if source.get("kind") == "upload" and isinstance(source.get("path"), str):
        base = source["path"].rstrip("/") + "/"
        return item[len(base) :] if item.startswith(base) else item
    target, given = source.get("target"), source.get("path")
    if not (isinstance(target, str) and isinstance(given, str)) or target == given:
        return item
    if item.startswith(target):  # a folder's entries
        return given + item[len(target) :]
    folder = os.path.dirname(target) + "/"  # a manifest's rows, a pattern's shards
    if item.startswith(folder):
        return os.path.join(os.path.dirname(given), item[len(folder) :])
    return item


def job_out(job: JobInfo) -> JobOut:
    source = job.source or {}
    return JobOut(
        job_id=job.job_id,
        collection=job.collection,
        state=job.state,  # type: ignore[arg-type]
        total=job.total,
        done=job.done,
        failed=job.failed,
        errors=[ItemErrorOut(item=public_item(e.item, source), reason=e.reason) for e in job.errors],
        message=job.message,
        source=public_source(source),
        timings=job.timings,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/{job_id}", response_model=JobOut)
def get_job(
    job_id: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    max_errors: int = Query(1000, ge=0, le=10_000, description="How many item failures to return."),
) -> JobOut:
    """Progress of an ingestion job, with each failed item and its reason."""
    return job_out(runtime.jobs.get(principal, job_id, max_errors=max_errors))


@router.get("", response_model=JobList)
def list_jobs(
    runtime: RuntimeDep, principal: PrincipalDep, collection: str | None = None, limit: int = Query(100, ge=1, le=1000)
) -> JobList:
    return JobList(jobs=[job_out(j) for j in runtime.jobs.list_for(principal, collection, limit)])


@router.delete("/{job_id}", response_model=JobOut)
def cancel_job(job_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> JobOut:
    """Cancel a queued or running job; items stored so far stay stored."""
    return job_out(runtime.jobs.cancel(principal, job_id))


@router.post("/{job_id}/resume", response_model=JobOut, status_code=202)
def resume_job(job_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> JobOut:
    """Continue a cancelled or failed job: items already stored are skipped, counters stay exact."""
    if not principal.can_write():
        raise Forbidden("resuming a job needs the owner or editor role")
    job = runtime.jobs.get(principal, job_id, max_errors=0)
    if not resumable(job.source):
        raise InvalidInput(f"job {job_id} is a {job.source.get('kind')} job; only ingestion jobs can be resumed")
    if not runtime.jobs.reopen(job_id):
        raise InvalidInput(f"job {job_id} is {job.state}; only cancelled or failed jobs can be resumed")
    runtime.queue.resume(job_id, str(job.source.get("store") or job.collection), job.source)
    return job_out(runtime.jobs.get(principal, job_id))
