"""Train shapes-clip: a tiny CLIP (``ShapesClipModel``, a ``CLIPModel`` with a CNN image tower) for :mod:`world`.

The result is an ordinary Hugging Face checkpoint (``config.json``, ``model.safetensors``,
``tokenizer.json`` + ``tokenizer_config.json``, ``preprocessor_config.json``) that loads through
``AutoModel.from_pretrained`` / ``AutoTokenizer.from_pretrained``, so tests exercise the same code
path as a real CLIP, offline.

Run ``python -m services.shapes.train --out services/shapes/model`` (a few minutes on 2 CPU cores).

Training is the CLIP recipe — symmetric InfoNCE with a learnable temperature — over freshly
rendered images paired with freshly drawn, often partial, captions each step. Partial captions
make many pairs in a batch compatible (two images both fit "red"), so the targets are soft: each
row of the caption×image compatibility matrix, normalised, rather than the identity.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from PIL import Image
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (
    AutoModel,
    AutoTokenizer,
    CLIPModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from services.shapes.modeling import ShapesClipConfig, ShapesClipModel
from services.shapes.world import (
    ATTRIBUTES,
    BACKGROUNDS,
    COLORS,
    IMAGE_SIZE,
    SHAPES,
    SIZES,
    ShapeSpec,
    caption_attributes,
    caption_from_attributes,
    random_spec,
    render,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
"""Where the committed shapes-clip checkpoint lives."""

# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = "[PAD]", "[UNK]", "<|startoftext|>", "<|endoftext|>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# EOS must not be id 2: CLIPTextTransformer treats eos_token_id == 2 as the legacy checkpoint
# layout and pools at argmax(input_ids) instead of at the first EOS.
assert EOS_ID != 2

FUNCTION_WORDS: tuple[str, ...] = ("a", "an", "in", "the", "of", "photo", "shape", "object")
PUNCTUATION: tuple[str, ...] = tuple(string.punctuation)
VOCAB_WORDS: tuple[str, ...] = (*COLORS, *SHAPES, *SIZES, *BACKGROUNDS, *FUNCTION_WORDS, *PUNCTUATION)
CONTEXT_LENGTH = 16
"""max_position_embeddings of the text tower; the tokenizer's model_max_length."""


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer over the world's vocabulary, CLIP-style (BOS … EOS, padded).

    Lowercases and strips accents, splits on whitespace and isolates every punctuation
    character; any other word maps to ``[UNK]`` so arbitrary user text never fails.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in VOCAB_WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated")]
    )
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A {EOS_TOKEN}",
        pair=f"{BOS_TOKEN} $A {EOS_TOKEN} $B {EOS_TOKEN}",
        special_tokens=[(BOS_TOKEN, BOS_ID), (EOS_TOKEN, EOS_ID)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=CONTEXT_LENGTH,
        padding_side="right",
    )


# ---------------------------------------------------------------------------------------------
# Model config and preprocessing
# ---------------------------------------------------------------------------------------------

IMAGE_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
IMAGE_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
"""OpenAI CLIP's normalisation constants, kept so preprocessing code needs no special case."""


def build_config(vocab_size: int) -> ShapesClipConfig:
    """The shapes-clip architecture: ~1 M parameters, 64-d joint embedding space."""
    text = {
        "vocab_size": vocab_size,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": CONTEXT_LENGTH,
        "projection_dim": 64,
        "pad_token_id": PAD_ID,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
    }
    vision = {
        "image_size": IMAGE_SIZE,
        "patch_size": 8,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "projection_dim": 64,
    }
    # The vision "hidden_size" is the CNN tower's feature width (see modeling.py); the ViT fields are unused.
    return ShapesClipConfig(text_config=text, vision_config=vision, projection_dim=64)


@dataclass(frozen=True, slots=True)
class PreprocessConfig:
    """The fields of ``preprocessor_config.json`` that preprocessing uses."""

    crop_size: int = IMAGE_SIZE
    image_mean: tuple[float, float, float] = IMAGE_MEAN
    image_std: tuple[float, float, float] = IMAGE_STD
    resample: int = int(Image.Resampling.BICUBIC)

    @classmethod
    def load(cls, model_dir: Path) -> PreprocessConfig:
        """Read ``preprocessor_config.json`` from a checkpoint folder."""
        raw = json.loads((model_dir / "preprocessor_config.json").read_text(encoding="utf-8"))
        crop = raw["crop_size"]
        side = int(crop["height"]) if isinstance(crop, dict) else int(crop)
        mean, std = raw["image_mean"], raw["image_std"]
        return cls(
            crop_size=side,
            image_mean=(float(mean[0]), float(mean[1]), float(mean[2])),
            image_std=(float(std[0]), float(std[1]), float(std[2])),
            resample=int(raw.get("resample", int(Image.Resampling.BICUBIC))),
        )


