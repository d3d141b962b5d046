"""The runner with a fake encoder and an in-memory store: every item ends stored or failed, ids are stable."""

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from services.core.settings import IngestSettings, Limits
from services.core.types import PointRecord, l2_normalize
from services.encoders.base import Encoder
from services.ingest.runner import IngestPipeline
from services.sources.items import FailedItem, SourceItem


class FakeEncoder(Encoder):
    model_id = "fake"

    def _load(self) -> None:
        pass

    dim = 4  # type: ignore[assignment]
    logit_scale = 100.0  # type: ignore[assignment]
    image_size = 4  # type: ignore[assignment]
    context_length = 5  # type: ignore[assignment]

    def preprocess(self, image):
        return np.asarray(image.convert("RGB").resize((4, 4)), dtype=np.float32).transpose(2, 0, 1) / 255

    def encode_pixels(self, pixels):
        return l2_normalize(pixels.mean(axis=(2, 3)) @ np.ones((3, 4), np.float32) + np.arange(4))

    def encode_texts(self, texts: Sequence[str]):
        return l2_normalize(np.array([[len(t), 1, 0, 0] for t in texts], np.float32))

    def count_text_tokens(self, text: str) -> int:
        return len(text.split()) + 2


class MemoryStore:
    def __init__(self) -> None:
        self.points: dict[str, PointRecord] = {}
        self.thumbnails: dict[str, bytes] = {}
        self.upserts = 0

    def upsert(self, name, points, thumbnails=None):
        self.upserts += 1
        self.thumbnails.update(thumbnails or {})
        for p in points:
            self.points[p.id] = p

    def retrieve(self, name, ids, with_vectors=False):
        return [self.points[i] for i in ids if i in self.points]


class Recorder:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.done = 0
        self.skipped = 0
        self.failed: list[FailedItem] = []
        self.batches: list[int] = []
        self.calls = 0
        self.cancel_after = cancel_after

    def progress(self, done, failed, *, batch, timings, skipped=0):
        self.batches.append(batch)
        self.calls += 1
        self.done += done
        self.skipped += skipped
        self.failed += failed

    def cancelled(self) -> bool:
        return self.cancel_after is not None and self.calls >= self.cancel_after


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def _pipeline(store, batch_size=4, thumbnail_side=256):
    settings = IngestSettings(batch_size=batch_size, decode_workers=2, thumbnail_side=thumbnail_side)
    return IngestPipeline(FakeEncoder(), store, settings, Limits())


def test_every_item_ends_stored_or_failed():
    items = [SourceItem(f"img{i}", "bytes", f"alt {i}", {"i": i}, _png((i * 20, 0, 0))) for i in range(10)]
    items.insert(3, SourceItem("broken", "bytes", None, {}, b"not an image"))
    entries = [*items, FailedItem("manifest:7", "row has neither a path nor a url")]
    store, rec = MemoryStore(), Recorder()
    result = _pipeline(store).run("c", entries, rec)  # type: ignore[arg-type]
    assert (result.done, result.failed) == (10, 2)
    assert rec.done == 10 and {f.item for f in rec.failed} == {"broken", "manifest:7"}
    assert len(store.points) == 10
    p = next(p for p in store.points.values() if p.payload["source"] == "img5")
    assert p.payload["alt_text"] == "alt 5" and p.payload["i"] == 5 and p.payload["width"] == 8
    assert set(p.vectors) == {"image", "text"}
    assert abs(np.linalg.norm(p.vectors["image"]) - 1) < 1e-5


def test_reingest_is_idempotent_and_empty_alt_text_has_no_text_vector():
    items = [SourceItem("a", "bytes", "", {}, _png("red")), SourceItem("b", "bytes", "x " * 10, {}, _png("blue"))]
    store = MemoryStore()
    _pipeline(store).run("c", items, Recorder())
    first = dict(store.points)
    _pipeline(store).run("c", items, Recorder())
    assert store.points.keys() == first.keys() and len(store.points) == 2
    by_src = {p.payload["source"]: p for p in store.points.values()}
    assert "text" not in by_src["a"].vectors and by_src["a"].payload["has_text"] is False
    assert by_src["b"].payload["alt_text_truncated"] is True


