"""``gazezoom eval --real DIR --reference DIR``: every gaze stage on real faces, scored against a reference.

The learned gaze network is trained on renders; this scoreboard measures what it (and every other gaze stage)
does on real eyes. For every image or video in ``DIR`` that has a reference CSV ``<media file name>.csv`` in the
reference folder (format: ``../shared/reference/README.md``; the per-frame gaze of a network trained on real
images, **for evaluation only**, never a training target), the face front-end runs once per frame and every stage
reads the same faces. A frame is *kept* where both sides see an open-eyed face: our face found with its blink flag
off, and the reference's ``face == 1`` with ``min(ear_l, ear_r) >= 0.2`` (:data:`MIN_EAR`; below it the reference
reads closed eyes as looking down) and every stage can read the eyes (a face whose eyes a stage cannot read,
``UnreadableEyesError``, gets no gaze from the pipeline; such frames are counted per file as ``unreadable``). Frames
are matched by decoded frame index.

Per stage and file, and pooled per stage (angles in degrees):

* videos: Pearson r of pitch and of yaw over time against the reference, with the reference's standard deviation
  over the kept frames; r is ``null`` (and ``*_r_meaningful`` false) where that std is below
  :data:`MOVING_STD_DEG` (the shared dev videos hardly move: std ≈ 1.2°); frame-to-frame jitter (median
  ``|Δpitch|``, ``|Δyaw|`` between kept frames with consecutive indices);
* median angle to the reference, raw and, for videos, after removing the clip's mean pitch/yaw offset (the
  reference's pitch reads ~11° low on faces looking into the camera; a calibration absorbs a constant offset);
* two-eye agreement from each eye's own camera-space reading: median and p90 of ``|pitch_L − pitch_R|``, median
  ``|yaw_L − yaw_R|``;
* stills, without the reference (so on every still where our front-end finds an open-eyed face): mirror
  consistency (the front-end and the stage on the horizontally flipped image: ``|yaw + yaw_m|``,
  ``|pitch − pitch_m|``), the two eyes' ``|pitch_L − pitch_R|`` (pooled: the median over the stills, other faces
  than the videos' one, which can hide a bias that cancels on one face only), roll consistency (the still turned
  in-plane by ±:data:`ROLL_DEG` about the camera's principal point, which is the camera rolling about its axis: the
  gaze must turn with it, :func:`roll_consistency_deg`; a head tilted in front of a webcam is the everyday case),
  scale consistency (the still at :data:`SCALE` of its size, area-averaged: the same scene through a camera of lower
  resolution, so the gaze must not move, :func:`scale_consistency_deg`; a user further from the webcam, or a
  webcam of fewer pixels, is the everyday case — eye widths go from a median 43 px to 22 px on the shared stills) and,
  for the portraits in :data:`PORTRAITS`, the angle between the fused gaze and the direction from ``origin_mm`` to
  the camera;
* vergence (:func:`vergence_error_deg`), from each eye's own reading and position: the two eyes' horizontal
  convergence ``yaw_L − yaw_R`` less what fixating the camera from where the eyes are needs (``2 atan(IPD / 2d)``,
  ~6° at 60 cm; signed, negative = the eyes diverge from it). Exact on the portraits; on videos it assumes the target
  is at the camera's distance (a screen beside the webcam), so a clip of someone reading a phone would read positive.
  Real eyes converge on what they look at: "the two eyes agree" means this is ~0, not ``|yaw_L − yaw_R|`` = 0;
* ``aims``: the real-eye aims (docs/zoom.md) (:data:`AIMS`), each ``{"value", "threshold", "pass"}``; ``pass`` is
  ``null`` ("n/a") where nothing could be measured, e.g. pitch r when no clip's reference moves.

Rows: one per network variant (default: those with weights in ``--weights``), one per baseline (``--baselines``,
default ``geometric``), one per ``--candidate LABEL=WEIGHTS[:VARIANT]`` (a weights folder or file)::

    gazezoom eval --real ../shared/media --reference ../shared/reference
    gazezoom eval --real ../shared/media --reference ../shared/reference --json > scoreboard.json
    gazezoom eval --real ../shared/media --reference ../shared/reference --variants sampler@P \\
        --candidate mine=runs/new/gaze_sampler_P.safetensors --figures figs/

``--portraits DIR`` adds every image of DIR as a portrait of someone looking into the camera, *without* a reference
(your own photos: nothing is compared with a reference there; the reference-free checks — mirror, roll, scale, two eyes,
vergence and the angle to the camera — run and pool with the others).

``--figures DIR`` writes ``traces_<video>.png`` per video: per-frame pitch and yaw of every stage and of the
reference. ``--max-frames N`` reads only the first N frames of each video (quick checks).

>>> pearson_r(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0]))
0.9934
>>> eye_agreement(np.array([[1.0, 0.0], [4.0, 2.0]]), np.array([[0.0, 0.0], [0.0, 0.0]]))
{'pitch_median_deg': 2.5, 'pitch_p90_deg': 3.7, 'yaw_median_deg': 1.0}
"""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputValueError, MediaError, ModelFileError
from .geometry import angular_error_deg, pitchyaw_to_vector, vector_to_pitchyaw

__all__ = [
    "PORTRAITS", "MIN_EAR", "MOVING_STD_DEG", "TO_CAMERA_DEG", "ROLL_DEG", "SCALE", "AIMS", "REFERENCE_COLUMNS", "REFERENCE_BIAS_NOTE",
    "ReferenceTrack", "read_reference", "no_reference", "find_media", "find_portraits", "pearson_r", "angles_to_reference_deg",
    "offset_removed_angles_deg", "eye_agreement", "jitter_deg", "mirror_consistency_deg", "angle_to_camera_deg",
    "rolled_frame", "roll_consistency_deg", "scaled_frame", "scale_consistency_deg", "vergence_error_deg",
    "parse_candidate", "candidate_file", "build_stages", "evaluate_real", "format_scoreboard", "trace_figures",
]

#: Portraits of ../shared/media whose subject looks into the camera (listed in ../shared/reference/README.md):
#: their fused gaze should point from the eyes at the camera.
PORTRAITS = ("single_face.jpg", "obama.jpg", "obama3.jpg", "astronaut.png", "obama_partial_face.jpg")
#: Reference frames with ``min(ear_l, ear_r)`` below this are closed or blinking eyes (reference README).
MIN_EAR = 0.2
#: Pearson r is only meaningful where the reference's pitch (or yaw) moves: its std over the kept frames, degrees.
MOVING_STD_DEG = 2.0
#: A portrait "looks into the camera" when the fused gaze is within this many degrees of the camera direction.
TO_CAMERA_DEG = 10.0
#: Issue 13's done-when thresholds: name → (what, comparison, threshold).
AIMS = {
    "eye_pitch_median": ("median |pitch_L - pitch_R| on every video (worst video), deg", "<=", 3.0),
    "eye_pitch_p90": ("p90 |pitch_L - pitch_R| on every video (worst video), deg", "<=", 6.0),
    "pitch_r": ("pitch Pearson r on every clip whose reference moves (lowest)", ">=", 0.75),
    "yaw_r": ("yaw Pearson r on every clip whose reference moves (lowest)", ">=", 0.9),
    "portraits_to_camera": (f"portraits within {TO_CAMERA_DEG:g} deg of the camera (4 of 5: 80 %)", ">=", 0.8),
    "mirror_yaw": ("median |yaw + yaw_mirrored| over the stills, deg", "<=", 3.0),
}
#: The reference CSV's columns, in order (../shared/reference/README.md).
REFERENCE_COLUMNS = ("frame", "time_s", "face", "ref_pitch_deg", "ref_yaw_deg", "ref_gx", "ref_gy", "ref_gz",
                     "head_pitch_deg", "head_yaw_deg", "face_x_mm", "face_y_mm", "face_z_mm", "ear_l", "ear_r")
