"""Ingestion runners: a reader over the job's source, through the ingestion pipeline into the store."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

from services.core.settings import Limits, VideoSettings
from services.ingest.runner import IngestPipeline, Reporter
from services.jobs.kinds import PathSource, UploadSource, UrlsSource, WebDatasetSource
from services.jobs.runners.base import ChunkSpec, JobContext, JobRunner, RunOutcome
from services.sources.readers import UrlListReader, open_reader


class _ReaderRunner(JobRunner):
    @abstractmethod
    def reader(self) -> Any:
        """The source's reader (``count``, iteration, ``plan``, ``read_chunk``)."""

    def count(self) -> int:
        return int(self.reader().count())

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        yield from self.reader().plan(chunk_size)

    def run(self, reporter: Reporter, spec: ChunkSpec | None = None) -> RunOutcome:
        reader = self.reader()
        entries = iter(reader) if spec is None else reader.read_chunk(spec)
        r = _pipeline(self.ctx).run(self.store_name, entries, reporter)
        return RunOutcome(done=r.done, failed=r.failed, skipped=r.skipped, cancelled=r.cancelled)


class PathRunner(_ReaderRunner):
    """A folder, manifest or WebDataset shards on the server, read under the grant recorded at submission
    (here and in every worker alike)."""

    def __init__(self, source: PathSource | WebDatasetSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    def reader(self) -> Any:
        return open_reader(
            self.source.target,
            self.source.grant,
            shown=self.source.path,
            limits=_limits(self.ctx),
            video=_video(self.ctx),
        )


class UrlsRunner(_ReaderRunner):
    def __init__(self, source: UrlsSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    def reader(self) -> Any:
        return UrlListReader(list(self.source.urls))


class UploadRunner(_ReaderRunner):
    """Uploaded files: run by the API process, whose data dir holds them (remote workers cannot see it)."""

    def __init__(self, source: UploadSource, store_name: str, ctx: JobContext) -> None:
        super().__init__(store_name, ctx)
        self.source = source

    @property
    def chunked(self) -> bool:
        return False

    def reader(self) -> Any:
        return open_reader(
            self.source.path,
            self.source.grant,
            shown=self.source.path,
            limits=_limits(self.ctx),
            video=_video(self.ctx),
        )


def _pipeline(ctx: JobContext) -> IngestPipeline:
    if ctx.pipeline is None:  # a wiring mistake, not a user's
        raise RuntimeError("this process has no ingestion pipeline to run the job with")
    return ctx.pipeline


def _limits(ctx: JobContext) -> Limits | None:
    """The pipeline's limits (a tar member over ``max_upload_bytes`` is failed unread); None to plan only."""
    return ctx.pipeline.limits if ctx.pipeline is not None else None


def _video(ctx: JobContext) -> VideoSettings | None:
    """How videos are sampled and split (the pipeline's settings; None: the defaults, to plan only)."""
    ingest = getattr(ctx.pipeline, "ingest", None)  # a stand-in pipeline (tests) may carry only limits
    return getattr(ingest, "video", None)
