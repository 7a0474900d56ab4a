"""``GazePredictor``: the numpy-facing side of the gaze model (segment-anything ``predictor.py`` style).

The ``nn.Module`` knows tensors only; the predictor owns colour order (BGR frames in, RGB to the network), device,
cropping the frame to the eyes, un-mirroring right eyes, rotating back to camera space and fusing the two eyes.

>>> GazePredictor().predict_regions(None, None)
Traceback (most recent call last):
...
gazezoom.errors.StateError: GazePredictor has no weights loaded; create it with GazePredictor.from_weights("weights", variant="sampler") or call .load(path) first
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputValueError, ShapeError, StateError, UnreadableEyesError
from ..face.eyes import normalised_to_camera
from ..fileio import WEIGHTS_DIR
from ..geometry import apply_homography, pitchyaw_to_vector, vector_to_pitchyaw
from ..results import EyeGaze, EyeRegion, EyeSample, Face, GazeResult
from .checkpoint import load_weights, weights_path
from .nets import fold_batchnorm
from .variants import GazeNet

__all__ = ["GazePredictor", "RegionGaze", "frame_crop", "region_maps", "eye_weights", "readable_weights", "fuse_eyes", "two_eyes", "fused_result"]


@dataclass(frozen=True, eq=False)
class RegionGaze:
    """Per-region output of :meth:`GazePredictor.predict_regions` (N regions): inference results only.

    ``pitchyaw (N, 2)`` what the network predicts on the patch (radians, or a pupil's region ``u, v``; a right eye's
    patch is mirrored, so its yaw is mirrored too). Kept with ``keep_samples=True`` (else None): ``patch (N, h, w,
    3)`` float32 RGB [0, 1] the patch the network saw, ``grid (N, h, w, 2)`` float32 region units where it was read,
    ``saliency (N, g, g)`` or None. Pictures of them: :func:`gazezoom.views.eye_views`.
    """

    pitchyaw: np.ndarray
    patch: np.ndarray | None = None
    grid: np.ndarray | None = None
    saliency: np.ndarray | None = None

    def sample(self, i: int) -> EyeSample | None:
        """What the sampler read for region ``i`` (None where not kept)."""
        if self.patch is None or self.grid is None:
            return None
        return EyeSample(patch=self.patch[i], grid=self.grid[i],
                         saliency=None if self.saliency is None else self.saliency[i])


def _frame_tensor(frame: np.ndarray) -> np.ndarray:
    """BGR ``(H, W, 3)``, BGRA ``(H, W, 4)`` or gray ``(H, W)`` uint8 → RGB ``(H, W, 3)`` uint8 (a view when possible)."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise InputValueError(f"frame must be a uint8 numpy array (OpenCV BGR), got {type(frame).__name__} "
                              f"{getattr(frame, 'dtype', '')}")
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        return frame[..., 2::-1]
    raise ShapeError("frame", "(H, W), (H, W, 3) BGR or (H, W, 4) BGRA", frame.shape)