def _counted(outcome: str) -> float:
    from services.core.metrics import INGEST_ITEMS

    return INGEST_ITEMS.labels(outcome)._value.get()


def test_reingest_reports_items_already_stored_and_embeds_nothing_again():
    items = [SourceItem(f"i{i}", "bytes", f"alt {i}", {}, _png((i * 30, 0, 0))) for i in range(6)]
    store = MemoryStore()
    first = _pipeline(store, batch_size=4).run("c", items, Recorder())
    assert (first.done, first.skipped) == (6, 0)
    new = SourceItem("new", "bytes", None, {}, _png("green"))
    stored_before, already_before = _counted("stored"), _counted("already_stored")
    upserts = store.upserts
    rec = Recorder()
    again = _pipeline(store, batch_size=4).run("c", [*items, new], rec)
    # Every item ends done; only the new one is written, and the counters and the reporter say so.
    assert (again.done, again.skipped, again.failed) == (7, 6, 0) and (rec.done, rec.skipped) == (7, 6)
    assert store.upserts == upserts + 1 and len(store.points) == 7
    assert _counted("stored") - stored_before == 1
    assert _counted("already_stored") - already_before == 6


def test_cancellation_stops_between_batches():
    items = [SourceItem(f"i{i}", "bytes", None, {}, _png((i, i, i))) for i in range(20)]
    store = MemoryStore()
    result = _pipeline(store, batch_size=4).run("c", items, Recorder(cancel_after=2))
    assert result.cancelled and result.done == 8 and len(store.points) == 8


def test_repeated_alt_text_is_encoded_once_per_batch_and_flagged_per_item():
    from services.ingest.embed import embed_texts
    from services.sources.items import PreparedItem

    class Counting(FakeEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[list[str]] = []

        def encode_texts(self, texts):
            self.seen.append(list(texts))
            return super().encode_texts(texts)

    enc = Counting()
    texts = ["photo", "a very long caption indeed", "photo", "", "a very long caption indeed", "  photo "]
    pixels = np.zeros((3, 4, 4), np.float32)
    items = [
        PreparedItem(SourceItem(f"s{i}", "bytes", alt_text=t, data=b"x"), f"h{i}", pixels, 4, 4)
        for i, t in enumerate(texts)
    ]
    vectors, truncated = embed_texts(enc, items)
    assert enc.seen == [["photo", "a very long caption indeed"]]
    assert sorted(vectors) == [0, 1, 2, 4, 5]  # the empty alt-text has none
    np.testing.assert_array_equal(vectors[0], vectors[5])
    assert not np.allclose(vectors[0], vectors[1])
    assert truncated == {1, 4}  # 5 words + 2 specials > context 5, on both items that carry it


def test_every_stored_point_comes_with_its_thumbnail():
    big = io.BytesIO()
    Image.new("RGB", (600, 300), "green").save(big, format="JPEG")
    items = [SourceItem("small", "bytes", None, {}, _png("red")), SourceItem("big", "bytes", None, {}, big.getvalue())]
    store = MemoryStore()
    _pipeline(store).run("c", items, Recorder())
    assert store.thumbnails.keys() == store.points.keys()
    sizes = {p.payload["source"]: Image.open(io.BytesIO(store.thumbnails[p.id])).size for p in store.points.values()}
    assert sizes == {"small": (8, 8), "big": (256, 128)}  # never enlarged; the longest side at 256


def test_thumbnail_side_zero_stores_none():
    store = MemoryStore()
    _pipeline(store, thumbnail_side=0).run("c", [SourceItem("a", "bytes", None, {}, _png("red"))], Recorder())
    assert len(store.points) == 1 and store.thumbnails == {}
