import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.core.errors import InvalidInput
from services.sources.items import FailedItem, SourceItem
from services.sources.readers import FolderReader, ManifestReader, open_reader


def test_folder_reader_recursive_with_sidecars(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "a.txt").write_text("  a red circle \n")
    (tmp_path / "sub" / "b.JPG").write_bytes(b"y")
    (tmp_path / "notes.md").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"z")
    items = list(FolderReader(tmp_path))
    assert [type(i) for i in items] == [SourceItem, SourceItem]
    assert items[0].source.endswith("a.png") and items[0].alt_text == "a red circle"
    assert items[1].source.endswith("b.JPG") and items[1].alt_text is None
    assert FolderReader(tmp_path).count() == 2


def test_missing_folder_and_unknown_kind(tmp_path):
    with pytest.raises(InvalidInput, match="path not found"):
        open_reader(tmp_path / "nope")
    (tmp_path / "x.docx").write_text("")
    with pytest.raises(InvalidInput, match="neither a folder nor a manifest"):
        open_reader(tmp_path / "x.docx")


def test_jsonl_manifest_resolves_relative_paths_and_keeps_metadata(tmp_path):
    rows = [
        {"path": "img/1.png", "alt_text": "a red circle", "color": "red"},
        {"URL": "https://example.org/2.jpg", "TEXT": "laion style"},
        {"alt_text": "no image here"},
    ]
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    items = list(ManifestReader(m))
    assert isinstance(items[0], SourceItem) and items[0].source == str(tmp_path / "img/1.png")
    assert items[0].metadata == {"color": "red"} and items[0].alt_text == "a red circle"
    assert isinstance(items[1], SourceItem) and items[1].kind == "url" and items[1].alt_text == "laion style"
    assert isinstance(items[2], FailedItem) and "neither a path nor a url" in items[2].reason
    assert isinstance(items[3], FailedItem) and "invalid JSON" in items[3].reason


def test_csv_and_parquet_manifests(tmp_path):
    c = tmp_path / "m.csv"
    c.write_text("path,alt_text,shape\na.png,a circle,circle\n")
    [item] = list(ManifestReader(c))
    assert isinstance(item, SourceItem) and item.metadata == {"shape": "circle"}
    p = tmp_path / "m.parquet"
    pq.write_table(pa.table({"url": ["https://x/1.png"], "caption": ["hi"]}), p)
    [item] = list(ManifestReader(p))
    assert isinstance(item, SourceItem) and item.kind == "url" and item.alt_text == "hi"


def test_manifest_without_image_column_is_refused(tmp_path):
    c = tmp_path / "m.csv"
    c.write_text("name,alt_text\na,b\n")
    with pytest.raises(InvalidInput, match="no image column"):
        ManifestReader(c)
    e = tmp_path / "e.jsonl"
    e.write_text("")
    with pytest.raises(InvalidInput, match="is empty"):
        ManifestReader(e)
