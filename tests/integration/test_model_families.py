"""Each supported family, as a tiny random checkpoint of its real architecture, loaded through Signifier's own
code, gives the vectors and zero-shot probabilities of its transformers reference (the checkpoint's own
processor + ``get_image_features``/``get_text_features``, normalised). Refused layouts fail in one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from services.core.errors import ModelLoadError
from services.core.types import l2_normalize
from services.encoders.clip import ClipEncoder
from services.query.classify import zero_shot
from tests.support import checkpoints

pytestmark = pytest.mark.integration

MIN_COSINE = 0.9999

FAMILIES: dict[str, tuple[Callable[[Path], Path], str]] = {
    # name: (builder, the family Signifier should recognise)
    "clip-openai": (lambda p: checkpoints.clip_checkpoint(p), "clip"),
    "clip-laion": (lambda p: checkpoints.clip_checkpoint(p, laion=True, image_size=48, seed=1), "clip"),
    "siglip": (lambda p: checkpoints.siglip_checkpoint(p, image_size=48), "siglip"),
    "siglip2": (lambda p: checkpoints.siglip_checkpoint(p, tokenizer="gemma", seed=2), "siglip2"),
}

TEXTS = [
    "a",
    "a photo of a dog",
    "the quick brown fox jumps over the lazy dog in an old black and white picture of a city street",
    " ".join(["a small green star in the snow"] * 20),  # over every context: truncated
]


def _images() -> dict[str, Image.Image]:
    rng = np.random.default_rng(7)

    def noise(w: int, h: int) -> Image.Image:
        # Smooth noise (upsampled), so resampling filters and crop offsets change the pixels the model sees.
        small = rng.integers(0, 256, (max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8)
        return Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)

    rgba = np.array(noise(80, 60).convert("RGBA"))
    rgba[..., 3] = rng.integers(0, 256, rgba.shape[:2])
    return {
        "square": noise(96, 96),
        "4:3": noise(640, 480),
        "16:9": noise(320, 180),
        "tall": noise(60, 240),
        "greyscale": noise(120, 90).convert("L"),
        "rgba": Image.fromarray(rgba, "RGBA"),
    }


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from transformers import AutoModel, AutoProcessor

    build, expected = FAMILIES[request.param]
    path = build(tmp_path_factory.mktemp(request.param))
    encoder = ClipEncoder(str(path), device="cpu", precision="fp32")
    encoder.load()
    return {
        "name": request.param,
        "expected": expected,
        "encoder": encoder,
        "processor": AutoProcessor.from_pretrained(path),
        "model": AutoModel.from_pretrained(path).eval(),
    }


def _text_kwargs(name: str) -> dict[str, Any]:
    """How each family's documentation tells users to call its processor on texts."""
    if name.startswith("siglip"):
        return {"padding": "max_length", "truncation": True, "max_length": 64}
    return {"padding": True, "truncation": True, "max_length": 77}


def _reference_images(f: dict[str, Any], images: list[Image.Image]) -> np.ndarray:
    with torch.inference_mode():
        inputs = f["processor"](images=images, return_tensors="pt")
        out = f["model"].get_image_features(pixel_values=inputs["pixel_values"])
    return l2_normalize(out.pooler_output.numpy())


