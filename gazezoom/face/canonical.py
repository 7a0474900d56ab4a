"""MediaPipe's canonical 3-D face model, read from the shipped ``face_landmarker.task`` bundle.

The bundle's ``geometry_pipeline_metadata_landmarks.binarypb`` holds the canonical face mesh (468 vertices,
centimetres, OpenGL axes: x toward the subject's left, y up, z toward the viewer) and the Procrustes landmark
weights MediaPipe uses to fit it. We read both with a minimal protobuf wire-format decoder, so nothing is
hard-coded here and the model always matches the landmarker that produced the points.

Returned points are in **millimetres, OpenCV head axes**: x to the image right for a frontal face (subject's right
eye → left eye), y down, z into the head (away from the camera). A frontal, upright face has head rotation ≈ I.
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError

__all__ = ["CanonicalFace", "load_canonical_face", "GL_TO_CV"]

#: Flips OpenGL axes (y up, z toward the viewer) to OpenCV axes (y down, z forward): ``v_cv = GL_TO_CV @ v_gl``.
GL_TO_CV = np.diag([1.0, -1.0, -1.0])

_METADATA = "geometry_pipeline_metadata_landmarks.binarypb"


@dataclass(frozen=True, eq=False)
class CanonicalFace:
    """``points_mm (468, 3)`` canonical vertices (mm, OpenCV head axes); ``rigid_ids (K,)`` and ``rigid_weights
    (K,)``: the landmarks MediaPipe's Procrustes fit uses (forehead, nose, cheekbones: little expression motion)."""

    points_mm: np.ndarray
    rigid_ids: np.ndarray
    rigid_weights: np.ndarray


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 128:
            return result, i


def _fields(b: bytes):
    """Yield ``(field_number, wire_type, value)`` of one protobuf message (wire format, no schema)."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(b, i)
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(b, i)
            value, i = b[i : i + n], i + n
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


@functools.lru_cache(maxsize=4)
def load_canonical_face(model_path: str | Path) -> CanonicalFace:
    """Read the canonical face from a ``face_landmarker.task`` bundle (cached per path).

    Message layout (mediapipe ``geometry_pipeline_metadata.proto``): field 1 = canonical ``Mesh3d`` whose field 3 is
    the vertex buffer (5 floats per vertex: x, y, z, u, v); field 2 = repeated ``WeightedLandmarkRef``
    (1: landmark id, 2: weight).
    """
    path = Path(model_path)
    try:
        with zipfile.ZipFile(path) as z:
            data = z.read(_METADATA)
        vertex_floats: list[bytes] = []
        ids, weights = [], []
        for number, wire, value in _fields(data):
            if number == 1 and wire == 2:
                for n2, w2, v2 in _fields(value):
                    if n2 == 3 and w2 == 5:
                        vertex_floats.append(v2)
                    elif n2 == 3 and w2 == 2:  # packed encoding
                        vertex_floats.append(v2)
            elif number == 2 and wire == 2:
                ref = {n2: v2 for n2, _, v2 in _fields(value)}
                ids.append(int(ref.get(1, 0)))
                weights.append(float(np.frombuffer(ref[2], "<f4")[0]) if 2 in ref else 0.0)
        vertices = np.frombuffer(b"".join(vertex_floats), "<f4").astype(np.float64)
        if vertices.size % 5 or vertices.size // 5 < 468:
            raise ValueError(f"canonical mesh has {vertices.size} floats, expected 468 × 5")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError, IndexError) as err:
        raise ModelFileError(
            f"cannot read the canonical face model from {path} ({err}); the file must be MediaPipe's "
            "face_landmarker.task bundle (see weights/NOTICE-face_landmarker.md)"
        ) from None
    points = vertices.reshape(-1, 5)[:, :3] * 10.0 @ GL_TO_CV  # cm → mm, GL → CV (GL_TO_CV is symmetric)
    w = np.asarray(weights)
    keep = w > 0
    return CanonicalFace(points, np.asarray(ids)[keep], w[keep])
