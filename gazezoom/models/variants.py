"""Gaze model variants: one task network behind different ways of turning the eye region into a small patch.

Every variant reads the same normalised eye region (``region_size``, by default 4P = 96 x 160, RGB in [0, 1]) and
feeds a patch to the same :class:`~gazezoom.models.nets.TaskNet`:

==================  ==========================================================================================
``sampler@P``       the saliency sampler (Learning to Zoom): saliency from a pooled low-res view → zoomed P patch
``uniform@P``       area downsampling of the whole region to P (the baseline the sampler must beat)
``uniform@2P``      area downsampling to 2P (reference)
``uniform@4P``      the region at full resolution, 4P (reference: what zooming tries to approach)
``center_crop@P``   a fixed zoom: the central ``crop_frac`` of the region, area-downsampled to P
``sampler_crop@P``  the sampler on that central crop (a learned zoom on top of the fixed one; experimental)
==================  ==========================================================================================

>>> import torch
>>> cfg = ModelConfig(variant="uniform@2P")
>>> cfg.input_size
(48, 80)
>>> out = build_model(cfg)(torch.rand(2, 3, 96, 160))
>>> out.pitchyaw.shape, out.patch.shape, out.grid.shape
(torch.Size([2, 2]), torch.Size([2, 3, 48, 80]), torch.Size([2, 48, 80, 2]))
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputValueError, ShapeError
from ..registry import Registry
from ..sampler import SaliencySampler, random_degrade, uniform_grid
from .nets import SaliencyNet, TaskNet

__all__ = [
    "ModelConfig",
    "GazeOutput",
    "GazeNet",
    "PairHead",
    "VARIANTS",
    "VARIANT_ALIASES",
    "ALL_VARIANTS",
    "resolve_variant",
    "variant_slug",
    "build_model",
    "forward_pairs",
    "OUTPUT_SIZE",
    "LOCATOR_OUTPUTS",
]


#: What the task network can be trained to predict (``ModelConfig.output``): ``"gaze"`` — pitch/yaw (radians) of the
#: visual axis in normalised eye space; ``"pupil"`` — the region coordinates ``(u, v)`` of the pupil centre (an
#: eye-region landmark, turned into gaze by the eyeball model of :mod:`gazezoom.models.geometric`).
OUTPUTS = ("gaze", "pupil", "landmarks")

#: Values the task network predicts per eye for each output: ``"landmarks"`` — the 15 eye-region landmarks of
#: :func:`gazezoom.synth.scene.eye_landmarks_uv` (pupil centre first, then 8 limbus points, 3 upper- and 3 lower-lid
#: points), flattened (u, v) pairs; the pupil centre (the first two) is what the eyeball model reads.
OUTPUT_SIZE = {"gaze": 2, "pupil": 2, "landmarks": 30}
#: The outputs that locate the pupil (its (u, v) first), which the eyeball model turns into gaze.
LOCATOR_OUTPUTS = ("pupil", "landmarks")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a variant and feed it correctly. Travels with the weights (JSON sidecar).

    Sizes are ``(height, width)`` in pixels. ``patch`` is P; ``region_size`` is the normalised eye region the model
    reads (the renderer's ``out_size``); ``low_size`` is the pooled view the saliency net sees.
    """

    variant: str = "sampler@P"
    patch: tuple[int, int] = (24, 40)
    region_size: tuple[int, int] = (96, 160)
    low_size: tuple[int, int] = (24, 40)
    grid_size: int = 31
    fwhm: float = 13.0
    padding_mode: str = "replicate"
    crop_frac: float = 0.5
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)
    task_width: int = 16
    saliency_width: int = 12
    supersample: int = 1  # sampler: read a (k*P) patch through the grid and area-pool it to P (anti-aliasing)
    infer_supersample: int = 0  # sampler in eval mode / on the app path: k used at inference (0: = supersample)
    output: str = "gaze"  # what the task net predicts: "gaze" (pitch, yaw radians) or "pupil" (its region u, v)
    binocular: bool = False  # the two eyes of a face read together: batches are [left_0, right_0, left_1, …]

    def __post_init__(self):
        for name in ("patch", "region_size", "low_size"):
            v = tuple(int(x) for x in getattr(self, name))
            if len(v) != 2 or min(v) < 4:
                raise InputValueError(f"ModelConfig.{name} must be (height, width) with both >= 4, got {v}")
            object.__setattr__(self, name, v)
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))
        object.__setattr__(self, "variant", resolve_variant(self.variant))
        if int(self.supersample) < 1:
            raise InputValueError(f"ModelConfig.supersample must be an int >= 1, got {self.supersample}")
        object.__setattr__(self, "supersample", int(self.supersample))
        if int(self.infer_supersample) < 0:
            raise InputValueError(f"ModelConfig.infer_supersample must be an int >= 0 (0: = supersample), "
                                  f"got {self.infer_supersample}")
        object.__setattr__(self, "infer_supersample", int(self.infer_supersample))
        if not (float(self.fwhm) > 0.0 and int(self.grid_size) >= 2):
            raise InputValueError(f"ModelConfig.fwhm must be > 0 and grid_size >= 2 (the sampler's kernel, in grid "
                                  f"cells), got fwhm={self.fwhm}, grid_size={self.grid_size}")
        if self.output not in OUTPUTS:
            raise InputValueError(f"ModelConfig.output must be one of {OUTPUTS}, got {self.output!r}")
        object.__setattr__(self, "binocular", bool(self.binocular))
        if not 0.0 < self.crop_frac <= 1.0:
            raise InputValueError(f"ModelConfig.crop_frac must be in (0, 1], got {self.crop_frac}")

    @property
    def input_size(self) -> tuple[int, int]:
        """Size of the patch the task network sees for this variant."""
        return VARIANTS.get(self.variant).input_size(self)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputValueError(f"unknown ModelConfig keys {sorted(unknown)}; known: {sorted(names)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


class GazeOutput(NamedTuple):
    """``pitchyaw (B, 2)`` radians (for ``ModelConfig.output == "pupil"``: the pupil centre's region ``(u, v)``); ``patch (B, 3, h, w)`` what the task net saw (RGB [0, 1], before degradation);
    ``grid (B, h, w, 2)`` where each patch pixel was read, region units; ``saliency (B, 1, g, g)`` or None."""

    pitchyaw: torch.Tensor
    patch: torch.Tensor
    grid: torch.Tensor
    saliency: torch.Tensor | None


class _VariantSpec(NamedTuple):
    input_size: Callable[[ModelConfig], tuple[int, int]]
    front: Callable[[ModelConfig], nn.Module]


def _central_crop(region: torch.Tensor, extent: float, min_px: int = 1) -> torch.Tensor:
    """The central ``extent`` (a fraction, per side) of ``region (..., H, W)``, at least ``min_px`` pixels a side."""
    H, W = (int(s) for s in region.shape[-2:])  # plain ints, also under ONNX tracing
    ch, cw = max(min_px, round(H * extent)), max(min_px, round(W * extent))
    y0, x0 = (H - ch) // 2, (W - cw) // 2
    return region[..., y0 : y0 + ch, x0 : x0 + cw]


class _Resample(nn.Module):
    """Area (adaptive average pool) resampling of the central ``extent`` of the region to ``out_size``."""

    def __init__(self, out_size: tuple[int, int], extent: float = 1.0):
        super().__init__()
        self.out_size, self.extent = tuple(out_size), float(extent)
        self.register_buffer("grid", uniform_grid(self.out_size) * self.extent, persistent=False)  # (1, h, w, 2)

    def forward(self, region: torch.Tensor):
        x = _central_crop(region, self.extent) if self.extent < 1.0 else region
        if tuple(x.shape[-2:]) != self.out_size:
            x = F.adaptive_avg_pool2d(x, self.out_size)
        return x, self.grid.expand(region.shape[0], -1, -1, -1), None


class _Zoom(nn.Module):
    """The Learning-to-Zoom sampler on the whole region (gazezoom.sampler.SaliencySampler).

    With ``supersample = k > 1`` the sampler reads a ``k*P`` patch through its grid and the patch is area-pooled
    ``k x k`` down to P: bilinear point sampling at a 4x zoom-out aliases (sensor noise and texture at full
    amplitude) where the uniform baseline averages; with ``k = region / P`` and flat saliency this front equals
    close to ``uniform@P`` (the flat-saliency grid is near, not exactly, the identity), so zooming is what it adds.
    ``infer_supersample`` (when > 0) is the k used in eval mode and on the app path: the same saliency and grid,
    read more sparsely (cheaper; its accuracy cost is measured in weights/DATA_CARD.md).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.k = cfg.supersample
        self.k_infer = cfg.infer_supersample or cfg.supersample
        self.patch_size = tuple(cfg.patch)
        self.sampler = SaliencySampler(
            SaliencyNet(cfg.saliency_width, cfg.mean, cfg.std),
            grid_size=cfg.grid_size,
            out_size=(cfg.patch[0] * self.k, cfg.patch[1] * self.k),
            low_size=cfg.low_size,
            fwhm=cfg.fwhm,
            padding_mode=cfg.padding_mode,
            degrade=0.0,  # GazeNet degrades every variant's patch the same way (see GazeNet.forward)
        )

    def _k(self) -> int:
        return self.k if self.training else self.k_infer

    def _pool(self, out, k: int):
        if k == 1:
            return out.patch, out.grid, out.saliency
        grid = F.avg_pool2d(out.grid.permute(0, 3, 1, 2), k).permute(0, 2, 3, 1)  # (B, h, w, 2)
        return F.avg_pool2d(out.patch, k), grid, out.saliency

    def _float32(self, fn, x: torch.Tensor, *args, **kwargs):
        # The grid comes from a softmax and a wide Gaussian and, on the app path, is composed with full-frame pixel
        # coordinates: both paths keep it in float32 even under mixed precision (bfloat16 moves it by pixels).
        k = self._k()
        size = (self.patch_size[0] * k, self.patch_size[1] * k)
        with torch.autocast(x.device.type, enabled=False):
            return self._pool(fn(x.float(), *args, out_size=size, **kwargs), k)

    def forward(self, region: torch.Tensor):
        return self._float32(self.sampler, region)

    def forward_regions(self, frame: torch.Tensor, region_to_frame: torch.Tensor, batch_index=None, low=None):
        """The app path: ``(patch (N, 3, *P), grid (N, *P, 2) region units, saliency)`` read from full-res frames
        (``low``: the saliency's view, already read through :meth:`view_maps`; see ``SaliencySampler``)."""
        return self._float32(self.sampler.forward_regions, frame, region_to_frame, batch_index,
                             low=None if low is None else low.float())

    def view_maps(self, region_to_frame: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int], int]:
        """How :meth:`forward_regions` reads the saliency's low-resolution view: through ``(N, 3, 3)`` maps (region
        units → frame pixels), at ``(h, w)`` (``region_oversample × low_size``), then average-pooled ``k × k``."""
        s = self.sampler
        k = s.region_oversample
        return region_to_frame, (s.low_size[0] * k, s.low_size[1] * k), k


class _CropZoom(_Zoom):
    """The sampler on the central ``crop_frac`` of the region (``sampler_crop@P``): the centre crop's field of view,
    read at the region's full resolution, with the learned saliency redistributing the samples inside it.

    The shipped ``sampler@P`` learned about this much on its own (its grid spans the central half and gives the
    pupil the crop's 2x, docs/zoom.md); starting from the crop frees the saliency to zoom past 2x. Grids are
    returned in *region* units like every variant's. On the app path the region → frame homography is composed with
    the crop's scaling, so the sampler reads the same part of the full-resolution frame.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        H, W = cfg.region_size
        self.extent = cfg.crop_frac
        ch, cw = _central_crop(torch.empty(H, W), self.extent, min_px=2).shape
        # pixel centres of the central crop in region units (align_corners: -1 and 1 are the first/last centres)
        sy, sx = (ch - 1) / (H - 1), (cw - 1) / (W - 1)
        self.register_buffer("scale", torch.tensor([sx, sy]), persistent=False)
        self.register_buffer("crop_to_region", torch.diag(torch.tensor([sx, sy, 1.0])), persistent=False)

    def forward(self, region: torch.Tensor):
        patch, grid, saliency = super().forward(_central_crop(region, self.extent, min_px=2))
        return patch, grid * self.scale, saliency

    def forward_regions(self, frame: torch.Tensor, region_to_frame: torch.Tensor, batch_index=None, low=None):
        patch, grid, saliency = super().forward_regions(
            frame, region_to_frame @ self.crop_to_region.to(region_to_frame.dtype), batch_index, low)
        return patch, grid * self.scale, saliency

    def view_maps(self, region_to_frame: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int], int]:
        return super().view_maps(region_to_frame @ self.crop_to_region.to(region_to_frame.dtype))


VARIANTS: Registry[_VariantSpec] = Registry("gaze model variant")


def _scaled(k: int) -> Callable[[ModelConfig], tuple[int, int]]:
    return lambda c: (c.patch[0] * k, c.patch[1] * k)


VARIANTS.register("sampler@P", _VariantSpec(_scaled(1), _Zoom))
VARIANTS.register("uniform@P", _VariantSpec(_scaled(1), lambda c: _Resample(c.patch)))
VARIANTS.register("uniform@2P", _VariantSpec(_scaled(2), lambda c: _Resample(_scaled(2)(c))))
VARIANTS.register("uniform@4P", _VariantSpec(_scaled(4), lambda c: _Resample(_scaled(4)(c))))
VARIANTS.register("center_crop@P", _VariantSpec(_scaled(1), lambda c: _Resample(c.patch, c.crop_frac)))
VARIANTS.register("sampler_crop@P", _VariantSpec(_scaled(1), _CropZoom))

#: The evaluation table's rows, in order (``gazezoom eval``, the real-media scoreboard).
ALL_VARIANTS = ("uniform@P", "sampler@P", "uniform@2P", "uniform@4P", "center_crop@P")

#: Short names accepted wherever a variant is named.
VARIANT_ALIASES = {"sampler": "sampler@P", "uniform": "uniform@P", "center_crop": "center_crop@P"}


def resolve_variant(name: str) -> str:
    """Canonical variant name; aliases (``"sampler"``) and file slugs (``"uniform_2P"``) are accepted.

    >>> resolve_variant("sampler"), resolve_variant("uniform_2P")
    ('sampler@P', 'uniform@2P')
    """
    name = VARIANT_ALIASES.get(name, name)
    if name not in VARIANTS:
        for v in VARIANTS:
            if variant_slug(v) == name:
                return v
        VARIANTS.get(name)  # raises UnknownNameError listing the valid names
    return name


def variant_slug(name: str) -> str:
    """File-name form of a variant: ``"uniform@2P"`` → ``"uniform_2P"``."""
    return name.replace("@", "_")


class PairHead(nn.Module):
    """The binocular term: each eye's reading is corrected by what the *other* eye of the face shows.

    ``forward(h (B, hidden))`` with ``B`` even and rows ``[left_0, right_0, left_1, right_1, …]`` (the right eyes
    as mirrored patches) → ``(B, out)``, added to each eye's own output. Row ``i`` reads ``[h_i, h_partner(i)]``, so
    each eye still reports its own value — the two are never copied or averaged by construction (their agreement
    on real faces is the label-free check of docs/zoom.md). The last layer starts at zero: a binocular model
    fine-tuned from a monocular one starts as that model.
    """

    def __init__(self, hidden: int, out: int = 2):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, C = h.shape
        if not torch.jit.is_tracing() and B % 2:
            raise ShapeError("binocular batch (the two eyes of each face, left then right)", "(2k, hidden)",
                             h.shape)
        partner = h.reshape(-1, 2, C).flip(1).reshape(-1, C)
        return self.net(torch.cat([h, partner], 1))


class GazeNet(nn.Module):
    """Region → patch (variant-specific front) → :class:`TaskNet` → gaze. See the module docstring.

    ``forward(region (B, 3, H, W) RGB [0, 1], degrade=False, generator=None) -> GazeOutput``. With
    ``degrade=True`` the patch the task net sees is average-pooled to a random lower resolution and resized back
    (:func:`gazezoom.sampler.random_degrade`, the paper's early-training trick), for every variant alike.
    With ``config.binocular`` the batch holds the two eyes of each face, ``[left_0, right_0, left_1, …]``, and a
    :class:`PairHead` lets each eye's reading use the other's features.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.front = VARIANTS.get(cfg.variant).front(cfg)
        self.task = TaskNet(in_ch=5, width=cfg.task_width, out=OUTPUT_SIZE[cfg.output])
        self.pair = PairHead(self.task.hidden, OUTPUT_SIZE[cfg.output]) if cfg.binocular else None
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, 3, 1, 1), persistent=False)

    def head(self, patch: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """Task network on a patch ``(B, 3, h, w)`` RGB [0, 1] read at ``grid (B, h, w, 2)`` (region units)."""
        if patch.ndim != 4 or patch.shape[1] != 3:
            raise ShapeError("patch", "(B, 3, h, w)", patch.shape)
        if grid.shape != (patch.shape[0], *patch.shape[2:], 2):
            raise ShapeError("grid", f"({patch.shape[0]}, {patch.shape[2]}, {patch.shape[3]}, 2)", grid.shape)
        x = torch.cat([(patch - self.mean) / self.std, grid.permute(0, 3, 1, 2).to(patch.dtype)], 1)  # (B, 5, h, w)
        if self.pair is None:
            return self.task(x)
        h = self.task.embed(x)
        return self.task.head[-1](h) + self.pair(h)

    def forward(
        self, region: torch.Tensor, degrade: bool = False, generator: torch.Generator | None = None
    ) -> GazeOutput:
        H, W = self.config.region_size
        if region.ndim != 4 or region.shape[1] != 3 or tuple(region.shape[2:]) != (H, W):
            raise ShapeError("eye region", f"(B, 3, {H}, {W})", region.shape)
        patch, grid, saliency = self.front(region)
        seen = random_degrade(patch, generator=generator) if degrade else patch
        return GazeOutput(self.head(seen, grid), patch, grid, saliency)

    def saliency_parameters(self) -> list[nn.Parameter]:
        """Parameters of the saliency network (trained at a lower learning rate, as in the paper)."""
        return [p for n, p in self.named_parameters() if n.startswith("front.")]


def forward_pairs(model: GazeNet, left: torch.Tensor, right: torch.Tensor) -> tuple[GazeOutput, GazeOutput]:
    """``model`` on the left eyes ``(B, 3, H, W)`` and the right eyes ``(B, 3, H, W)`` (mirrored patches) of the
    same ``B`` faces: a binocular model reads them interleaved ``[left_0, right_0, …]``, others each set alone."""
    if left.shape != right.shape:
        raise ShapeError("right eyes", f"the left eyes' shape {tuple(left.shape)}", right.shape)
    if not model.config.binocular:
        return model(left), model(right)
    out = model(torch.stack([left, right], 1).flatten(0, 1))
    return (GazeOutput(*(None if t is None else t[0::2] for t in out)),
            GazeOutput(*(None if t is None else t[1::2] for t in out)))


def build_model(cfg: ModelConfig | str) -> GazeNet:
    """Build a fresh (untrained) variant from a config or a variant name with default settings."""
    if isinstance(cfg, str):
        cfg = ModelConfig(variant=cfg)
    return GazeNet(cfg)
