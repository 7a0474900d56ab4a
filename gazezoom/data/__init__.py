"""Loaders for the public gaze datasets, in their published layouts, as per-sample training/evaluation datasets.

Users who hold the datasets (under their own non-commercial licences; nothing is downloaded) name one as
``NAME:PATH[,key=value…]``:

==================  ===============================================================================================
``mpiifacegaze``    MPIIFaceGaze normalised release: ``PATH/pXX.mat`` (MATLAB v7.3 = HDF5: ``Data/data``,
                    ``Data/label``). Splits: leave-one-person-out (``test_person=p00`` … ``p14``; ``train`` is the
                    other 14 persons, ``val``/``test`` the held-out one).
``ethxgaze``        ETH-XGaze ``xgaze_224``: ``PATH/train_test_split.json`` and ``PATH/{train,test}/subjectXXXX.h5``
                    (``face_patch``, ``face_gaze``, ``face_head_pose``, ``face_mat_norm`` …). Splits: the official
                    ``train`` / ``test`` / ``test_person_specific`` lists; ``val`` is a person-disjoint hold-out of
                    the last ``val_subjects`` (default 5) training subjects, which ``train`` then excludes.
``gazecapture``     GazeCapture raw layout: ``PATH/<subject>/frames/*.jpg`` + ``appleFace.json``,
                    ``appleLeftEye.json``, ``appleRightEye.json``, ``dotInfo.json``, ``frames.json``, ``info.json``.
                    Splits: the official ``train`` / ``val`` / ``test`` of each subject's ``info.json``.
==================  ===============================================================================================

Every item is one eye (both eyes of a sample are two items): ``"image" (3, H, W)`` float32 RGB in [0, 1], the
``REGION_MM`` eye region of docs/architecture.md as a *left* eye (right eyes mirrored), ``"gaze" (2,)`` pitch/yaw in
that eye's normalised space (right eyes: yaw negated), ``"side"`` (0 left, 1 right), ``"person"`` (int). GazeCapture
items add ``"target_cm" (2,)``, ``"eye_mm" (3,)`` and ``"R_norm" (3, 3)`` for the on-screen metric. They plug into
``gazezoom.models.data.iter_batches`` like any per-sample dataset. How each dataset's face patch becomes eye regions,
and what is approximated, is in docs/training_at_scale.md and in each module.

>>> parse_spec("ethxgaze:/data/xgaze_224,val_subjects=3")
('ethxgaze', PosixPath('/data/xgaze_224'), {'val_subjects': '3'})
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..errors import InputValueError
from ..registry import Registry

__all__ = ["LOADERS", "FIELD_METRIC", "parse_spec", "open_dataset", "is_spec", "require", "read_json", "subset", "describe"]

#: dataset name → module path of its loader (imported only when used). Each module defines ``open(path, split,
#: region_size, **options) -> Dataset``.
LOADERS: Registry[str] = Registry("gaze dataset")
LOADERS.register("mpiifacegaze", "gazezoom.data.mpiifacegaze")
LOADERS.register("ethxgaze", "gazezoom.data.ethxgaze")
LOADERS.register("gazecapture", "gazezoom.data.gazecapture")

#: the figure each field reports (``gazezoom eval --data``): angular error or on-screen distance.
FIELD_METRIC = {"mpiifacegaze": "angular_error_deg", "ethxgaze": "angular_error_deg", "gazecapture": "on_screen_cm"}

SPLITS = ("train", "val", "test", "test_person_specific")


def is_spec(text: str) -> bool:
    """True when ``text`` names a real dataset (``NAME:PATH…`` with a registered NAME)."""
    name, sep, _ = str(text).partition(":")
    return bool(sep) and name in LOADERS


def parse_spec(spec: str) -> tuple[str, Path, dict[str, str]]:
    """``"NAME:PATH[,key=value…]"`` → ``(name, path, options)``; unknown names list the valid ones."""
    name, sep, rest = str(spec).partition(":")
    if not sep or not rest:
        raise InputValueError(
            f"dataset {spec!r} must be written NAME:PATH (e.g. mpiifacegaze:/data/MPIIFaceGaze_normalized); "
            f"NAME is one of {', '.join(LOADERS.names())}"
        )
    LOADERS.get(name)  # unknown name → UnknownNameError listing the valid ones
    path, *opts = rest.split(",")
    options = {}
    for o in opts:
        k, eq, v = o.partition("=")
        if not eq or not k.strip():
            raise InputValueError(f"dataset option {o!r} in {spec!r} must be key=value")
        options[k.strip()] = v.strip()
    return name, Path(path).expanduser(), options


def open_dataset(spec: str, split: str = "train", region_size=(96, 160), **options):
    """Open ``NAME:PATH[,key=value…]`` for ``split`` (train / val / test / test_person_specific) as a map-style
    per-sample dataset of eye regions of ``region_size (H, W)``. Extra ``options`` override the spec's."""
    name, path, opts = parse_spec(spec)
    if split not in SPLITS:
        raise InputValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if not path.exists():
        raise InputValueError(f"{name} dataset folder {path} does not exist; pass the folder of the published release")
    module = importlib.import_module(LOADERS.get(name))
    return module.open(path, split, tuple(int(s) for s in region_size), **{**opts, **options})


def require(package: str, purpose: str):
    """Import an optional package or raise a clear error naming it (h5py, scipy … live in the ``[data]`` extra)."""
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise InputValueError(
            f"{purpose} needs the Python package {package!r}; install it with `pip install {package}` "
            f"(or `pip install gazezoom[data]`)"
        ) from err


def read_json(path: Path, hint: str):
    """A dataset's JSON file; a missing or malformed one is an :class:`InputValueError` naming it, plus ``hint``."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputValueError(f"{path} is missing or not valid JSON ({err}); {hint}") from err


def subset(dataset, n: int):
    """At most ``n`` items of ``dataset``, evenly spaced over it (a fixed, person-balanced validation draw)."""
    import torch

    if n <= 0 or n >= len(dataset):
        return dataset
    step = len(dataset) / n
    return torch.utils.data.Subset(dataset, [int(i * step) for i in range(n)])


def describe(spec: str) -> str:
    """What a training data source is, for the weights' sidecar (``"ethxgaze real data (...)"``)."""
    if is_spec(spec):
        name, path, opts = parse_spec(spec)
        return f"{name} real data ({path.name}{''.join(f', {k}={v}' for k, v in opts.items())})"
    return f"100% synthetic ({spec})"
