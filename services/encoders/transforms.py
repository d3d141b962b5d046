"""Image preprocessing as small pure functions (PIL → normalised float32 arrays).

These mirror ``CLIPImageProcessor`` (resize shortest side, centre crop, scale, normalise) but run in
decode threads without the processor's per-call overhead. Constants come from the model's
``preprocessor_config.json`` (``PreprocessConfig.from_model_dir``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class PreprocessConfig:
    """Resize the shortest side to ``resize`` px, centre-crop ``crop`` px, normalise with mean/std."""

    resize: int = 224
    crop: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    resample: int = int(Image.Resampling.BICUBIC)

    @classmethod
    def from_dict(cls, cfg: dict[str, Any]) -> PreprocessConfig:
        crop = _side(cfg.get("crop_size"), 224)
        size = cfg.get("size")
        resize = size.get("shortest_edge", crop) if isinstance(size, dict) else _side(size, crop)
        return cls(
            resize=int(resize),
            crop=int(crop),
            mean=tuple(cfg.get("image_mean", CLIP_MEAN)),
            std=tuple(cfg.get("image_std", CLIP_STD)),
            resample=int(cfg.get("resample", int(Image.Resampling.BICUBIC))),
        )

    @classmethod
    def from_model_dir(cls, path: str | Path) -> PreprocessConfig:
        return cls.from_dict(json.loads((Path(path) / "preprocessor_config.json").read_text()))


def _side(v: Any, default: int) -> int:
    if v is None:
        return default
    if isinstance(v, dict):
        return int(v.get("height") or v.get("shortest_edge") or default)
    return int(v)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any PIL image; transparency is composited over white (alt-text images often are PNGs)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def resize_shortest(image: Image.Image, side: int, resample: int) -> Image.Image:
    """Scale so the shorter side is ``side`` px, keeping the aspect ratio."""
    w, h = image.size
    if min(w, h) == side:
        return image
    scale = side / min(w, h)
    new = (max(side, round(w * scale)), max(side, round(h * scale)))
    return image.resize(new, resample=Image.Resampling(resample))


def center_crop(image: Image.Image, side: int) -> Image.Image:
    """The central ``side`` × ``side`` square (the image must be at least that large)."""
    w, h = image.size
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side))


def normalize(image: Image.Image, mean: tuple[float, ...], std: tuple[float, ...]) -> npt.NDArray[np.float32]:
    """RGB PIL image → (3, H, W) float32, scaled to [0, 1] then standardised per channel."""
    scaled = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    out = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def preprocess(image: Image.Image, cfg: PreprocessConfig) -> npt.NDArray[np.float32]:
    """The full CLIP preprocessing of one image."""
    img = resize_shortest(to_rgb(image), cfg.resize, cfg.resample)
    return normalize(center_crop(img, cfg.crop), cfg.mean, cfg.std)
