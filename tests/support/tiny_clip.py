"""A tiny random-weight ``CLIPModel`` checkpoint, built at test time in about a second and saved with
``save_pretrained`` (model, image processor, tokenizer) as a hub download would be: the architecture,
loading and preprocessing are real, the semantics random. ``projection_dim`` defaults to shapes-clip's 64,
so a test can tell models apart by their fingerprint, not by their dim.
"""

from __future__ import annotations

from pathlib import Path


def tiny_clip_checkpoint(out: Path, projection_dim: int = 64, image_size: int = 32, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, PreTrainedTokenizerFast

    words = [
        "a",
        "the",
        "of",
        "photo",
        "picture",
        "red",
        "green",
        "blue",
        "circle",
        "square",
        "star",
        "triangle",
        "small",
        "large",
        "shape",
    ]
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<unk>",
        pad_token="<|endoftext|>",
        model_max_length=16,
    )
    tower = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={
            **tower,
            "vocab_size": len(vocab),
            "max_position_embeddings": 16,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={**tower, "image_size": image_size, "patch_size": 8},
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).eval().save_pretrained(out)
    CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    ).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
