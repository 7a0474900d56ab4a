"""Split the two eyes' pitch difference into what goes with the image side and what goes with the face
(docs/zoom.md, "Gaze that reads real eyes": why the shipped fusion does not beat the geometric floor on two-eye
agreement).

    python scripts/eye_pitch_mirror_split.py [--stages geometric fusion] [--every 3] [MEDIA ...]

For every open-eyed frame (stills; every Nth frame of videos) each stage reads the subject's left − right eye pitch
``d`` on the frame and ``d_m`` on its mirror image (MediaPipe names the eyes by the face, so in the mirror the subject's
right eye, now on the other side of the image, is the one called left). A part ``b`` that goes with the *side of the
image* an eye appears on (the landmarker's left/right asymmetry) adds to both readings; a part ``a`` that goes with the
*face* (the eyes' own difference, parallax of a rolled head, the stage's own per-eye geometry) flips sign:
``d = a + b``, ``d_m = −a + b``, so ``b = (d + d_m) / 2`` and ``a = (d − d_m) / 2``. Label-free: no reference is read.
Prints per file and stage the frames used and the means of ``d``, ``b`` and ``a`` (degrees). Default media: the shared
stills and clips. The mirrored video runs its own front-end (its own tracking), as a second camera would.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gazezoom.errors import GazezoomError
from gazezoom.face.frontend import FrontEnd
from gazezoom.face.mirror import MirrorPass
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import vector_to_pitchyaw
from gazezoom.io.readers import VideoReader, media_kind, read_image
from gazezoom.models.stages import build_gaze_stage

MEDIA = REPO_ROOT.parent / "shared" / "media"
DEFAULT = ["single_face.jpg", "obama.jpg", "obama2.jpg", "obama3.jpg", "astronaut.png", "obama_partial_face.jpg",
           "single_face.mp4", "face_noface.mov", "noface_face.mov"]


def eye_pitch_difference(stage, frame: np.ndarray, face) -> float:
    """The subject's left − right eye pitch (degrees, camera space) in ``stage``'s reading of ``face``."""
    g = stage.predict(frame, face, display=False)
    pitch = {e.side: np.degrees(vector_to_pitchyaw(np.asarray(e.vector_cam, float))[0]) for e in g.eyes}
    return float(pitch["left"] - pitch["right"])


def frames_of(path: Path, every: int):
    """``(frame, time_s)`` of a still, or every ``every``-th frame of a video (time_s None for stills)."""
    if media_kind(path) == "video":
        with VideoReader(path) as reader:
            for f in reader.frames():
                if f.index % every == 0:
                    yield f.image, f.time_s
    else:
        yield read_image(path), None


def split(path: Path, stages: dict, every: int) -> dict:
    """Per stage: ``(K, 2)`` array of ``(d, d_m)`` over the frames where both front-ends see an open-eyed face."""
    mode = "video" if media_kind(path) == "video" else "image"
    out = {name: [] for name in stages}
    with FrontEnd(mode=mode) as fe, MirrorPass(mode=mode) as mp:
        for frame, t in tqdm(frames_of(path, every), desc=path.name, leave=False, file=sys.stderr,
                             disable=mode == "image"):
            mirror, faces_m, _ = mp.process(frame, t)  # primary first
            face, face_m = fe.process(frame, t)[0], (faces_m[0] if faces_m else None)
            if face is None or face_m is None or face.blink or face_m.blink:
                continue
            for name, stage in stages.items():
                out[name].append((eye_pitch_difference(stage, frame, face),
                                  eye_pitch_difference(stage, mirror, face_m)))
    return {name: np.array(v, float).reshape(-1, 2) for name, v in out.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("media", nargs="*", help="images or videos (default: the shared stills and clips)")
    ap.add_argument("--stages", nargs="+", default=["geometric", "fusion"], help="gaze stages (default: geometric fusion)")
    ap.add_argument("--every", type=int, default=3, help="use every Nth frame of a video (default 3)")
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error(f"--every must be at least 1, got {args.every}")
    paths = [Path(p) for p in args.media] or [MEDIA / n for n in DEFAULT]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    stages = {name: build_gaze_stage(name) for name in args.stages}
    print("left - right eye pitch (deg): d on the frame, b = image side (d + d_m) / 2, a = face (d - d_m) / 2")
    print(f"{'file':24s} {'stage':10s} {'frames':>6s} {'mean d':>7s} {'mean b':>7s} {'mean a':>7s}")
    for path in paths:
        try:
            found = split(path, stages, args.every)
        except GazezoomError as err:  # a file that is not media, a corrupt video: say so, go on with the others
            print(f"{path.name}: skipped, {err}", file=sys.stderr)
            continue
        for name, da in found.items():
            if not len(da):
                print(f"{path.name:24s} {name:10s} {0:6d}  (no open-eyed face on both)")
                continue
            d, b, a = da[:, 0], da.sum(1) / 2, (da[:, 0] - da[:, 1]) / 2
            print(f"{path.name:24s} {name:10s} {len(da):6d} {d.mean():+7.2f} {b.mean():+7.2f} {a.mean():+7.2f}")


if __name__ == "__main__":
    main()
