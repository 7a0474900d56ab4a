"""Eye regions and eye-normalised gaze from a dataset's image with known (or nominal) intrinsics.

The published datasets give either a *face*-normalised patch (MPIIFaceGaze, ETH-XGaze: a virtual camera looks at the
face centre from a fixed distance, roll removed, gaze labelled relative to that camera) or a raw frame (GazeCapture).
gazezoom's network reads the ``REGION_MM`` region of each *eye* in that eye's own normalised space
(docs/architecture.md). Treating the dataset image as a frame with intrinsics ``K``, an eye whose centre is seen at
pixel ``(u, v)`` at depth ``z`` sits at ``c = z K⁻¹ (u, v, 1)``; from there the front-end's own formulas apply:
``R_norm = normalising_rotation(c, head_R)`` and ``region_to_frame(K, R_norm, c, side)``, and a gaze vector ``g`` of the
image's camera becomes ``R_norm @ g`` (mirrored for right eyes). The only approximation is the depth ``z``
(the normalisation distance for face patches: the eyes are a few mm off that plane).

Shapes: ``B`` samples, 2 eyes each (index 0 = the subject's left eye, 1 = right eye).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ShapeError
from ..face.eyes import normalising_rotation, region_to_frame
from ..geometry import pitchyaw_to_vector, vector_to_pitchyaw
from ..sampler import sample_regions

__all__ = ["SIDES", "EyePairDataset", "eye_geometry", "eye_gaze", "read_regions", "to_float_rgb"]

SIDES = ("left", "right")


def eye_geometry(eye_px: np.ndarray, K: np.ndarray, depth_mm, head_R: np.ndarray | None = None):
    """Eye centres ``eye_px (B, 2, 2)`` (pixels; eye 0 left, 1 right) seen by intrinsics ``K (3, 3)`` or ``(B, 3, 3)``
    at depth ``depth_mm`` (scalar or ``(B,)``) → ``(centre_mm (B, 2, 3), R_norm (B, 2, 3, 3), H (B, 2, 3, 3))``.

    ``head_R (B, 3, 3)`` gives the head's axes in the image's camera (its x axis fixes the roll); by default the
    camera's own axes, which is exact for face-normalised patches (normalisation removes the roll).

    >>> c, R, H = eye_geometry(np.array([[[162., 74.], [62., 74.]]]), np.array([[960., 0, 112], [0, 960, 112], [0, 0, 1]]), 600.)
    >>> np.round(c[0, 0], 2).tolist(), np.round(H[0, 1] @ [0, 0, 1], 2).tolist()
    ([31.25, -23.75, 600.0], [62.0, 74.0, 1.0])
    """
    eye_px = np.asarray(eye_px, np.float64)
    if eye_px.ndim != 3 or eye_px.shape[1:] != (2, 2):
        raise ShapeError("eye_px", "(B, 2, 2)", eye_px.shape)
    B = len(eye_px)
    K = np.broadcast_to(np.asarray(K, np.float64), (B, 3, 3))
    z = np.broadcast_to(np.asarray(depth_mm, np.float64).reshape(-1), (B,))
    heads = np.broadcast_to(np.eye(3) if head_R is None else np.asarray(head_R, np.float64), (B, 3, 3))
    hom = np.concatenate([eye_px, np.ones((B, 2, 1))], -1)  # (B, 2, 3)
    centre = np.einsum("bij,bej->bei", np.linalg.inv(K), hom) * z[:, None, None]  # (B, 2, 3) mm
    R = np.empty((B, 2, 3, 3))
    H = np.empty((B, 2, 3, 3))
    for b in range(B):
        for e, side in enumerate(SIDES):
            R[b, e] = normalising_rotation(centre[b, e], heads[b])
            H[b, e] = region_to_frame(K[b], R[b, e], centre[b, e], side)
    return centre, R, H


def eye_gaze(gaze_cam: np.ndarray, R_norm: np.ndarray) -> np.ndarray:
    """Gaze of the image's camera ``(B, 2)`` pitch/yaw or ``(B, 3)`` vectors → each eye's patch label ``(B, 2, 2)``
    pitch/yaw: ``R_norm (B, 2, 3, 3) @ g``, yaw negated for right eyes (their patches are mirrored).

    >>> eye_gaze(np.array([[0.1, 0.2]]), np.broadcast_to(np.eye(3), (1, 2, 3, 3))).round(3).tolist()
    [[[0.1, 0.2], [0.1, -0.2]]]
    """
    g = np.asarray(gaze_cam, np.float64)
    if g.ndim != 2 or g.shape[1] not in (2, 3):
        raise ShapeError("gaze_cam", "(B, 2) pitch/yaw or (B, 3) vectors", g.shape)
    if g.shape[1] == 2:
        g = pitchyaw_to_vector(g)
    gn = np.einsum("beij,bj->bei", np.asarray(R_norm, np.float64), g)  # (B, 2, 3)
    py = vector_to_pitchyaw(gn)
    py[:, 1, 1] *= -1.0  # right eye: mirrored patch, mirrored yaw
    return py


def to_float_rgb(image: np.ndarray, bgr: bool) -> torch.Tensor:
    """uint8 ``(H, W, 3)`` (BGR when ``bgr``) or ``(H, W)`` gray → ``(1, 3, H, W)`` float32 RGB in [0, 1]."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ShapeError("image", "(H, W, 3) or (H, W)", a.shape)
    if bgr:
        a = a[..., ::-1]
    t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()
    return t.div_(255.0) if a.dtype == np.uint8 else t