REFERENCE_BIAS_NOTE = ("the reference is a real-trained network, not ground truth: its pitch reads ~11 deg low on "
                       "faces looking into the camera (compare changes and offset-removed angles)")


# --------------------------------------------------------------------------------------------------- reference


@dataclass(frozen=True, eq=False)
class ReferenceTrack:
    """One reference CSV. ``frame (N,)`` decoded frame indices (0 for a still), ``time_s (N,)``, ``face (N,)``
    bool, ``pitchyaw_deg (N, 2)`` gaze (nan without a face), ``face_mm (N, 3)`` gaze origin in the reference's own
    camera, ``ear (N, 2)`` eye aspect ratio (left, right)."""

    path: Path
    frame: np.ndarray
    time_s: np.ndarray
    face: np.ndarray
    pitchyaw_deg: np.ndarray
    face_mm: np.ndarray
    ear: np.ndarray

    @property
    def usable(self) -> np.ndarray:
        """``(N,)`` bool: a face with open eyes (``min(ear_l, ear_r) >= MIN_EAR``)."""
        return self.face & (np.where(np.isnan(self.ear), -1.0, self.ear).min(1) >= MIN_EAR)

    def at(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows for decoded frame indices ``index (K,)`` → ``(pitchyaw_deg (K, 2), usable (K,))``; frames without a
        reference row are nan and not usable."""
        index = np.asarray(index, int)
        pos = {int(f): i for i, f in enumerate(self.frame)}
        rows = np.array([pos.get(int(i), -1) for i in index], int)
        have = rows >= 0
        py = np.full((len(index), 2), np.nan)
        py[have] = self.pitchyaw_deg[rows[have]]
        ok = np.zeros(len(index), bool)
        ok[have] = self.usable[rows[have]]
        return py, ok


def _malformed(path: Path, what: str) -> InputValueError:
    return InputValueError(f"reference CSV {path} is malformed: {what}; it must have the columns "
                           f"{','.join(REFERENCE_COLUMNS)} (see ../shared/reference/README.md): regenerate or fix it")


def read_reference(path: str | Path) -> ReferenceTrack:
    """A reference CSV → :class:`ReferenceTrack`. A missing file is a :class:`MediaError`; a missing column, a value
    that is not a number, a duplicate frame or a face without gaze is an :class:`InputValueError` naming the file
    and the line."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"reference CSV not found: {path}")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise _malformed(path, f"no column {', '.join(missing)}")
        values = []
        for row in reader:
            line = reader.line_num
            if None in row or any(row[c] is None for c in REFERENCE_COLUMNS):  # csv's restkey / restval
                n = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or ())
                raise _malformed(path, f"line {line} has {n} fields, not {len(reader.fieldnames)}")
            try:
                values.append([float(row[c]) for c in REFERENCE_COLUMNS])
            except ValueError:
                bad = next(c for c in REFERENCE_COLUMNS if not _is_float(row[c]))
                raise _malformed(path, f"line {line}, column {bad!r} is {row[bad]!r}, not a number") from None
    if not values:
        raise _malformed(path, "it has no rows")
    a = np.array(values, float)  # (N, 15) in REFERENCE_COLUMNS order
    col = {c: a[:, i] for i, c in enumerate(REFERENCE_COLUMNS)}
    frame, face = col["frame"], col["face"]
    if not (np.all(frame == np.round(frame)) and np.all(frame >= 0)) or len(np.unique(frame)) != len(frame):
        raise _malformed(path, "'frame' must hold distinct whole numbers >= 0")
    if not np.all(np.isin(face, (0.0, 1.0))):
        raise _malformed(path, f"'face' must be 0 or 1 (line {2 + int(np.flatnonzero(~np.isin(face, (0, 1)))[0])})")
    py = np.stack([col["ref_pitch_deg"], col["ref_yaw_deg"]], 1)
    gazeless = (face == 1) & ~np.isfinite(py).all(1)
    if gazeless.any():
        raise _malformed(path, f"line {2 + int(np.flatnonzero(gazeless)[0])} has face 1 but no finite gaze")
    return ReferenceTrack(path, frame.astype(int), col["time_s"], face == 1, py,
                          np.stack([col["face_x_mm"], col["face_y_mm"], col["face_z_mm"]], 1),
                          np.stack([col["ear_l"], col["ear_r"]], 1))


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False


def find_media(media_dir: str | Path, reference_dir: str | Path) -> list[tuple[Path, Path]]:
    """``(media file, reference CSV)`` for every image/video in ``media_dir`` with ``<name>.csv`` in
    ``reference_dir``, sorted by name. :class:`MediaError` when a folder is missing or nothing matches."""
    from .io.readers import media_kind

    media, ref = Path(media_dir), Path(reference_dir)
    for d, what, flag in ((media, "media", "--real"), (ref, "reference", "--reference")):
        if not d.is_dir():
            raise MediaError(f"{what} folder not found: {d}; pass an existing folder to {flag}")
    pairs = [(p, ref / f"{p.name}.csv") for p in sorted(media.iterdir())
             if media_kind(p) in ("image", "video") and (ref / f"{p.name}.csv").is_file()]
    if not pairs:
        raise MediaError(f"no image or video in {media} has a reference CSV in {ref} (expected <media file name>.csv, "
                         f"e.g. single_face.mp4.csv); check the two folders belong together")
    return pairs


def no_reference(path: str | Path) -> ReferenceTrack:
    """The :class:`ReferenceTrack` of a still that has none (``--portraits``): one row, no face — nothing is kept for
    the reference comparisons, the reference-free checks still run."""
    nan2, nan3 = np.full((1, 2), np.nan), np.full((1, 3), np.nan)
    return ReferenceTrack(Path(path), np.zeros(1, int), np.zeros(1), np.zeros(1, bool), nan2, nan3, nan2.copy())


def find_portraits(portraits_dir: str | Path) -> list[Path]:
    """The images of ``portraits_dir`` (``--portraits``), sorted by name; :class:`MediaError` when the folder is
    missing or holds no image."""
    from .io.readers import media_kind

    d = Path(portraits_dir)
    if not d.is_dir():
        raise MediaError(f"portraits folder not found: {d}; pass an existing folder of photos to --portraits")
    images = [p for p in sorted(d.iterdir()) if media_kind(p) == "image"]
    if not images:
        raise MediaError(f"no image in {d} (--portraits takes photos of people looking into the camera: .jpg, .png …)")
    return images


