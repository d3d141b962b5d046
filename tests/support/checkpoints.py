"""Random-weight checkpoints of real CLIP-family architectures, built in seconds, saved as a user would find them.

Each builder writes ``save_pretrained`` output of the model *and* its processor (image processor +
tokenizer) into a folder, so Signifier's loader meets the same files a hub download gives: the semantics
are random, but the architecture, preprocessing, tokenization and scoring code paths are the real ones.
Tokenizers are built in place from a tiny vocabulary (byte-level BPE for CLIP, a trained SentencePiece
Unigram model for SigLIP, a byte-fallback BPE for SigLIP2's Gemma tokenizer). ``bench/ingest.py`` builds
its ViT-B/32-size checkpoint with ``clip_checkpoint(size="b32")``.
"""

from __future__ import annotations

import io
import math
import string
from pathlib import Path
from typing import Any

CORPUS = [
    "a photo of a dog",
    "a photo of a cat",
    "a red circle on a blue square",
    "the quick brown fox jumps over the lazy dog",
    "a small green star in the snow",
    "an old black and white picture of a city street at night",
]

TINY_VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
TINY_TEXT = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
SIZES: dict[str, dict[str, Any]] = {
    # name: (vision overrides, text overrides, projection); "b32"/"l14" are the real ViT-B/32 and ViT-L/14 shapes.
    "tiny": {"vision": {**TINY_VISION, "patch_size": 16}, "text": TINY_TEXT, "projection_dim": 24},
    "b32": {
        "vision": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "patch_size": 32,
        },
        "text": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12, "num_attention_heads": 8},
        "projection_dim": 512,
    },
    "l14": {
        "vision": {
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "patch_size": 14,
        },
        "text": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12},
        "projection_dim": 768,
    },
}


def _byte_level_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's byte-level alphabet, each symbol alone and word-final (``</w>``), and a few merges."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in bytes_to_unicode().values():
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    merges = [("t", "h"), ("th", "e</w>"), ("o", "f</w>"), ("a", "n"), ("p", "h"), ("ph", "o")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    vocab, merges = _byte_level_vocab()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def siglip_tokenizer(workdir: Path) -> Any:
    """SigLIP's own SentencePiece tokenizer (``SiglipTokenizer``, needs ``sentencepiece``), trained on ``CORPUS``."""
    import sentencepiece as spm
    from transformers import SiglipTokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 4),
        model_writer=model,
        vocab_size=64,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        hard_vocab_limit=False,
        minloglevel=3,
    )
    path = workdir / "spiece.model"
    path.write_bytes(model.getvalue())
    return SiglipTokenizer(vocab_file=str(path), model_max_length=64)


