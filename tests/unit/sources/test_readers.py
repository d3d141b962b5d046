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


def _parquet_with_a_corrupt_row_group(path):
    """Two row groups of 5 rows; the pages of the first one's first column overwritten with junk."""
    pq.write_table(pa.table({"path": [f"{i}.png" for i in range(10)]}), path, row_group_size=5)
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    data = bytearray(path.read_bytes())
    start = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    data[start : start + column.total_compressed_size] = b"\xab" * column.total_compressed_size
    path.write_bytes(bytes(data))


def test_a_file_that_is_not_parquet_is_refused_naming_it(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"path": [f"{i}.png" for i in range(4)]}), good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-20])
    junk = tmp_path / "junk.parquet"
    junk.write_text("path\na.png\n")
    for bad in (cut, junk):
        with pytest.raises(InvalidInput, match=rf"manifest {bad.name} is not a readable Parquet file: .*magic bytes"):
            open_reader(bad)


def test_a_corrupt_parquet_row_group_fails_its_rows_and_the_rest_is_read(tmp_path):
    m = tmp_path / "m.parquet"
    _parquet_with_a_corrupt_row_group(m)
    entries = list(ManifestReader(m))
    assert len(entries) == 10
    assert [e.item for e in entries[:5]] == [f"m.parquet:{i}" for i in range(1, 6)]
    assert all(isinstance(e, FailedItem) and "row group 0 is unreadable" in e.reason for e in entries[:5])
    assert all(isinstance(e, SourceItem) for e in entries[5:])
    # A chunk of the broken group fails its own rows, under the same names.
    chunk = list(ManifestReader(m).read_chunk({"row_group": 0, "start": 3, "rows": 2, "first": 4}))
    assert [e.item for e in chunk if isinstance(e, FailedItem)] == ["m.parquet:4", "m.parquet:5"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n\n{not json}\n", r"line 3 is not valid JSON \(Expecting property name .* at column 2\)"),
        ('[{"path": "a.png"}]\n', r"line 1 is a JSON array, not an object"),
        ('{\n  "path": "a.png"\n}\n', r"line 1 is not valid JSON"),
    ],
)
def test_a_malformed_jsonl_manifest_names_the_line_and_why(tmp_path, text, message):
    m = tmp_path / "broken.jsonl"
    m.write_text(text)
    with pytest.raises(InvalidInput, match=rf"manifest broken.jsonl: {message}"):
        ManifestReader(m)


def test_a_csv_row_over_the_field_limit_fails_alone(tmp_path):
    c = tmp_path / "m.csv"
    c.write_text("path,alt_text\na.png,x\nb.png," + "y" * 200_000 + "\nc.png,z\n")
    entries = list(ManifestReader(c))
    assert [type(e) for e in entries] == [SourceItem, FailedItem, SourceItem]
    assert entries[1].item == "m.csv:2" and "not valid CSV" in entries[1].reason
    header_only = tmp_path / "h.csv"
    header_only.write_text("path,alt_text\n")
    with pytest.raises(InvalidInput, match="is empty"):
        ManifestReader(header_only)