def save_preprocessor(model_dir: Path, cfg: PreprocessConfig) -> None:
    """Write ``preprocessor_config.json`` (a ``CLIPImageProcessor`` config) for ``cfg``."""
    processor = CLIPImageProcessorPil(
        do_resize=True,
        size={"shortest_edge": cfg.crop_size},
        resample=cfg.resample,
        do_center_crop=True,
        crop_size={"height": cfg.crop_size, "width": cfg.crop_size},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(cfg.image_mean),
        image_std=list(cfg.image_std),
        do_convert_rgb=True,
    )
    processor.save_pretrained(str(model_dir))


def preprocess(image: Image.Image, cfg: PreprocessConfig) -> npt.NDArray[np.float32]:
    """One PIL image → (3, crop, crop) float32, exactly as the project's CLIP encoder does it.

    Resize the shortest side to ``crop_size`` (bicubic), centre-crop, scale to [0, 1],
    normalise by mean/std. For the world's 64×64 images the resize and crop are no-ops.
    """
    image = image.convert("RGB")
    side = cfg.crop_size
    w, h = image.size
    if min(w, h) != side:
        scale = side / min(w, h)
        image = image.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.Resampling(cfg.resample))
        w, h = image.size
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    scaled = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    out = (scaled - np.asarray(cfg.image_mean, dtype=np.float32)) / np.asarray(cfg.image_std, dtype=np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def _normalize_pixels(pixels_u8: torch.Tensor, cfg: PreprocessConfig) -> torch.Tensor:
    """Batched ``preprocess`` for (n, 3, crop, crop) uint8 images already at the crop size."""
    mean = torch.tensor(cfg.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(cfg.image_std, dtype=torch.float32).view(1, 3, 1, 1)
    return (pixels_u8.float() / 255.0 - mean) / std


def _pooled(output: Any) -> torch.Tensor:
    """The projected embedding from ``get_text_features``/``get_image_features``.

    In transformers 5.x they return a ``BaseModelOutputWithPooling`` whose ``pooler_output`` is
    the projected (not yet normalised) embedding; older versions returned the tensor itself.
    """
    if isinstance(output, torch.Tensor):
        return output
    pooled = output.pooler_output
    assert isinstance(pooled, torch.Tensor)
    return pooled


def text_embeddings(model: CLIPModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str]) -> torch.Tensor:
    """(n, d) unit-norm text embeddings via ``get_text_features`` (the encoder's exact calls)."""
    enc = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    out = model.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    return F.normalize(_pooled(out), dim=-1)


def image_embeddings(model: CLIPModel, pixel_values: torch.Tensor) -> torch.Tensor:
    """(n, d) unit-norm image embeddings via ``get_image_features``."""
    return F.normalize(_pooled(model.get_image_features(pixel_values=pixel_values)), dim=-1)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

_ATTR_VALUES: dict[str, tuple[str, ...]] = {
    "color": COLORS,
    "shape": SHAPES,
    "size": SIZES,
    "background": BACKGROUNDS,
}


def spec_codes(spec: ShapeSpec) -> list[int]:
    """The spec as four value indices (colour, shape, size, background)."""
    return [_ATTR_VALUES[a].index(getattr(spec, a)) for a in ATTRIBUTES]


def render_batch(rng: random.Random, count: int) -> tuple[torch.Tensor, torch.Tensor, list[ShapeSpec]]:
    """``count`` fresh random images: (n, 3, H, W) uint8 pixels, (n, 4) attribute codes, specs.

    Rendering takes ~0.3 ms an image, so training draws every batch fresh: the model never
    sees the same image twice, which keeps the little ViT from memorising its training set.
    """
    specs = [random_spec(rng) for _ in range(count)]
    pixels = np.stack([np.asarray(render(s, rng), dtype=np.uint8).transpose(2, 0, 1) for s in specs])
    codes = torch.tensor([spec_codes(s) for s in specs], dtype=torch.long)
    return torch.from_numpy(pixels), codes, specs


def _noise_word(rng: random.Random) -> str:
    """A random out-of-vocabulary word, so the model learns to ignore ``[UNK]``."""
    while True:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 7)))
        if word not in VOCAB_WORDS:
            return word


def sample_captions(specs: Sequence[ShapeSpec], rng: random.Random) -> tuple[list[str], torch.Tensor]:
    """One random caption per spec, plus the (n, 4) codes the captions name (-1 = unnamed)."""
    texts: list[str] = []
    named: list[list[int]] = []
    for spec in specs:
        attrs = caption_attributes(spec, rng)
        text = caption_from_attributes(attrs, rng)
        if rng.random() < 0.05:
            # Unknown words show up in real queries; teach the model they carry no meaning.
            words = text.split()
            words.insert(rng.randint(0, len(words)), _noise_word(rng))
            text = " ".join(words)
        texts.append(text)
        named.append([_ATTR_VALUES[a].index(attrs[a]) if a in attrs else -1 for a in ATTRIBUTES])
    return texts, torch.tensor(named, dtype=torch.long)


