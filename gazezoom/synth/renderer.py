"""The synthetic eye renderer: :class:`EyeRenderer` (scene sampling + rendering) and :class:`SyntheticEyeDataset`.

>>> import torch
>>> r = EyeRenderer(out_size=(24, 40))
>>> batch = r.render(r.sample_params(2, seed=0))
>>> tuple(batch["image"].shape), batch["image"].dtype, tuple(batch["gaze"].shape)
((2, 3, 24, 40), torch.float32, (2, 2))
"""

from __future__ import annotations

import contextlib
import math

import torch

from ..errors import InputValueError, ShapeError
from .camera import camera_effects, mip_level
from .params import (
    HEAD_PROFILES,
    LID_PROFILES,
    LIGHT_PROFILES,
    SPLITS,
    RenderParams,
    mix_seed,
    partner_params,
    sample_params,
)
from .scene import aperture_mask, eye_landmarks_uv, lid_polylines_uv, pupil_uv, shade

__all__ = ["EyeRenderer", "SyntheticEyeDataset", "BatchIndexError", "BATCH_KEYS", "APERTURE_FILL",
           "mask_outside_aperture"]

#: keys of every rendered batch (tensors with first dimension n)
BATCH_KEYS = ("image", "gaze", "eye_width_px", "head", "openness", "kappa", "optical_gaze", "visual_gaze", "pupil_uv",
              "landmarks_uv")


class BatchIndexError(InputValueError, IndexError):
    """A dataset index is out of range (an ``IndexError`` too, so iteration stops as Python expects)."""


def _check_size(out_size) -> tuple[int, int]:
    try:
        H, W = (int(v) for v in out_size)
        ok = (H, W) == tuple(out_size)
    except (TypeError, ValueError):
        ok = False
    if not ok or H < 8 or W < 8:
        raise InputValueError(f"out_size must be (height, width) ints >= 8, e.g. (96, 160); got {out_size!r}")
    return H, W