# --------------------------------------------------------------------------------------------------- metrics (pure)


def _r(x: float | None, nd: int = 2) -> float | None:
    """JSON-safe rounding: None for None and non-finite values."""
    return None if x is None or not math.isfinite(float(x)) else round(float(x), nd)


def _median(x: np.ndarray) -> float | None:
    return float(np.median(x)) if len(x) else None


def pearson_r(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two series ``(N,)`` (rounded to 4 places); None for N < 3 or a constant series."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3:
        return None
    da, db = a - a.mean(), b - b.mean()
    den = math.sqrt(float(da @ da) * float(db @ db))
    return round(float(da @ db) / den, 4) if den > 1e-12 else None


def angles_to_reference_deg(ours_deg: np.ndarray, ref_deg: np.ndarray) -> np.ndarray:
    """Angle ``(N,)`` (degrees) between two gaze series of pitch/yaw ``(N, 2)`` in degrees."""
    return angular_error_deg(np.radians(np.asarray(ours_deg, float)), np.radians(np.asarray(ref_deg, float)))


def offset_removed_angles_deg(ours_deg: np.ndarray, ref_deg: np.ndarray) -> np.ndarray:
    """Angles ``(N,)`` to the reference after subtracting the mean pitch/yaw difference of the whole series from
    ``ours_deg (N, 2)`` (a constant offset is what a per-user calibration absorbs)."""
    ours, ref = np.asarray(ours_deg, float), np.asarray(ref_deg, float)
    return angles_to_reference_deg(ours - (ours - ref).mean(0), ref)


def eye_agreement(left_deg: np.ndarray, right_deg: np.ndarray) -> dict:
    """Two-eye agreement from each eye's own camera-space pitch/yaw ``(N, 2)`` (degrees): median and 90th
    percentile (linear interpolation) of ``|pitch_L − pitch_R|``, median ``|yaw_L − yaw_R|``; None for N = 0."""
    d = np.abs(np.asarray(left_deg, float) - np.asarray(right_deg, float))  # (N, 2)
    if not len(d):
        return {"pitch_median_deg": None, "pitch_p90_deg": None, "yaw_median_deg": None}
    return {"pitch_median_deg": _r(np.median(d[:, 0])), "pitch_p90_deg": _r(np.percentile(d[:, 0], 90)),
            "yaw_median_deg": _r(np.median(d[:, 1]))}


def jitter_deg(pitchyaw_deg: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``|Δpitch|, |Δyaw|`` ``(M, 2)`` (degrees) between frames of ``pitchyaw_deg (N, 2)`` whose decoded frame
    ``index (N,)`` follow each other (a gap, e.g. a blink left out, is not a step).

    >>> jitter_deg(np.array([[0.0, 0.0], [1.0, -2.0], [9.0, 9.0], [8.0, 9.5]]), np.array([0, 1, 5, 6])).tolist()
    [[1.0, 2.0], [1.0, 0.5]]
    """
    py, idx = np.asarray(pitchyaw_deg, float), np.asarray(index, int)
    step = np.diff(idx) == 1
    return np.abs(np.diff(py, axis=0))[step]


def mirror_consistency_deg(pitchyaw_deg: np.ndarray, mirrored_deg: np.ndarray) -> tuple[float, float]:
    """``(|yaw + yaw_m|, |pitch − pitch_m|)`` of a still's gaze and its horizontally flipped copy's (degrees):
    flipping the image negates camera-space yaw and keeps pitch, so both are 0 for a consistent stage."""
    (p, y), (pm, ym) = np.asarray(pitchyaw_deg, float), np.asarray(mirrored_deg, float)
    return abs(y + ym), abs(p - pm)


#: The in-plane turn of the stills' roll check, degrees (either way).
ROLL_DEG = 15.0


def rolled_frame(frame: np.ndarray, deg: float, principal_point: tuple[float, float]) -> np.ndarray:
    """``frame`` turned by ``deg`` (counter-clockwise on screen) about ``principal_point`` (pixels), same size, black
    outside: what the camera sees when it rolls by ``-deg`` about its optical axis."""
    import cv2

    M = cv2.getRotationMatrix2D((float(principal_point[0]), float(principal_point[1])), float(deg), 1.0)
    return cv2.warpAffine(frame, M, (frame.shape[1], frame.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def roll_consistency_deg(vector_cam: np.ndarray, rolled_vector_cam: np.ndarray, deg: float) -> float:
    """Angle (degrees) between the gaze read on a frame turned by ``deg`` (:func:`rolled_frame`) and the gaze read on
    the frame itself turned the same way (camera axes, x right, y down): 0 for a consistent stage.

    >>> v = np.array([np.sin(0.3), 0.0, -np.cos(0.3)])  # looking 17° to the side
    >>> c, s = np.cos(np.radians(15)), np.sin(np.radians(15))
    >>> round(roll_consistency_deg(v, np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) @ v, 15.0), 6)
    0.0
    """
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    turned = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ np.asarray(vector_cam, float)
    return float(angular_error_deg(np.asarray(rolled_vector_cam, float), turned))


#: The stills' scale check: the frame resized to this fraction of its width and height.
SCALE = 0.5


def scaled_frame(frame: np.ndarray, scale: float = SCALE) -> np.ndarray:
    """``frame`` resized by ``scale`` (area averaging, as a sensor of fewer, larger pixels would see it; sizes
    rounded). With the front-end's camera for the new size (focal length in proportion to the frame's size, principal point
    at the centre) it is the same scene through a camera of lower resolution."""
    import cv2

    if not 0.0 < scale <= 1.0:
        raise InputValueError(f"scale must be in (0, 1], got {scale}")
    h, w = frame.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def scale_consistency_deg(vector_cam: np.ndarray, scaled_vector_cam: np.ndarray) -> float:
    """Angle (degrees) between the gaze read on a frame and on the same frame at lower resolution
    (:func:`scaled_frame`): the scene did not change, so 0 for a consistent stage.

    >>> round(scale_consistency_deg(np.array([0.0, 0.0, -1.0]), np.array([0.0, np.sin(0.01), -np.cos(0.01)])), 3)
    0.573
    """
    return float(angular_error_deg(np.asarray(scaled_vector_cam, float), np.asarray(vector_cam, float)))


def angle_to_camera_deg(vector_cam: np.ndarray, origin_mm: np.ndarray) -> float:
    """Angle (degrees) between a gaze vector ``(3,)`` and the direction from its origin ``(3,)`` (camera mm) to
    the camera at (0, 0, 0).

    >>> angle_to_camera_deg(np.array([0.0, 0.0, -1.0]), np.array([0.0, 0.0, 600.0]))
    0.0
    """
    return float(angular_error_deg(np.asarray(vector_cam, float), -np.asarray(origin_mm, float)))


def vergence_error_deg(left_cam: np.ndarray, right_cam: np.ndarray, left_mm: np.ndarray, right_mm: np.ndarray) -> float:
    """Signed horizontal vergence error (degrees) of one face: ``yaw_L − yaw_R`` of the two eyes' gaze vectors
    ``(3,)`` less the same of the directions from the eyes' centres ``(3,)`` (camera mm) to the camera. 0 when each
    eye points at the camera; negative when the eyes converge less than that (parallel axes: ``−2 atan(IPD / 2d)``).

    >>> e_l, e_r = np.array([32.0, 0.0, 600.0]), np.array([-32.0, 0.0, 600.0])
    >>> round(vergence_error_deg(-e_l / np.linalg.norm(e_l), -e_r / np.linalg.norm(e_r), e_l, e_r), 6)
    0.0
    >>> round(vergence_error_deg(np.array([0.0, 0.0, -1.0]), np.array([0.0, 0.0, -1.0]), e_l, e_r), 2)
    -6.11
    """
    yaw = lambda v: float(np.degrees(vector_to_pitchyaw(np.asarray(v, float))[1]))  # noqa: E731
    want = yaw(-np.asarray(left_mm, float)) - yaw(-np.asarray(right_mm, float))
    return yaw(left_cam) - yaw(right_cam) - want


# --------------------------------------------------------------------------------------------------- stages


@dataclass(frozen=True, eq=False)
class Stage:
    """A row of the scoreboard: ``kind`` is ``"network"``, ``"baseline"`` or ``"candidate"``; ``stage`` has
    ``predict(frame_bgr, face, display=...) -> GazeResult``."""

    label: str
    kind: str
    name: str
    variant: str | None
    weights: str | None
    stage: object


def parse_candidate(spec: str) -> tuple[str, Path, str | None]:
    """``"LABEL=WEIGHTS_PATH[:VARIANT]"`` → ``(label, path, variant or None)``; the path must exist.

    >>> parse_candidate("mine=/nonexistent/w:uniform")
    Traceback (most recent call last):
    ...
    gazezoom.errors.ModelFileError: --candidate mine: weights /nonexistent/w not found (give LABEL=WEIGHTS_PATH[:VARIANT], a weights folder or a gaze_<variant>.safetensors file)
    """
    from .models.variants import resolve_variant

    label, eq, rest = spec.partition("=")
    if not eq or not label.strip() or not rest:
        raise InputValueError(f"--candidate {spec!r}: expected LABEL=WEIGHTS_PATH[:VARIANT], e.g. "
                              f"mine=runs/new:sampler@P")
    path, colon, variant = rest.rpartition(":")
    if not colon or Path(rest).exists():  # a path that itself holds a colon
        path, variant = rest, None
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"--candidate {label}: weights {p} not found (give LABEL=WEIGHTS_PATH[:VARIANT], a "
                             f"weights folder or a gaze_<variant>.safetensors file)")
    return label.strip(), p, None if variant is None else resolve_variant(variant)


def candidate_file(path: Path, variant: str | None) -> Path:
    """The weights file a ``--candidate`` names: ``path`` itself, or in a folder ``gaze_<variant>.safetensors``
    (else ``pupil_<variant>.safetensors``, a pupil model)."""
    from .models.stages import stage_weights_file

    if path.is_file():
        return path
    f = stage_weights_file("network", path, variant or "sampler")
    return f if f.is_file() else stage_weights_file("pupil", path, variant or "sampler")


def build_stages(weights: str | Path, variants=None, baselines=("geometric",), candidates=(), *,
                 device: str = "cpu") -> list[Stage]:
    """The scoreboard's rows: ``variants`` (canonical names; None: every variant with weights in ``weights``),
    ``baselines`` (gaze stage names other than ``network``), ``candidates`` (``LABEL=WEIGHTS[:VARIANT]``)."""
    from .models.checkpoint import weights_path
    from .models.stages import GAZE_STAGES, build_gaze_stage, weights_output
    from .models.variants import ALL_VARIANTS, LOCATOR_OUTPUTS, resolve_variant

    folder = Path(weights)
    if variants is None:
        variants = [v for v in ALL_VARIANTS if weights_path(folder, v).is_file()]
    else:
        variants = [resolve_variant(v) for v in variants]
        missing = [v for v in variants if not weights_path(folder, v).is_file()]
        if missing:
            raise ModelFileError(f"no weights for {', '.join(missing)} in {folder}; train them with "
                                 f"`gazezoom train --variant all --out {folder}` or pass --variants / --weights")
    rows = [Stage(v, "network", "network", v, str(weights_path(folder, v)),
                  build_gaze_stage("network", weights=folder, variant=v, device=device)) for v in variants]
    for b in baselines:
        if b == "network" or b not in GAZE_STAGES:
            valid = [n for n in GAZE_STAGES.names() if n != "network"]
            raise InputValueError(f"--baselines {b!r} is not a baseline gaze stage; choose from {', '.join(valid)} "
                                  f"(network variants go to --variants, other weights to --candidate)")
        # stages that read weights (options a builder does not use are ignored) take them from --weights
        rows.append(Stage(b, "baseline", b, None, None, build_gaze_stage(b, weights=folder, device=device)))
    for spec in candidates:
        label, path, variant = parse_candidate(spec)
        opts = {} if variant is None else {"variant": variant}
        # a pupil model (train --output pupil) runs as the pupil stage
        kind = "pupil" if weights_output(candidate_file(path, variant)) in LOCATOR_OUTPUTS else "network"
        st = build_gaze_stage(kind, weights=path, device=device, **opts)
        cfg = getattr(getattr(getattr(st, "predictor", st), "model", None), "config", None)
        rows.append(Stage(label, "candidate", kind, getattr(cfg, "variant", variant), str(path), st))
    labels = [r.label for r in rows]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise InputValueError(f"two scoreboard rows are named {', '.join(dup)}; give each --candidate its own LABEL")
    if not rows:
        raise InputValueError(f"nothing to score: no variant has weights in {folder}, and no --baselines or "
                              f"--candidate was given")
    return rows


# --------------------------------------------------------------------------------------------------- running


@dataclass
class _Trace:
    """One stage on the frames of one file: fused, left and right eye pitch/yaw ``(K, 2)`` degrees, the angle to
    the camera ``(K,)``, and for stills the fused gaze on the flipped image ``(2,)`` (None without a face)."""

    fused: list = field(default_factory=list)
    left: list = field(default_factory=list)
    right: list = field(default_factory=list)
    to_camera: list = field(default_factory=list)
    vergence: list = field(default_factory=list)
    mirrored: np.ndarray | None = None
    #: stills: roll consistency per turn (degrees) where a face was seen on the turned frame
    rolled: dict = field(default_factory=dict)
    #: stills: scale consistency (degrees) when a face was seen on the frame at :data:`SCALE` of its size
    scaled: float | None = None

    def add(self, g, face) -> None:
        eyes = {e.side: e for e in g.eyes}
        centres = {e.side: np.asarray(e.center_mm, float) for e in face.eyes}
        self.fused.append(np.degrees(np.asarray(g.pitchyaw, float)))
        self.left.append(np.degrees(vector_to_pitchyaw(np.asarray(eyes["left"].vector_cam, float))))
        self.right.append(np.degrees(vector_to_pitchyaw(np.asarray(eyes["right"].vector_cam, float))))
        self.to_camera.append(angle_to_camera_deg(g.vector_cam, g.origin_mm))
        self.vergence.append(vergence_error_deg(eyes["left"].vector_cam, eyes["right"].vector_cam, centres["left"],
                                                centres["right"]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        f = lambda x: np.array(x, float).reshape(-1, 2)  # noqa: E731  (0 frames: (0, 2))
        return f(self.fused), f(self.left), f(self.right), np.array(self.to_camera, float)


@dataclass
class _FileRun:
    """What one media file gave: the frames the stages ran on (``index``, ``time_s`` ``(K,)``), the reference there
    (``ref_deg (K, 2)``, ``kept (K,)``: reference usable too), counts, and a :class:`_Trace` per stage label."""

    name: str
    kind: str
    ref: ReferenceTrack
    counts: dict
    index: list = field(default_factory=list)
    time_s: list = field(default_factory=list)
    traces: dict = field(default_factory=dict)
    #: a still whose subject looks into the camera (:data:`PORTRAITS`, or any image given with ``--portraits``)
    portrait: bool = False
    #: False for ``--portraits`` images: ``ref`` is :func:`no_reference`
    has_reference: bool = True

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index = np.array(self.index, int)
        ref, kept = self.ref.at(index)
        return index, ref, kept


def _read(stages: list[Stage], frame: np.ndarray, face, mirror=None, time_s: float | None = None) -> dict:
    """Every stage's gaze of ``face`` in ``frame``, label → GazeResult; with ``mirror`` (a
    :class:`~gazezoom.face.mirror.MirrorPass`) each averaged with the same face's gaze in the mirror image, as
    ``Pipeline(mirror=True)`` does (a face the mirror pass misses, or whose mirrored eyes a stage cannot read, keeps
    its own reading). Empty when some stage cannot read the face's eyes at all (``UnreadableEyesError``: the
    pipeline gives such a face no gaze), so every stage is scored on the same frames."""
    from .errors import UnreadableEyesError

    try:
        out = {s.label: s.stage.predict(frame, face, display=False) for s in stages}
    except UnreadableEyesError:
        return {}
    if mirror is None:
        return out
    from .face.mirror import match_mirrored, with_mirror

    mirrored, faces_m, _ = mirror.process(frame, time_s)
    face_m = match_mirrored(face, faces_m, frame.shape[1])
    return {s.label: with_mirror(out[s.label], face, face_m, lambda f, s=s: s.stage.predict(mirrored, f, display=False))
            for s in stages}


def _predict_all(run: _FileRun, stages: list[Stage], frame: np.ndarray, face, mirror=None,
                 time_s: float | None = None) -> bool:
    """Every stage's reading of ``face`` added to its trace; False (nothing added) where a stage cannot read it."""
    readings = _read(stages, frame, face, mirror, time_s)
    for label, g in readings.items():
        run.traces[label].add(g, face)
    return bool(readings)


