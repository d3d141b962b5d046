"""Readers turn a source (a folder, a manifest) into a stream of ``SourceItem``s.

Readers stream: a million-row manifest is never held in memory. Rows that cannot become an item
(no path, say) are yielded as ``FailedItem`` so the job records them instead of dropping them.

Each reader can also be split into chunks (``plan``) and read one chunk at a time (``read_chunk``):
the Celery path sends one task per chunk. A chunk names byte offsets (CSV, JSONL), a row group slice
(Parquet) or file paths (folders), so reading chunk k never re-reads chunks 0..k-1.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from services.core.errors import InvalidInput, SignifierError
from services.core.settings import Limits, VideoSettings
from services.sources.grant import UNRESTRICTED, ReadGrant
from services.sources.items import FailedItem, SourceItem
from services.sources.video import VIDEO_EXTENSIONS, estimate_frames, plan_video

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
MANIFEST_EXTENSIONS = frozenset({".csv", ".jsonl", ".ndjson", ".parquet"})

# Column names accepted for the image location and its alt-text (ours first, then LAION/img2dataset's).
PATH_COLUMNS = ("path", "file", "filepath")
URL_COLUMNS = ("url", "URL")
TEXT_COLUMNS = ("alt_text", "TEXT", "caption", "text")

Entry = SourceItem | FailedItem
ChunkSpec = dict[str, Any]
MAX_SIDECAR_BYTES = 1024 * 1024
MAX_REASON_CHARS = 200  # a library's error text quoted in a message is cut to this


@dataclass(frozen=True)
class _Unreadable:
    """A manifest row that could not be read (a CSV row over the field limit, a corrupt Parquet row
    group): ``ManifestReader._entry`` turns it into a ``FailedItem`` named by its row number."""

    reason: str


def _short(text: str) -> str:
    """A library's error text on one line, cut to ``MAX_REASON_CHARS``."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def _sidecar_text(image: Path, grant: ReadGrant) -> str | None:
    side = image.with_suffix(".txt")
    if not os.path.lexists(side):
        return None
    return grant.read_bytes(side, MAX_SIDECAR_BYTES).decode("utf-8", errors="replace").strip()


def _file_item(p: Path, grant: ReadGrant) -> Entry:
    """A folder's image with its sidecar alt-text; a sidecar the grant refuses fails the item."""
    try:
        alt = _sidecar_text(p, grant)
    except SignifierError as exc:
        return FailedItem(str(p), f"alt-text sidecar {exc.message}")
    return SourceItem(source=str(p), kind="file", alt_text=alt, grant=grant)


class FolderReader:
    """Every image and video under a folder (recursively, in sorted order), with ``name.txt`` sidecars as
    alt-text (a video's subtitles are read by the video stage).

    The walk holds one directory listing at a time, not the whole tree. Every file is read through the
    ``grant`` (a symlink out of it fails its item); folders the grant does not cover are not listed.
    A video longer than ``video.chunk_s`` is planned as chunks of time ranges (``plan``).
    """

    def __init__(
        self,
        root: Path,
        grant: ReadGrant = UNRESTRICTED,
        shown: str | None = None,
        limits: Limits | None = None,
        video: VideoSettings | None = None,
    ) -> None:
        self.grant = grant
        grant.check_dir(root, str(root) if shown is None else shown)
        self.root = root
        self.limits = limits or Limits()
        self.video = video or VideoSettings()

    def _paths(self) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            if not self.grant.allows(os.path.realpath(dirpath)):
                dirnames[:] = []  # swapped for a link out of the grant since it was checked: list nothing
                continue
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                # A symlink counts whatever it points at, so the job's total says nothing of other folders.
                suffix = p.suffix.lower()
                wanted = (suffix in IMAGE_EXTENSIONS or suffix in VIDEO_EXTENSIONS) and not name.startswith(".")
                if wanted and (p.is_symlink() or p.is_file()):
                    yield p

    def count(self) -> int:
        """Images, plus the frames each video will give at most (its declared duration / the sampling step)."""
        n = 0
        for p in self._paths():
            is_video = p.suffix.lower() in VIDEO_EXTENSIONS
            n += estimate_frames(p, self.grant, self.limits, self.video) if is_video else 1
        return n

    def __iter__(self) -> Iterator[Entry]:
        for p in self._paths():
            yield _file_item(p, self.grant)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        """Images ``chunk_size`` files at a time; each video a chunk of its own, or several time ranges."""
        group: list[str] = []
        for p in self._paths():
            rel = str(p.relative_to(self.root))
            if p.suffix.lower() in VIDEO_EXTENSIONS:
                for spec, items in plan_video(p, self.grant, self.limits, self.video):
                    yield ({"video": rel, **spec} if spec else {"files": [rel]}), items
                continue
            group.append(rel)
            if len(group) >= chunk_size:
                yield {"files": group}, len(group)
                group = []
        if group:
            yield {"files": group}, len(group)

    def read_chunk(self, spec: ChunkSpec) -> Iterator[Entry]:
        if "video" in spec:
            item = _file_item(self.root / spec["video"], self.grant)
            clip: dict[str, Any] = {k: spec[k] for k in ("t0", "t1", "cap", "cuts", "sha") if k in spec}
            yield item if isinstance(item, FailedItem) else dataclasses.replace(item, clip=clip)
            return
        for rel in spec["files"]:
            yield _file_item(self.root / rel, self.grant)


