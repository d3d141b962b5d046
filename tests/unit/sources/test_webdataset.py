"""WebDataset shards: samples grouped by key, sidecars as alt-text and payload, broken input recorded."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from services.core.errors import InvalidInput
from services.core.settings import Limits
from services.jobs.kinds import WebDatasetSource
from services.jobs.runners import runner_for
from services.jobs.runners.base import JobContext
from services.sources.grant import ReadGrant
from services.sources.items import FailedItem, SourceItem
from services.sources.readers import open_reader
from services.sources.webdataset import WebDatasetReader, expand_braces


def _tar(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_brace_expansion() -> None:
    assert expand_braces("s/{00000..00002}.tar") == ["s/00000.tar", "s/00001.tar", "s/00002.tar"]
    assert expand_braces("{a,b}-{8..10}.tar") == ["a-8.tar", "a-9.tar", "a-10.tar", "b-8.tar", "b-9.tar", "b-10.tar"]
    assert expand_braces("plain{x}.tar") == ["plain{x}.tar"]
    with pytest.raises(InvalidInput, match="names 1,000,001 shards"):
        expand_braces("{0..1000000}.tar")


def test_samples_with_txt_and_json_sidecars(tmp_path: Path) -> None:
    meta = {"url": "https://x/1.jpg", "caption": "from json", "width": 3, "nested": {"no": 1}}
    shard = _tar(
        tmp_path / "00000.tar",
        [
            ("a/0001.jpg", b"JPEG1"), ("a/0001.txt", b" a red circle \n"), ("a/0001.json", json.dumps(meta).encode()),
            ("a/0002.png", b"PNG2"), ("a/0002.json", json.dumps({"caption": "json only"}).encode()),
            ("a/0003.txt", b"orphan text"),
            ("a/0004.jpg", b"JPEG4"), ("a/0004.json", b"{broken"),
        ],
    )  # fmt: skip
    reader = open_reader(shard)
    entries = list(reader)
    assert reader.count() == len(entries) == 4
    first, second, orphan, bad = entries
    assert isinstance(first, SourceItem) and first.kind == "bytes" and first.data == b"JPEG1"
    assert first.source == f"{shard}#a/0001.jpg" and first.alt_text == "a red circle"  # .txt wins
    assert first.metadata == {"url": "https://x/1.jpg", "width": 3}  # scalars only, text keys removed
    assert isinstance(second, SourceItem) and second.alt_text == "json only"
    assert isinstance(orphan, FailedItem) and "no image" in orphan.reason
    assert isinstance(bad, FailedItem) and "invalid JSON sidecar" in bad.reason


def test_broken_and_non_tar_shards_end_in_a_recorded_failure(tmp_path: Path) -> None:
    good = _tar(tmp_path / "00000.tar", [(f"{i:04d}.jpg", b"J" * 3000) for i in range(4)])
    with tarfile.open(good) as tf:
        third = tf.getmembers()[2]
    cut = tmp_path / "00001.tar"
    cut.write_bytes(good.read_bytes()[: third.offset_data + 100])
    (tmp_path / "00002.tar").write_bytes(b"this is not a tar archive at all" * 40)
    reader = WebDatasetReader.from_pattern(str(tmp_path / "{00000..00002}.tar"))
    entries = list(reader)
    assert [type(e).__name__ for e in entries] == ["SourceItem"] * 6 + ["FailedItem", "FailedItem"]
    assert "broken tar shard" in entries[6].reason and entries[6].item.endswith("#0002.jpg")  # type: ignore[union-attr]
    assert "broken or unreadable tar" in entries[7].reason  # type: ignore[union-attr]
    assert reader.count() == len(entries)


def test_oversized_members_fail_without_being_read(tmp_path: Path) -> None:
    shard = _tar(tmp_path / "s.tar", [("0.jpg", b"x" * 2000), ("1.jpg", b"ok")])
    entries = list(WebDatasetReader([shard], max_member_bytes=1000))
    assert isinstance(entries[0], FailedItem) and "over the limit of 1,000 bytes" in entries[0].reason
    assert isinstance(entries[1], SourceItem)


def test_upload_limit_reaches_tar_members_of_a_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Limits.max_upload_bytes`` caps a tar member as it caps every other image: the member is judged by
    its header and never read, and its sample fails naming its size and the limit."""
    shard = _tar(tmp_path / "s.tar", [("0.jpg", b"x" * 2000), ("0.txt", b"big"), ("1.jpg", b"ok")])
    read: list[str] = []
    extract = tarfile.TarFile.extractfile

    def recording(self: tarfile.TarFile, member: tarfile.TarInfo | str) -> object:
        read.append(member if isinstance(member, str) else member.name)
        return extract(self, member)

    monkeypatch.setattr(tarfile.TarFile, "extractfile", recording)
    grant = ReadGrant.from_dict({"roots": [str(tmp_path)], "explain": True})
    source = WebDatasetSource(path=str(shard), target=str(shard), grant=grant)
    pipeline = SimpleNamespace(limits=Limits(max_upload_bytes=1000))  # the runner reads only its limits
    runner = runner_for(source, "store", JobContext(pipeline=pipeline))  # type: ignore[arg-type]
    entries = list(runner.reader())  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in entries] == ["FailedItem", "SourceItem"]
    reason = entries[0].reason  # type: ignore[union-attr]
    assert "0.jpg is 2,000 bytes, over the limit of 1,000 bytes" in reason and "MAX_UPLOAD_BYTES" in reason
    assert "0.jpg" not in read and read == ["0.txt", "1.jpg"]
    # The cap is the setting's, not a constant of the reader: raised, it lets the member through.
    roomy = open_reader(shard, limits=Limits(max_upload_bytes=2000))
    assert all(isinstance(e, SourceItem) for e in roomy)


def test_missing_shards_are_refused_up_front(tmp_path: Path) -> None:
    _tar(tmp_path / "00000.tar", [("0.jpg", b"x")])
    with pytest.raises(InvalidInput, match=r"shard not found: .*00001.tar \(and 1 more\)"):
        WebDatasetReader.from_pattern(str(tmp_path / "{00000..00002}.tar"))
