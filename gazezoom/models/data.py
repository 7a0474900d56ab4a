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

import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.utils.data import default_collate

from ..errors import InputValueError
from ..registry import Registry

__all__ = ["DATASETS", "GROUP", "ToyEyes", "iter_batches", "is_batched", "render_cache", "CachedEyes"]

#: name → builder ``(n, seed, split, batch_size, region_size, device) -> dataset``
DATASETS: Registry = Registry("training dataset")


@DATASETS.register("synthetic")
def _synthetic(n: int, seed: int, split: str, batch_size: int, region_size, device, lids: str = "default",
               head: str = "default", lights: str = "default", pairs: float = 0.0, aperture: bool = False):
    """The gazezoom renderer (100 % synthetic high-resolution eye regions with exact labels)."""
    from ..synth import SyntheticEyeDataset

    # The renderer works in chunks to bound memory; a GPU has room for whole batches (far fewer kernel launches).
    kw = {"chunk": max(16, batch_size)} if torch.device(device).type == "cuda" else {}
    return SyntheticEyeDataset(n, seed, split, batch_size, tuple(region_size), device, lids=lids, head=head, lights=lights,
                               pairs=pairs, aperture=aperture, **kw)


@DATASETS.register("synthetic_wide_lids")
def _synthetic_wide_lids(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The renderer with the "wide" lid profile: lid apertures down to those measured on real faces (docs/zoom.md).
    Not what the shipped weights were trained on; for the next training run."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="wide")


@DATASETS.register("synthetic_squint")
def _synthetic_squint(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The renderer with the "squint" lid profile: as "wide", and the lower lid up to 4 mm over the iris (smiles,
    squints: what real faces show most). Trained on by the pupil locator (weights/DATA_CARD.md)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint")


@DATASETS.register("synthetic_real_lids")
def _synthetic_real_lids(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The renderer with the "real" lid profile: "squint" plus a dark 1-3 mm band along the upper lid margin (thick
    lashes in the lid's shadow), the real-eye look the pupil locator misread (docs/zoom.md)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="real")


@DATASETS.register("synthetic_catchlights")
def _synthetic_catchlights(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The "squint" lids plus the "catchlights" light profile: large area-light reflections anywhere on the cornea,
    independent of the gaze (real photos' windows and ring lights). Not what the shipped weights were trained on; a
    locator fine-tuned on it read real eyes no better (docs/zoom.md)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", lights="catchlights")


@DATASETS.register("synthetic_clutter")
def _synthetic_clutter(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """As "synthetic_catchlights", plus shading blobs anywhere around the eye, independent of the gaze (the "clutter"
    light profile: folds, creases, shadows and highlights that the locator must not read as lid contours)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", lights="clutter")


@DATASETS.register("synthetic_wet")
def _synthetic_wet(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """As "synthetic_clutter", plus the lower lid's visible margin and tear-film line (the "wet" light profile)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", lights="wet")


@DATASETS.register("synthetic_pairs")
def _synthetic_pairs(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The "squint" renders as *pairs*: the two eyes of one person at one moment, interleaved left, right (the
    right as its mirrored patch; lids, width and tilt differing a little between the two, ``pairs=1``), for a
    binocular reader (``train --binocular``). Batches and cached sets keep the pairs together (:data:`GROUP`)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", pairs=1.0)


@DATASETS.register("synthetic_free_lids")
def _synthetic_free_lids(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The "free" lid profile: "squint"'s ranges with each lid following the iris by a gain drawn from 0 to 1, so
    where the lids sit tells little about where the iris is (a pupil locator must read the iris itself)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="free")


@DATASETS.register("synthetic_dark_iris")
def _synthetic_dark_iris(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The "squint" lids with the "dark" light profile: catchlights, and 70 % of irises darkened to an almost black
    disc whose pupil cannot be seen, as dark irises look in real webcam frames."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", lights="dark")


@DATASETS.register("synthetic_aperture")
def _synthetic_aperture(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The "squint" renders with everything outside the lid margins painted grey (the aperture, jittered as a
    detected contour is): a locator that reads only the iris and sclera between the lids, so the lids', lashes' and
    skin's appearance — where renders and real faces differ most — cannot mislead it (the stages paint real frames
    the same way from MediaPipe's eye contour)."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="squint", aperture=True)


@DATASETS.register("synthetic_aperture_free")
def _synthetic_aperture_free(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """"synthetic_aperture" with the "free" lids: nothing outside the lid margins to see, and where the margins sit
    says little about where the iris is — what is left to read is the iris and sclera themselves."""
    return _synthetic(n, seed, split, batch_size, region_size, device, lids="free", aperture=True)


#: data source → how many consecutive items belong together (a shuffle moves them as one; default 1).
GROUP = {"synthetic_pairs": 2}


@DATASETS.register("synthetic_small_head")
def _synthetic_small_head(n: int, seed: int, split: str, batch_size: int, region_size, device):
    """The renderer with the "small" head-residual profile (±5°, from the front-end's measured head-pose spread,
    docs/zoom.md): the same scenes with a smaller residual head rotation. Not what the shipped weights were trained
    on; a candidate for the next training run."""
    return _synthetic(n, seed, split, batch_size, region_size, device, head="small")


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
    dataset, batch_size: int, *, start: int = 0, seed: int = 0, device=None, loop: bool = True, stride: int = 1
) -> Iterator[dict]:
    """Yield batch dicts for batch indices ``start, start + stride, …`` (epoch after epoch while ``loop``), moved to
    ``device``.

    Batched datasets are read in order (item ``i`` is batch ``i``); per-sample datasets are shuffled per epoch with
    a generator seeded by ``(seed, epoch)``, so a resumed run sees the same batches as an uninterrupted one.
    ``stride > 1`` reads every ``stride``-th batch of that one sequence (a rank's share, see
    :func:`gazezoom.distributed.shard_batches`); only those batches are read.
    """
    if stride < 1:
        raise InputValueError(f"stride must be >= 1, got {stride}")
    n = len(dataset)
    if n == 0:
        raise InputValueError("the training dataset is empty")
    batched = is_batched(dataset[0])
    per_epoch = n if batched else n // batch_size
    if per_epoch == 0:
        raise InputValueError(f"dataset has {n} samples, fewer than one batch of {batch_size}")
    perm_epoch, perm = -1, None
    i = start
    while True:
        epoch, j = divmod(i, per_epoch)
        if epoch > 0 and not loop:
            return
        if batched:
            item = dataset[j]
        else:
            if epoch != perm_epoch:  # one permutation per epoch, not per batch
                perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1009 + epoch))
                perm_epoch = epoch
            item = default_collate([dataset[int(k)] for k in perm[j * batch_size : (j + 1) * batch_size]])
        yield {k: (v.to(device) if device is not None and torch.is_tensor(v) else v) for k, v in item.items()}
        i += stride


def _to_cache_parts(b: dict, parts: dict) -> None:
    for k, v in b.items():
        if not torch.is_tensor(v):
            continue
        v = v.detach().cpu()
        parts.setdefault(k, []).append((v.clamp(0, 1) * 255).round().to(torch.uint8) if k == "image" else v)


def _render_shard(builder: str, args: tuple, lo: int, hi: int, out: str, threads: int) -> None:
    """Worker of :func:`render_cache`: items ``lo … hi-1`` of ``DATASETS.get(builder)(*args)`` → ``out``."""
    from .checkpoint import torch_save_atomic

    torch.set_num_threads(threads)
    ds = DATASETS.get(builder)(*args)
    parts: dict[str, list] = {}
    for i in range(lo, hi):
        _to_cache_parts(ds[i], parts)
    torch_save_atomic({k: torch.cat(v) for k, v in parts.items()}, out)


def render_cache(dataset, path: str | Path | None = None, *, progress: bool = True, workers: int = 1,
                 spec: tuple[str, tuple] | None = None) -> dict:
    """Render every item of a batched dataset once → ``{"image": uint8 (N, 3, H, W), <other keys>: (N, ...)}``.

    With ``path``, the result is saved there (``torch.save``) and read back (``weights_only=True``, memory-mapped,
    so several training processes share one copy in the page cache) next time, so all variants of a comparison
    train on the very same images without paying the renderer again. uint8 keeps the cache at 46 KB per 96x160 eye.

    ``workers > 1`` renders contiguous runs of items in that many processes (``spec = (builder name in
    DATASETS, builder args)`` rebuilds the dataset in each; items are seeded by their index, so the result is
    the same as with one worker). The renderer is many small ops on one thread: on a GPU host or a multi-core CPU,
    parallel processes are what make it fast.
    """
    from tqdm import tqdm

    if path is not None and Path(path).is_file():
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    n_items = len(dataset)
    workers = max(1, min(int(workers), n_items))
    parts: dict[str, list] = {}
    if workers == 1 or spec is None:
        for b in tqdm(iter_batches(dataset, 1, loop=False), total=n_items, desc=f"render {Path(path or '').name}",
                      disable=not progress, file=sys.stderr):
            _to_cache_parts(b, parts)
        cache = {k: torch.cat(v) for k, v in parts.items()}
    else:
        cache = _render_parallel(spec, n_items, workers, path, progress)
    if path is not None:
        from .checkpoint import torch_save_atomic

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch_save_atomic(cache, path)
    return cache


def _render_parallel(spec: tuple[str, tuple], n_items: int, workers: int, path, progress: bool) -> dict:
    import multiprocessing as mp
    import os
    import tempfile
    from multiprocessing.connection import wait

    from tqdm import tqdm

    bounds = [round(n_items * r / workers) for r in range(workers + 1)]
    threads = max(1, (os.cpu_count() or 1) // workers)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="render_", dir=Path(path).parent if path is not None else None) as tmp:
        outs = [str(Path(tmp) / f"part{r:03d}.pt") for r in range(workers)]
        ctx = mp.get_context("spawn")  # CUDA cannot be forked; spawn is also what the CPU renderer wants
        procs = [ctx.Process(target=_render_shard, args=(spec[0], spec[1], bounds[r], bounds[r + 1], outs[r], threads),
                             daemon=True) for r in range(workers)]
        for pr in procs:
            pr.start()
        bar = tqdm(total=workers, desc=f"render {Path(path or '').name} ({workers} processes)", disable=not progress,
                   file=sys.stderr)
        try:
            pending = {pr.sentinel: r for r, pr in enumerate(procs)}
            while pending:
                for sentinel in wait(list(pending)):  # blocks until a worker ends; a failed one stops the rest
                    r = pending.pop(sentinel)
                    procs[r].join()
                    if procs[r].exitcode != 0:
                        raise InputValueError(f"render worker {r} (items {bounds[r]}…{bounds[r + 1] - 1}) failed "
                                              f"with exit code {procs[r].exitcode}; see its error above")
                    bar.update(1)
        finally:
            bar.close()
            for pr in procs:
                if pr.is_alive():
                    pr.terminate()
        shards = [torch.load(o, map_location="cpu", weights_only=True, mmap=True) for o in outs]
        return {k: torch.cat([s[k] for s in shards]) for k in shards[0]}


class CachedEyes(torch.utils.data.Dataset):
    """Batches drawn from a :func:`render_cache` dict, reshuffled every epoch; item ``i`` is batch ``i``.

    ``n_batches`` items of ``batch_size`` (epochs of ``N // batch_size`` batches, shuffled with ``(seed, epoch)``),
    so item ``i`` is the same on every call: resuming at batch ``i`` continues the same sequence.
    """

    def __init__(self, cache: dict, batch_size: int, n_batches: int, seed: int = 0, device="cpu", shuffle=True,
                 group: int = 1):
        self.cache, self.batch_size, self.n_batches = cache, int(batch_size), int(n_batches)
        self.seed, self.device, self.shuffle, self.group = int(seed), torch.device(device), shuffle, int(group)
        self.N = int(cache["image"].shape[0])
        if self.N % self.group or self.batch_size % self.group:
            raise InputValueError(f"a set of groups of {group} eyes (pairs of one face) needs the number of eyes "
                                  f"({self.N}) and the batch size ({batch_size}) divisible by {group}")
        self.per_epoch = self.N // self.batch_size if shuffle else -(-self.N // self.batch_size)
        if self.per_epoch < 1:
            raise InputValueError(f"the cache holds {self.N} eyes, fewer than one batch of {batch_size}")
        self._perm: tuple[int, torch.Tensor] | None = None

    def __len__(self) -> int:
        return self.n_batches

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n_batches:
            raise IndexError(i)
        epoch, j = divmod(i, self.per_epoch)
        if not self.shuffle:
            idx = torch.arange(j * self.batch_size, min(self.N, (j + 1) * self.batch_size))
        else:
            if self._perm is None or self._perm[0] != epoch:
                g = torch.Generator().manual_seed(self.seed * 1009 + epoch)
                k = self.group  # groups move as one: [left_i, right_i] stay next to each other
                perm = torch.randperm(self.N // k, generator=g)
                self._perm = (epoch, perm if k == 1 else (perm[:, None] * k + torch.arange(k)).flatten())
            idx = self._perm[1][j * self.batch_size : (j + 1) * self.batch_size]
        out = {k: v[idx].to(self.device) for k, v in self.cache.items()}
        out["image"] = out["image"].float().div_(255.0)
        return out
