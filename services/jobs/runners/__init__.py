"""One runner per job kind; ``runner_for`` is the one place that dispatches on the kind."""

from __future__ import annotations

from typing import assert_never

from services.jobs.kinds import (
    ClassifySource,
    DuplicatesSource,
    JobSource,
    MapSource,
    PathSource,
    UploadSource,
    UrlsSource,
    WebDatasetSource,
)
from services.jobs.runners.base import JobContext, JobRunner
from services.jobs.runners.classify import ClassifyRunner
from services.jobs.runners.collection_map import MapRunner
from services.jobs.runners.duplicates import DuplicatesRunner
from services.jobs.runners.ingest import PathRunner, UploadRunner, UrlsRunner


def runner_for(source: JobSource, store_name: str, ctx: JobContext) -> JobRunner:
    """The runner of a job's source, writing to the store collection ``store_name``."""
    match source:
        case UploadSource():
            return UploadRunner(source, store_name, ctx)
        case PathSource() | WebDatasetSource():
            return PathRunner(source, store_name, ctx)
        case UrlsSource():
            return UrlsRunner(source, store_name, ctx)
        case ClassifySource():
            return ClassifyRunner(source, store_name, ctx)
        case MapSource():
            return MapRunner(source, store_name, ctx)
        case DuplicatesSource():
            return DuplicatesRunner(source, store_name, ctx)
        case _:
            assert_never(source)


def resumable(source: JobSource) -> bool:
    """Whether a reopened job of this source continues where it stopped (ingestion) or must start again."""
    return runner_for(source, "", JobContext()).resumable
