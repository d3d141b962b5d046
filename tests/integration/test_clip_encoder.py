"""The encoder's inference rewrites (folded batch norms, NHWC, CPU chunks, JPEG drafts) keep shapes-clip's answers."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch
from PIL import Image

from services.core.types import l2_normalize
from services.encoders.decode import decode_image
from services.shapes.world import COLORS, random_spec, render


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    rng = random.Random(99)
    return [render(random_spec(rng), rng) for _ in range(37)]  # 37: crosses CPU chunk boundaries


def _plain_model(path: str):  # type: ignore[no-untyped-def]
    from transformers import AutoModel

    import services.shapes.modeling  # noqa: F401

    return AutoModel.from_pretrained(path).eval()


def test_encoder_matches_the_checkpoint_loaded_as_is(encoder, images):  # type: ignore[no-untyped-def]
    pixels = np.stack([encoder.preprocess(im) for im in images])
    with torch.inference_mode():
        out = _plain_model(encoder.path).get_image_features(pixel_values=torch.from_numpy(pixels))
    reference = l2_normalize((out if hasattr(out, "shape") else out.pooler_output).numpy())
    batched = encoder.encode_pixels(pixels)
    one_by_one = np.concatenate([encoder.encode_pixels(pixels[i : i + 1]) for i in range(len(pixels))])
    np.testing.assert_allclose(batched, reference, atol=2e-5)
    np.testing.assert_allclose(one_by_one, batched, atol=2e-5)


def test_a_drafted_jpeg_means_what_the_full_decode_means(encoder, images):  # type: ignore[no-untyped-def]
    full, drafted = [], []
    for im in images[:12]:
        buf = io.BytesIO()
        im.resize((512, 512), Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=90)
        d = decode_image(buf.getvalue(), 10_000_000, draft_side=encoder.decode_side)
        assert d.image.size == (128, 128) and (d.width, d.height) == (512, 512)
        drafted.append(d.image)
        full.append(decode_image(buf.getvalue(), 10_000_000).image)
    a, b = encoder.encode_images(full), encoder.encode_images(drafted)
    cosine = (a * b).sum(axis=1)
    assert cosine.min() > 0.98, cosine
    t = encoder.encode_texts(list(COLORS))
    np.testing.assert_array_equal((a @ t.T).argmax(axis=1), (b @ t.T).argmax(axis=1))


def test_the_tokenizer_is_safe_to_share_between_threads(encoder):  # type: ignore[no-untyped-def]
    """Search requests and ingestion call one encoder from several threads, with different tokenizer settings."""
    import sys
    import threading

    texts = ["a red circle", "blue", "a small green star in the snow"]
    long_text = " ".join(["a large red circle in the forest"] * 4)  # over shapes-clip's 16-token context
    want_vectors, want_count = encoder.encode_texts(texts), encoder.count_text_tokens(long_text)
    errors: list[str] = []

    def count() -> None:
        for _ in range(2000):
            if encoder.count_text_tokens(long_text) != want_count:
                errors.append("wrong token count")

    def encode() -> None:
        for _ in range(200):
            try:
                got = encoder.encode_texts(texts)
            except Exception as exc:
                errors.append(repr(exc))
            else:
                if not np.allclose(got, want_vectors, atol=1e-5):
                    errors.append("different vectors")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: makes a race show up
    try:
        threads = [threading.Thread(target=f) for f in (count, encode, count, encode)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
