"""Image preprocessing as small pure functions (PIL → normalised float32 arrays).

These reproduce the checkpoint's own image processor — ``CLIPImageProcessor`` (resize the shortest side,
centre crop) or ``SiglipImageProcessor`` (squash to size × size, no crop), then rescale and normalise —
but run in decode threads without the processor's per-call overhead. The constants come from the
processor transformers itself loads for the checkpoint (``PreprocessConfig.from_processor``), whichever
file it was saved in (``preprocessor_config.json``, or transformers 5's ``processor_config.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

ResizeMode = Literal["shortest", "squash"]


@dataclass(frozen=True)
class PreprocessConfig:
    """``mode="shortest"`` (CLIP): resize the shortest side to ``resize`` px, centre-crop ``crop`` px.
    ``mode="squash"`` (SigLIP): resize to ``resize`` × ``resize`` whatever the aspect ratio (``crop`` equals
    ``resize``). Then pixels × ``rescale`` + ``offset``, normalised with mean/std."""

    resize: int = 224
    crop: int = 224
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    resample: int = int(Image.Resampling.BICUBIC)
    mode: ResizeMode = "shortest"
    rescale: float = 1 / 255
    offset: float = 0.0

    @classmethod
    def from_dict(cls, cfg: dict[str, Any]) -> PreprocessConfig:
        """From an image processor's settings (its ``to_dict()`` or its saved JSON); ``ValueError`` for a
        layout this module does not reproduce (no resize, patch budgets, non-square inputs)."""
        if "max_num_patches" in cfg:
            raise ValueError("variable-resolution (NaFlex) preprocessing is not supported")
        if cfg.get("do_resize") is False:
            raise ValueError("the image processor does not resize (do_resize false): images would not batch")
        size = cfg.get("size", {"shortest_edge": 224})
        if isinstance(size, int):
            size = {"shortest_edge": size}
        crop_cfg = cfg.get("crop_size")
        do_crop = bool(cfg.get("do_center_crop", crop_cfg is not None))
        mode: ResizeMode
        if size.get("shortest_edge") and not size.get("longest_edge"):
            mode, resize = "shortest", int(size["shortest_edge"])
            if not do_crop:
                raise ValueError("shortest-edge resizing without a centre crop gives unbatchable image sizes")
        elif size.get("height") and size.get("width"):
            if int(size["height"]) != int(size["width"]):
                raise ValueError(f"non-square model input {size['height']}x{size['width']} is not supported")
            mode, resize = "squash", int(size["height"])
        else:
            raise ValueError(f"image processor size {size} is not supported (need shortest_edge, or height = width)")
        crop = _side(crop_cfg, resize) if do_crop else resize
        if mode == "squash" and crop != resize:
            raise ValueError(f"resize to {resize} px then crop {crop} px is not supported")
        do_rescale, do_normalize = cfg.get("do_rescale", True), cfg.get("do_normalize", True)
        return cls(
            resize=resize,
            crop=crop,
            mean=tuple(cfg.get("image_mean") or CLIP_MEAN) if do_normalize else (0.0, 0.0, 0.0),
            std=tuple(cfg.get("image_std") or CLIP_STD) if do_normalize else (1.0, 1.0, 1.0),
            resample=int(cfg.get("resample", int(Image.Resampling.BICUBIC))),
            mode=mode,
            rescale=float(cfg.get("rescale_factor", 1 / 255)) if do_rescale else 1.0,
            offset=-1.0 if do_rescale and cfg.get("rescale_offset") else 0.0,
        )

    @classmethod
    def from_processor(cls, image_processor: Any) -> PreprocessConfig:
        """From the image processor object ``AutoImageProcessor.from_pretrained`` returns."""
        cfg = image_processor.to_dict()
        return cls.from_dict({k: (int(v) if k == "resample" and v is not None else v) for k, v in cfg.items()})


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


def shortest_edge_size(width: int, height: int, side: int) -> tuple[int, int]:
    """(w, h) with the shorter side ``side`` px: the longer side is *truncated*, as transformers'
    ``get_resize_output_image_size`` does (a 640×480 image → 298×224, not 299×224)."""
    if width <= height:
        return side, int(side * height / width)
    return int(side * width / height), side


def resize_shortest(image: Image.Image, side: int, resample: int) -> Image.Image:
    """Scale so the shorter side is ``side`` px, keeping the aspect ratio."""
    w, h = image.size
    if min(w, h) == side:
        return image
    return image.resize(shortest_edge_size(w, h, side), resample=Image.Resampling(resample))


def squash(image: Image.Image, side: int, resample: int) -> Image.Image:
    """Resize to ``side`` × ``side`` whatever the aspect ratio (SigLIP's preprocessing)."""
    if image.size == (side, side):
        return image
    return image.resize((side, side), resample=Image.Resampling(resample))


def center_crop(image: Image.Image, side: int) -> Image.Image:
    """The central ``side`` × ``side`` square (the image must be at least that large)."""
    w, h = image.size
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side))


def normalize(
    image: Image.Image, mean: tuple[float, ...], std: tuple[float, ...], rescale: float = 1 / 255, offset: float = 0.0
) -> npt.NDArray[np.float32]:
    """RGB PIL image → (3, H, W) float32, rescaled (to [0, 1] by default) then standardised per channel."""
    if rescale == 1 / 255 and offset == 0.0:
        scaled = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    else:
        scaled = np.asarray(image, dtype=np.float32) * np.float32(rescale) + np.float32(offset)
    out = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def preprocess(image: Image.Image, cfg: PreprocessConfig) -> npt.NDArray[np.float32]:
    """The checkpoint's full preprocessing of one image."""
    rgb = to_rgb(image)
    if cfg.mode == "squash":
        return normalize(squash(rgb, cfg.resize, cfg.resample), cfg.mean, cfg.std, cfg.rescale, cfg.offset)
    img = center_crop(resize_shortest(rgb, cfg.resize, cfg.resample), cfg.crop)
    return normalize(img, cfg.mean, cfg.std, cfg.rescale, cfg.offset)
