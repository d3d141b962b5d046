"""Inference rewrites keep a model's outputs: batch norms folded into convolutions, NHWC layout."""

import pytest
import torch
from torch import nn

from services.encoders.optimize import count_convolutions, fold_batchnorm, is_convolutional


def _tower() -> nn.Module:
    torch.manual_seed(0)
    tower = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()),
        nn.MaxPool2d(2),
        nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()),
        nn.Conv2d(16, 4, 1),  # a conv with no batch norm after it stays as it is
    )
    # Batch-norm statistics as training leaves them (not the identity defaults, which would hide mistakes).
    for m in tower.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return tower.eval()


def test_folding_keeps_outputs_and_removes_every_batch_norm():
    tower = _tower()
    x = torch.randn(5, 3, 16, 16)
    with torch.inference_mode():
        before = tower(x)
    assert fold_batchnorm(tower) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in tower.modules())
    assert count_convolutions(tower) == 3
    with torch.inference_mode():
        after = tower(x)
        nhwc = tower.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(nhwc, before, atol=1e-5, rtol=1e-4)


def test_folding_refuses_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(_tower().train())


def test_a_vit_patch_embedding_is_not_a_convolutional_tower():
    from transformers import CLIPVisionConfig, CLIPVisionModel

    vit = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                           num_attention_heads=2, image_size=32, patch_size=8))
    assert not is_convolutional(vit)
    assert is_convolutional(_tower())
    assert not is_convolutional(None)
