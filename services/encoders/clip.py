"""The transformers encoder for CLIP-family checkpoints (CLIP, SigLIP, SigLIP2; hub id or local folder),
shapes-clip included. docs/models.md lists what loads and what is refused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.core.errors import ModelLoadError
from services.core.scoring import Scoring
from services.core.settings import BUNDLED_MODEL
from services.core.types import Vector, l2_normalize
from services.encoders.base import Encoder, PixelBatch, Precision
from services.encoders.families import NAFLEX_REFUSAL, Family, check_model_id, family_of, text_context
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


DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def pick_precision(precision: str, device: str) -> Precision:
    """``auto`` → fp16 on CUDA, fp32 on CPU; the others as given (checked at load: see ``_probe``)."""
    if precision == "auto":
        return "fp16" if device.startswith("cuda") else "fp32"
    if precision not in DTYPES:
        raise ModelLoadError(f"SIGNIFIER_PRECISION={precision!r}: use auto, fp32, bf16 or fp16")
    return precision  # type: ignore[return-value]


class ClipEncoder(Encoder):
    """A CLIP-family model + tokenizer + image processor loaded with ``from_pretrained``; inference under
    ``torch.inference_mode`` at the chosen precision (weights and inputs cast: images and texts alike).

    ``AutoModel`` resolves the class from the checkpoint's config: ``CLIPModel`` for OpenAI and
    LAION/OpenCLIP-trained HF checkpoints, ``SiglipModel`` for SigLIP and fixed-resolution SigLIP2,
    ``ShapesClipModel`` (registered by ``services.shapes.modeling``) for the bundled model. The family
    (``families.py``) sets the text padding and the zero-shot scoring; images are preprocessed by pure
    functions (``transforms.py``) with the settings of the processor transformers loads for the checkpoint.
    """

    def __init__(self, model: str, device: str = "auto", precision: str = "auto") -> None:
        super().__init__()
        self.model_id = model
        self.path = resolve_model(model)
        self.device = pick_device(device)
        self._precision = pick_precision(precision, self.device)
        self._model: Any = None
        self._tokenizer: Any = None
        self._pre: PreprocessConfig | None = None
        self._family: Family | None = None
        self._dim = 0
        self._context = 77
        self._dtype: Any = None
        self._channels_last = False
        # A fast tokenizer is one Rust object whose padding/truncation settings each call sets: two
        # threads calling it with different settings (a search request's texts, an ingest's token count)
        # can see each other's and fail or mis-tokenise. Calls take this lock; they are microseconds.
        self._tokenizer_lock = threading.Lock()

    @property
    def precision(self) -> Precision:
        """The weights' and inputs' precision: ``fp32``, ``bf16`` or ``fp16``."""
        return self._precision

    @property
    def family(self) -> str:
        """``clip``, ``siglip``, ``siglip2``, ``shapes-clip`` or another model type (``families.py``)."""
        self.load()
        assert self._family is not None
        return self._family.name

    def _load(self) -> None:
        import torch
        from transformers.utils import logging as hf_logging

        import services.shapes.modeling  # noqa: F401 - registers the bundled model's class with AutoModel

        hf_logging.disable_progress_bar()
        if ("/" in self.model_id and self.model_id.startswith(("/", ".", "~"))) and not Path(self.path).exists():
            raise ModelLoadError(f"could not load model {self.model_id!r}: no such directory")
        check_model_id(self.model_id, Path(self.path))

        _one_log_handler()
        try:
            try:
                # The local Hugging Face cache first: a cached model loads with no network round trip at all.
                model, tokenizer, self._family, self._pre = self._from_pretrained(local_files_only=True)
            except OSError:
                if Path(self.path).is_dir():
                    raise
                hub_problem = _hub_unreachable()
                if hub_problem:
                    raise OSError(f"not in the local Hugging Face cache, and {hub_problem}") from None
                model, tokenizer, self._family, self._pre = self._from_pretrained(local_files_only=False)
        except (OSError, ImportError) as exc:
            raise ModelLoadError(
                f"could not load model {self.model_id!r}: {_one_line(exc)}. "
                "Without network, the model must already be in the local Hugging Face cache or be a local "
                f"path; SIGNIFIER_MODEL={BUNDLED_MODEL} uses the bundled offline model."
            ) from exc
        except (ValueError, KeyError) as exc:
            # Refused layouts (NaFlex, an image processor transforms.py does not reproduce), unknown model types.
            raise ModelLoadError(f"could not load model {self.model_id!r}: {_one_line(exc)}") from exc
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise ModelLoadError(
                f"could not load model {self.model_id!r}: {type(model).__name__} is not a CLIP-family model "
                "(no get_image_features/get_text_features); docs/models.md lists the supported families"
            )
        self._dtype = getattr(torch, DTYPES[self._precision])
        model.eval().to(self.device, dtype=self._dtype)
        vision = getattr(model, "vision_model", None)
        if is_convolutional(vision):
            # A CNN image tower: fold batch norms into the convolutions and keep activations NHWC
            # (services/encoders/optimize.py has the measurements). Outputs are unchanged up to rounding.
            folded = fold_batchnorm(vision)
            model.to(memory_format=torch.channels_last)
            self._channels_last = True
            log.info("convolutional image tower: %d batch norms folded, channels-last layout", folded)
        self._model, self._tokenizer = model, tokenizer
        self._context = text_context(model.config, tokenizer)
        self._dim = self._probe()
        log.info(
            "loaded model %s (%s) on %s at %s (dim %d)",
            self.model_id,
            self._family.name,
            self.device,
            self._precision,
            self._dim,
        )

    def _probe(self) -> int:
        """One image and one text through the towers: their dimensions must agree (a model whose image and
        text vectors differ in size cannot compare them), and the precision must run on this device."""
        assert self._pre is not None
        side = self._pre.crop
        try:
            image = self._image_features(np.zeros((1, 3, side, side), dtype=np.float32))
            text = self._text_features(["a photo"])
        except (RuntimeError, NotImplementedError) as exc:
            raise ModelLoadError(
                f"model {self.model_id!r} does not run at SIGNIFIER_PRECISION={self._precision} on {self.device}: "
                f"{_one_line(exc)}; use fp32"
            ) from exc
        if image.shape[1] != text.shape[1]:
            raise ModelLoadError(
                f"model {self.model_id!r} gives {image.shape[1]}-d image vectors but {text.shape[1]}-d text "
                "vectors: images and texts must share one embedding space"
            )
        return int(image.shape[1])

    def _from_pretrained(self, local_files_only: bool) -> tuple[Any, Any, Family, PreprocessConfig]:
        from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoTokenizer

        config = AutoConfig.from_pretrained(self.path, local_files_only=local_files_only)
        if config.model_type == "siglip2":
            raise ValueError(NAFLEX_REFUSAL)  # before loading weights that cannot be used
        model = AutoModel.from_pretrained(self.path, local_files_only=local_files_only)
        tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=local_files_only)
        family = family_of(config.model_type, tokenizer)
        # The image processor transformers itself loads (preprocessor_config.json, or transformers 5's
        # processor_config.json); only its settings are used (transforms.py does the work).
        with _quiet_torchvision_notice():
            processor = AutoImageProcessor.from_pretrained(self.path, local_files_only=local_files_only)
        return model, tokenizer, family, PreprocessConfig.from_processor(processor)

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def scoring(self) -> Scoring:
        """The family's zero-shot formula with this checkpoint's learned scale (and SigLIP's bias)."""
        self.load()
        assert self._family is not None
        scale = getattr(self._model, "logit_scale", None)
        if scale is None or not hasattr(scale, "exp"):
            return Scoring("cosine")
        value = float(scale.float().exp().item())
        if self._family.sigmoid:
            return Scoring("sigmoid", value, float(self._model.logit_bias.float().item()))
        return Scoring("softmax", value)

    @property
    def logit_scale(self) -> float:
        """The learned temperature (exp of ``logit_scale``); NaN for a model that has none (see ``scoring``)."""
        scale = self.scoring.scale
        return float("nan") if scale is None else scale

    @property
    def image_size(self) -> int:
        self.load()
        assert self._pre is not None
        return self._pre.crop

    @property
    def context_length(self) -> int:
        self.load()
        return self._context

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
        self.load()
        if len(pixels) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(self._image_features(pixels))

    def _image_features(self, pixels: PixelBatch) -> npt.NDArray[np.float32]:
        import torch

        chunk = CPU_CHUNK if self.device == "cpu" else len(pixels)
        out = []
        with torch.inference_mode():
            for start in range(0, len(pixels), chunk):
                x = torch.from_numpy(np.ascontiguousarray(pixels[start : start + chunk]))
                x = x.to(self.device, dtype=self._dtype)
                if self._channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                out.append(_features(self._model.get_image_features(pixel_values=x)).float().cpu().numpy())
        return np.concatenate(out)

    @property
    def decode_side(self) -> int:
        """Shortest side worth decoding a JPEG at: ``DRAFT_GAP`` × the resize target (see ``DRAFT_GAP``)."""
        return DRAFT_GAP * self.preprocess_config.resize

    def encode_texts(self, texts: Sequence[str]) -> Vector:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(self._text_features(texts))

    def _text_features(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The family's tokenization: CLIP pads to the batch's longest text under an attention mask; SigLIP
        pads every text to ``max_length``, as it was trained (its text tower pools the last position), so a
        text's vector never depends on its batch-mates either way."""
        import torch

        assert self._family is not None
        with self._tokenizer_lock:
            tok = self._tokenizer(
                list(texts),
                padding=self._family.padding,
                truncation=True,
                max_length=self._context,
                return_tensors="pt",
            )
        inputs = {k: tok[k].to(self.device) for k in ("input_ids", "attention_mask") if k in tok}
        with torch.inference_mode():
            feats = _features(self._model.get_text_features(**inputs))
        return feats.float().cpu().numpy()  # type: ignore[no-any-return]

    def count_text_tokens(self, text: str) -> int:
        self.load()
        with self._tokenizer_lock:
            return len(self._tokenizer(text, truncation=False)["input_ids"])


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


TORCHVISION_NOTICE_LOGGER = "transformers.utils.import_utils"


@contextmanager
def _quiet_torchvision_notice() -> Iterator[None]:
    """transformers warns that torchvision is missing and it uses the PIL image processor: true, and harmless
    here (only the processor's settings are read), so the notice is not passed on."""
    logger = logging.getLogger(TORCHVISION_NOTICE_LOGGER)
    notice = _DropTorchvisionNotice()
    logger.addFilter(notice)
    try:
        yield
    finally:
        logger.removeFilter(notice)


class _DropTorchvisionNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision" not in record.getMessage()
