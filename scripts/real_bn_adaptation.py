"""AdaBN on real eyes: the pupil locator's BatchNorm statistics re-estimated on unlabelled real eye regions
(docs/zoom.md, "What was tried").

    python scripts/real_bn_adaptation.py [WEIGHTS] [--save DIR]

Reads every open-eyed face of the three shared clips (one man; no reference data, no labels), replaces the running
mean/variance of the task network's BatchNorm layers by those of the real patches (exact population statistics),
and prints, for each still of ../shared/media (other faces, not used for the statistics), the learned pupil's
vertical region reading minus MediaPipe's iris centre for both eyes: shipped, adapted on the clips ("clips"), on
the still's own two eyes ("self"), on the other stills ("other stills"). ``--save DIR`` writes the clips-adapted
locator as ``DIR/pupil_sampler_P.*`` (with the shipped gaze network linked beside it) for
``python scripts/fusion_variants_scoreboard.py -- --weights DIR``.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import torch
from pupil_diagnostics import MEDIA, faces, mediapipe_uv
from torch import nn

from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.io.readers import VideoReader
from gazezoom.models.checkpoint import load_weights, read_sidecar, save_weights
from gazezoom.models.predictor import frame_crop, region_maps

CLIPS = ("single_face.mp4", "face_noface.mov", "noface_face.mov")


def clip_faces():
    """``(frame, face)`` for every frame of the clips with a face and both eyes open."""
    for name in CLIPS:
        with VideoReader(MEDIA / name) as reader, FrontEnd(mode="video") as fe:
            for f in reader.frames():
                face, _, _ = fe.process(f.image, f.time_s)
                if face is not None and not any(e.blink for e in face.eyes):
                    yield f.image, face


def clip_inputs() -> list:
    """``(crop, Hc)`` network inputs of every open-eyed frame of the clips."""
    return [frame_crop(img, region_maps(face.eyes)) for img, face in clip_faces()]


def save_candidate(model: nn.Module, out: Path, src: Path, *, steps: int = 0, **training) -> None:
    """Write ``model`` as ``out/pupil_sampler_P.*`` (``src``'s sidecar, ``steps`` more, ``training`` added to its
    training record) with the shipped gaze network linked beside it, for ``fusion_variants_scoreboard.py``."""
    side = read_sidecar(src.with_suffix(".json"))
    save_weights(model, out / "pupil_sampler_P.safetensors", step=side.get("step", 0) + steps,
                 training={**side.get("training", {}), **training})
    for f in (REPO_ROOT / "weights").glob("gaze_sampler_P.*"):
        if not (out / f.name).exists():
            (out / f.name).symlink_to(f)
    print(f"wrote {out / 'pupil_sampler_P.safetensors'}")


def adapt(model: nn.Module, inputs: list, prefix: str = "task") -> nn.Module:
    """A copy of ``model`` whose BatchNorm layers under ``prefix`` hold the statistics of ``inputs``."""
    m = copy.deepcopy(model).eval()
    layers = [b for n, b in m.named_modules() if isinstance(b, nn.BatchNorm2d) and n.startswith(prefix)]
    acc: dict = {}

    def hook(layer, args):
        x = args[0].detach().double()
        s = acc.setdefault(layer, [0.0, 0.0, 0])
        s[0], s[1], s[2] = s[0] + x.sum((0, 2, 3)), s[1] + (x * x).sum((0, 2, 3)), s[2] + x.numel() // x.shape[1]

    handles = [b.register_forward_pre_hook(hook) for b in layers]
    with torch.no_grad():
        for crop, Hc in inputs:
            m.head(*m.front.forward_regions(crop, Hc)[:2])
    for h in handles:
        h.remove()
    for b in layers:
        s0, s1, n = acc[b]
        mu = s0 / n
        b.running_mean.copy_(mu.float())
        b.running_var.copy_((s1 / n - mu * mu).float())
    return m


def vertical_gap(model: nn.Module, img: np.ndarray, face) -> np.ndarray:
    """Learned pupil v minus MediaPipe's iris v, per eye (region units: the region is 2 units tall, v down)."""
    with torch.no_grad():
        crop, Hc = frame_crop(img, region_maps(face.eyes))
        uv = model.head(*model.front.forward_regions(crop, Hc)[:2]).numpy()
    return np.array([uv[i, 1] - mediapipe_uv(face, e)[1] for i, e in enumerate(face.eyes)])


def main(argv: list[str]) -> int:
    save = Path(argv[argv.index("--save") + 1]) if "--save" in argv else None
    pos = [a for i, a in enumerate(argv) if a != "--save" and (i == 0 or argv[i - 1] != "--save")]
    src = Path(pos[0]) if pos else REPO_ROOT / "weights" / "pupil_sampler_P.safetensors"
    base = load_weights(src).eval()
    clips = clip_inputs()
    on_clips = adapt(base, clips)
    print(f"BatchNorm statistics from {len(clips)} open-eyed clip frames (task network, "
          f"{sum(isinstance(b, nn.BatchNorm2d) for b in base.task.modules())} layers)")
    stills = list(faces())
    cols = ("shipped", "clips", "self", "other stills")
    print(f"{'still':24s}" + "".join(f"{c:>18s}" for c in cols) + "   (learned v - MediaPipe v, left / right eye)")
    gaps = {c: [] for c in cols}
    for i, (name, img, face) in enumerate(stills):
        others = [frame_crop(im, region_maps(f.eyes)) for j, (_, im, f) in enumerate(stills) if j != i]
        models = (base, on_clips, adapt(base, [frame_crop(img, region_maps(face.eyes))]), adapt(base, others))
        row = [vertical_gap(m, img, face) for m in models]
        for c, g in zip(cols, row):
            gaps[c].extend(g)
        print(f"{name:24s}" + "".join(f"{g[0]:+9.3f}/{g[1]:+.3f}" for g in row))
    print(f"{'mean / s.d.':24s}" + "".join(f"{np.mean(g):+9.3f}/{np.std(g):.3f}" for g in gaps.values()))
    if save is not None:
        save_candidate(on_clips, save, src, adabn=f"task BatchNorm statistics of {list(CLIPS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