def _mirror_pass(mirror: bool, mode: str):
    """A :class:`~gazezoom.face.mirror.MirrorPass` (``mirror`` True) or a stand-in context that gives None."""
    import contextlib

    if not mirror:
        return contextlib.nullcontext()
    from .face.mirror import MirrorPass

    return MirrorPass(mode=mode)


def _run_video(path: Path, ref: ReferenceTrack, stages: list[Stage], max_frames: int | None, progress: bool,
               mirror: bool = False):
    from tqdm import tqdm

    from .face.frontend import FrontEnd
    from .io.readers import VideoReader

    run = _FileRun(path.name, "video", ref, {"frames_decoded": 0, "our_face": 0, "our_blink": 0},
                   traces={s.label: _Trace() for s in stages})
    stop = None if max_frames is None else max_frames - 1
    usable = {int(i) for i in ref.frame[ref.usable]}
    with VideoReader(path) as reader, FrontEnd(mode="video") as fe, _mirror_pass(mirror, "video") as mp:
        total = reader.info.frame_count if stop is None else min(stop + 1, max(reader.info.frame_count, 0))
        for f in tqdm(reader.frames(stop_after=stop), total=total or None, desc=path.name, disable=not progress,
                      file=sys.stderr, leave=False):
            run.counts["frames_decoded"] += 1
            face, _, _ = fe.process(f.image, f.time_s)
            if face is None:
                continue
            run.counts["our_face"] += 1
            run.counts["our_blink"] += bool(face.blink)
            if face.blink or f.index not in usable:
                continue  # only kept frames are scored: no stage needs to read the others
            if _predict_all(run, stages, f.image, face, mp, f.time_s):
                run.index.append(f.index)
                run.time_s.append(f.time_s)
            else:
                run.counts["unreadable"] = run.counts.get("unreadable", 0) + 1
    return run


