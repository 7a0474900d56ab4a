"""The two small networks every gaze variant is built from (tensors only, no numpy API).

* :class:`TaskNet`: the compact CNN that maps an eye patch to ``(pitch, yaw)``. It takes the RGB patch plus two
  *coordinate channels* (where in the eye region each patch pixel was read from, region units ``[-1, 1]``): a
  zoomed patch is a distorted "caricature" of the eye, and the coordinates tell the network how it was distorted
  (for a uniform patch they are the plain identity grid, so every variant runs the very same network). It ends in
  an adaptive average pool to a fixed ``3 x 5`` map, so one set of weights accepts any input size.
* :class:`SaliencyNet`: the saliency network handed to :class:`gazezoom.sampler.SaliencySampler` (Recasens et al.
  2018, Sec. 3): a few convolutions on the low-resolution view of the region, giving saliency logits at half its
  resolution (the sampler resizes them to its ``g x g`` grid and applies the softmax).

>>> import torch
>>> net = TaskNet()
>>> net(torch.zeros(2, 5, 24, 40)).shape
torch.Size([2, 2])
>>> SaliencyNet()(torch.zeros(2, 3, 24, 40)).shape
torch.Size([2, 1, 12, 20])
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShapeError

__all__ = ["TaskNet", "SaliencyNet", "count_parameters", "fold_batchnorm"]


def _block(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class TaskNet(nn.Module):
    """Eye patch (+ coordinate channels) → gaze ``(pitch, yaw)`` in radians, normalised eye space.

    Input ``x: (B, in_ch, H, W)`` with ``H, W >= 4``; output ``(B, out)`` (2: pitch/yaw or a pupil's u, v). About 0.2 M parameters (195,858) at ``width=16``.
    """

    def __init__(self, in_ch: int = 5, width: int = 16, hidden: int = 128, pooled: tuple[int, int] = (3, 5),
                 out: int = 2):
        super().__init__()
        w = width
        self.in_ch = in_ch
        self.features = nn.Sequential(
            _block(in_ch, w), _block(w, w), nn.MaxPool2d(2),
            _block(w, 2 * w), _block(2 * w, 2 * w), nn.MaxPool2d(2),
            _block(2 * w, 4 * w), _block(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(pooled),  # fixed-size map: the same weights serve P, 2P and 4P inputs
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(4 * w * pooled[0] * pooled[1], hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out)
        )

    @property
    def hidden(self) -> int:
        """Width of :meth:`embed`'s output."""
        return self.head[-1].in_features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_ch, H, W)`` → the hidden features ``(B, hidden)`` the last linear layer reads."""
        if x.ndim != 4 or x.shape[1] != self.in_ch or x.shape[2] < 4 or x.shape[3] < 4:
            raise ShapeError("TaskNet input", f"(B, {self.in_ch}, H>=4, W>=4)", x.shape)
        h = self.features(x)
        for i in range(len(self.head) - 1):  # indexing, not slicing: no new Sequential per call
            h = self.head[i](h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head[-1](self.embed(x))


class SaliencyNet(nn.Module):
    """Low-resolution view ``(B, 3, h, w)`` (RGB in [0, 1]) → saliency logits ``(B, 1, h/2, w/2)``.

    Normalises its input itself (``mean``/``std`` buffers), so it can sit inside ``SaliencySampler`` which hands it
    the raw pooled view. The last layer starts near zero: nearly uniform saliency, i.e. the sampler starts as plain uniform
    downsampling and learns where to zoom.
    """

    def __init__(self, width: int = 12, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)):
        super().__init__()
        w = width
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.features = nn.Sequential(
            _block(3, w), nn.MaxPool2d(2), _block(w, 2 * w), _block(2 * w, 2 * w, dilation=2),
        )
        self.out = nn.Conv2d(2 * w, 1, 1)
        nn.init.normal_(self.out.weight, std=1e-3)  # near-flat, yet every layer gets a gradient from step 1
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] < 2 or x.shape[3] < 2:
            raise ShapeError("SaliencyNet input", "(B, 3, h>=2, w>=2)", x.shape)
        return self.out(self.features((x - self.mean) / self.std))  # (B, 1, h/2, w/2)


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every ``Conv2d → BatchNorm2d`` pair of the ``_block``s into one conv (inference only, in place).

    Halves the number of small ops per block; the result computes the same function in eval mode.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for m in module.modules():
        if isinstance(m, nn.Sequential) and len(m) == 3 and isinstance(m[0], nn.Conv2d) and isinstance(m[1], nn.BatchNorm2d):
            m[0] = fuse_conv_bn_eval(m[0].eval(), m[1].eval())
            m[1] = nn.Identity()
    return module


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
