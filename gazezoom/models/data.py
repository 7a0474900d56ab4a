"""Training/evaluation data plumbing: a registry of data sources and one batch iterator for all of them.

A data source is a map-style dataset whose items are dicts with at least ``"image"`` (RGB float in [0, 1]) and
``"gaze"`` (pitch, yaw radians, normalised eye space, left-eye patch convention); optional ``"openness"`` (0 closed
… 1 open) and ``"eye_width_px"``. Items are either **whole batches** (``image (B, 3, H, W)``, like
``gazezoom.synth.SyntheticEyeDataset``) or **single samples** (``image (3, H, W)``, like the real-dataset loaders of
the training-at-scale issue); :func:`iter_batches` takes both, so new loaders plug in by registering a builder in
:data:`DATASETS` with the signature ``(n, seed, split, batch_size, region_size, device) -> dataset``.

>>> ds = DATASETS.get("toy")(n=8, seed=0, split="train", batch_size=4, region_size=(24, 40), device="cpu")
>>> b = next(iter_batches(ds, 4))
>>> b["image"].shape, b["gaze"].shape
(torch.Size([4, 3, 24, 40]), torch.Size([4, 2]))
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch.utils.data import default_collate

from ..errors import InputValueError
from ..registry import Registry

__all__ = ["DATASETS", "ToyEyes", "iter_batches", "is_batched"]

#: name → builder ``(n, seed, split, batch_size, region_size, device) -> dataset``
DATASETS: Registry = Registry("training dataset")


@DATASETS.register("synthetic")
def _synthetic(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The gazezoom renderer (100 % synthetic high-resolution eye regions with exact labels)."""
    from ..synth import SyntheticEyeDataset

    return SyntheticEyeDataset(n, seed, split, batch_size, tuple(region_size), device)


class ToyEyes(torch.utils.data.Dataset):
    """A deliberately crude stand-in (SYNTHETIC, for tests and smoke runs only): a grey sclera ellipse with a dark
    iris disc displaced by the gaze, on skin-coloured background, plus noise. Items are whole batches.
    """

    def __init__(self, n: int, seed: int, split: str, batch_size: int, region_size=(96, 160), device="cpu"):
        if n < 1 or batch_size < 1:
            raise InputValueError(f"ToyEyes needs n >= 1 and batch_size >= 1, got n={n}, batch_size={batch_size}")
        self.n, self.seed, self.batch_size = int(n), int(seed) + (0 if split == "train" else 7919), int(batch_size)
        self.region_size, self.device = tuple(region_size), torch.device(device)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        b = min(self.batch_size, self.n - i * self.batch_size)
        g = torch.Generator().manual_seed(self.seed * 100003 + i)
        gaze = (torch.rand(b, 2, generator=g) - 0.5) * torch.tensor([0.8, 1.2])  # (b, 2) pitch, yaw
        size = 0.5 + torch.rand(b, generator=g)  # eye size in the region
        H, W = self.region_size
        ys = torch.linspace(-1, 1, H).view(1, H, 1)
        xs = torch.linspace(-1, 1, W).view(1, 1, W)
        cx, cy = -0.45 * size * torch.sin(gaze[:, 1]), -0.4 * size * torch.sin(gaze[:, 0])  # iris centre
        sclera = ((xs / (0.6 * size.view(-1, 1, 1))) ** 2 + (ys / (0.35 * size.view(-1, 1, 1))) ** 2) < 1
        iris = ((xs - cx.view(-1, 1, 1)) ** 2 + ((ys - cy.view(-1, 1, 1)) * W / H) ** 2) < (0.15 * size.view(-1, 1, 1)) ** 2
        img = torch.tensor([0.8, 0.6, 0.5]).view(1, 3, 1, 1).expand(b, 3, H, W).clone()
        img = torch.where(sclera[:, None], torch.full_like(img, 0.9), img)
        img = torch.where((sclera & iris)[:, None], torch.full_like(img, 0.2), img)
        img = (img + 0.03 * torch.randn(img.shape, generator=g)).clamp(0, 1)
        return {
            "image": img.to(self.device),
            "gaze": gaze.to(self.device),
            "openness": torch.ones(b, device=self.device),
            "eye_width_px": (40 * size).to(self.device),
        }


DATASETS.register("toy", ToyEyes)


def is_batched(item: dict) -> bool:
    """True when a dataset item is a whole batch (``image`` has 4 dimensions)."""
    return item["image"].ndim == 4


def iter_batches(
    dataset, batch_size: int, *, start: int = 0, seed: int = 0, device=None, loop: bool = True
) -> Iterator[dict]:
    """Yield batch dicts from batch index ``start`` on (epoch after epoch while ``loop``), moved to ``device``.

    Batched datasets are read in order (item ``i`` is batch ``i``); per-sample datasets are shuffled per epoch with
    a generator seeded by ``(seed, epoch)``, so a resumed run sees the same batches as an uninterrupted one.
    """
    n = len(dataset)
    if n == 0:
        raise InputValueError("the training dataset is empty")
    batched = is_batched(dataset[0])
    per_epoch = n if batched else n // batch_size
    if per_epoch == 0:
        raise InputValueError(f"dataset has {n} samples, fewer than one batch of {batch_size}")
    i = start
    while True:
        epoch, j = divmod(i, per_epoch)
        if epoch > 0 and not loop:
            return
        if batched:
            item = dataset[j]
        else:
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1009 + epoch))
            item = default_collate([dataset[int(k)] for k in perm[j * batch_size : (j + 1) * batch_size]])
        yield {k: (v.to(device) if device is not None and torch.is_tensor(v) else v) for k, v in item.items()}
        i += 1
