"""The transformers CLIP encoder: any Hugging Face CLIP checkpoint or local path, shapes-clip included."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.core.errors import ModelLoadError
from services.core.settings import BUNDLED_MODEL
from services.core.types import Vector, l2_normalize
from services.encoders.base import Encoder, PixelBatch
from services.encoders.optimize import fold_batchnorm, is_convolutional
from services.encoders.transforms import PreprocessConfig, preprocess

log = logging.getLogger(__name__)

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "shapes" / "model"

CPU_CHUNK = 16
"""Images per forward pass on CPU. Larger batches gain nothing there and fall out of the caches
(shapes-clip: 0.23 ms/image in chunks of 16, 0.56 in one batch of 64; ViT-B/32 is flat from 16 up)."""

DRAFT_GAP = 2
"""JPEGs are decoded at a reduced DCT scale down to no less than ``DRAFT_GAP`` × the resize target,
then resized with the model's filter — what Pillow's ``thumbnail`` does with its ``reducing_gap``."""


def resolve_model(model: str) -> str:
    """A model id or path as ``from_pretrained`` takes it; ``shapes-clip`` names the bundled model."""
    return str(BUNDLED_MODEL_DIR) if model == BUNDLED_MODEL else model


def pick_device(device: str) -> str:
    """``auto`` → ``cuda`` when a CUDA device is present, else ``cpu``; a CUDA device that is not there is a
    ``ModelLoadError`` naming the setting, not torch's assertion deep inside ``model.to``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ModelLoadError(
                f"SIGNIFIER_DEVICE={device}, but this machine has no usable CUDA device (torch "
                f"{torch.__version__} is {build}); use SIGNIFIER_DEVICE=auto or cpu"
            )
        index = device.partition(":")[2]
        if index.isdigit() and int(index) >= torch.cuda.device_count():
            raise ModelLoadError(
                f"SIGNIFIER_DEVICE={device}, but this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    return device


HUB_PROBE_TIMEOUT = 3.0
"""Seconds to wait for the Hugging Face endpoint before saying it is unreachable (its own client retries
for ~40 s, printing a warning per try, before giving up on a machine without network)."""


def _hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be used now (``HF_HUB_OFFLINE``, no answer), or ``None`` if it answers."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        httpx.head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT, trust_env=True)
    except httpx.HTTPError as exc:
        return f"{constants.ENDPOINT} cannot be reached ({type(exc).__name__})"
    return None


def _one_log_handler() -> None:
    """transformers and huggingface_hub log through their own stderr handler *and* propagate to the root
    logger the CLI configures, so each warning printed twice: leave only the application's handlers."""
    import logging as std_logging

    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    hub = std_logging.getLogger("huggingface_hub")
    for handler in list(hub.handlers):
        if type(handler) is std_logging.StreamHandler:
            hub.removeHandler(handler)
    hub.propagate = True


def _features(out: Any) -> Any:
    # transformers 5 returns a model output whose pooler_output is the projected embedding;
    # 4.x returned the tensor itself.
    return out if hasattr(out, "shape") else out.pooler_output


class ClipEncoder(Encoder):
    """A CLIP-family model + tokenizer loaded with ``from_pretrained``; inference under ``torch.inference_mode``.

    ``AutoModel`` resolves the class from the checkpoint's config: ``CLIPModel`` for OpenAI/HF CLIP
    checkpoints, ``ShapesClipModel`` (registered by ``services.shapes.modeling``) for the bundled model.

    Images are preprocessed by pure functions (``transforms.py``) using the checkpoint's own
    ``preprocessor_config.json``. On CUDA, images run under fp16 autocast when ``half`` is set.
    """

    def __init__(self, model: str, device: str = "auto", half: bool = True) -> None:
        super().__init__()
        self.model_id = model
        self.path = resolve_model(model)
        self.device = pick_device(device)
        self.half = half and self.device.startswith("cuda")
        self._model: Any = None
        self._tokenizer: Any = None
        self._pre: PreprocessConfig | None = None
        self._channels_last = False
        # A fast tokenizer is one Rust object whose padding/truncation settings each call sets: two
        # threads calling it with different settings (a search request's texts, an ingest's token count)
        # can see each other's and fail or mis-tokenise. Calls take this lock; they are microseconds.
        self._tokenizer_lock = threading.Lock()

    def _load(self) -> None:
        import torch
        from transformers.utils import logging as hf_logging

        import services.shapes.modeling  # noqa: F401 - registers the bundled model's class with AutoModel

        hf_logging.disable_progress_bar()
        if ("/" in self.model_id and self.model_id.startswith(("/", ".", "~"))) and not Path(self.path).exists():
            raise ModelLoadError(f"could not load model {self.model_id!r}: no such directory")

        _one_log_handler()
        try:
            try:
                # The local Hugging Face cache first: a cached model loads with no network round trip at all.
                model, tokenizer, self._pre = self._from_pretrained(local_files_only=True)
            except OSError:
                if Path(self.path).is_dir():
                    raise
                hub_problem = _hub_unreachable()
                if hub_problem:
                    raise OSError(f"not in the local Hugging Face cache, and {hub_problem}") from None
                model, tokenizer, self._pre = self._from_pretrained(local_files_only=False)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(
                f"could not load model {self.model_id!r}: {str(exc).splitlines()[0]}. "
                "Without network, the model must already be in the local Hugging Face cache or be a local "
                f"path; SIGNIFIER_MODEL={BUNDLED_MODEL} uses the bundled offline model."
            ) from exc
        model.eval().to(self.device)
        vision = getattr(model, "vision_model", None)
        if is_convolutional(vision):
            # A CNN image tower: fold batch norms into the convolutions and keep activations NHWC
            # (services/encoders/optimize.py has the measurements). Outputs are unchanged up to rounding.
            folded = fold_batchnorm(vision)
            model.to(memory_format=torch.channels_last)
            self._channels_last = True
            log.info("convolutional image tower: %d batch norms folded, channels-last layout", folded)
        self._model, self._tokenizer = model, tokenizer
        log.info("loaded model %s on %s (dim %d)", self.model_id, self.device, model.config.projection_dim)

    def _from_pretrained(self, local_files_only: bool) -> tuple[Any, Any, PreprocessConfig]:
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(self.path, local_files_only=local_files_only)
        tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=local_files_only)
        return model, tokenizer, self._load_preprocess_config(local_files_only)

    def _load_preprocess_config(self, local_files_only: bool) -> PreprocessConfig:
        local = Path(self.path)
        if local.is_dir():
            return PreprocessConfig.from_model_dir(local)
        from huggingface_hub import hf_hub_download

        config = hf_hub_download(self.path, "preprocessor_config.json", local_files_only=local_files_only)
        return PreprocessConfig.from_model_dir(Path(config).parent)

    @property
    def dim(self) -> int:
        self.load()
        return int(self._model.config.projection_dim)

    @property
    def logit_scale(self) -> float:
        self.load()
        return float(self._model.logit_scale.exp().item())

    @property
    def image_size(self) -> int:
        self.load()
        assert self._pre is not None
        return self._pre.crop

    @property
    def context_length(self) -> int:
        self.load()
        return int(self._model.config.text_config.max_position_embeddings)

    @property
    def preprocess_config(self) -> PreprocessConfig:
        self.load()
        assert self._pre is not None
        return self._pre

    def preprocess(self, image: object) -> npt.NDArray[np.float32]:
        from PIL import Image

        assert isinstance(image, Image.Image)
        return preprocess(image, self.preprocess_config)

    def encode_pixels(self, pixels: PixelBatch) -> Vector:
        import torch

        self.load()
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunk = CPU_CHUNK if self.device == "cpu" else len(pixels)
        out = []
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=self.half):
            for start in range(0, len(pixels), chunk):
                x = torch.from_numpy(np.ascontiguousarray(pixels[start : start + chunk])).to(self.device)
                if self._channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                out.append(_features(self._model.get_image_features(pixel_values=x)).float().cpu().numpy())
        return l2_normalize(np.concatenate(out))

    @property
    def decode_side(self) -> int:
        """Shortest side worth decoding a JPEG at: ``DRAFT_GAP`` × the resize target (see ``DRAFT_GAP``)."""
        return DRAFT_GAP * self.preprocess_config.resize

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        import torch

        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._tokenizer_lock:
            tok = self._tokenizer(
                list(texts), padding=True, truncation=True, max_length=self.context_length, return_tensors="pt"
            )
        with torch.inference_mode():
            feats = _features(
                self._model.get_text_features(
                    input_ids=tok["input_ids"].to(self.device),
                    attention_mask=tok["attention_mask"].to(self.device),
                )
            )
        return l2_normalize(feats.float().cpu().numpy())

    def count_text_tokens(self, text: str) -> int:
        self.load()
        with self._tokenizer_lock:
            return len(self._tokenizer(text, truncation=False)["input_ids"])
