"""ETH-XGaze ``xgaze_224`` (Zhang et al., ECCV 2020): ``PATH/train_test_split.json`` and ``PATH/<split>/subjectXXXX.h5``.

Each subject file (HDF5) holds ``face_patch (N, 224, 224, 3)`` uint8 BGR face-normalised images (focal 960 px,
distance 600 mm, principal point at the centre), ``face_gaze (N, 2)`` pitch/yaw (training subjects only; withheld
for the test subjects), ``face_head_pose (N, 2)``, ``face_mat_norm (N, 3, 3)``, ``frame_index``, ``cam_index``.
The split file lists the subject files of ``train``, ``test`` and ``test_person_specific``.

Eye crops: the official files carry no landmarks. When a file has ``facial_landmarks`` / ``landmarks_norm``
``(N, 68, 2)`` (re-releases with the 68-point iBUG layout in patch pixels), the eye centres are the midpoints of
the eye corners (36/39: the subject's right eye; 42/45: left). Otherwise they are placed at the canonical
positions of an average face in the normalised patch: ``EYE_OFFSET_MM`` from the face centre (the normalisation
target, the mean of the eye and nose centres), foreshortened by the cosine of the head's yaw and pitch
(``face_head_pose``). This ignores the lateral shift from the eyes lying behind the face centre (≈ 10 mm · sin(yaw),
under 9 mm even at 60°), which the 50 mm wide region absorbs. Gaze labels are already in gazezoom's convention.

Splits: ``train`` / ``test`` / ``test_person_specific`` as published; ``val`` holds out the last ``val_subjects``
(default 5) training subjects, which ``train`` then leaves out (``val_subjects=0`` trains on all 80).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputValueError, ModelFileError
from . import read_json, require
from .facepatch import EyePairDataset, to_float_rgb

__all__ = ["FOCAL", "DISTANCE_MM", "EYE_OFFSET_MM", "ETHXGaze", "open"]

FOCAL, DISTANCE_MM = 960.0, 600.0
#: (x, y) of the subject's left eye from the face centre in mm, camera axes (the right eye mirrors x)
EYE_OFFSET_MM = (31.5, -24.0)
_LANDMARK_KEYS = ("facial_landmarks", "landmarks_norm")


class ETHXGaze(EyePairDataset):
    """Per-eye items of the subject files ``files`` (paths)."""

    def __init__(self, files: list[Path], region_size, *, labels: bool = True):
        """``labels=True``: every file must have ``face_gaze``; ``False``: use them where every file has them."""
        h5py = require("h5py", "reading ETH-XGaze (.h5 files)")
        self.files, self._index, self._meta = [Path(f) for f in files], [], []
        for k, path in enumerate(self.files):
            try:
                with h5py.File(path, "r") as f:
                    n = f["face_patch"].shape[0]
                    has_gaze = "face_gaze" in f
                    pose = np.asarray(f["face_head_pose"], np.float64) if "face_head_pose" in f else np.zeros((n, 2))
                    lm = next((key for key in _LANDMARK_KEYS if key in f), None)
            except (OSError, KeyError) as err:
                raise ModelFileError(f"{path} is not an ETH-XGaze subject file (HDF5 with face_patch): {err}") from err
            if labels and not has_gaze:
                raise InputValueError(
                    f"{path} has no face_gaze labels (the official test labels are withheld; submit predictions to the "
                    f"ETH-XGaze leaderboard, or evaluate on split 'val')"
                )
            self._meta.append({"pose": pose, "landmarks": lm, "has_gaze": has_gaze})
            self._index += [(k, j) for j in range(n)]
        self.labels = all(m["has_gaze"] for m in self._meta)
        self._h5, self._pid = {}, None
        super().__init__(len(self._index), region_size)

    def _file(self, k: int):
        if self._pid != os.getpid():  # h5py handles must not cross a fork
            self._h5, self._pid = {}, os.getpid()
        if k not in self._h5:
            import h5py

            self._h5[k] = h5py.File(self.files[k], "r")
        return self._h5[k]

    def sample(self, s: int) -> dict:
        k, j = self._index[s]
        f, meta = self._file(k), self._meta[k]
        img = to_float_rgb(np.asarray(f["face_patch"][j]), bgr=True)
        h, w = img.shape[-2:]
        scale = w / 224.0  # the focal length is stated for 224 px patches
        fx = FOCAL * scale
        if meta["landmarks"] is not None:
            lm = np.asarray(f[meta["landmarks"]][j], np.float64).reshape(-1, 2)
            centres = np.stack([(lm[42] + lm[45]) / 2, (lm[36] + lm[39]) / 2])
        else:
            pitch, yaw = meta["pose"][j]
            dx, dy = EYE_OFFSET_MM
            px = fx / DISTANCE_MM
            cx, cy = w / 2.0, h / 2.0
            ox, oy = dx * abs(np.cos(yaw)) * px, dy * abs(np.cos(pitch)) * px
            centres = np.array([[cx + ox, cy + oy], [cx - ox, cy + oy]])
        K = np.array([[fx, 0.0, w / 2.0], [0.0, fx, h / 2.0], [0.0, 0.0, 1.0]])
        return {
            "image": img,
            "eye_px": centres,
            "K": K,
            "depth_mm": DISTANCE_MM,
            "gaze_cam": np.asarray(f["face_gaze"][j], np.float64) if self.labels else None,
            "person": int("".join(c for c in self.files[k].stem if c.isdigit()) or k),
        }


def open(path: Path, split: str, region_size, *, val_subjects: str | int = 5) -> ETHXGaze:
    """The official split of ``path/train_test_split.json`` (``val``: see the module docstring)."""
    path = Path(path)
    split_file = path / "train_test_split.json"
    if not split_file.is_file():
        raise InputValueError(f"{split_file} not found; point to the xgaze_224 folder of the ETH-XGaze release")
    lists = read_json(split_file, "point to the xgaze_224 folder of the ETH-XGaze release")
    if not isinstance(lists, dict):
        raise InputValueError(f"{split_file} must be a JSON object of split name → subject files")
    nval = int(val_subjects)
    if split in ("train", "val"):
        names = list(lists.get("train", []))
        if nval < 0 or (split == "val" and not 0 < nval < len(names)):
            raise InputValueError(f"val_subjects must be in 1..{len(names) - 1} for split 'val', got {nval}")
        names = names[len(names) - nval :] if split == "val" else names[: len(names) - nval] if nval else names
        folder = "train"
    else:
        names, folder = list(lists.get(split, [])), "test" if split == "test" else split
    if not names:
        raise InputValueError(f"{split_file} lists no subjects for split {split!r}")
    files = [path / folder / n for n in names]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        # test_person_specific files live in the test folder in some copies of the release
        alt = [path / "test" / n for n in names]
        if split == "test_person_specific" and all(a.is_file() for a in alt):
            files, missing = alt, []
    if missing:
        raise InputValueError(f"{len(missing)} subject files of split {split!r} are missing, e.g. {missing[0]}")
    return ETHXGaze(files, region_size, labels=split in ("train", "val"))
