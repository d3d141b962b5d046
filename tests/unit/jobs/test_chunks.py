"""Chunked reading (the Celery path): chunks cover every entry once, in order, reading only their part."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.sources.items import FailedItem, SourceItem
from services.sources.readers import FolderReader, ManifestReader, UrlListReader


def _names(entries: list[SourceItem | FailedItem]) -> list[str]:
    return [e.source if isinstance(e, SourceItem) else e.item for e in entries]


def _check(reader: object, size: int) -> list[tuple[dict, int]]:  # type: ignore[type-arg]
    whole = list(reader)  # type: ignore[call-overload]
    plans = list(reader.plan(size))  # type: ignore[attr-defined]
    pieces = [list(reader.read_chunk(spec)) for spec, _ in plans]  # type: ignore[attr-defined]
    assert [len(p) for p in pieces] == [n for _, n in plans]
    assert _names([e for p in pieces for e in p]) == _names(whole)
    return plans


@pytest.mark.parametrize("size", [1, 3, 7, 100])
def test_jsonl_chunks_by_byte_offset(tmp_path: Path, size: int) -> None:
    m = tmp_path / "m.jsonl"
    lines = [json.dumps({"path": f"{i}.png", "alt_text": f"t{i}"}) for i in range(10)]
    lines.insert(4, "")  # blank lines are no rows
    lines.insert(6, "{broken")
    m.write_text("\n".join(lines) + "\n")
    plans = _check(ManifestReader(m), size)
    assert all("offset" in spec for spec, _ in plans)


@pytest.mark.parametrize("size", [2, 5])
def test_csv_chunks_with_quoted_newlines(tmp_path: Path, size: int) -> None:
    m = tmp_path / "m.csv"
    rows = ["URL,TEXT,extra"] + [f'https://x/{i}.jpg,"line one\nline two {i}",{i}' for i in range(9)]
    m.write_text("\n".join(rows) + "\n")
    plans = _check(ManifestReader(m), size)
    [first] = list(ManifestReader(m).read_chunk(plans[1][0]))[:1]
    assert isinstance(first, SourceItem) and first.alt_text == f"line one\nline two {size}" and first.kind == "url"


def test_parquet_chunks_by_row_group(tmp_path: Path) -> None:
    m = tmp_path / "m.parquet"
    pq.write_table(pa.table({"URL": [f"https://x/{i}" for i in range(25)], "TEXT": ["t"] * 25}), m, row_group_size=10)
    plans = _check(ManifestReader(m), 4)
    assert {spec["row_group"] for spec, _ in plans} == {0, 1, 2} and sum(n for _, n in plans) == 25


def test_folder_and_url_list_chunks(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"{i}.png").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z.jpg").write_bytes(b"y")
    _check(FolderReader(tmp_path), 3)
    _check(UrlListReader(["https://a/1.png", {"url": "https://a/2.png", "alt_text": "two"}, 5]), 2)
    bad = list(UrlListReader([5]))
    assert isinstance(bad[0], FailedItem) and "expected a URL" in bad[0].reason