def gemma_tokenizer() -> Any:
    """SigLIP2's Gemma tokenizer (byte-fallback BPE), with a tiny vocabulary."""
    from transformers import GemmaTokenizer

    vocab: dict[str, int] = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for ch in "▁" + string.ascii_lowercase:
        vocab.setdefault(ch, len(vocab))
    merges = [("▁", "a"), ("t", "h"), ("▁", "th")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return GemmaTokenizer(vocab=vocab, merges=merges, model_max_length=64)


def clip_checkpoint(
    out: Path,
    size: str = "tiny",
    image_size: int = 32,
    laion: bool = False,
    seed: int = 0,
    processor_config_only: bool = False,
) -> Path:
    """A ``CLIPModel`` with OpenAI's preprocessing (shortest edge + centre crop). ``laion``: the layout of
    LAION/OpenCLIP-trained checkpoints converted to HF format (gelu activations, same processor).
    ``processor_config_only``: saved as transformers 5's ``CLIPProcessor.save_pretrained`` writes it
    (``processor_config.json``, no ``preprocessor_config.json``)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    spec = SIZES[size]
    act = "gelu" if laion else "quick_gelu"
    tok = clip_tokenizer()
    config = CLIPConfig(
        text_config={
            **spec["text"],
            "vocab_size": len(tok),
            "max_position_embeddings": 77,
            "hidden_act": act,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={**spec["vision"], "image_size": image_size, "hidden_act": act},
        projection_dim=spec["projection_dim"],
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        ),
        tokenizer=tok,
    )
    return _save(out, model, processor, drop_preprocessor=processor_config_only)


def siglip_checkpoint(out: Path, image_size: int = 32, seed: int = 0, tokenizer: str = "sentencepiece") -> Path:
    """A ``SiglipModel`` with SigLIP's preprocessing (squash to size × size, mean/std 0.5). ``tokenizer``:
    ``sentencepiece`` (SigLIP) or ``gemma`` (the fixed-resolution SigLIP2 checkpoints, ``google/siglip2-*-224``)."""
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    out.mkdir(parents=True, exist_ok=True)
    tok = siglip_tokenizer(out) if tokenizer == "sentencepiece" else gemma_tokenizer()
    config = SiglipConfig(
        text_config={
            **TINY_TEXT,
            "vocab_size": len(tok),
            "max_position_embeddings": 64,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={**TINY_VISION, "patch_size": 8, "image_size": image_size},
    )
    torch.manual_seed(seed)
    model = SiglipModel(config).eval()
    with torch.no_grad():  # away from init's log(1), -10: the scale and the bias visibly matter
        model.logit_scale.fill_(math.log(10.0))
        model.logit_bias.fill_(-3.0)
    processor = SiglipProcessor(
        image_processor=SiglipImageProcessor(size={"height": image_size, "width": image_size}), tokenizer=tok
    )
    return _save(out, model, processor)


def _save(out: Path, model: Any, processor: Any, drop_preprocessor: bool = False) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    if drop_preprocessor:
        (out / "preprocessor_config.json").unlink(missing_ok=True)
    return out


def bert_tokenizer() -> Any:
    from transformers import BertTokenizer

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase])}
    return BertTokenizer(vocab=vocab, model_max_length=64)


def align_checkpoint(out: Path, text_dim: int = 64, seed: int = 0) -> Path:
    """ALIGN (EfficientNet image tower, BERT text tower): a CNN-tower model with no ``logit_scale`` (it has a
    ``temperature``). Its image vectors are 32-d here; ``text_dim`` other than 32 makes the towers disagree."""
    import torch
    from transformers import AlignConfig, AlignModel, AlignProcessor, EfficientNetImageProcessor

    tok = bert_tokenizer()
    config = AlignConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        },
        vision_config={"image_size": 32, "hidden_dim": 160, "width_coefficient": 0.1, "depth_coefficient": 0.1},
        projection_dim=text_dim,
    )
    torch.manual_seed(seed)
    processor = AlignProcessor(
        image_processor=EfficientNetImageProcessor(
            size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=tok,
    )
    return _save(out, AlignModel(config).eval(), processor)


def siglip2_naflex_checkpoint(out: Path) -> Path:
    """A SigLIP2 NaFlex checkpoint (``Siglip2Model``, variable resolution): refused by Signifier."""
    from transformers import Siglip2Config, Siglip2ImageProcessor, Siglip2Model, Siglip2Processor

    config = Siglip2Config(
        text_config={**TINY_TEXT, "vocab_size": 300, "bos_token_id": None, "eos_token_id": 1, "pad_token_id": 0},
        vision_config={**TINY_VISION, "num_patches": 16, "patch_size": 8},
    )
    processor = Siglip2Processor(image_processor=Siglip2ImageProcessor(), tokenizer=gemma_tokenizer())
    return _save(out, Siglip2Model(config).eval(), processor)


def openclip_native_folder(out: Path) -> Path:
    """The files of OpenCLIP's own hub layout (contents are placeholders: Signifier refuses it by its layout)."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    cfg = {"model_cfg": {"embed_dim": 512}, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}
    (out / "open_clip_config.json").write_text(json.dumps(cfg))
    (out / "open_clip_pytorch_model.bin").write_bytes(b"\0" * 16)
    return out


RANDOM_MODELS = {"vit-b32-random": "b32", "vit-l14-random": "l14"}
"""The benchmarks' random-weight checkpoints of real sizes (``--model vit-b32-random``)."""


def cached_random_clip(name: str, cache_dir: Path) -> Path:
    """``vit-b32-random`` / ``vit-l14-random``: a full-size 224 px CLIP with random weights, built once into
    ``cache_dir`` (throughput does not depend on the weights' values, so nothing is downloaded)."""
    out = cache_dir / name
    if not (out / "model.safetensors").exists():
        clip_checkpoint(out, size=RANDOM_MODELS[name], image_size=224)
    return out
