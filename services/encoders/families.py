"""Which CLIP-family model a checkpoint is, and what that family needs: tokenization and zero-shot scoring.

Preprocessing comes from the checkpoint's own image processor (``transforms.PreprocessConfig``); this
module owns what the processor config does not say. docs/models.md lists the families.

| family | architecture | text padding | scoring |
| --- | --- | --- | --- |
| ``clip`` | ``CLIPModel`` (OpenAI, LAION/OpenCLIP-trained in HF format) | longest in the batch (masked) | softmax |
| ``shapes-clip`` | the bundled ``ShapesClipModel`` | as CLIP | softmax |
| ``siglip`` | ``SiglipModel`` with its SentencePiece tokenizer | ``max_length``, as trained | sigmoid + bias |
| ``siglip2`` | ``SiglipModel`` with a Gemma tokenizer (fixed-resolution SigLIP2) | ``max_length`` | sigmoid + bias |
| other | any model with ``get_image_features``/``get_text_features`` | longest | softmax, or cosine |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services.core.errors import ModelLoadError

Padding = Literal["longest", "max_length"]

OPENCLIP_FILES = ("open_clip_config.json", "open_clip_pytorch_model.bin", "open_clip_model.safetensors")

OPENCLIP_REFUSAL = (
    "OpenCLIP's native layout (open_clip_config.json + open_clip_pytorch_model.bin) is not supported: "
    "open_clip_torch needs torchvision, which this build does not carry. Use the checkpoint in Hugging Face "
    "format (config.json + model.safetensors, loaded as CLIPModel): e.g. laion/CLIP-ViT-B-32-laion2B-s34B-b79K "
    "carries both layouts, and SIGNIFIER_MODEL=laion/CLIP-ViT-B-32-laion2B-s34B-b79K loads its HF weights"
)

NAFLEX_REFUSAL = (
    "SigLIP2 NaFlex checkpoints (model_type siglip2, variable resolution and aspect ratio) are not supported; "
    "use a fixed-resolution SigLIP2 checkpoint such as google/siglip2-base-patch16-224 (or -256, -384, -512)"
)


@dataclass(frozen=True)
class Family:
    """What Signifier needs to know about a checkpoint beyond its processor config."""

    name: str
    padding: Padding
    sigmoid: bool
    """SigLIP's per-label sigmoid with ``logit_bias`` instead of CLIP's softmax."""


def is_openclip_layout(path: Path) -> bool:
    """A local folder in OpenCLIP's own layout (and not also in Hugging Face format)."""
    return path.is_dir() and not (path / "config.json").exists() and any((path / f).exists() for f in OPENCLIP_FILES)


def check_model_id(model_id: str, path: Path) -> None:
    """Refuse, before any loading, the layouts Signifier cannot load (with what to use instead)."""
    if model_id.startswith("hf-hub:") or is_openclip_layout(path):
        raise ModelLoadError(f"could not load model {model_id!r}: {OPENCLIP_REFUSAL}")


def family_of(model_type: str, tokenizer: Any) -> Family:
    """The family of a loaded checkpoint, from its config's ``model_type`` and its tokenizer's class."""
    if model_type == "siglip2":
        raise ValueError(NAFLEX_REFUSAL)
    if model_type == "siglip":
        name = "siglip2" if "gemma" in type(tokenizer).__name__.lower() else "siglip"
        return Family(name, "max_length", sigmoid=True)
    if model_type == "shapes_clip":
        return Family("shapes-clip", "longest", sigmoid=False)
    return Family(model_type, "longest", sigmoid=False)


def text_context(config: Any, tokenizer: Any) -> int:
    """Tokens a text may take: the text tower's positions, else the tokenizer's own limit, else 77."""
    text_config = getattr(config, "text_config", None)
    positions = getattr(text_config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        return positions
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 100_000 else 77