def _reference_texts(f: dict[str, Any], texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        inputs = f["processor"](text=texts, return_tensors="pt", **_text_kwargs(f["name"]))
        out = f["model"].get_text_features(**{k: v for k, v in inputs.items() if k != "token_type_ids"})
    return l2_normalize(out.pooler_output.numpy())


def test_the_family_is_recognised_and_its_dims_agree(family: dict[str, Any]) -> None:
    enc = family["encoder"]
    assert enc.family == family["expected"]
    assert enc.precision == "fp32"
    assert enc.encode_images([_images()["square"]]).shape == (1, enc.dim)
    assert enc.encode_texts(["a"]).shape == (1, enc.dim)


@pytest.mark.parametrize("shape", ["square", "4:3", "16:9", "tall", "greyscale", "rgba"])
def test_image_vectors_equal_the_transformers_reference(family: dict[str, Any], shape: str) -> None:
    image = _images()[shape]
    got = family["encoder"].encode_images([image])
    want = _reference_images(family, [image])
    assert float((got * want).sum()) >= MIN_COSINE


def test_a_batch_of_images_equals_the_reference(family: dict[str, Any]) -> None:
    images = list(_images().values())
    got, want = family["encoder"].encode_images(images), _reference_images(family, images)
    assert (got * want).sum(axis=1).min() >= MIN_COSINE


def test_text_vectors_equal_the_reference_single_and_batched(family: dict[str, Any]) -> None:
    enc = family["encoder"]
    want = _reference_texts(family, TEXTS)
    batched = enc.encode_texts(TEXTS)
    alone = np.concatenate([enc.encode_texts([t]) for t in TEXTS])
    assert (batched * want).sum(axis=1).min() >= MIN_COSINE
    # A text's vector does not depend on its batch-mates (SigLIP pads every text to max_length).
    assert (alone * batched).sum(axis=1).min() >= MIN_COSINE
    shuffled = enc.encode_texts([TEXTS[2], TEXTS[0], "x " * 30])
    assert float((shuffled[1] * batched[0]).sum()) >= MIN_COSINE


def test_zero_shot_probabilities_follow_the_family_formula(family: dict[str, Any]) -> None:
    """The model's own forward pass gives logits_per_image; its family turns them into probabilities:
    CLIP softmax over the labels, SigLIP sigmoid per label (logit_bias included)."""
    enc, images, labels = family["encoder"], list(_images().values()), TEXTS[:3]
    with torch.inference_mode():
        inputs = family["processor"](text=labels, images=images, return_tensors="pt", **_text_kwargs(family["name"]))
        logits = family["model"](**{k: v for k, v in inputs.items() if k != "token_type_ids"}).logits_per_image
    if family["expected"].startswith("siglip"):
        want = torch.sigmoid(logits).numpy()
        assert enc.scoring.kind == "sigmoid"
        assert enc.scoring.bias == pytest.approx(float(family["model"].logit_bias.detach()))
    else:
        want = torch.softmax(logits, dim=-1).numpy()
        assert enc.scoring.kind == "softmax"
    _, probs = zero_shot(enc.encode_images(images), enc.encode_texts(labels), enc.scoring)
    np.testing.assert_allclose(probs, want, atol=2e-4, rtol=1e-3)


def test_clip_saved_with_a_preprocessor_config_json_loads_the_same(tmp_path: Path) -> None:
    """Checkpoints saved before transformers 5 carry preprocessor_config.json instead of processor_config.json."""
    import json

    path = checkpoints.clip_checkpoint(tmp_path / "legacy", image_size=40)
    combined = json.loads((path / "processor_config.json").read_text())
    (path / "preprocessor_config.json").write_text(json.dumps(combined["image_processor"]))
    (path / "processor_config.json").unlink()
    enc = ClipEncoder(str(path), device="cpu")
    assert enc.image_size == 40 and enc.preprocess_config.mode == "shortest"


def _load_error(path: Path | str) -> str:
    with pytest.raises(ModelLoadError) as info:
        ClipEncoder(str(path), device="cpu").load()
    message = info.value.message
    assert "\n" not in message and "Traceback" not in message
    return message


def test_the_openclip_native_layout_is_refused_naming_the_hf_format(tmp_path: Path) -> None:
    message = _load_error(checkpoints.openclip_native_folder(tmp_path / "openclip"))
    assert "OpenCLIP" in message and "Hugging Face format" in message and "laion/CLIP-ViT-B-32" in message
    assert "OpenCLIP" in _load_error("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K")


def test_siglip2_naflex_is_refused_naming_a_fixed_resolution_checkpoint(tmp_path: Path) -> None:
    message = _load_error(checkpoints.siglip2_naflex_checkpoint(tmp_path / "naflex"))
    assert "NaFlex" in message and "google/siglip2-base-patch16-224" in message


def test_towers_of_different_sizes_are_a_load_error(tmp_path: Path) -> None:
    message = _load_error(checkpoints.align_checkpoint(tmp_path / "align", text_dim=64))
    assert "32-d image vectors but 64-d text vectors" in message


def test_a_model_without_logit_scale_scores_by_cosine(tmp_path: Path) -> None:
    enc = ClipEncoder(str(checkpoints.align_checkpoint(tmp_path / "align", text_dim=32)), device="cpu")
    assert enc.dim == 32 and enc.family == "align"
    assert enc.scoring.kind == "cosine" and enc.scoring.probabilities(np.zeros((1, 2))) is None
    assert np.isnan(enc.logit_scale)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_precision_applies_to_both_towers(tmp_path: Path, precision: str) -> None:
    path = checkpoints.clip_checkpoint(tmp_path / "clip")
    full = ClipEncoder(str(path), device="cpu", precision="fp32")
    low = ClipEncoder(str(path), device="cpu", precision=precision)
    assert low.precision == precision
    low.load()
    dtypes = {p.dtype for p in low._model.parameters()}
    assert dtypes == {torch.bfloat16 if precision == "bf16" else torch.float16}
    images = list(_images().values())
    for a, b in [
        (full.encode_images(images), low.encode_images(images)),
        (full.encode_texts(TEXTS), low.encode_texts(TEXTS)),
    ]:
        assert a.dtype == b.dtype == np.float32
        assert (a * b).sum(axis=1).min() > 0.99
        assert not np.array_equal(a, b)  # the lower precision really ran


def test_an_unknown_precision_is_a_load_error() -> None:
    with pytest.raises(ModelLoadError, match="SIGNIFIER_PRECISION"):
        ClipEncoder("shapes-clip", device="cpu", precision="fp8")


@pytest.mark.slow
def test_a_full_vit_b32_size_clip_matches_its_reference(tmp_path: Path) -> None:
    """The real ViT-B/32 shapes (224 px, 12 + 12 layers, 512-d), random weights: loading and parity at full size."""
    from transformers import AutoModel, AutoProcessor

    path = checkpoints.clip_checkpoint(tmp_path / "b32", size="b32", image_size=224)
    enc = ClipEncoder(str(path), device="cpu")
    assert enc.dim == 512 and enc.image_size == 224 and enc.context_length == 77
    f = {
        "name": "clip",
        "processor": AutoProcessor.from_pretrained(path),
        "model": AutoModel.from_pretrained(path).eval(),
    }
    images = [_images()["4:3"], _images()["tall"]]
    assert (enc.encode_images(images) * _reference_images(f, images)).sum(axis=1).min() >= MIN_COSINE
    assert (enc.encode_texts(TEXTS) * _reference_texts(f, TEXTS)).sum(axis=1).min() >= MIN_COSINE
