import io
import struct
import zlib

import pytest
from PIL import Image

from services.core.errors import ImageError, PayloadTooLarge
from services.encoders.decode import content_hash, decode_image, read_file


def _png(w: int = 8, h: int = 6, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), "red" if mode == "RGB" else 0).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w×h pixels (IHDR) with almost no data: the shape of a decompression bomb."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decodes_png_with_size():
    d = decode_image(_png(8, 6), max_pixels=1000)
    assert (d.width, d.height, d.format) == (8, 6, "PNG")


def test_gif_first_frame():
    frames = [Image.new("P", (4, 4), i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    d = decode_image(buf.getvalue(), max_pixels=1000)
    assert d.image.tell() == 0 and d.format == "GIF"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"this is not an image at all", "not an image"),
        (_png(64, 64)[:60], "corrupt or truncated"),
    ],
)
def test_bad_images_get_precise_reasons(data, reason):
    with pytest.raises(ImageError, match=reason):
        decode_image(data, max_pixels=10_000_000)


def test_truncated_jpeg_is_refused():
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, format="JPEG")
    with pytest.raises(ImageError, match="truncated"):
        decode_image(buf.getvalue()[: len(buf.getvalue()) // 2], max_pixels=10_000_000)


def test_decompression_bomb_refused_before_decoding():
    bomb = _png_header_only(50_000, 50_000)
    assert len(bomb) < 100
    with pytest.raises(ImageError, match="decompression-bomb guard"):
        decode_image(bomb, max_pixels=64_000_000)


def test_read_file_limits(tmp_path):
    p = tmp_path / "a.png"
    p.write_bytes(_png())
    assert read_file(p, 10_000) == p.read_bytes()
    with pytest.raises(PayloadTooLarge, match="over the limit"):
        read_file(p, 10)
    with pytest.raises(ImageError, match="file not found"):
        read_file(tmp_path / "missing.png", 10)


def test_content_hash_is_stable():
    assert content_hash(b"abc") == content_hash(b"abc") != content_hash(b"abd")


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((w, h), 40).convert("RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_draft_decodes_a_large_jpeg_at_a_reduced_scale_and_reports_its_real_size():
    d = decode_image(_jpeg(1024, 768), max_pixels=10_000_000, draft_side=128)
    assert (d.width, d.height) == (1024, 768)  # what the payload records
    assert d.image.size == (256, 192)  # 1/4 scale: the largest that keeps both sides >= 128
    assert min(d.image.size) >= 128
    full = decode_image(_jpeg(1024, 768), max_pixels=10_000_000)
    assert full.image.size == (1024, 768)


def test_draft_leaves_small_jpegs_and_other_formats_at_full_size():
    assert decode_image(_jpeg(200, 150), max_pixels=10_000_000, draft_side=128).image.size == (200, 150)
    assert decode_image(_png(640, 480), max_pixels=10_000_000, draft_side=128).image.size == (640, 480)


def test_draft_still_refuses_a_truncated_jpeg():
    data = _jpeg(1024, 768)
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) // 2], max_pixels=10_000_000, draft_side=128)
