"""Experiment (docs/zoom.md, "What was tried"): the two eyes' *common* vertical from a direct gaze network (which reads
the whole eye, lids included, and so sees eye-in-head turns MediaPipe's landmarks miss: obama3.jpg), their
*difference* and the horizontal from the shipped fusion stage; ``w`` of the direct network's two-eye mean pitch.

    python scripts/common_mode_scoreboard.py

Runs ``gazezoom eval --real ../shared/media --reference ../shared/reference`` with these stages registered for the run
and prints the scoreboard. The reference is for evaluation only (../shared/reference/README.md).
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from io import StringIO

import numpy as np

from gazezoom.cli import main
from gazezoom.fileio import REPO_ROOT
from gazezoom.geometry import pitchyaw_to_vector, vector_to_pitchyaw
from gazezoom.models.geometric import _eye_gaze
from gazezoom.models.predictor import fused_result, two_eyes
from gazezoom.models.stages import GAZE_STAGES, StageSpec, build_gaze_stage
from gazezoom.realeval import format_scoreboard


class CommonMode:
    """Fusion's per-eye gaze with both eyes' pitch shifted by ``w`` × (direct network's mean − fusion's mean)."""

    def __init__(self, variant: str, w: float):
        self.fusion = build_gaze_stage("fusion")
        self.net = build_gaze_stage("network", variant=variant)
        self.w, self.name, self.variant = w, "common", variant

    def predict(self, frame, face, *, display=True):
        f = self.fusion.predict(frame, face, display=False)
        n = self.net.predict(frame, face, display=False)
        pf = np.array([vector_to_pitchyaw(e.vector_cam) for e in f.eyes])
        pn = np.array([vector_to_pitchyaw(e.vector_cam) for e in n.eyes])
        shift = self.w * (pn[:, 0].mean() - pf[:, 0].mean())
        eyes = two_eyes(face)
        gz = [_eye_gaze(e, pitchyaw_to_vector(np.array([pf[i, 0] + shift, pf[i, 1]]))) for i, e in enumerate(eyes)]
        return fused_result(eyes, gz)


def _builder(variant: str, w: float):
    def build(path=None, backend=None, device="cpu"):
        return CommonMode(variant, w)

    return build


def run() -> int:
    names = []
    for v in ("uniform@P", "sampler@P"):
        for w in (0.5, 1.0):
            name = f"common_{v.split('@')[0]}_{int(w * 100)}"
            if name not in GAZE_STAGES:
                GAZE_STAGES.register(name, StageSpec(_builder(v, w), None, "experiment"))
            names.append(name)
    out = StringIO()
    with redirect_stdout(out):
        code = main(["eval", "--real", str(REPO_ROOT.parent / "shared/media"), "--reference",
                     str(REPO_ROOT.parent / "shared/reference"), "--variants", "uniform@P", "sampler@P",
                     "--baselines", "geometric", "fusion", *names, "--json"])
    if code == 0:
        print(format_scoreboard(json.loads(out.getvalue())))
    return code


if __name__ == "__main__":
    sys.exit(run())
