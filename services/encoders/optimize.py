"""Inference-only rewrites of a loaded model that keep its outputs (up to float rounding) and cut its cost.

They matter for convolutional image towers (the bundled shapes-clip, ResNet-style CLIPs); a ViT tower
has a single patch-embedding convolution and is left as it is.

- ``fold_batchnorm``: an eval-mode ``BatchNorm2d`` after a ``Conv2d`` is an affine map per channel, so it
  can be folded into the convolution's weights and bias (``torch.nn.utils.fusion.fuse_conv_bn_eval``):
  one pass over the feature map instead of two.
- channels-last memory layout (NHWC): oneDNN's CPU convolutions and cuDNN's tensor-core kernels are
  written for it; PyTorch's NCHW default makes them reorder every activation.

Measured on the 2-core CPU this project is developed on (shapes-clip, 64 px, ms per image): plain
NCHW 1.00 (batch 1) / 1.09 (16) / 1.32 (64); folded + channels-last 0.23 (16) / 0.56 (64).
Large batches fall out of the CPU caches, hence ``CPU_CHUNK`` in ``clip.py``.
"""

from __future__ import annotations

from typing import Any


def count_convolutions(module: Any) -> int:
    """How many ``Conv2d`` layers the module holds."""
    from torch import nn

    return sum(1 for m in module.modules() if isinstance(m, nn.Conv2d))


def is_convolutional(vision_tower: Any) -> bool:
    """True for a CNN tower (more than the one patch-embedding convolution a ViT has)."""
    return vision_tower is not None and count_convolutions(vision_tower) > 1


def fold_batchnorm(module: Any) -> int:
    """Fold each eval-mode ``BatchNorm2d`` that directly follows a ``Conv2d`` in an ``nn.Sequential``.

    The pair becomes the fused convolution followed by ``nn.Identity`` (indices are kept, so state-dict
    names of other layers do not move). Returns how many pairs were folded. The module must be in eval
    mode: training-mode batch norm uses batch statistics and cannot be folded.
    """
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if module.training:
        raise ValueError("fold_batchnorm needs a model in eval mode")
    folded = 0
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                seq[i] = fuse_conv_bn_eval(conv, bn)
                seq[i + 1] = nn.Identity()
                folded += 1
    return folded
