"""The real-media scoreboard of fusion variants that are not registered stages (docs/zoom.md, "What was tried").

    python scripts/fusion_variants_scoreboard.py [MEDIA_DIR REFERENCE_DIR] [-- more `gazezoom eval` options]

Registers, for this run only, ``fusion_pair50`` / ``fusion_pair100`` (the shipped fusion plus the pair term:
``PupilGaze(..., pair_weight=0.5 / 1.0)``, the two eyes' vertical *difference* partly the learned locator's) and
``fusion_v50`` (learned ½ + MediaPipe ½ on both axes), then runs ``gazezoom eval --real`` with the geometric floor,
the shipped fusion and the direct sampler@P network beside them and prints the table. The reference is for
evaluation only (../shared/reference/README.md).
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from io import StringIO

from gazezoom.cli import main
from gazezoom.fileio import REPO_ROOT
from gazezoom.models.stages import GAZE_STAGES, StageSpec, _predictor
from gazezoom.realeval import format_scoreboard

VARIANTS = {"fusion_pair50": ((0.5, 0.0), 0.5), "fusion_pair100": ((0.5, 0.0), 1.0), "fusion_v50": ((0.5, 0.5), 0.0)}


def _stage(learned_weight, pair_weight):
    def build(path, backend=None, device="cpu"):
        from gazezoom.models.geometric import PupilGaze

        return PupilGaze(_predictor(path, backend, device), learned_weight, pair_weight=pair_weight)

    return build


def run(media: str, reference: str, extra: list[str]) -> int:
    for name, (lw, pw) in VARIANTS.items():
        if name not in GAZE_STAGES:
            GAZE_STAGES.register(name, StageSpec(_stage(lw, pw), "pupil", "experiment"))
    out = StringIO()
    with redirect_stdout(out):
        code = main(["eval", "--real", media, "--reference", reference, "--variants", "sampler@P", "--baselines",
                     "geometric", "pupil", "fusion", *VARIANTS, "--json", *extra])
    if code == 0:
        print(format_scoreboard(json.loads(out.getvalue())))
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    extra = args[args.index("--") + 1:] if "--" in args else []
    pos = args[: args.index("--")] if "--" in args else args
    shared = REPO_ROOT.parent / "shared"
    media, ref = (pos + [str(shared / "media"), str(shared / "reference")][len(pos):])[:2]
    sys.exit(run(media, ref, extra))