def _predict_on(fe, frame: np.ndarray, stages: list[Stage], mirror=None) -> dict:
    """Every stage's gaze on ``frame`` (a still flipped, turned or shrunk for a reference-free check), label →
    GazeResult (mirror-averaged with ``mirror``); empty when the front-end sees no open-eyed face there."""
    face, _, _ = fe.process(frame)
    if face is None or face.blink:
        return {}
    return _read(stages, frame, face, mirror)


def _run_still(path: Path, ref: ReferenceTrack | None, stages: list[Stage], fe, portrait: bool = False,
               mirror=None) -> _FileRun:
    """One still (``ref`` None: a ``--portraits`` image without a reference, :func:`no_reference`); ``mirror``: an
    image-mode :class:`~gazezoom.face.mirror.MirrorPass` for mirror averaging, under which the mirror check is
    left out (a mirror-averaged reading is its mirror image's reflection by construction)."""
    from .io.readers import read_image

    run = _FileRun(path.name, "image", no_reference(path) if ref is None else ref,
                   {"frames_decoded": 1, "our_face": 0, "our_blink": 0}, traces={s.label: _Trace() for s in stages},
                   portrait=portrait, has_reference=ref is not None)
    frame = read_image(path)
    face, _, _ = fe.process(frame)
    if face is None:
        return run
    run.counts["our_face"] = 1
    run.counts["our_blink"] = int(bool(face.blink))
    if face.blink:
        return run
    if not _predict_all(run, stages, frame, face, mirror):
        run.counts["unreadable"] = 1
        return run
    run.index.append(0)
    run.time_s.append(0.0)
    # the still's own fused gaze as a vector (its pitch/yaw came from one)
    own = {s.label: pitchyaw_to_vector(np.radians(run.traces[s.label].fused[0])) for s in stages}
    if mirror is None:
        from .face.mirror import mirror_frame

        for label, g in _predict_on(fe, mirror_frame(frame), stages).items():
            run.traces[label].mirrored = np.degrees(np.asarray(g.pitchyaw))
    # roll: the frame turned about the principal point of the camera the front-end assumes for this frame size
    K = fe.camera_for(frame.shape[1], frame.shape[0]).K
    for deg in (-ROLL_DEG, ROLL_DEG):
        for label, g in _predict_on(fe, rolled_frame(frame, deg, (K[0, 2], K[1, 2])), stages, mirror).items():
            run.traces[label].rolled[deg] = roll_consistency_deg(own[label], g.vector_cam, deg)
    # scale: the same scene through a camera of lower resolution (the front-end's camera for the smaller size)
    for label, g in _predict_on(fe, scaled_frame(frame), stages, mirror).items():
        run.traces[label].scaled = scale_consistency_deg(own[label], g.vector_cam)
    return run


