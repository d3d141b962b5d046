from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from services.api.deps import PrincipalDep, RuntimeDep
from services.api.schemas import JobList, JobOut
from services.core.errors import Forbidden, InvalidInput, SignifierError
from services.jobs.records import JobInfo
from services.jobs.runners import resumable
from services.sources.items import FailedItem

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def public_source(job: JobInfo) -> dict[str, Any]:
    """A job's source as its team may see it: no read grant, no absolute server path it did not name.

    An upload job shows ``{"kind": "upload", "files": n}`` (its folder is in the server's data dir);
    a path job shows the path as the caller gave it; a record this version cannot read shows its kind."""
    try:
        return job.source.public()
    except SignifierError:
        kind = job.source_record.get("kind")
        return {"kind": kind} if isinstance(kind, str) else {}


def public_item(item: str, job: JobInfo) -> str:
    """An item error's name without the server folder it was read from (upload dir, resolved target)."""
    try:
        return job.source.public_item(item)
    except SignifierError:
        return item


def job_out(job: JobInfo) -> JobOut:
    return JobOut(
        job_id=job.job_id,
        collection=job.collection,
        state=job.state,  # type: ignore[arg-type]
        total=job.total,
        done=job.done,
        failed=job.failed,
        skipped=job.skipped,
        errors=[FailedItem(public_item(e.item, job), e.reason) for e in job.errors],
        errors_omitted=max(0, job.error_count - len(job.errors)),
        message=job.message,
        source=public_source(job),
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
    runtime: RuntimeDep,
    principal: PrincipalDep,
    collection: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    max_errors: int = Query(10, ge=0, le=100, description="Item failures listed per job (`errors_omitted`: the rest)."),
) -> JobList:
    """The team's newest jobs (of one collection), each with its first item failures."""
    return JobList(jobs=[job_out(j) for j in runtime.jobs.list_for(principal, collection, limit, max_errors)])


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
    source = job.source  # a record this version cannot run is refused here: "submit it again"
    if not resumable(source):
        raise InvalidInput(f"job {job_id} is a {source.kind} job; only ingestion jobs can be resumed")
    if not runtime.jobs.reopen(job_id):
        raise InvalidInput(f"job {job_id} is {job.state}; only cancelled or failed jobs can be resumed")
    runtime.queue.resume(job_id)
    return job_out(runtime.jobs.get(principal, job_id))