def _first(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for n in names:
        v = row.get(n)
        if v not in (None, ""):
            return v
    return None


def _lines(f: BinaryIO, start: int, pos: list[int]) -> Iterator[str]:
    """Decoded lines from byte ``start``; ``pos[0]`` is kept at the byte offset after the last line handed out."""
    f.seek(start)
    pos[0] = start
    for raw in f:
        pos[0] += len(raw)
        yield raw.decode("utf-8", errors="replace")


class ManifestReader:
    """A CSV, JSONL or Parquet manifest: ``path`` or ``url``, ``alt_text``, extra columns kept as payload.

    Relative paths are resolved against the manifest's folder. The manifest and every row's file are
    read through the ``grant``: a row may name only what the job could have named itself.
    """

    def __init__(self, path: Path, grant: ReadGrant = UNRESTRICTED, shown: str | None = None) -> None:
        self.grant = grant
        self.shown = str(path) if shown is None else shown
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in MANIFEST_EXTENSIONS:
            raise InvalidInput(f"unsupported manifest type {self.suffix!r}; use .csv, .jsonl or .parquet")
        with self._open():
            pass  # exists, is a regular file, and the grant covers it
        self._check_columns()

    def _open(self) -> BinaryIO:
        return self.grant.open(self.path, self.shown)

    def _parquet(self, f: BinaryIO) -> Any:
        """The ``pyarrow.parquet.ParquetFile`` of an open manifest; a file that is not one (corrupt, cut
        short, another format renamed) is an ``InvalidInput`` naming the manifest."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(f)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InvalidInput(
                f"manifest {self.path.name} is not a readable Parquet file: {_short(str(exc))}"
            ) from None

    def _columns(self) -> list[str]:
        if self.suffix == ".parquet":
            with self._open() as f:
                return list(self._parquet(f).schema_arrow.names)
        if self.suffix == ".csv":
            header, _ = self._csv_header()
            # A header without rows is as empty as no file at all.
            return header if header and next(self._rows_from(0), None) is not None else []
        return self._first_json_keys()

    def _first_json_keys(self) -> list[str]:
        """The keys of a JSONL manifest's first row; a first row that is not a JSON object is refused here,
        naming its line (the row decides which columns the manifest has, so there is nothing to go on)."""
        with self._open() as f:
            for n, line in enumerate(_lines(f, 0, [0]), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(
                        f"manifest {self.path.name}: line {n} is not valid JSON ({exc.msg} at column {exc.colno}); "
                        'a .jsonl manifest holds one JSON object per line, e.g. {"path": "a.png", "alt_text": "..."}'
                    ) from None
                if not isinstance(row, dict):
                    raise InvalidInput(
                        f"manifest {self.path.name}: line {n} is a JSON {_json_kind(row)}, not an object; "
                        'a .jsonl manifest holds one JSON object per line, e.g. {"path": "a.png", "alt_text": "..."}'
                    )
                return list(row)
        return []

    def _check_columns(self) -> None:
        cols = self._columns()
        if not cols:
            raise InvalidInput(f"manifest {self.path.name} is empty")
        if not any(c in cols for c in PATH_COLUMNS + URL_COLUMNS):
            raise InvalidInput(
                f"manifest {self.path.name} has no image column: expected one of "
                f"{', '.join(PATH_COLUMNS + URL_COLUMNS)}; found {', '.join(cols)}"
            )

    def _csv_header(self) -> tuple[list[str], int]:
        with self._open() as f:
            pos = [0]
            try:
                header = next(csv.reader(_lines(f, 0, pos)), [])
            except csv.Error as exc:
                raise InvalidInput(f"manifest {self.path.name}: its header line is not valid CSV ({exc})") from None
            return header, pos[0]

    def _rows_from(self, offset: int, lineno: int = 0) -> Iterator[tuple[int, Any]]:
        """(byte offset after the row, row) for CSV/JSONL rows from byte ``offset`` (0: the first data row)."""
        pos = [0]
        if self.suffix == ".csv":
            header, body = self._csv_header()
            with self._open() as f:
                rows = csv.reader(_lines(f, max(offset, body), pos))
                while True:
                    try:
                        values = next(rows)
                    except StopIteration:
                        return
                    except csv.Error as exc:  # the reader goes on with the next row
                        yield pos[0], _Unreadable(f"row is not valid CSV: {exc}")
                        continue
                    if values:  # a blank line is no row (as csv.DictReader has it)
                        yield pos[0], dict(zip(header, values, strict=False))
        with self._open() as f:
            for line in _lines(f, offset, pos):
                if not line.strip():
                    continue
                lineno += 1  # rows, not physical lines: chunked and whole reads must name rows alike
                try:
                    yield pos[0], json.loads(line)
                except json.JSONDecodeError as exc:
                    why = f"invalid JSON in row {lineno} (rows count non-blank lines): {exc.msg} at column {exc.colno}"
                    yield pos[0], FailedItem(f"{self.path.name}:{lineno}", why)

    def _parquet_rows(self, row_group: int | None = None, start: int = 0, rows: int | None = None) -> Iterator[Any]:
        with self._open() as f:
            yield from self._parquet_file_rows(self._parquet(f), row_group, start, rows)

    @staticmethod
    def _parquet_file_rows(pf: Any, row_group: int | None, start: int, rows: int | None) -> Iterator[Any]:
        """Rows as dicts; each row of a row group that cannot be read (corrupt pages) as ``_Unreadable``,
        so the job records them as failed and goes on with the next group."""
        import pyarrow as pa

        groups = range(pf.num_row_groups) if row_group is None else [row_group]
        for g in groups:
            try:
                table = pf.read_row_group(g)
            except (pa.ArrowException, OSError, ValueError) as exc:
                n = pf.metadata.row_group(g).num_rows
                lost = n if rows is None else max(0, min(rows, n - start))
                reason = _Unreadable(f"Parquet row group {g} is unreadable: {_short(str(exc))}")
                yield from (reason for _ in range(lost))
                continue
            if rows is not None:
                table = table.slice(start, rows)
            for batch in table.to_batches(max_chunksize=4096):
                yield from batch.to_pylist()

    def _raw_rows(self) -> Iterator[Any]:
        if self.suffix == ".parquet":
            yield from self._parquet_rows()
        else:
            for _, row in self._rows_from(0):
                yield row

    def count(self) -> int:
        if self.suffix == ".parquet":
            with self._open() as f:
                return int(self._parquet(f).metadata.num_rows)
        return sum(1 for _ in self._raw_rows())

    def __iter__(self) -> Iterator[Entry]:
        for n, row in enumerate(self._raw_rows(), 1):
            yield self._entry(row, n)

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        if self.suffix == ".parquet":
            with self._open() as f:
                meta = self._parquet(f).metadata
            first = 1
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                for start in range(0, n, chunk_size):
                    rows = min(chunk_size, n - start)
                    yield {"row_group": g, "start": start, "rows": rows, "first": first}, rows
                    first += rows
            return
        start, first, rows = 0, 1, 0
        for end, _ in self._rows_from(0):
            rows += 1
            if rows >= chunk_size:
                yield {"offset": start, "rows": rows, "first": first}, rows
                start, first, rows = end, first + rows, 0
        if rows:
            yield {"offset": start, "rows": rows, "first": first}, rows

    def read_chunk(self, spec: ChunkSpec) -> Iterator[Entry]:
        first, rows = int(spec["first"]), int(spec["rows"])
        if "row_group" in spec:
            raw: Iterator[Any] = self._parquet_rows(int(spec["row_group"]), int(spec["start"]), rows)
        else:
            raw = (row for _, row in self._rows_from(int(spec["offset"]), first - 1))
        for n, row in enumerate(raw, first):
            if n >= first + rows:
                return
            yield self._entry(row, n)

    def _entry(self, row: Any, n: int) -> Entry:
        if isinstance(row, FailedItem):
            return row
        if isinstance(row, _Unreadable):
            return FailedItem(f"{self.path.name}:{n}", row.reason)
        if not isinstance(row, dict):
            return FailedItem(f"{self.path.name}:{n}", "row is not an object")
        alt = _first(row, TEXT_COLUMNS)
        meta = {
            k: v
            for k, v in row.items()
            if k not in PATH_COLUMNS + URL_COLUMNS + TEXT_COLUMNS
            and k is not None
            and v is not None
            and not k.startswith("_")
        }
        path, url = _first(row, PATH_COLUMNS), _first(row, URL_COLUMNS)
        alt_text = None if alt is None else str(alt)
        if path is not None:
            p = Path(str(path))
            where = str(p if p.is_absolute() else self.path.parent / p)
            return SourceItem(where, "file", alt_text, meta, grant=self.grant)
        if url is not None:
            return SourceItem(str(url), "url", alt_text, meta)
        return FailedItem(f"{self.path.name}:{n}", "row has neither a path nor a url")


def _json_kind(value: Any) -> str:
    """How JSON calls the type of a decoded value ("array", "string", ...)."""
    match value:
        case list():
            return "array"
        case str():
            return "string"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case None:
            return "null"
    return type(value).__name__


class UrlListReader:
    """Image URLs given inline in the ingest request (each a ``url`` with optional ``alt_text``)."""

    def __init__(self, urls: list[Any]) -> None:
        if not urls:
            raise InvalidInput("source 'urls' needs at least one URL")
        self.urls = urls

    def count(self) -> int:
        return len(self.urls)

    def __iter__(self) -> Iterator[Entry]:
        return self._read(0, len(self.urls))

    def _read(self, start: int, stop: int) -> Iterator[Entry]:
        for i in range(start, min(stop, len(self.urls))):
            u = self.urls[i]
            if isinstance(u, str):
                yield SourceItem(u, "url")
            elif isinstance(u, dict) and isinstance(u.get("url"), str):
                alt = u.get("alt_text")
                meta = {k: v for k, v in u.items() if k not in ("url", "alt_text")}
                yield SourceItem(u["url"], "url", None if alt is None else str(alt), meta)
            else:
                yield FailedItem(f"urls[{i}]", "expected a URL string or an object with a 'url' key")

    def plan(self, chunk_size: int) -> Iterator[tuple[ChunkSpec, int]]:
        for start in range(0, len(self.urls), chunk_size):
            stop = min(start + chunk_size, len(self.urls))
            yield {"start": start, "stop": stop}, stop - start

    def read_chunk(self, spec: ChunkSpec) -> Iterator[Entry]:
        return self._read(int(spec["start"]), int(spec["stop"]))


def open_reader(
    path: str | Path,
    grant: ReadGrant = UNRESTRICTED,
    shown: str | None = None,
    limits: Limits | None = None,
    video: VideoSettings | None = None,
) -> Any:
    """A folder reader for a directory, a manifest reader for a .csv/.jsonl/.parquet file, a WebDataset
    reader for ``.tar`` shards (one file or a brace pattern like ``shards/{00000..00099}.tar``).

    Everything it reads goes through ``grant``; messages name the path as ``shown`` (what the caller gave).
    ``limits.max_upload_bytes`` caps a tar member the way it caps every other image (members are read here,
    not by the pipeline, which applies the cap to files and uploads itself)."""
    from services.sources.webdataset import WebDatasetReader, is_webdataset

    raw = str(path)
    shown = raw if shown is None else shown
    if is_webdataset(raw):
        cap = (limits or Limits()).max_upload_bytes
        return WebDatasetReader.from_pattern(raw, max_member_bytes=cap, grant=grant, shown=shown)
    p = Path(raw).expanduser()
    real = grant.check(p, shown)  # missing, outside the grant or in the data dir: one refusal, before anything else
    if os.path.isdir(real):
        return FolderReader(p, grant, shown, limits, video)
    if p.suffix.lower() in MANIFEST_EXTENSIONS:
        return ManifestReader(p, grant, shown)
    raise InvalidInput(f"{shown} is neither a folder nor a manifest (.csv, .jsonl, .parquet) nor a .tar shard")
