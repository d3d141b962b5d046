"""Quality bar for the committed shapes-clip checkpoint (services/shapes/model).

The checkpoint is loaded exactly as the project's CLIP encoder loads any model —
``AutoModel.from_pretrained`` (``ShapesClipModel``), ``AutoTokenizer.from_pretrained``, ``preprocessor_config.json`` —
and judged on images rendered fresh with a seed training never used: every colour × shape ×
size × background combination three times (576 images, so e.g. 24 blue circles exist).

Zero-shot labels are the bare words ("red", "circle", "large", "snow"), as a user would pass
them to /v1/classify; the templated prompts "a red shape" / "a shape in the snow" are checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

import services.shapes.modeling  # noqa: F401 - registers shapes_clip with AutoModel
from services.shapes.train import DEFAULT_MODEL_DIR, PreprocessConfig, eval_images, preprocess
from services.shapes.world import BACKGROUNDS, COLORS, SHAPES, SIZES, ShapeSpec

pytestmark = pytest.mark.slow

Vec = npt.NDArray[np.float32]
EVAL_SEED = 2024  # training draws from seed 0; any other seed gives unseen images


class Model:
    """shapes-clip loaded through the encoder's calls."""

    def __init__(self, path: Path) -> None:
        self.model = AutoModel.from_pretrained(str(path)).eval()
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(path))
        raw = json.loads((path / "preprocessor_config.json").read_text())
        self.pre = PreprocessConfig(
            crop_size=raw["crop_size"]["height"],
            image_mean=tuple(raw["image_mean"]),
            image_std=tuple(raw["image_std"]),
            resample=raw["resample"],
        )

    @torch.no_grad()
    def texts(self, texts: list[str]) -> Vec:
        enc = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        out = self.model.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return F.normalize(out.pooler_output, dim=-1).numpy()

    def text(self, text: str) -> Vec:
        return self.texts([text])[0]

    @torch.no_grad()
    def images(self, images: list[object]) -> Vec:
        pixels = torch.from_numpy(np.stack([preprocess(im, self.pre) for im in images]))  # type: ignore[arg-type]
        out = self.model.get_image_features(pixel_values=pixels)
        return F.normalize(out.pooler_output, dim=-1).numpy()


@pytest.fixture(scope="module")
def model() -> Model:
    assert (DEFAULT_MODEL_DIR / "model.safetensors").exists(), (
        "shapes-clip is missing; train it with `python -m services.shapes.train --out services/shapes/model`"
    )
    return Model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="module")
def world(model: Model) -> tuple[Vec, list[ShapeSpec]]:
    images, specs = eval_images(per_spec=3, seed=EVAL_SEED)
    return model.images(images), specs  # type: ignore[arg-type]


def _unit(v: Vec) -> Vec:
    return v / np.linalg.norm(v)


def _top(world: tuple[Vec, list[ShapeSpec]], query: Vec, k: int = 20) -> list[ShapeSpec]:
    vectors, specs = world
    return [specs[i] for i in np.argsort(-(vectors @ query))[:k]]


def _zero_shot(model: Model, world: tuple[Vec, list[ShapeSpec]], attr: str, prompts: list[str],
               labels: tuple[str, ...]) -> float:
    vectors, specs = world
    pred = np.asarray(labels)[(vectors @ model.texts(prompts).T).argmax(axis=1)]
    truth = np.asarray([getattr(s, attr) for s in specs])
    return float((pred == truth).mean())


@pytest.mark.parametrize(
    ("attr", "labels", "template"),
    [
        ("color", COLORS, "{}"),
        ("shape", SHAPES, "{}"),
        ("size", SIZES, "{}"),
        ("background", BACKGROUNDS, "{}"),
        ("color", COLORS, "a {} shape"),
        ("shape", SHAPES, "a {}"),
        ("size", SIZES, "a {} shape"),
        ("background", BACKGROUNDS, "a shape in the {}"),
    ],
)
def test_zero_shot_accuracy(model: Model, world: tuple[Vec, list[ShapeSpec]], attr: str,
                            labels: tuple[str, ...], template: str) -> None:
    accuracy = _zero_shot(model, world, attr, [template.format(w) for w in labels], labels)
    assert accuracy >= 0.95, f"{attr} zero-shot accuracy {accuracy:.3f} with {template!r}"


def test_arithmetic_swaps_colour(model: Model, world: tuple[Vec, list[ShapeSpec]]) -> None:
    query = _unit(model.text("a red circle") - model.text("red") + model.text("blue"))
    hits = _top(world, query)
    share = np.mean([s.color == "blue" and s.shape == "circle" for s in hits])
    assert share >= 0.9, hits


def test_large_minus_small_orders_by_size(model: Model, world: tuple[Vec, list[ShapeSpec]]) -> None:
    direction = _unit(model.text("large") - model.text("small"))
    assert np.mean([s.size == "large" for s in _top(world, direction)]) >= 0.9
    assert np.mean([s.size == "small" for s in _top(world, -direction)]) >= 0.9


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_background_word_retrieves_background(model: Model, world: tuple[Vec, list[ShapeSpec]],
                                              background: str) -> None:
    hits = _top(world, model.text(background))
    assert np.mean([s.background == background for s in hits]) >= 0.9


def test_full_caption_retrieves_its_combination(model: Model, world: tuple[Vec, list[ShapeSpec]]) -> None:
    target = ShapeSpec("purple", "triangle", "small", "desert")
    hits = _top(world, model.text("a small purple triangle in the desert"), k=3)
    assert hits == [target] * 3


def test_unknown_words_are_ignored(model: Model) -> None:
    # Out-of-vocabulary words map to [UNK]; the meaning should stay with the known words.
    plain, noisy = model.text("a red circle"), model.text("a shiny red circle, please!")
    assert float(plain @ noisy) > 0.8