def compatibility(caption_codes: torch.Tensor, image_codes: torch.Tensor) -> torch.Tensor:
    """(n_captions, n_images) bool: caption j is true of image i (every named attribute matches)."""
    named = caption_codes[:, None, :]
    return ((named < 0) | (named == image_codes[None, :, :])).all(dim=-1)


def soft_clip_loss(logits_per_text: torch.Tensor, compatible: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with soft targets.

    Each caption's target is the uniform distribution over the images it is true of, and each
    image's target the uniform distribution over the captions true of it. With full, unique
    captions this is exactly CLIP's identity-target loss.
    """
    target = compatible.float()
    t2i = target / target.sum(dim=1, keepdim=True)
    i2t = target.t() / target.t().sum(dim=1, keepdim=True)
    loss_t = -(t2i * F.log_softmax(logits_per_text, dim=1)).sum(dim=1).mean()
    loss_i = -(i2t * F.log_softmax(logits_per_text.t(), dim=1)).sum(dim=1).mean()
    return (loss_t + loss_i) / 2


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

_MAX_LOGIT_SCALE = math.log(100.0)  # CLIP clamps the temperature at 100


def train(
    steps: int = 1500,
    seed: int = 0,
    batch_size: int = 128,
    *,
    lr: float = 2e-3,
    warmup: int = 100,
    weight_decay: float = 0.05,
    tokenizer: PreTrainedTokenizerFast | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CLIPModel:
    """Train shapes-clip from scratch and return the model (in eval mode).

    Seeded and reproducible on a given machine: images and captions come from
    ``random.Random(seed)``, initial weights from ``torch.manual_seed(seed)``. ``progress`` is
    called with (step, loss) after every step.
    """
    tokenizer = tokenizer or build_tokenizer()
    torch.manual_seed(seed)
    model = ShapesClipModel(build_config(len(tokenizer)))
    model.train()

    rng = random.Random(seed)
    pre = PreprocessConfig()

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )

    def schedule(step: int) -> float:
        # Linear warm-up, then cosine decay to 5 % of the peak rate.
        if step < warmup:
            return (step + 1) / warmup
        frac = (step - warmup) / max(1, steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    for step in range(steps):
        pixels_u8, codes, specs = render_batch(rng, batch_size)
        texts, named = sample_captions(specs, rng)
        enc = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        pixels = _normalize_pixels(pixels_u8, pre)

        img = image_embeddings(model, pixels)
        txt = text_embeddings_from_ids(model, enc["input_ids"], enc["attention_mask"])
        logits = model.logit_scale.exp() * txt @ img.t()
        loss = soft_clip_loss(logits, compatibility(named, codes))

        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0.0, _MAX_LOGIT_SCALE)
        if progress is not None:
            progress(step, float(loss.detach()))

    model.eval()  # type: ignore[no-untyped-call]
    return model


def text_embeddings_from_ids(model: CLIPModel, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(n, d) unit-norm text embeddings from already tokenised input."""
    out = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
    return F.normalize(_pooled(out), dim=-1)


# ---------------------------------------------------------------------------------------------
# Saving, reloading, checking
# ---------------------------------------------------------------------------------------------


def save(model: CLIPModel, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> None:
    """Write the checkpoint: config + safetensors weights, tokenizer, preprocessor config."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    save_preprocessor(out_dir, PreprocessConfig())


@dataclass
class LoadedModel:
    """A checkpoint loaded the way the project's encoder loads it."""

    model: CLIPModel
    tokenizer: PreTrainedTokenizerBase
    preprocess: PreprocessConfig

    @classmethod
    def load(cls, model_dir: Path) -> LoadedModel:
        """``AutoModel.from_pretrained`` + ``AutoTokenizer.from_pretrained`` + preprocessor config."""
        model = AutoModel.from_pretrained(str(model_dir))
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        return cls(model, tokenizer, PreprocessConfig.load(model_dir))

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(n, d) unit vectors."""
        return text_embeddings(self.model, self.tokenizer, texts).numpy().astype(np.float32)

    @torch.no_grad()
    def encode_images(self, images: Sequence[Image.Image]) -> npt.NDArray[np.float32]:
        """(n, d) unit vectors, via :func:`preprocess`."""
        pixels = torch.from_numpy(np.stack([preprocess(im, self.preprocess) for im in images]))
        return image_embeddings(self.model, pixels).numpy().astype(np.float32)


def eval_images(per_spec: int, seed: int) -> tuple[list[Image.Image], list[ShapeSpec]]:
    """``per_spec`` fresh renders of every colour × shape × size × background combination."""
    rng = random.Random(seed)
    images: list[Image.Image] = []
    specs: list[ShapeSpec] = []
    for color in COLORS:
        for shape in SHAPES:
            for size in SIZES:
                for background in BACKGROUNDS:
                    spec = ShapeSpec(color, shape, size, background)
                    for _ in range(per_spec):
                        images.append(render(spec, rng))
                        specs.append(spec)
    return images, specs


def _unit(v: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def quality_report(loaded: LoadedModel, per_spec: int = 3, seed: int = 12345) -> dict[str, float]:
    """The quality-bar numbers on fresh images (see tests/integration/test_shapes_quality.py)."""
    images, specs = eval_images(per_spec, seed)
    img = loaded.encode_images(images)
    report: dict[str, float] = {}
    for attr, labels in _ATTR_VALUES.items():
        truth = np.array([getattr(s, attr) for s in specs])
        for name, template in (("word", "{}"), ("shape", "a {} shape")):
            if attr == "background":
                template = "{}" if name == "word" else "a shape in the {}"
            prompts = [template.format(label) for label in labels]
            pred = np.array(labels)[(img @ loaded.encode_texts(prompts).T).argmax(axis=1)]
            report[f"zero_shot_{attr}_{name}"] = float((pred == truth).mean())

    def top(query: npt.NDArray[np.float32], k: int = 20) -> list[ShapeSpec]:
        return [specs[i] for i in np.argsort(-(img @ query))[:k]]

    e = dict(
        zip(
            ["a red circle", "red", "blue", "large", "small"],
            loaded.encode_texts(["a red circle", "red", "blue", "large", "small"]),
            strict=True,
        )
    )
    arith = _unit(e["a red circle"] - e["red"] + e["blue"])
    report["arith_blue_circle_top20"] = float(np.mean([s.color == "blue" and s.shape == "circle" for s in top(arith)]))
    size_dir = _unit(e["large"] - e["small"])
    report["large_minus_small_top20"] = float(np.mean([s.size == "large" for s in top(size_dir)]))
    report["small_minus_large_top20"] = float(np.mean([s.size == "small" for s in top(-size_dir)]))
    for bg in BACKGROUNDS:
        q = loaded.encode_texts([bg])[0]
        report[f"{bg}_top20"] = float(np.mean([s.background == bg for s in top(q)]))
    return report


def verify_reload(model: CLIPModel, tokenizer: PreTrainedTokenizerFast, out_dir: Path) -> float:
    """Reload ``out_dir`` through the encoder's calls; return the max deviation from ``model``.

    Compares text and image embeddings of the in-memory model with those of the reloaded
    checkpoint (through ``preprocess`` on PIL images, not the training tensor path).
    """
    loaded = LoadedModel.load(out_dir)
    texts = ["a large red circle in the forest", "blue", "a circle in the snow", "unknown words here!"]
    images, _ = eval_images(1, seed=7)
    images = images[::24]
    with torch.no_grad():
        ref_t = text_embeddings(model, tokenizer, texts).numpy()
        pixels = torch.stack(
            [
                _normalize_pixels(torch.from_numpy(np.asarray(im).transpose(2, 0, 1).copy()), PreprocessConfig())[0]
                for im in images
            ]
        )
        ref_i = image_embeddings(model, pixels).numpy()
    dev_t = np.abs(loaded.encode_texts(texts) - ref_t).max()
    dev_i = np.abs(loaded.encode_images(images) - ref_i).max()
    return float(max(dev_t, dev_i))


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: train, save to ``--out``, verify the reload and print the quality numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    window: list[float] = []

    def progress(step: int, loss: float) -> None:
        window.append(loss)
        if (step + 1) % 50 == 0 or step + 1 == args.steps:
            log.info(
                "step %d/%d loss %.4f (%.0fs)",
                step + 1,
                args.steps,
                sum(window) / len(window),
                time.monotonic() - started,
            )
            window.clear()

    tokenizer = build_tokenizer()
    model = train(args.steps, args.seed, args.batch_size, lr=args.lr, tokenizer=tokenizer, progress=progress)
    elapsed = time.monotonic() - started
    save(model, tokenizer, args.out)
    deviation = verify_reload(model, tokenizer, args.out)
    log.info("saved to %s after %.0fs; reload max deviation %.2e", args.out, elapsed, deviation)
    if deviation > 1e-4:
        raise SystemExit(f"reloaded checkpoint disagrees with the trained model ({deviation:.2e})")
    report = quality_report(LoadedModel.load(args.out))
    log.info("quality: %s", json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