def read_regions(image: torch.Tensor, H: np.ndarray, region_size: tuple[int, int]) -> torch.Tensor:
    """``image (1, 3, h, w)`` and region maps ``H (E, 3, 3)`` → eye regions ``(E, 3, *region_size)`` (bilinear, zeros
    outside the image), exactly as the front-end reads a frame."""
    Ht = torch.as_tensor(np.asarray(H, np.float64), dtype=image.dtype)
    return sample_regions(image, Ht, region_size).clamp_(0.0, 1.0)


class EyePairDataset(torch.utils.data.Dataset):
    """Base of the loaders: ``n`` source samples, two items each (``2 s`` the left eye of sample ``s``, ``2 s + 1`` its
    right eye). Subclasses implement :meth:`sample` returning a dict with ``"image" (1, 3, h, w)`` float RGB,
    ``"eye_px" (2, 2)``, ``"K" (3, 3)``, ``"depth_mm"``, ``"gaze_cam" (2,)`` pitch/yaw or ``(3,)`` vector (or None
    when the split has no labels), ``"person"`` and optionally ``"head_R" (3, 3)`` and ``"extra"`` (a dict of arrays
    added to both eye items).
    """

    def __init__(self, n: int, region_size: tuple[int, int]):
        self.n, self.region_size = int(n), tuple(region_size)
        self._last: tuple | None = None  # (s, sample, centre, R, H) of the last source sample read

    def __len__(self) -> int:
        return 2 * self.n

    def sample(self, s: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        s, e = divmod(int(i), 2)
        smp, centre, R, H = self._source(s)
        item = {
            "image": read_regions(smp["image"], H[0, e : e + 1], self.region_size)[0],
            "side": torch.tensor(e, dtype=torch.long),
            "person": torch.tensor(int(smp["person"]), dtype=torch.long),
            "eye_mm": torch.from_numpy(centre[0, e]).float(),
            "R_norm": torch.from_numpy(R[0, e]).float(),
        }
        if smp.get("gaze_cam") is not None:
            item["gaze"] = torch.from_numpy(eye_gaze(np.asarray(smp["gaze_cam"])[None], R)[0, e]).float()
        for k, v in (smp.get("extra") or {}).items():
            item[k] = torch.as_tensor(v)
        return item

    def _source(self, s: int) -> tuple:
        """``sample(s)`` and both eyes' ``(centre, R_norm, H)``. The last one is kept: the two eye items of a sample
        (``2 s``, ``2 s + 1``, read one after the other by evaluation) decode the image once, not twice."""
        if self._last is None or self._last[0] != s:
            smp = self.sample(s)
            head = None if smp.get("head_R") is None else smp["head_R"][None]
            self._last = (s, smp, *eye_geometry(smp["eye_px"][None], smp["K"], smp["depth_mm"], head))
        return self._last[1:]