def frame_crop(frame_bgr: np.ndarray, H: np.ndarray,
               device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The part of a BGR frame that ``N`` regions cover, and the regions' maps into it.

    ``H (N, 3, 3)`` region → frame homographies (float64). Returns ``crop (1, 3, h, w)`` RGB [0, 1] on ``device``
    and ``Hc (N, 3, 3)`` float32 region → crop pixels. Only the crop is converted, whatever the frame's size.
    """
    rgb = _frame_tensor(frame_bgr)
    # Read only the part of the frame the regions cover: the corners bound every grid point of the region.
    corners = np.stack([apply_homography(h, [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) for h in H])
    hf, wf = rgb.shape[:2]
    x0, y0 = np.clip(np.floor(corners.reshape(-1, 2).min(0)).astype(int) - 2, 0, [wf - 1, hf - 1])
    x1, y1 = np.clip(np.ceil(corners.reshape(-1, 2).max(0)).astype(int) + 3, [x0 + 1, y0 + 1], [wf, hf])
    crop = torch.from_numpy(np.ascontiguousarray(rgb[y0:y1, x0:x1])).to(device)
    crop = crop.permute(2, 0, 1)[None].float().div_(255.0)  # (1, 3, h, w) RGB [0, 1]
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    return crop, torch.from_numpy(shift @ H).float().to(device)


def region_maps(region_to_frame: np.ndarray | Sequence[EyeRegion]) -> np.ndarray:
    """``(N, 3, 3)`` float64 region → frame homographies from an array or a sequence of :class:`EyeRegion`."""
    if not isinstance(region_to_frame, np.ndarray):
        region_to_frame = np.stack([np.asarray(r.region_to_frame, float) for r in region_to_frame])
    H = np.asarray(region_to_frame, np.float64)
    if H.ndim != 3 or H.shape[1:] != (3, 3) or len(H) == 0:
        raise ShapeError("region_to_frame", "(N, 3, 3) with N >= 1", H.shape)
    return H


def eye_weights(openness: np.ndarray, reliability: np.ndarray | None = None) -> np.ndarray:
    """Each eye's weight ``(E,)`` in the fused gaze: its openness times ``reliability`` when given, each clipped to
    ``[0.05, 1]`` (so two closed eyes still give a low-confidence average) — except a reliability of exactly 0, an
    eye the eyeball model cannot read at all (:func:`gazezoom.models.geometric.eyeball_fit`), which weighs 0. Not
    normalised.

    >>> eye_weights(np.array([1.0, 0.0]), np.array([0.5, 1.0])).tolist()
    [0.5, 0.05]
    >>> eye_weights(np.array([1.0, 1.0]), np.array([0.0, 0.02])).tolist()
    [0.0, 0.05]
    """
    w = np.clip(np.asarray(openness, float), 0.05, 1.0)
    if reliability is not None:
        rel = np.asarray(reliability, float)
        w = w * np.where(rel > 0.0, np.clip(rel, 0.05, 1.0), 0.0)
    return w


def readable_weights(openness: np.ndarray, reliability: np.ndarray | None = None) -> np.ndarray:
    """:func:`eye_weights`, or :class:`~gazezoom.errors.UnreadableEyesError` when every eye weighs 0 (the eyeball
    model can read none of them)."""
    w = eye_weights(openness, reliability)
    if not w.any():
        raise UnreadableEyesError("no gaze can be read from this face's eyes: MediaPipe puts every eye's iris "
                                  "outside the eyeball's silhouette (sunglasses, a hand over the eyes, or a failed "
                                  "landmark fit)")
    return w


def fuse_eyes(vectors: np.ndarray, openness: np.ndarray, reliability: np.ndarray | None = None) -> np.ndarray:
    """Openness-weighted mean of unit gaze vectors ``(E, 3)`` → unit ``(3,)``; ``reliability (E,)`` in [0, 1], when
    given, multiplies each eye's weight (the eyeball model's, :func:`gazezoom.models.geometric.eyeball_fit`); the
    weights are :func:`eye_weights`.

    >>> fuse_eyes(np.array([[0., 0., -1.], [0., 0., -1.]]), np.array([1., 0.])).tolist()
    [0.0, 0.0, -1.0]
    """
    v = (np.asarray(vectors, float) * readable_weights(openness, reliability)[:, None]).sum(0)
    return v / np.linalg.norm(v)


def two_eyes(face: Face) -> tuple[EyeRegion, EyeRegion]:
    """``face.eyes`` as (left, right), or :class:`InputValueError` when the face does not have exactly two."""
    eyes = tuple(face.eyes)
    if len(eyes) != 2:
        raise InputValueError(f"face must have two eye regions (left, right), got {len(eyes)}")
    return eyes


def fused_result(eyes: Sequence[EyeRegion], gazes: Sequence[EyeGaze],
                 reliability: Sequence[float] | None = None) -> GazeResult:
    """Each eye's own reading → the :class:`GazeResult` of the face: the readings fused by openness (times
    ``reliability`` when given, :func:`fuse_eyes`), the gaze origin midway between the eye centres. Every gaze stage
    ends here."""
    v = fuse_eyes(np.stack([g.vector_cam for g in gazes]), np.array([e.openness for e in eyes]),
                  None if reliability is None else np.asarray(reliability, float))
    origin = np.mean([np.asarray(e.center_mm, float) for e in eyes], 0)
    if float(v @ origin) >= 0.0:  # the camera is at the origin: a gaze pointing away from it shows no pupil
        raise UnreadableEyesError(f"no gaze can be read from this face's eyes: the reading points away from the "
                                  f"camera ({np.degrees(np.arccos(np.clip(-v @ origin / np.linalg.norm(origin), -1, 1))):.0f}° "
                                  "from it), which no visible pupil can (sunglasses, a hand over the eyes, or a "
                                  "failed landmark fit)")
    return GazeResult(eyes=tuple(gazes), vector_cam=v, pitchyaw=vector_to_pitchyaw(v), origin_mm=origin)


class GazePredictor:
    """Predicts gaze for eye regions of full-resolution frames with a trained :class:`GazeNet`.

    Build it with :meth:`from_weights`; :meth:`predict` takes a BGR frame and a :class:`~gazezoom.results.Face`
    and returns a :class:`~gazezoom.results.GazeResult`.
    """

    def __init__(self, model: GazeNet | None = None, device: str | torch.device = "cpu", *,
                 backend: str | None = None, weights: str | Path | None = None):
        self.device = torch.device(device)
        self.model: GazeNet | None = None
        self.backend = "torch"
        if model is not None:
            self._set(model, backend, weights)

    def _set(self, model: GazeNet, backend: str | None = None, weights: str | Path | None = None) -> None:
        from .onnx_backend import make_runner, resolve_backend  # inference backends (torch / ONNX Runtime)

        # Inference copy with BatchNorm folded into the convolutions: fewer small ops per frame.
        self.model = fold_batchnorm(copy.deepcopy(model).to(self.device).eval())
        # torch (the module) or ONNX Runtime (gaze_<variant>.onnx beside the weights): see onnx_backend.DEFAULT_BACKEND
        if backend == "onnx" and self.device.type != "cpu":
            raise InputValueError(f"backend 'onnx' runs on the CPU (CPUExecutionProvider), not on {self.device}; "
                                  "use backend 'torch' on a GPU")
        self.backend = resolve_backend(backend, weights) if self.device.type == "cpu" else "torch"
        self._runner = make_runner(self.model, weights, self.backend)

    @classmethod
    def from_weights(
        cls, path_or_dir: str | Path = WEIGHTS_DIR, variant: str = "sampler", device: str | torch.device = "cpu",
        backend: str | None = None,
    ) -> "GazePredictor":
        """Load ``path_or_dir`` (a weights file, or a folder holding ``gaze_<variant>.safetensors``).

        ``backend``: ``"torch"``, ``"onnx"`` (needs ``gazezoom export``) or ``"auto"``; default
        ``gazezoom.models.onnx_backend.DEFAULT_BACKEND``.
        """
        p = Path(path_or_dir)
        path = weights_path(p, variant) if p.is_dir() else p
        model = load_weights(path, variant=variant if p.is_dir() else None, device=device)
        return cls(model, device, backend=backend, weights=path)

    def load(self, path: str | Path, variant: str | None = None, backend: str | None = None) -> "GazePredictor":
        """Load a weights file, or ``variant`` (default ``"sampler"``) from a weights folder."""
        if Path(path).is_dir():
            variant = variant or "sampler"
            path = weights_path(path, variant)
        self._set(load_weights(path, variant=variant, device=self.device), backend, path)
        return self

    @property
    def is_loaded(self) -> bool:
        return self.model is not None

    @property
    def variant(self) -> str:
        return self._model().config.variant

    def _model(self) -> GazeNet:
        if self.model is None:
            raise StateError(
                'GazePredictor has no weights loaded; create it with GazePredictor.from_weights("weights", '
                'variant="sampler") or call .load(path) first'
            )
        return self.model

    @torch.inference_mode()
    def predict_regions(
        self, frame_bgr: np.ndarray, region_to_frame: np.ndarray | Sequence[EyeRegion], *, keep_samples: bool = True
    ) -> RegionGaze:
        """Gaze of ``N`` eye regions of one frame.

        ``region_to_frame``: ``(N, 3, 3)`` region → frame homographies, or a sequence of ``EyeRegion``.
        ``keep_samples=False`` returns the predictions alone (the fast path: no patch copied off the device).
        """
        H, crop, Hc = self.network_inputs(frame_bgr, region_to_frame)
        # sampler: zoomed patches read from the full-resolution crop; others: the region, as in training
        out = self._runner(crop, Hc)  # torch module or ONNX Runtime session (onnx_backend.RegionGazeGraph)
        pitchyaw, patch, grid = out[:3]
        saliency = out[3] if len(out) > 3 else None
        py = pitchyaw.float().cpu().numpy().astype(np.float64)
        if not keep_samples:
            return RegionGaze(py)
        return RegionGaze(
            pitchyaw=py,
            patch=patch.float().permute(0, 2, 3, 1).cpu().numpy(),
            grid=grid.float().cpu().numpy(),
            saliency=None if saliency is None else saliency[:, 0].float().cpu().numpy(),
        )

    def network_inputs(
        self, frame_bgr: np.ndarray, region_to_frame: np.ndarray | Sequence[EyeRegion]
    ) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
        """What :meth:`predict_regions` feeds the network for ``N`` regions of one frame: ``(H (N, 3, 3)`` region →
        frame (float64), ``crop (1, 3, h, w)`` the part of the frame the regions cover, RGB [0, 1] on the device,
        ``Hc (N, 3, 3)`` region → crop pixels; :func:`frame_crop`)."""
        self._model()
        H = region_maps(region_to_frame)
        return (H, *frame_crop(frame_bgr, H, self.device))

    def predict(self, frame_bgr: np.ndarray, face: Face, *, display: bool = True) -> GazeResult:
        """Both eyes of ``face`` in one batched call, un-mirrored, rotated to camera space and fused (``display``:
        keep what the sampler read, :class:`~gazezoom.results.EyeSample`, for drawing)."""
        output = self._model().config.output
        if output != "gaze":
            from ..errors import WeightsMismatchError

            raise WeightsMismatchError(f"these weights predict {output!r} (eye-region landmarks), not gaze: run them "
                                       "through the eyeball model with --gaze fusion or --gaze pupil")
        eyes = two_eyes(face)
        r = self.predict_regions(frame_bgr, eyes, keep_samples=display)
        gazes = []
        for i, eye in enumerate(eyes):
            py = r.pitchyaw[i].copy()
            if eye.side == "right":
                py[1] = -py[1]  # the patch was mirrored; its yaw is mirrored back
            v = normalised_to_camera(pitchyaw_to_vector(py), eye.R_norm, "left")  # already un-mirrored above
            gazes.append(EyeGaze(side=eye.side, pitchyaw_norm=py, vector_cam=v, sample=r.sample(i)))
        return fused_result(eyes, gazes)