def _collect(media_dir, reference_dir, stages: list[Stage], *, max_frames=None, progress=False,
             portraits_dir=None, mirror: bool = False) -> list[_FileRun]:
    """Front-end once per frame of every media file with a reference (and of every ``portraits_dir`` image, without
    one), every stage on the same faces (``mirror``: and on the mirror image's, averaged)."""
    from tqdm import tqdm

    from .face.frontend import FrontEnd
    from .io.readers import media_kind

    pairs = [(m, read_reference(c)) for m, c in find_media(media_dir, reference_dir)]
    extra = [] if portraits_dir is None else find_portraits(portraits_dir)
    clash = sorted({p.name for p in extra} & {m.name for m, _ in pairs})
    if clash:
        raise InputValueError(f"--portraits holds {', '.join(clash)}, also in {media_dir}: the scoreboard names files by "
                              f"their name, so rename one copy")
    pairs += [(p, None) for p in extra]
    runs = []
    with FrontEnd(mode="image") as still_fe, _mirror_pass(mirror, "image") as still_mp:
        for media, ref in tqdm(pairs, desc="real media", disable=not progress, file=sys.stderr):
            if media_kind(media) == "video":
                if not ref.usable.any():  # e.g. no_face.mp4: nothing to score, and decoding it costs
                    runs.append(_FileRun(media.name, "video", ref, {"frames_decoded": None, "our_face": None,
                                                                     "our_blink": None}))
                    continue
                runs.append(_run_video(media, ref, stages, max_frames, progress, mirror))
            else:
                runs.append(_run_still(media, ref, stages, still_fe, portrait=ref is None or media.name in PORTRAITS,
                                       mirror=still_mp))
    return runs


# --------------------------------------------------------------------------------------------------- scoring


def _reference_info(run: _FileRun) -> dict:
    """What the reference says about the file on our kept frames (std, jitter) plus its row counts."""
    index, ref, kept = run.arrays()
    r = run.ref
    info = {"rows": len(r.frame), "face": int(r.face.sum()), "open_eyes": int(r.usable.sum()), "kept": int(kept.sum())}
    if run.kind == "video":
        k = ref[kept]
        std = k.std(0) if len(k) > 1 else np.full(2, np.nan)
        jit = jitter_deg(k, index[kept])
        info |= {"pitch_std_deg": _r(std[0]), "yaw_std_deg": _r(std[1]),
                 "pitch_moves": bool(std[0] >= MOVING_STD_DEG), "yaw_moves": bool(std[1] >= MOVING_STD_DEG),
                 "jitter_pitch_deg": _r(_median(jit[:, 0])), "jitter_yaw_deg": _r(_median(jit[:, 1]))}
    elif run.portrait and r.usable[0]:
        v = pitchyaw_to_vector(np.radians(r.pitchyaw_deg[0]))
        info["to_camera_deg"] = _r(angle_to_camera_deg(v, r.face_mm[0]))
    return info


def _score_file(run: _FileRun, trace: _Trace, ref_info: dict) -> dict:
    """Metrics of one stage on one file (degrees; see the module docstring)."""
    index, ref, kept = run.arrays()
    fused, left, right, to_cam = trace.arrays()
    out = {"frames": int(kept.sum())}
    if not len(index):
        return out | {"angle_to_ref_deg": None}
    err = angles_to_reference_deg(fused[kept], ref[kept])
    out["angle_to_ref_deg"] = _r(_median(err))
    out["eyes"] = eye_agreement(left[kept], right[kept])
    verg = np.array(trace.vergence, float)
    if run.kind == "video":
        out["vergence_error_deg"] = _r(_median(verg[kept]))
        out["angle_to_ref_offset_removed_deg"] = _r(_median(offset_removed_angles_deg(fused[kept], ref[kept])))
        out["offset_pitch_yaw_deg"] = [_r(x) for x in (fused[kept] - ref[kept]).mean(0)] if kept.any() else None
        for j, ax in enumerate(("pitch", "yaw")):
            r = pearson_r(fused[kept, j], ref[kept, j])
            out[f"{ax}_r_meaningful"] = bool(ref_info[f"{ax}_moves"]) and r is not None
            out[f"{ax}_r"] = r if out[f"{ax}_r_meaningful"] else None
        jit = jitter_deg(fused[kept], index[kept])
        out["jitter_pitch_deg"], out["jitter_yaw_deg"] = _r(_median(jit[:, 0])), _r(_median(jit[:, 1]))
        return out
    # stills: the reference-free checks run whether or not the reference's eyes read as open
    out["pitch_yaw_deg"] = [_r(x) for x in fused[0]]
    out["eye_pitch_diff_deg"] = _r(abs(float(left[0, 0] - right[0, 0])))  # one face's two eyes, no reference
    if trace.mirrored is not None:
        ys, pd = mirror_consistency_deg(fused[0], trace.mirrored)
        out["mirror"] = {"abs_yaw_sum_deg": _r(ys), "abs_pitch_diff_deg": _r(pd)}
    if trace.rolled:  # the mean over the turns where a face was seen
        out["roll_deg"] = _r(float(np.mean(list(trace.rolled.values()))))
        out["roll_per_turn_deg"] = {f"{d:+g}": _r(v) for d, v in trace.rolled.items()}
    if trace.scaled is not None:
        out["scale_deg"] = _r(trace.scaled)
    if run.portrait:
        out["to_camera_deg"] = _r(to_cam[0])
        out["vergence_error_deg"] = _r(float(verg[0]))  # exact here: both eyes look at the camera
    return out


def _aim(name: str, value, count: str | None = None) -> dict:
    what, op, thr = AIMS[name]
    ok = None if value is None else (value <= thr if op == "<=" else value >= thr)
    return {"what": what, "value": value, "threshold": f"{op} {thr:g}", "pass": ok} | ({"count": count} if count else {})


