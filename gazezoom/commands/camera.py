"""``gazezoom camera calibrate``: camera intrinsics from chessboard images or a video (OpenCV's calibrateCamera).

Print a chessboard (e.g. 9×6 inner corners), measure one square in mm, film it flat from a dozen angles and
distances covering the whole view, then::

    gazezoom camera calibrate board.mp4 --board 9x6 --square-mm 25 --out camera.json

The JSON (layout in :mod:`gazezoom.face.camera`) is what ``--camera`` of other commands and
``Pipeline(camera=...)`` read. Without a calibration the front-end assumes focal length = the frame's long side:
head distance and eye regions then scale with the error of that guess, rotations barely change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cliargs import argtype, parse_pair
from ..errors import InputValueError, MediaError, NotEnoughDataError
from ..face.camera import Camera, save_camera

__all__ = ["calibrate_from_frames", "iter_frames", "add_arguments", "run"]


def _board(text: str) -> tuple[int, int]:
    """``"9x6"`` → ``(9, 6)``: inner corners per row x per column, at least 2x2 (an argparse error otherwise)."""
    return argtype(lambda t: parse_pair(t, name="board", form="COLUMNSxROWS of inner corners", example="9x6",
                                        minimum=2))(text)


def iter_frames(paths: list[Path], every: int = 10):
    """Gray frames from image files, folders of images and videos (every ``every``-th video frame). Media are read
    by :mod:`gazezoom.io.readers` as ``gazezoom process`` reads them (phone videos rotated as displayed)."""
    import cv2

    from ..io.readers import VideoReader, media_kind, read_image

    for path in paths:
        if path.is_dir():
            yield from iter_frames(sorted(p for p in path.iterdir() if media_kind(p) == "image"), every)
            continue
        if not path.is_file():
            raise MediaError(f"{path} not found")
        if media_kind(path) == "image":
            yield cv2.cvtColor(read_image(path), cv2.COLOR_BGR2GRAY)
            continue
        with VideoReader(path) as reader:
            for frame in reader.frames(lambda i: i % every == 0):
                if frame.image is not None:
                    yield cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)


def calibrate_from_frames(frames, board: tuple[int, int], square_mm: float, min_views: int = 5) -> tuple[Camera, float, int]:
    """Gray frames ``(H, W)`` uint8 → ``(camera, rms reprojection error px, views used)``.

    Raises :class:`NotEnoughDataError` when the board is found in fewer than ``min_views`` frames.
    """
    import cv2

    if square_mm <= 0:
        raise InputValueError(f"--square-mm must be positive, got {square_mm}")
    cols, rows = board
    obj = np.zeros((rows * cols, 3), np.float32)
    obj[:, :2] = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * square_mm
    object_points, image_points, size, seen = [], [], None, 0
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3)
    for gray in frames:
        seen += 1
        if size is None:
            size = gray.shape[::-1]
        elif gray.shape[::-1] != size:
            raise InputValueError(f"all views must have one size; got {gray.shape[::-1]} after {size}")
        found, corners = cv2.findChessboardCorners(gray, (cols, rows), flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
        if not found:
            continue
        corners = cv2.cornerSubPix(gray, corners, (5, 5), (-1, -1), criteria)
        object_points.append(obj)
        image_points.append(corners)
    if len(image_points) < min_views:
        raise NotEnoughDataError(
            f"the {cols}x{rows} chessboard (inner corners) was found in {len(image_points)} of {seen} views; need "
            f"at least {min_views}: check --board, keep the whole board in view, sharp, from several angles"
        )
    rms, K, dist, _, _ = cv2.calibrateCamera(object_points, image_points, size, None, None)
    return Camera(np.asarray(K, float), np.asarray(dist, float).ravel(), (int(size[0]), int(size[1]))), float(rms), len(image_points)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="camera_command", metavar="ACTION", required=True)
    p = sub.add_parser(
        "calibrate",
        help="intrinsics from chessboard images, folders of images or videos",
        description="Camera intrinsics (K, distortion) from views of a printed chessboard; writes the JSON camera file.",
    )
    p.add_argument("inputs", type=Path, nargs="+", metavar="IMAGE_VIDEO_OR_FOLDER")
    p.add_argument("--board", type=_board, default=(9, 6), help="inner corners per row x per column (default 9x6)")
    p.add_argument("--square-mm", type=float, required=True, help="side of one square in millimetres")
    p.add_argument("--every", type=int, default=10, help="use every N-th video frame (default 10)")
    p.add_argument("--min-views", type=int, default=5, help="fewest views with the board found (default 5)")
    p.add_argument("--out", type=Path, required=True, help="camera JSON to write")


def run(args: argparse.Namespace) -> int:
    if args.every < 1 or args.min_views < 1:
        raise InputValueError(f"--every and --min-views must be >= 1, got {args.every} and {args.min_views}")
    camera, rms, n = calibrate_from_frames(iter_frames(args.inputs, args.every), args.board, args.square_mm, args.min_views)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_camera(camera, args.out)
    K = camera.K
    print(
        f"{n} views, RMS reprojection error {rms:.3f} px; fx {K[0, 0]:.1f} fy {K[1, 1]:.1f} cx {K[0, 2]:.1f} "
        f"cy {K[1, 2]:.1f} for {camera.image_size[0]}x{camera.image_size[1]}; wrote {args.out}"
    )
    return 0
