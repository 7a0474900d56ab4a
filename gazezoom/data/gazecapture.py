"""GazeCapture (Krafka et al., CVPR 2016), raw folder layout: one folder per subject (``PATH/00002/`` …) with

* ``frames/00000.jpg`` …  and ``frames.json`` (the file names, in order),
* ``appleFace.json``, ``appleLeftEye.json``, ``appleRightEye.json``: ``{"X": [...], "Y": [...], "W": [...],
  "H": [...], "IsValid": [...]}`` per frame; face boxes in frame pixels, eye boxes relative to the face box,
* ``dotInfo.json``: ``{"DotNum", "XPts", "YPts", "XCam", "YCam", "Time"}``: the dot in cm from the camera,
* ``info.json``: ``{"TotalFrames", "NumFaceDetections", "NumEyeDetections", "Dataset": "train"|"val"|"test",
  "DeviceName"}`` (the official split), ``screen.json``.

Frames with a valid face and two valid eyes are used, as in the paper. GazeCapture has no camera intrinsics, head
pose or 3-D gaze, so each eye is placed in 3-D with *nominal* values (all documented approximations):

* intrinsics: focal ``focal_frac`` (default 0.8) × the frame's longer side, principal point at the frame centre;
* depth: the two eye-box centres are ``IPD_MM`` (63 mm) apart, head roll taken from the line between them;
* the dot: ``(CAM_SIGN · (XCam, YCam)) · 10`` mm on the plane ``z = 0`` (the screen is taken to be coplanar with the
  camera, which holds for phones and tablets); ``XCam`` grows to the subject's right and ``YCam`` upward, i.e.
  against the unmirrored camera's ``x`` and ``y``.
* which eye box is the subject's left is decided by position (the one on the frame's right, frames unmirrored).

The label is the direction from each eye centre to the dot, expressed in that eye's normalised space, so the same
gaze network trains on it; :func:`on_screen_cm` intersects a predicted gaze with the screen plane for the field's
metric (on-screen error in cm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InputValueError, MediaError
from ..geometry import pitchyaw_to_vector, vector_to_pitchyaw
from . import read_json
from .facepatch import EyePairDataset, to_float_rgb
from .mpiifacegaze import IPD_MM

__all__ = ["CAM_SIGN", "GazeCapture", "open", "on_screen_cm"]

#: dotInfo (XCam, YCam) → camera (x right, y down) axes
CAM_SIGN = np.array([-1.0, -1.0])
_FILES = ("frames.json", "appleFace.json", "appleLeftEye.json", "appleRightEye.json", "dotInfo.json", "info.json")


def _read(folder: Path, name: str) -> dict | list:
    return read_json(folder / name, f"is {folder} a GazeCapture subject?")


class GazeCapture(EyePairDataset):
    """Per-eye items of the valid frames of ``subjects`` (folders)."""

    def __init__(self, subjects: list[Path], region_size, *, focal_frac: float = 0.8):
        self.focal_frac = float(focal_frac)
        rows = []  # (subject, frame file, eye centres (2, 2) px, target (2,) mm camera)
        for folder in subjects:
            frames, face, le, re_, dot = (_read(folder, n) for n in _FILES[:5])
            n = len(frames)
            for name, d in (("appleFace", face), ("appleLeftEye", le), ("appleRightEye", re_), ("dotInfo", dot)):
                keys = ("XCam", "YCam") if name == "dotInfo" else ("X", "Y", "W", "H", "IsValid")
                if any(len(d.get(k, ())) != n for k in keys):
                    raise InputValueError(f"{folder}/{name}.json needs {', '.join(keys)} with one entry per frame ({n})")
            for t in range(n):
                if not (face["IsValid"][t] and le["IsValid"][t] and re_["IsValid"][t]):
                    continue
                fx, fy = face["X"][t], face["Y"][t]
                eyes = np.array([[fx + e["X"][t] + e["W"][t] / 2, fy + e["Y"][t] + e["H"][t] / 2] for e in (le, re_)])
                if eyes[0, 0] < eyes[1, 0]:
                    eyes = eyes[::-1]  # eye 0 = the subject's left = on the unmirrored frame's right
                target = np.array([dot["XCam"][t], dot["YCam"][t]], np.float64) * CAM_SIGN * 10.0
                rows.append((folder, frames[t], eyes, target))
        if not rows:
            raise InputValueError(f"no frame with a valid face and two valid eyes in {len(subjects)} GazeCapture subjects")
        self._rows = rows
        super().__init__(len(rows), region_size)

    def sample(self, s: int) -> dict:
        import cv2

        folder, name, eyes, target = self._rows[s]
        path = folder / "frames" / name
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise MediaError(f"cannot read GazeCapture frame {path}")
        h, w = bgr.shape[:2]
        f = self.focal_frac * max(h, w)
        K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
        ipd_px = float(np.linalg.norm(eyes[0] - eyes[1]))
        if ipd_px < 1.0:
            raise InputValueError(f"{path}: the two eye boxes coincide; cannot place the eyes")
        depth = f * IPD_MM / ipd_px
        # head roll from the eye line (x axis from the subject's right eye to the left eye, as the front-end's)
        xa = np.append(eyes[0] - eyes[1], 0.0)
        xa /= np.linalg.norm(xa)
        head_R = np.stack([xa, np.cross([0.0, 0.0, 1.0], xa), [0.0, 0.0, 1.0]], 1)  # columns = head axes
        tgt = np.array([target[0], target[1], 0.0])
        return {
            "image": to_float_rgb(bgr, bgr=True),
            "eye_px": eyes,
            "K": K,
            "depth_mm": depth,
            "head_R": head_R,
            "gaze_cam": None,  # per eye below: the direction from each eye to the dot
            "person": int(folder.name) if folder.name.isdigit() else 0,
            "extra": {"target_mm": torch.from_numpy(tgt).float(), "device_focal": torch.tensor(f).float()},
        }

    def __getitem__(self, i: int) -> dict:
        item = super().__getitem__(i)
        # label: from this eye's centre to the dot, in this eye's normalised space (mirrored for the right eye)
        g = item["target_mm"].double() - item["eye_mm"].double()
        gn = item["R_norm"].double() @ (g / g.norm())
        if int(item["side"]) == 1:
            gn[0] = -gn[0]
        item["gaze"] = vector_to_pitchyaw(gn).float()
        return item


def on_screen_cm(pitchyaw: torch.Tensor, batch: dict) -> torch.Tensor:
    """On-screen error in cm of predicted patch gazes ``pitchyaw (B, 2)`` for a batch with ``side (B,)``,
    ``R_norm (B, 3, 3)``, ``eye_mm (B, 3)``, ``target_mm (B, 3)``: the gaze ray from the eye is intersected with the
    camera's ``z = 0`` plane. Rays that never reach it (looking away) count as the distance at 1 m along the ray.

    >>> b = {"side": torch.tensor([0]), "R_norm": torch.eye(3)[None], "eye_mm": torch.tensor([[0., 0., 400.]]),
    ...      "target_mm": torch.tensor([[0., 30., 0.]])}
    >>> round(float(on_screen_cm(torch.tensor([[0., 0.]]), b)[0]), 3)
    3.0
    """
    g = pitchyaw_to_vector(pitchyaw.double())  # (B, 3) patch space
    g = torch.where(batch["side"].view(-1, 1) == 1, g * torch.tensor([-1.0, 1.0, 1.0], dtype=g.dtype), g)
    g = torch.einsum("bji,bj->bi", batch["R_norm"].double(), g)  # R_norm.T @ g: camera space
    e = batch["eye_mm"].double()
    t = torch.where(g[:, 2] < -1e-6, -e[:, 2] / g[:, 2].clamp(max=-1e-6), torch.full_like(g[:, 2], 1000.0))
    hit = e + t[:, None] * g
    return (hit[:, :2] - batch["target_mm"].double()[:, :2]).norm(dim=1) / 10.0


def open(path: Path, split: str, region_size, *, focal_frac: str | float = 0.8) -> GazeCapture:
    """The official split (each subject's ``info.json`` ``Dataset``) of the GazeCapture folder ``path``."""
    path = Path(path)
    subjects = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and (p / "info.json").is_file()):
        if _read(folder, "info.json").get("Dataset") == split:
            subjects.append(folder)
    if not subjects:
        raise InputValueError(
            f"no GazeCapture subject of split {split!r} under {path} (subject folders need info.json with "
            f"\"Dataset\": \"train\" | \"val\" | \"test\")"
        )
    return GazeCapture(subjects, region_size, focal_frac=float(focal_frac))
