"""How many degrees of eye-in-head pitch one unit of MediaPipe's ``eyeLookUp − eyeLookDown`` is
(``gazezoom.models.geometric.BLENDSHAPE_PITCH_DEG``; docs/zoom.md, "What was tried").

    python scripts/blendshape_pitch_scale.py [VIDEO ...]

For every open-eyed frame of the videos (default: the three shared clips), the geometric stage's reading (MediaPipe's
iris centre and corners through the eyeball model — no learned weights, no reference) gives the two eyes' mean
eye-in-head pitch; MediaPipe's blendshape model gives ``v``, the two eyes' mean ``eyeLookUp − eyeLookDown``. Prints,
per video and pooled, the least-squares slope of the pitch on ``v`` (degrees per unit), its intercept and Pearson r.
The slope is the scale; the intercept is not used (the blendshapes' zero is the face's neutral gaze: the geometric
reading's own offset is the eyeball model's, docs/zoom.md).
"""

from __future__ import annotations

import sys

import numpy as np

from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import vector_to_pitchyaw
from gazezoom.io.readers import VideoReader
from gazezoom.models.geometric import GeometricGaze, blendshape_vertical

CLIPS = [REPO_ROOT.parent / "shared" / "media" / n for n in ("single_face.mp4", "face_noface.mov", "noface_face.mov")]


def samples(path) -> np.ndarray:
    """``(N, 2)``: per open-eyed frame, blendshape ``v`` and the geometric two-eye mean eye-in-head pitch (deg)."""
    stage, out = GeometricGaze(), []
    with VideoReader(path) as reader, FrontEnd(mode="video") as fe:
        for f in reader.frames():
            face, _, _ = fe.process(f.image, f.time_s)
            v = None if face is None or face.blink else blendshape_vertical(face.blendshapes)
            if v is None:
                continue
            R = np.asarray(face.head.rotation, float)
            g = stage.predict(f.image, face, display=False)
            pitch = np.mean([vector_to_pitchyaw(R.T @ np.asarray(e.vector_cam, float))[0] for e in g.eyes])
            out.append((v, np.degrees(pitch)))
    return np.array(out, float).reshape(-1, 2)


def fit(x: np.ndarray) -> str:
    slope, icpt = np.polyfit(x[:, 0], x[:, 1], 1)
    r = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    return (f"{len(x):4d} frames  slope {slope:5.1f} deg/unit  intercept {icpt:+5.1f} deg  r {r:.2f}  "
            f"(v {x[:, 0].min():+.2f}..{x[:, 0].max():+.2f})")


def main(paths) -> int:
    rows = []
    for p in paths:
        x = samples(p)
        if len(x) < 3:
            print(f"{p}: fewer than 3 open-eyed frames with a face, skipped")
            continue
        print(f"{p.name if hasattr(p, 'name') else p}: {fit(x)}")
        rows.append(x)
    if len(rows) > 1:
        print(f"pooled: {fit(np.concatenate(rows))}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or CLIPS))
