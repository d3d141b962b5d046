"""shapes-clip training script: a few steps run, learn, save and reload through from_pretrained."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from services.shapes import train as tr
from services.shapes.world import ShapeSpec, render


@pytest.fixture(scope="module")
def tokenizer() -> tr.PreTrainedTokenizerFast:
    return tr.build_tokenizer()


def test_tokenizer_is_clip_shaped(tokenizer: tr.PreTrainedTokenizerFast) -> None:
    enc = tokenizer(["A Large RED circle, in the forest!", "zebra"], padding=True)
    ids = enc["input_ids"]
    assert ids[0][0] == tr.BOS_ID and ids[0][-1] == tr.EOS_ID
    assert tr.UNK_ID not in ids[0]
    # Unknown words map to [UNK]; padding follows EOS.
    assert ids[1][:3] == [tr.BOS_ID, tr.UNK_ID, tr.EOS_ID]
    assert set(ids[1][3:]) == {tr.PAD_ID}
    long = tokenizer(["red " * 40], truncation=True)["input_ids"][0]
    assert len(long) == tr.CONTEXT_LENGTH and long[-1] == tr.EOS_ID


def test_config_pools_at_eos(tokenizer: tr.PreTrainedTokenizerFast) -> None:
    cfg = tr.build_config(len(tokenizer)).text_config
    assert cfg.eos_token_id == tokenizer.eos_token_id == tr.EOS_ID != 2
    assert cfg.pad_token_id == tokenizer.pad_token_id
    assert cfg.bos_token_id == tokenizer.bos_token_id


def test_compatibility_and_soft_loss() -> None:
    caption_codes = torch.tensor([[0, -1, -1, -1], [1, 0, -1, -1]])
    image_codes = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 1, 1]])
    compat = tr.compatibility(caption_codes, image_codes)
    assert compat.tolist() == [[True, True, False], [False, False, True]]
    loss = tr.soft_clip_loss(torch.zeros(2, 3), compat)
    assert torch.isfinite(loss)


def test_a_few_training_steps_learn(tokenizer: tr.PreTrainedTokenizerFast) -> None:
    torch.set_num_threads(2)
    losses: list[float] = []
    torch.manual_seed(0)  # train() seeds the same way, so `before` is its starting point
    before = tr.ShapesClipModel(tr.build_config(len(tokenizer)))
    model = tr.train(
        steps=4, seed=0, batch_size=16, lr=3e-3, warmup=1, tokenizer=tokenizer,
        progress=lambda step, loss: losses.append(loss),
    )
    assert len(losses) == 4
    assert all(np.isfinite(losses))
    # Same seed → same initial weights; training must have moved them.
    before_w = dict(before.named_parameters())
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before_w[n])]
    assert moved


def test_save_and_reload_through_from_pretrained(tmp_path: Path, tokenizer: tr.PreTrainedTokenizerFast) -> None:
    model = tr.train(steps=1, seed=1, batch_size=8, tokenizer=tokenizer)
    tr.save(model, tokenizer, tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    pre = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert pre["crop_size"] == {"height": 64, "width": 64}
    assert tr.verify_reload(model, tokenizer, tmp_path) < 1e-5

    reloaded = AutoModel.from_pretrained(str(tmp_path))
    tok = AutoTokenizer.from_pretrained(str(tmp_path))
    enc = tok(["a red circle", "what is this?"], padding=True, truncation=True, return_tensors="pt")
    out = reloaded.get_text_features(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    assert tr._pooled(out).shape == (2, 64)


def test_preprocess_matches_training_path() -> None:
    image = render(ShapeSpec("blue", "square", "large", "desert"), random.Random(0))
    cfg = tr.PreprocessConfig()
    via_pil = tr.preprocess(image, cfg)
    u8 = torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())[None]
    via_tensor = tr._normalize_pixels(u8, cfg)[0].numpy()
    assert via_pil.shape == (3, 64, 64) and via_pil.dtype == np.float32
    np.testing.assert_allclose(via_pil, via_tensor, atol=1e-6)
    # Larger, non-square inputs are resized on the short side and centre-cropped.
    assert tr.preprocess(image.resize((128, 96)), cfg).shape == (3, 64, 64)
