"""Does real-eye appearance, learned from one face, carry the learned vertical reading to other faces?
(docs/zoom.md, "What was tried"; an experiment: nothing here is shipped.)

    python scripts/real_pseudolabel_experiment.py OUT_DIR [--steps 600] [--real-weight 1.0] [--renders 4096]
        [--train-on clips|obama]

Fine-tunes the shipped pupil locator on rendered eyes (exact labels, `synthetic_squint`) **plus** the real eyes of the
three shared clips — one man — with MediaPipe's iris centre as the *vertical* target only (pseudo-labels from the
landmarker gazezoom ships; the reference gaze is never read). BatchNorm statistics stay frozen. The stills of
../shared/media (other faces: obama*, astronaut) are never trained on: on them it prints the learned minus MediaPipe
vertical reading per eye before and after, and writes OUT_DIR/pupil_sampler_P.* for
``python scripts/fusion_variants_scoreboard.py -- --weights OUT_DIR`` (whose video rows are then *trained on* and
only the stills' figures are held out). ``--train-on obama`` turns it round: the four obama stills (another man) and
their mirror images are trained on, and the clips' learned minus MediaPipe vertical reading (printed last) is held out. The shared media's rights are unclear (../shared/media/README.md): weights
trained on them are for this measurement only, never for weights/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from pupil_diagnostics import faces, mediapipe_uv
from real_bn_adaptation import MEDIA, clip_faces, save_candidate, vertical_gap
from torch import nn
from tqdm import tqdm

from gazezoom.face.frontend import FrontEnd
from gazezoom.fileio import REPO_ROOT
from gazezoom.io.readers import read_image
from gazezoom.models.checkpoint import load_weights
from gazezoom.models.data import DATASETS, render_cache
from gazezoom.models.predictor import frame_crop, region_maps


def _labelled(frame, face) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(crop, Hc, mediapipe_v (2,))``: the network inputs of a face's eyes and MediaPipe's iris centre (region v)."""
    v = [mediapipe_uv(face, e)[1] for e in face.eyes]
    return (*frame_crop(frame, region_maps(face.eyes)), torch.tensor(v, dtype=torch.float32))


def real_eyes() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """:func:`_labelled` for every open-eyed frame of the clips."""
    return [_labelled(img, face) for img, face in clip_faces()]


OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg")


def obama_eyes() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The same for the four stills of one other man (and their mirror images): the other direction of transfer."""
    out = []
    with FrontEnd(mode="image") as fe:
        for name in OBAMA:
            img = read_image(MEDIA / name)
            for frame in (img, np.ascontiguousarray(img[:, ::-1])):
                face, _, _ = fe.process(frame)
                if face is not None and not any(e.blink for e in face.eyes):
                    out.append(_labelled(frame, face))
    return out


def clip_gap(models: dict) -> None:
    """Learned minus MediaPipe vertical over the clips' open-eyed frames (mean / s.d. over both eyes)."""
    eyes = real_eyes()
    for k, m in models.items():
        with torch.no_grad():
            g = torch.cat([m.head(*m.front.forward_regions(c, H)[:2])[:, 1] - v for c, H, v in eyes]).numpy()
        print(f"clips {k:>12s}: learned v - MediaPipe v mean {g.mean():+.3f} s.d. {g.std():.3f} mean |gap| {np.abs(g).mean():.3f}")


def stills_table(models: dict) -> None:
    stills = list(faces())
    print(f"{'still (held out)':24s}" + "".join(f"{k:>18s}" for k in models) + "   (learned v - MediaPipe v, L / R)")
    gaps = {k: [] for k in models}
    for name, img, face in stills:
        row = []
        for k, m in models.items():
            g = vertical_gap(m, img, face)
            gaps[k].extend(g)
            row.append(f"{g[0]:+9.3f}/{g[1]:+.3f}")
        print(f"{name:24s}" + "".join(row))
    print(f"{'mean / s.d.':24s}" + "".join(f"{np.mean(g):+9.3f}/{np.std(g):.3f}" for g in gaps.values()))
    print(f"{'mean |gap|':24s}" + "".join(f"{np.mean(np.abs(g)):18.3f}" for g in gaps.values()))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--real-weight", type=float, default=1.0, help="weight of the real eyes' vertical L1 term")
    p.add_argument("--renders", type=int, default=4096, help="rendered eyes (synthetic_squint, cached in runs/cache)")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-on", choices=("clips", "obama"), default="clips", help="the real eyes trained on: the "
                   "three clips (one man; the stills held out) or the four obama stills and their mirror images (another "
                   "man; the clips held out)")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    src = REPO_ROOT / "weights" / "pupil_sampler_P.safetensors"
    base = load_weights(src).eval()
    model = load_weights(src)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()  # frozen statistics: the real batches are one man's eyes
    region = tuple(model.config.region_size)
    ds = DATASETS.get("synthetic_squint")(args.renders, 77, "train", 64, region, "cpu")
    cache = render_cache(ds, REPO_ROOT / "runs" / "cache" / f"pseudo_squint_{args.renders}.pt", workers=2,
                         spec=("synthetic_squint", (args.renders, 77, "train", 64, region, "cpu")))
    real = real_eyes() if args.train_on == "clips" else obama_eyes()
    print(f"{len(cache['image'])} rendered eyes, {len(real)} real {args.train_on} frames ({2 * len(real)} eyes)")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    g = torch.Generator().manual_seed(args.seed)
    for step in tqdm(range(args.steps), desc="fine-tune", file=sys.stderr):
        idx = torch.randint(0, len(cache["image"]), (48,), generator=g)
        img = cache["image"][idx].float() / 255.0
        uv = cache["pupil_uv"][idx].float()
        keep = (cache["openness"][idx] >= 0.1).float()
        pred = model(img).pitchyaw
        loss_r = (((pred - uv).abs().sum(-1)) * keep).sum() / keep.sum().clamp_min(1)
        loss_real = torch.zeros(())
        if args.real_weight > 0:
            terms = []
            for j in torch.randint(0, len(real), (8,), generator=g).tolist():
                crop, Hc, v = real[j]
                patch, grid, _ = model.front.forward_regions(crop, Hc)
                terms.append((model.head(patch, grid)[:, 1] - v).abs())
            loss_real = torch.cat(terms).mean()
        loss = loss_r + args.real_weight * loss_real
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            tqdm.write(f"step {step}: renders L1 {float(loss_r):.4f}, real vertical L1 {float(loss_real):.4f}",
                       file=sys.stderr)
    model.eval()
    stills_table({"shipped": base, "fine-tuned": model})
    clip_gap({"shipped": base, "fine-tuned": model})
    save_candidate(model, Path(args.out), src, steps=args.steps, experiment="real_pseudolabel_experiment.py",
                   real_weight=args.real_weight, train_on=args.train_on)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