def _pool(run_list: list[_FileRun], label: str, files: dict) -> tuple[dict, dict]:
    """Pooled metrics and aims of one stage over all files (frames pooled over videos, medians over stills)."""
    err, off, left, right, jit, verg = [], [], [], [], [], []
    for run in run_list:
        if run.kind != "video" or not run.index:
            continue
        index, ref, kept = run.arrays()
        fused, lft, rgt, _ = run.traces[label].arrays()
        err.append(angles_to_reference_deg(fused[kept], ref[kept]))
        off.append(offset_removed_angles_deg(fused[kept], ref[kept]))
        left.append(lft[kept])
        right.append(rgt[kept])
        jit.append(jitter_deg(fused[kept], index[kept]))
        verg.append(np.array(run.traces[label].vergence, float)[kept])
    cat = lambda xs, w: np.concatenate(xs) if xs else np.zeros((0,) + w)  # noqa: E731
    jit_all = cat(jit, (2,))
    kind = {run.name: run.kind for run in run_list}
    videos = {n: f for n, f in files.items() if kind[n] == "video" and f["frames"]}
    stills = {n: f for n, f in files.items() if kind[n] == "image" and "pitch_yaw_deg" in f}  # our face seen
    mirror = np.array([[f["mirror"]["abs_yaw_sum_deg"], f["mirror"]["abs_pitch_diff_deg"]]
                       for f in stills.values() if "mirror" in f]).reshape(-1, 2)
    to_cam = [f["to_camera_deg"] for f in stills.values() if f.get("to_camera_deg") is not None]
    rolls = [f["roll_deg"] for f in stills.values() if "roll_deg" in f]
    scales = [f["scale_deg"] for f in stills.values() if "scale_deg" in f]
    within = sum(a <= TO_CAMERA_DEG for a in to_cam)
    r_of = {ax: [f[f"{ax}_r"] for f in videos.values() if f.get(f"{ax}_r_meaningful")] for ax in ("pitch", "yaw")}
    pooled = {
        "video_frames": int(sum(f["frames"] for f in videos.values())), "videos": len(videos), "stills": len(stills),
        "pitch_r_min": min(r_of["pitch"], default=None), "yaw_r_min": min(r_of["yaw"], default=None),
        "clips_moving_pitch": len(r_of["pitch"]), "clips_moving_yaw": len(r_of["yaw"]),
        "angle_to_ref_deg": _r(_median(cat(err, ()))),
        "angle_to_ref_offset_removed_deg": _r(_median(cat(off, ()))),
        "stills_angle_to_ref_deg": _r(_median(np.array([f["angle_to_ref_deg"] for f in stills.values()
                                                        if f["frames"] and f["angle_to_ref_deg"] is not None]))),
        "eyes": eye_agreement(cat(left, (2,)), cat(right, (2,))),
        # the same agreement on the stills (other faces, other light): a video's one face can hide a bias
        "stills_eye_pitch_median_deg": _r(_median(np.array([f["eye_pitch_diff_deg"] for f in stills.values()]))),
        "jitter_pitch_deg": _r(_median(jit_all[:, 0])), "jitter_yaw_deg": _r(_median(jit_all[:, 1])),
        "mirror_abs_yaw_sum_deg": _r(_median(mirror[:, 0])), "mirror_abs_pitch_diff_deg": _r(_median(mirror[:, 1])),
        "roll_median_deg": _r(_median(np.array(rolls))), "roll_max_deg": _r(max(rolls, default=None)),
        "scale_median_deg": _r(_median(np.array(scales))), "scale_max_deg": _r(max(scales, default=None)),
        "to_camera_median_deg": _r(_median(np.array(to_cam))),
        "vergence_error_videos_deg": _r(_median(cat(verg, ()))),
        "vergence_error_portraits_deg": _r(_median(np.array([f["vergence_error_deg"] for f in stills.values()
                                                             if f.get("vergence_error_deg") is not None]))),
        "portraits_within": int(within), "portraits": len(to_cam),
    }
    eye_med = [f["eyes"]["pitch_median_deg"] for f in videos.values() if f["eyes"]["pitch_median_deg"] is not None]
    eye_p90 = [f["eyes"]["pitch_p90_deg"] for f in videos.values() if f["eyes"]["pitch_p90_deg"] is not None]
    aims = {
        "eye_pitch_median": _aim("eye_pitch_median", max(eye_med, default=None)),
        "eye_pitch_p90": _aim("eye_pitch_p90", max(eye_p90, default=None)),
        "pitch_r": _aim("pitch_r", pooled["pitch_r_min"]),
        "yaw_r": _aim("yaw_r", pooled["yaw_r_min"]),
        "portraits_to_camera": _aim("portraits_to_camera", _r(within / len(to_cam), 3) if to_cam else None,
                                    f"{within}/{len(to_cam)}"),
        "mirror_yaw": _aim("mirror_yaw", pooled["mirror_abs_yaw_sum_deg"]),
    }
    return pooled, aims


def _score(runs: list[_FileRun], stages: list[Stage], media_dir, reference_dir, max_frames, portraits_dir=None) -> dict:
    files = {}
    for run in runs:
        files[run.name] = {"kind": run.kind, "frames_decoded": run.counts["frames_decoded"],
                           "our_face": run.counts["our_face"], "our_blink": run.counts["our_blink"],
                           "reference": _reference_info(run) | {"given": run.has_reference}} | (
                           {"unreadable": run.counts["unreadable"]} if "unreadable" in run.counts else {})
    out = {}
    for s in stages:
        per = {run.name: _score_file(run, run.traces[s.label], files[run.name]["reference"])
               for run in runs if run.traces}
        pooled, aims = _pool([r for r in runs if r.traces], s.label, per)
        out[s.label] = {"kind": s.kind, "stage": s.name, "variant": s.variant, "weights": s.weights,
                        "pooled": pooled, "aims": aims, "files": per}
    return {"media_dir": str(media_dir), "reference_dir": str(reference_dir), "max_frames": max_frames,
            "portraits_dir": None if portraits_dir is None else str(portraits_dir),
            "min_ear": MIN_EAR, "moving_std_deg": MOVING_STD_DEG, "portraits": [r.name for r in runs if r.portrait],
            "reference_note": REFERENCE_BIAS_NOTE, "files": files, "stages": out}


def evaluate_real(media_dir, reference_dir, stages: list[Stage], *, max_frames: int | None = None,
                  figures_dir: str | Path | None = None, progress: bool = False,
                  portraits_dir: str | Path | None = None, mirror: bool = False) -> dict:
    """Score every stage (:func:`build_stages`) on the media of ``media_dir`` against ``reference_dir`` → the
    ``--json`` dict (``files``: counts and the reference per file; ``stages``: per label ``pooled``, ``aims`` and
    ``files``). ``max_frames`` reads only that many frames of each video; ``figures_dir`` also writes the traces;
    ``portraits_dir``: images scored as portraits looking into the camera, without a reference (``--portraits``);
    ``mirror``: every reading mirror-averaged (``gazezoom process --mirror``; the stills' mirror check is then left
    out, ``null``: it holds by construction). The report says which (``"mirror_averaged"``).
    """
    if max_frames is not None and max_frames < 1:
        raise InputValueError(f"--max-frames must be >= 1, got {max_frames}")
    if not stages:
        raise InputValueError("no gaze stages to score")
    runs = _collect(media_dir, reference_dir, stages, max_frames=max_frames, progress=progress,
                    portraits_dir=portraits_dir, mirror=mirror)
    report = _score(runs, stages, media_dir, reference_dir, max_frames, portraits_dir)
    report["mirror_averaged"] = bool(mirror)
    if figures_dir is not None:
        report["figures"] = [str(p) for p in trace_figures(runs, stages, figures_dir)]
    return report


# --------------------------------------------------------------------------------------------------- output


