"""MPIIFaceGaze, normalised release (Zhang et al., CVPRW 2017): ``PATH/p00.mat`` … ``PATH/p14.mat``.

Each ``pXX.mat`` is a MATLAB v7.3 file (HDF5 with a 512-byte MATLAB header, read with h5py) holding

* ``Data/data``  ``(N, 3, 448, 448)`` uint8: the face-normalised images, channels in OpenCV (BGR) order,
* ``Data/label`` ``(N, 16)``: gaze pitch, yaw (radians, normalised camera), head pitch, yaw, then the six landmarks
  ``(x, y)`` in image pixels: four eye corners (two per eye) and two mouth corners.

The eye regions are cut with the eye-corner landmarks (an eye's centre is the midpoint of its two corners; the eye on
the image's right is the subject's left). The release does not state the normalised camera, so the scale comes from
the landmarks: the two eye centres are assumed ``IPD_MM`` apart (the adult mean, ±6 % across people), which sets the
focal length for an assumed normalisation distance ``distance`` (default 1000 mm; only the few-degree rotation from
the face's to each eye's normalised camera depends on it). Pass ``focal=…`` to use a known focal length instead.

Split: leave-one-person-out, the protocol of the paper: ``test_person=pXX`` (default ``p00``) is ``val``/``test``,
the other persons are ``train``.

Gaze sign: the labels are used as published, in the MPIIGaze/ETH-XGaze convention of ``gazezoom.geometry``
(as hysts/pytorch_mpiigaze does). X. Shi's normalisation repository notes that its *re-normalised* MPIIFaceGaze
labels have both signs opposite to the provided ones; ``GAZE_SIGN`` is the one place to change should a check on
the real data disagree.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputValueError, ModelFileError
from . import require
from .facepatch import EyePairDataset, to_float_rgb

__all__ = ["IPD_MM", "GAZE_SIGN", "MPIIFaceGaze", "open"]

#: assumed distance between the two eye centres (mm), adult mean
IPD_MM = 63.0
#: multiply the published (pitch, yaw) by this to get gazezoom's convention
GAZE_SIGN = np.array([1.0, 1.0])


class MPIIFaceGaze(EyePairDataset):
    """Per-eye items of the persons ``persons`` (file stems, e.g. ``["p01", "p02"]``) under ``root``."""

    def __init__(self, root: Path, persons: list[str], region_size, *, distance: float = 1000.0, focal: float | None = None):
        h5py = require("h5py", "reading MPIIFaceGaze (MATLAB v7.3 .mat files)")
        self.root, self.persons = Path(root), list(persons)
        self.distance, self.focal = float(distance), None if focal is None else float(focal)
        self._index, labels = [], []
        for k, p in enumerate(self.persons):
            path = self.root / f"{p}.mat"
            try:
                with h5py.File(path, "r") as f:
                    lab = np.asarray(f["Data/label"], np.float64)
                    n_img = f["Data/data"].shape[0]
            except (OSError, KeyError) as err:
                raise ModelFileError(
                    f"{path} is not an MPIIFaceGaze normalised .mat (MATLAB v7.3 with Data/data and Data/label): {err}"
                ) from err
            if lab.ndim != 2 or lab.shape[1] < 16 or lab.shape[0] != n_img:
                raise InputValueError(
                    f"{path}: Data/label must be (N, 16) with N = {n_img} images (gaze 2, head 2, 6 landmarks), "
                    f"got {lab.shape}"
                )
            labels.append(lab)
            self._index += [(k, j) for j in range(len(lab))]
        self._labels = labels
        self._files: dict = {}
        self._pid = None
        super().__init__(len(self._index), region_size)

    def _file(self, k: int):
        if self._pid != os.getpid():  # h5py handles must not cross a fork (DataLoader workers, torchrun)
            self._files, self._pid = {}, os.getpid()
        if k not in self._files:
            import h5py

            self._files[k] = h5py.File(self.root / f"{self.persons[k]}.mat", "r")
        return self._files[k]

    def sample(self, s: int) -> dict:
        k, j = self._index[s]
        lab = self._labels[k][j]
        chw = np.asarray(self._file(k)["Data/data"][j])
        img = to_float_rgb(chw.transpose(1, 2, 0), bgr=True)
        if chw.dtype != np.uint8 and float(chw.max()) > 1.0:
            img = img / 255.0
        corners = lab[4:12].reshape(2, 2, 2)  # (eye, corner, xy)
        centres = corners.mean(1)  # (2, 2)
        if centres[0, 0] < centres[1, 0]:
            centres = centres[::-1]  # eye 0 = the subject's left eye = the one on the image's right
        h, w = img.shape[-2:]
        f = self.focal
        if f is None:
            ipd_px = float(np.linalg.norm(centres[0] - centres[1]))
            if ipd_px < 1.0:
                raise InputValueError(f"{self.persons[k]} sample {j}: eye landmarks coincide; cannot scale the eyes")
            f = self.distance * ipd_px / IPD_MM
        K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
        return {
            "image": img,
            "eye_px": centres,
            "K": K,
            "depth_mm": self.distance,
            "gaze_cam": lab[0:2] * GAZE_SIGN,
            "person": int(number) if (number := self.persons[k].lstrip("p")).isdigit() else k,
        }


def open(path: Path, split: str, region_size, *, test_person: str = "p00", distance: str | float = 1000.0,
         focal: str | float | None = None) -> MPIIFaceGaze:
    """Leave-one-person-out split of the MPIIFaceGaze normalised release in ``path``."""
    persons = sorted(p.stem for p in Path(path).glob("p*.mat"))
    if not persons:
        raise InputValueError(f"no pXX.mat files in {path}; point to the folder of the MPIIFaceGaze normalised release")
    if test_person not in persons:
        raise InputValueError(f"test_person={test_person!r} is not among the persons in {path}: {', '.join(persons)}")
    if split == "test_person_specific":
        raise InputValueError("mpiifacegaze has no test_person_specific split; use train, val or test")
    chosen = [p for p in persons if p != test_person] if split == "train" else [test_person]
    if not chosen:
        raise InputValueError(f"{path} holds only {test_person}; leave-one-person-out needs at least two persons")
    return MPIIFaceGaze(path, chosen, region_size, distance=float(distance), focal=None if focal in (None, "") else float(focal))