class EyeRenderer:
    """Renders left-eye regions of the normalised eye space (``REGION_MM`` around the eye centre) with gaze labels.

    ``out_size`` (H, W) is the image size; ``device``/``dtype`` are where rendering runs (all torch ops, CPU or
    CUDA). ``chunk`` bounds memory: batches are rendered ``chunk`` samples at a time (default 16 on CPU, 512
    on GPUs). ``camera_effects=False``
    gives clean renders (no resampling to the frame resolution, no blur, noise or JPEG), e.g. for figures/tests.
    ``threads``: torch intra-op threads while sampling and rendering on the CPU (restored afterwards; None leaves
    torch's setting). "auto" is 1 for a CPU renderer and None otherwise. One thread is deliberate: the renderer
    runs many small ops, and on the shared 2-core machine two threads made a batch up to 20× slower (each op
    waits for a thread the other processes have descheduled); render in several processes for parallelism.
    """

    def __init__(self, out_size=(96, 160), device="cpu", dtype=torch.float32, *, chunk: int | None = None,
                 camera_effects: bool = True, threads: int | str | None = "auto"):
        self.out_size = _check_size(out_size)
        self.device = torch.device(device)
        if dtype not in (torch.float32, torch.float64):
            raise InputValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.dtype = dtype
        if chunk is None:  # small chunks keep CPU tensors in cache; a GPU wants big launches
            chunk = 16 if self.device.type == "cpu" else 512
        if int(chunk) < 1:
            raise InputValueError(f"chunk must be >= 1, got {chunk}")
        self.chunk = int(chunk)
        self.camera_effects = bool(camera_effects)
        if threads == "auto":
            threads = 1 if self.device.type == "cpu" else None
        if threads is not None and (isinstance(threads, str) or int(threads) < 1):
            raise InputValueError(f"threads must be >= 1, None (torch's setting) or 'auto', got {threads!r}")
        self.threads = None if threads is None else int(threads)

    def __repr__(self) -> str:
        return (f"EyeRenderer(out_size={self.out_size}, device='{self.device}', dtype={self.dtype}, "
                f"chunk={self.chunk}, camera_effects={self.camera_effects}, threads={self.threads})")

    @contextlib.contextmanager
    def _thread_limit(self):
        saved = torch.get_num_threads()
        limit = self.threads is not None and self.threads != saved
        if limit:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            if limit:
                torch.set_num_threads(saved)

    def sample_params(
        self, n: int, seed: int = 0, split: str = "train", *, lids: str = "default", head: str = "default",
        lights: str = "default",
    ) -> RenderParams:
        """Draw ``n`` scenes for ``split`` ("train" or "test"), reproducibly from ``seed``, on the renderer's device
        (``lids``, ``head``, ``lights``: profiles of :data:`~gazezoom.synth.params.LID_PROFILES` /
        ``HEAD_PROFILES`` / ``LIGHT_PROFILES``)."""
        with self._thread_limit():  # the draws run on the CPU whatever the device
            return sample_params(n, seed=seed, split=split, lids=lids, head=head,
                                 lights=lights).to(self.device, self.dtype)

    def render(self, params: RenderParams) -> dict[str, torch.Tensor]:
        """Render a batch. Returns a dict of tensors on the renderer's device (first dimension n):

        - ``image`` (n, 3, H, W) float RGB in [0, 1];
        - ``gaze`` (n, 2) the label: pitch/yaw (rad) of the population-mean visual axis in the normalised camera;
        - ``optical_gaze`` (n, 2) the rendered optical axis; ``visual_gaze`` (n, 2) this subject's visual axis
          (optical + ``kappa``, which calibration would have to find); ``kappa`` (n, 2) the subject's kappa;
        - ``head`` (n, 2) head residual pitch/yaw; ``eye_width_px`` (n,) eye width in the original frame;
        - ``openness`` (n,) lid aperture at its widest over the iris diameter, clipped to [0, 1] (≈ 0.6–1 open,
          < 0.3 in blinks; the trainer drops eyes below 0.15);
        - ``pupil_uv`` (n, 2) region coordinates of the pupil centre (unrefracted);
        - ``landmarks_uv`` (n, 15, 2) the pupil centre, 8 limbus points and 3 points on each lid margin, region
          coordinates (:func:`~.scene.eye_landmarks_uv`).
        """
        if not isinstance(params, RenderParams):
            raise InputValueError(f"render() takes RenderParams (from sample_params), got {type(params).__name__}")
        n = len(params)
        if params.gaze.ndim != 2 or params.gaze.shape[1] != 2:
            raise ShapeError("params.gaze", "(n, 2)", params.gaze.shape)
        if n == 0:
            raise InputValueError("params hold no scenes; sample at least one with sample_params(n >= 1)")
        if self.device.type != "cpu":
            with torch.no_grad():
                return self._render(params.to(self.device, self.dtype))
        with self._thread_limit(), torch.no_grad():
            return self._render(params.to(self.device, self.dtype))

    def _render(self, params: RenderParams) -> dict[str, torch.Tensor]:
        n = len(params)
        H, W = self.out_size
        # Samples that the camera blurs by >= 2^k render px (small eyes, defocus) are shaded at 1/2^k resolution
        # (k <= 2) and upsampled: their camera image is built from mip level >= k anyway. Sorting by level keeps
        # each chunk's canvas and shading resolution small; the original order is restored at the end.
        if self.camera_effects:
            level = mip_level(params, W)
            order = torch.argsort(level, stable=True)
        else:
            level, order = torch.zeros(n, device=self.device), torch.arange(n, device=self.device)
        outs = []
        for start in range(0, n, self.chunk):
            sel = order[start:start + self.chunk]
            p = params[sel]
            k = int(min(float(level[sel].min()), 2.0))
            size = (-(-H // 2**k), -(-W // 2**k))
            if min(size) < 8:
                k, size = 0, (H, W)
            sc = shade(p, size)
            image = camera_effects(sc["linear"], p, out_size=(H, W), base_level=k, enabled=self.camera_effects)
            outs.append({
                "image": image.contiguous(),
                "gaze": p.gaze,
                "eye_width_px": p.eye_width_px,
                "head": p.head,
                "openness": sc["openness"],
                "kappa": p.kappa,
                "optical_gaze": sc["optical_gaze"],
                "visual_gaze": sc["visual_gaze"],
                "pupil_uv": pupil_uv(p),
                "landmarks_uv": eye_landmarks_uv(p),
            })
        inverse = torch.argsort(order)
        return {k: torch.cat([o[k] for o in outs])[inverse] for k in BATCH_KEYS}


class SyntheticEyeDataset(torch.utils.data.Dataset):
    """``n`` synthetic eye images served as ``ceil(n / batch_size)`` ready-made batches.

    ``ds[i]`` renders batch ``i`` (the last one may be smaller) from the seed ``mix_seed(seed, i)`` of ``split``,
    so it is the same on every call and every worker; use ``DataLoader(ds, batch_size=None, shuffle=True)``.
    Batches hold the keys of :data:`BATCH_KEYS` (``image`` (b, 3, H, W), ``gaze`` (b, 2), …).

    ``pairs > 0``: each batch holds ``b / 2`` *people*, interleaved ``[left_0, right_0, left_1, right_1, …]``
    (the right eyes as mirrored patches, :func:`~.params.partner_params` with ``asymmetry = pairs``): what a
    binocular reader trains on. ``n`` and ``batch_size`` must then be even.

    ``aperture=True``: everything outside the lid margins is painted grey (:func:`mask_outside_aperture`), as
    :func:`gazezoom.face.eyes.mask_apertures` paints real frames from MediaPipe's eye contour.
    """

    def __init__(self, n: int = 200_000, seed: int = 0, split: str = "train", batch_size: int = 256,
                 out_size=(96, 160), device="cpu", dtype=torch.float32, *, lids: str = "default",
                 head: str = "default", lights: str = "default", pairs: float = 0.0, aperture: bool = False,
                 **renderer_kwargs):
        if not isinstance(n, int) or n < 1:
            raise InputValueError(f"n must be a positive int (number of images), got {n!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if split not in SPLITS:
            raise InputValueError(f"split must be one of {SPLITS}, got {split!r}")
        if lids not in LID_PROFILES:
            raise InputValueError(f"lids must be one of {sorted(LID_PROFILES)}, got {lids!r}")
        if head not in HEAD_PROFILES:
            raise InputValueError(f"head must be one of {sorted(HEAD_PROFILES)}, got {head!r}")
        if lights not in LIGHT_PROFILES:
            raise InputValueError(f"lights must be one of {sorted(LIGHT_PROFILES)}, got {lights!r}")
        self.n, self.seed, self.split, self.batch_size, self.lids = n, int(seed), split, batch_size, lids
        if pairs and (n % 2 or batch_size % 2):
            raise InputValueError(f"pairs of eyes need an even n and batch_size, got n={n}, batch_size={batch_size}")
        self.head, self.lights, self.pairs, self.aperture = head, lights, float(pairs), bool(aperture)
        self.renderer = EyeRenderer(out_size=out_size, device=device, dtype=dtype, **renderer_kwargs)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def batch_params(self, i: int) -> RenderParams:
        """The scene parameters of batch ``i``."""
        if not isinstance(i, int):
            i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise BatchIndexError(f"batch index {i} out of range: the dataset has {len(self)} batches")
        size = min(self.batch_size, self.n - i * self.batch_size)
        if self.pairs:
            size //= 2  # the left eyes; __getitem__ adds their partners
        return self.renderer.sample_params(size, seed=mix_seed(self.seed, i), split=self.split, lids=self.lids,
                                             head=self.head, lights=self.lights)

    def _render(self, p: RenderParams, seed: int) -> dict[str, torch.Tensor]:
        b = self.renderer.render(p)
        if self.aperture:
            b["image"] = mask_outside_aperture(b["image"], p, seed=seed)
        return b

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        p = self.batch_params(i)
        if not self.pairs:
            return self._render(p, mix_seed(self.seed + 11, int(i)))
        left = self._render(p, mix_seed(self.seed + 11, int(i)))
        right = self._render(partner_params(p, asymmetry=self.pairs, seed=mix_seed(self.seed + 7, int(i))),
                             mix_seed(self.seed + 13, int(i)))
        return {k: torch.stack([left[k], right[k]], 1).flatten(0, 1) for k in left}


#: Mid-grey (RGB in [0, 1]) that :func:`mask_outside_aperture` paints outside the lids; real frames get the same
#: (128 of 255) from :func:`gazezoom.face.eyes.mask_apertures`.
APERTURE_FILL = 128 / 255


def mask_outside_aperture(image: torch.Tensor, p: RenderParams, *, seed: int = 0,
                          jitter_mm: tuple[float, float] = (0.35, 0.15)) -> torch.Tensor:
    """``image (n, 3, H, W)`` with everything outside the eye's aperture painted :data:`APERTURE_FILL`: the lids,
    lashes, skin and their shading are gone, the iris and sclera between the lid margins stay. The aperture is the
    polygon of the lid margins sampled as MediaPipe's eye contour samples them (9 points a lid,
    :func:`~.scene.lid_polylines_uv`), each lid shifted by ``N(0, jitter_mm[0])`` and each point by
    ``N(0, jitter_mm[1])`` mm vertically (``seed``): a detected contour is not the exact margin."""
    from ..geometry import REGION_MM

    up, lo = lid_polylines_uv(p.to(image.device, image.dtype))
    g = torch.Generator().manual_seed(int(seed) & 0x7FFFFFFFFFFFFFFF)
    n, k = up.shape[:2]
    scale = 2.0 / REGION_MM[0]  # mm -> region v units

    def jitter():
        return ((torch.randn(n, 1, generator=g) * jitter_mm[0] + torch.randn(n, k, generator=g) * jitter_mm[1])
                * scale).to(image)

    up = torch.stack([up[..., 0], up[..., 1] + jitter()], -1)
    lo = torch.stack([lo[..., 0], lo[..., 1] + jitter()], -1)
    m = aperture_mask(up, lo, tuple(image.shape[-2:])).unsqueeze(1)
    return image * m + APERTURE_FILL * (1 - m)