def _fmt(x, nd: int = 1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def format_scoreboard(report: dict) -> str:
    """Markdown tables of :func:`evaluate_real`'s report: pooled metrics per stage, the aims, then per-file notes."""
    head = ("| stage | video frames | pitch r | yaw r | to ref (°) | offset removed (°) | eyes Δpitch med / p90 (°) | "
            "stills eyes Δpitch med (°) | eyes Δyaw med (°) | jitter pitch / yaw (°) | mirror yaw sum / Δpitch (°) | "
            f"roll ±{ROLL_DEG:g}° med / max (°) | scale ×{SCALE:g} med / max (°) | portraits ≤{TO_CAMERA_DEG:g}° | "
            "stills to ref (°) | "
            "vergence err videos / portraits (°) |")
    lines = [head, "|" + "---|" * 16]
    for label, s in report["stages"].items():
        p, e = s["pooled"], s["pooled"]["eyes"]
        r = [("n/a" if p[f"clips_moving_{ax}"] == 0 else _fmt(p[f"{ax}_r_min"], 2)) for ax in ("pitch", "yaw")]
        lines.append(
            f"| {label} | {p['video_frames']} | {r[0]} | {r[1]} | {_fmt(p['angle_to_ref_deg'])} | "
            f"{_fmt(p['angle_to_ref_offset_removed_deg'])} | {_fmt(e['pitch_median_deg'])} / {_fmt(e['pitch_p90_deg'])} | "
            f"{_fmt(p.get('stills_eye_pitch_median_deg'))} | "
            f"{_fmt(e['yaw_median_deg'])} | {_fmt(p['jitter_pitch_deg'], 2)} / {_fmt(p['jitter_yaw_deg'], 2)} | "
            f"{_fmt(p['mirror_abs_yaw_sum_deg'])} / {_fmt(p['mirror_abs_pitch_diff_deg'])} | "
            f"{_fmt(p.get('roll_median_deg'))} / {_fmt(p.get('roll_max_deg'))} | "
            f"{_fmt(p.get('scale_median_deg'))} / {_fmt(p.get('scale_max_deg'))} | "
            f"{p['portraits_within']}/{p['portraits']} | {_fmt(p['stills_angle_to_ref_deg'])} | "
            f"{_fmt(p.get('vergence_error_videos_deg'))} / {_fmt(p.get('vergence_error_portraits_deg'))} |")
    names = list(AIMS)
    lines += ["", "| stage | " + " | ".join(f"{n} {AIMS[n][1]} {AIMS[n][2]:g}" for n in names) + " | aims met |",
              "|" + "---|" * (len(names) + 2)]
    for label, s in report["stages"].items():
        cells, met = [], 0
        for n in names:
            a = s["aims"][n]
            verdict = {True: "pass", False: "FAIL", None: "n/a"}[a["pass"]]
            met += a["pass"] is True
            val = a.get("count") or _fmt(a["value"], 2)
            cells.append(verdict if a["value"] is None else f"{val} {verdict}")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {met}/{sum(s['aims'][n]['pass'] is not None for n in names)} |")
    lines.append("")
    if report.get("mirror_averaged"):
        lines.append("Every reading mirror-averaged (--mirror: each frame also read flipped left-right); the stills' "
                     "mirror check left out (it holds by construction).")
    lines.append("pitch r / yaw r: lowest over the clips whose reference moves (std >= "
                 f"{report['moving_std_deg']:g}°), n/a where none does; to ref: median angle to the reference over "
                 "the kept video frames; eye and jitter columns pooled over the kept video frames; stills eyes Δpitch: "
                 "median over the stills where our front-end finds a face (no reference needed); mirror, roll "
                 f"(the still turned ±{ROLL_DEG:g}° in-plane: how far the gaze fails to turn with it), scale (the "
                 f"still at ×{SCALE:g} its size: how far the gaze moves) and portraits "
                 "over the stills; vergence err: median of yaw_L − yaw_R less the convergence on the camera (~6° at "
                 "60 cm; negative: the eyes diverge from it), on the video frames (assumes a target at the camera's "
                 "distance) and the portraits (exact).")
    for name, f in report["files"].items():
        r = f["reference"]
        if f["kind"] == "video" and f["frames_decoded"] is None:
            lines.append(f"- {name}: skipped, the reference has no open-eyed face in it ({r['rows']} rows)")
        elif f["kind"] == "video":
            lines.append(f"- {name}: {r['kept']} kept of {f['frames_decoded']} frames (our face {f['our_face']}, our "
                         f"blink {f['our_blink']}; reference face {r['face']}, open eyes {r['open_eyes']}); reference "
                         f"std pitch {_fmt(r['pitch_std_deg'])}°, yaw {_fmt(r['yaw_std_deg'])}°, jitter "
                         f"{_fmt(r['jitter_pitch_deg'], 2)}° / {_fmt(r['jitter_yaw_deg'], 2)}°")
        else:
            cam = f", reference to camera {_fmt(r['to_camera_deg'])}°" if "to_camera_deg" in r else ""
            ref = (f"reference open eyes {r['open_eyes']}{cam}" if r.get("given", True)
                   else "no reference (--portraits: a portrait looking into the camera)")
            lines.append(f"- {name}: our face {f['our_face']} (blink {f['our_blink']}), {ref}")
    lines.append(f"note: {report['reference_note']}.")
    return "\n".join(lines)


def trace_figures(runs: list[_FileRun], stages: list[Stage], out_dir: str | Path) -> list[Path]:
    """Per video, ``traces_<video>.png``: per-frame pitch and yaw (degrees) of every stage and of the reference
    over time, on the kept frames (gaps are frames left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for run in runs:
        if run.kind != "video" or not run.index:
            continue
        index, ref, kept = run.arrays()
        t = np.array(run.time_s, float)
        gap = np.r_[False, np.diff(index) > 1]  # break the lines where frames were left out
        fig, axes = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
        for j, (ax, name) in enumerate(zip(axes, ("pitch", "yaw"))):
            def line(y, **kw):
                y = np.where(gap, np.nan, y)
                ax.plot(np.where(gap, np.nan, t), y, **kw)
            line(ref[:, j], color="black", lw=2.4, label="reference (real-trained)")
            for k, s in enumerate(stages):
                fused = run.traces[s.label].arrays()[0]
                # the direct network variants thin and solid; the other stages (fusion, pupil, geometric) thick and
                # dashed, each in its own colour, so the shipped default and the floor stand apart
                style = dict(ls="--", lw=2.0, color=f"C{k}") if s.kind != "network" else dict(lw=1.0, color=f"C{k}")
                line(fused[:, j], label=f"{s.label}" + ("" if s.kind == "network" else f" ({s.name} stage)"), **style)
            ax.set_ylabel(f"{name} (°)")
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel("time (s)")
        axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[0].set_title(f"{run.name}: gaze per frame, {len(index)} kept frames (face, eyes open for both)",
                          fontsize=10)
        fig.text(0.01, 0.005, "reference: ETH-XGaze ResNet-18 (evaluation only); its pitch reads ~11° low on faces "
                              "looking into the camera, so compare changes, not the absolute pitch", fontsize=7)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        p = out_dir / f"traces_{run.name}.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths
