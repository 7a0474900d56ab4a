"""``gazezoom inspect IMAGE_OR_VIDEO --out picture.png``: a debug picture of one frame.

Top: the frame with landmarks, eye regions (the patch's left edge drawn thicker), head axes and head pose.
Bottom: each eye's normalised patch read from the full-resolution frame through its ``region_to_frame`` with the
sampler's uniform grid (what the gaze network would see without zoom; the right eye is mirrored so both look like
left eyes), plus a plain crop around each eye for comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import InputValueError, MediaError, NoFaceError
from ..results import Face

__all__ = ["eye_patches", "inspect_picture", "read_frame", "add_arguments", "run"]


def eye_patches(frame_bgr: np.ndarray, face: Face, size: tuple[int, int] = (72, 120)) -> list[np.ndarray]:
    """Both eyes' normalised patches ``[(h, w, 3) uint8 BGR] × 2`` (left, right), read once from the frame by
    :func:`gazezoom.sampler.sample_regions` with the eyes' ``region_to_frame``."""
    import torch

    from ..sampler import sample_regions

    frame = torch.from_numpy(np.ascontiguousarray(frame_bgr)).permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    H = torch.from_numpy(np.stack([e.region_to_frame for e in face.eyes])).float()  # (2, 3, 3)
    patches = sample_regions(frame, H, size)  # (2, 3, h, w)
    return [p.permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy() for p in patches]


def _eye_crop(frame: np.ndarray, face: Face, side_index: int) -> np.ndarray:
    eye = face.eyes[side_index]
    c = eye.corners_px.mean(0)
    half = max(8.0, 0.9 * np.linalg.norm(eye.corners_px[0] - eye.corners_px[1]))
    x0, y0 = np.floor(c - [half, 0.6 * half]).astype(int)
    x1, y1 = np.ceil(c + [half, 0.6 * half]).astype(int)
    h, w = frame.shape[:2]
    crop = frame[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    return crop if crop.size else np.zeros((8, 8, 3), np.uint8)


def inspect_picture(frame_bgr: np.ndarray, result, K: np.ndarray, *, width: int = 960, patch_size=(72, 120)) -> np.ndarray:
    """Frame overlay on top, patch panel below → one BGR image."""
    import cv2

    from ..draw import draw_result, patches_panel, put_label

    if width < 1:
        raise InputValueError(f"width of the picture must be >= 1 pixel, got {width}")
    scale = width / frame_bgr.shape[1]
    top = cv2.resize(frame_bgr, (int(round(frame_bgr.shape[1] * scale)), int(round(frame_bgr.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    draw_result(top, result, K, scale=scale)
    face = result.face
    if face is None:
        return top
    left, right = eye_patches(frame_bgr, face, patch_size)
    panel = patches_panel(
        [
            ("left eye: normalised", left),
            ("right eye: normalised, mirrored", right),
            ("left eye: crop", _eye_crop(frame_bgr, face, 0)),
            ("right eye: crop", _eye_crop(frame_bgr, face, 1)),
        ],
        height=patch_size[0] * 2,
    )
    W = max(top.shape[1], panel.shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, W - a.shape[1]), (0, 0)))  # noqa: E731
    out = np.concatenate([pad(top), pad(panel)], 0)
    put_label(out, "subject's left eye = green, right = orange; thick edge = patch's left (nasal)", (8, top.shape[0] - 8), size=0.45)
    return out


def read_frame(path: Path, index: int = 0) -> tuple[np.ndarray, float]:
    """Frame ``index`` of an image or video file → ``(BGR uint8 frame, time_s)``. Videos are read as
    ``gazezoom process`` reads them (:class:`gazezoom.io.readers.VideoReader`: rotation metadata applied,
    container time)."""
    import cv2

    from ..io.readers import VideoReader, media_kind

    if path.is_dir():
        raise MediaError(f"{path} is a folder; inspect takes one image or video file (`gazezoom process {path}` "
                         "handles a whole folder)")
    if not path.is_file():
        raise MediaError(f"{path} not found")
    if media_kind(path) == "image":
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise MediaError(f"cannot read image {path}")
        if img.dtype != np.uint8:
            img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
        return img, 0.0
    with VideoReader(path) as reader:
        n = reader.info.frame_count
        if index < 0 or (n > 0 and index >= n):
            raise InputValueError(f"--frame {index} is outside the video's {n} frames (0..{n - 1})")
        for frame in reader.frames(lambda i: i == index, stop_after=index):
            if frame.index == index:
                return frame.image, frame.time_s
    raise MediaError(f"{path}: could not read frame {index} (the video ends before it)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IMAGE_OR_VIDEO", help="an image or a video file")
    parser.add_argument("--out", type=Path, required=True, help="where to write the debug picture (PNG/JPG)")
    parser.add_argument("--frame", type=int, default=0, help="frame index for videos (default 0)")
    parser.add_argument("--camera-file", "--camera", dest="camera", type=Path, default=None,
                        help="camera intrinsics (JSON or OpenCV YAML; --camera is the older name); default: from frame size")
    parser.add_argument("--width", type=int, default=960, help="width of the frame in the picture (default 960)")
    parser.add_argument("--require-face", action="store_true", help="exit with an error when no face is found")
    parser.add_argument("--tiles", type=int, default=0, metavar="N", help="also search an NxN grid of overlapping "
                        "windows for faces that are small in the frame (group photos; N = 2 or 3; default 0 = off)")


def run(args: argparse.Namespace) -> int:
    import cv2

    from ..build import build_pipeline

    frame, time_s = read_frame(args.input, args.frame)
    with build_pipeline(gaze=False, camera=args.camera, mode="image", tiles=args.tiles) as pipe:
        result = pipe.process(frame, time_s)
    K = result.camera.K
    bgr = pipe._bgr(frame)
    if result.face is None and args.require_face:
        raise NoFaceError(f"no face found in {args.input} (frame {args.frame})")
    picture = inspect_picture(bgr, result, K, width=args.width)
    from ..fileio import writable_dir

    writable_dir(args.out.parent, "the folder of --out", "choose an --out you can write to")
    ok = False
    try:
        ok = cv2.imwrite(str(args.out), picture)
    except cv2.error:
        pass  # OpenCV raises for an extension it has no encoder for
    if not ok:
        raise MediaError(f"could not write {args.out}: OpenCV has no image format for the extension "
                         f"{args.out.suffix or '(none)'}; use .png or .jpg")
    face = result.face
    if face is None:
        print(f"{args.input}: no face; wrote {args.out}")
    else:
        h = face.head
        print(
            f"{args.input}: {1 + len(result.others)} face(s); primary id {face.track_id} pitch {h.pitch_deg:+.1f} "
            f"yaw {h.yaw_deg:+.1f} roll {h.roll_deg:+.1f} deg, {h.translation_mm[2]:.0f} mm away; "
            f"openness L {face.eyes[0].openness:.2f} R {face.eyes[1].openness:.2f}; wrote {args.out}"
        )
    return 0
