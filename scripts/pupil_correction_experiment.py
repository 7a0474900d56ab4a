"""A small learned correction on top of the eyeball model (issue 13's "gaze follows from an eyeball model plus a
small learned correction"; docs/zoom.md, "What was tried").

    python scripts/pupil_correction_experiment.py [--train N] [--epochs E] [--dataset synthetic_squint] [--real]

The shipped pupil locator (weights/pupil_sampler_P.safetensors) stays frozen. On N rendered eyes (exact labels) a
correction head — a linear layer, or a 64-unit MLP with ``--mlp`` — reads the locator's own hidden features (what its
last layer reads) and its pupil (u, v), and is fitted (L1) to the residual between the true gaze and what the
eyeball model reads from the predicted pupil. Scored on the held-out split (`gazezoom eval --synthetic 2000 --seed 2024`,
default lids: the locator through the eyeball model reads 6.04° there). With ``--real`` the corrected reading also
runs on the real-media scoreboard as stages ``pupil_corr`` (the locator's pupil alone, corrected) and ``fusion_corr``
(the shipped fusion with each eye's reading corrected before the blendshapes' common vertical), beside the shipped
stages. The reference is for evaluation only (../shared/reference/README.md); nothing here is shipped.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from torch import nn

from gazezoom.fileio import REPO_ROOT, WEIGHTS_DIR
from gazezoom.geometry import angular_error_deg, pitchyaw_to_vector, vector_to_pitchyaw
from gazezoom.models.checkpoint import load_weights
from gazezoom.models.data import DATASETS, iter_batches
from gazezoom.models.geometric import gaze_of_output

LOCATOR = WEIGHTS_DIR / "pupil_sampler_P.safetensors"


def collect(model, dataset: str, n: int, seed: int, split: str, batch: int = 256):
    """Features ``(K, hidden + 2)``, eyeball-model gaze ``(K, 2)`` and true gaze ``(K, 2)`` (radians) of the open
    eyes (openness >= 0.15) of ``n`` renders."""
    feats = []
    hook = model.task.head[-1].register_forward_hook(lambda mod, inp, out: feats.append(inp[0].detach()))
    ds = DATASETS.get(dataset)(n, seed, split, batch, model.config.region_size, "cpu")
    X, B, G = [], [], []
    try:
        for b in iter_batches(ds, batch, loop=False):
            keep = b["openness"] >= 0.15
            feats.clear()
            with torch.no_grad():
                out = model(b["image"][keep])
            uv = out.pitchyaw.float()
            X.append(torch.cat([feats[-1], uv], 1))
            B.append(gaze_of_output(uv, {"head": b["head"][keep]}, "pupil"))
            G.append(b["gaze"][keep].float())
    finally:
        hook.remove()
    return torch.cat(X), torch.cat(B), torch.cat(G)


def fit(X, B, G, epochs: int, mlp: bool, seed: int = 0):
    torch.manual_seed(seed)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    head = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, 2)) if mlp else nn.Linear(X.shape[1], 2)
    nn.init.zeros_(head[-1].weight if mlp else head.weight)
    nn.init.zeros_(head[-1].bias if mlp else head.bias)
    opt = torch.optim.AdamW(head.parameters(), 3e-3, weight_decay=1e-3)
    target = G - B
    for _ in range(epochs):
        for idx in torch.randperm(len(X)).split(256):
            loss = (head((X[idx] - mu) / sd) - target[idx]).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    return lambda x: head((x - mu) / sd)


class CorrectedLocator:
    """The locator's predictor, also returning each eye's correction ``(pitch, yaw)`` (radians, the patch's
    normalised space) from its hidden features."""

    def __init__(self, predictor, correct):
        self.predictor, self.correct = predictor, correct
        self.model, self.variant, self.backend = predictor.model, predictor.variant, predictor.backend
        self.last = None

    def predict_regions(self, frame, regions, keep_samples=True):
        feats = []
        hook = self.model.task.head[-1].register_forward_hook(lambda mod, inp, out: feats.append(inp[0].detach()))
        try:
            r = self.predictor.predict_regions(frame, regions, keep_samples=keep_samples)
        finally:
            hook.remove()
        uv = torch.as_tensor(np.asarray(r.pitchyaw, np.float32)[:, :2])
        with torch.no_grad():
            self.last = self.correct(torch.cat([feats[-1], uv], 1)).numpy()
        return r


def corrected_stage(fusion: bool):
    """A PupilGaze whose per-eye readings get the correction (in each eye's normalised space, right eyes' yaw
    mirrored back) before the common vertical."""
    from gazezoom.models.geometric import PupilGaze

    class Stage(PupilGaze):
        def eye_readings(self, frame_bgr, face, *, display=True):
            eyes, vectors, rel, r = super().eye_readings(frame_bgr, face, display=display)
            corr = self.predictor.last
            out = []
            for eye, v, c in zip(eyes, vectors, corr):
                R = np.asarray(eye.R_norm, float)
                py = np.asarray(vector_to_pitchyaw(R @ v), float)
                py = py + np.array([c[0], c[1] if eye.side == "left" else -c[1]])
                out.append(R.T @ pitchyaw_to_vector(py))
            return eyes, np.stack(out), rel, r

    return Stage, fusion


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=8192, help="rendered training eyes (default 8192)")
    ap.add_argument("--dataset", default="synthetic_squint", help="renderer profile for training (the locator's)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--mlp", action="store_true", help="a 64-unit MLP instead of a linear head")
    ap.add_argument("--seed", type=int, default=0, help="the head's initialisation and batch order (default 0)")
    ap.add_argument("--data-seed", type=int, default=0, help="the training renders' seed (default 0)")
    ap.add_argument("--real", action="store_true", help="also the real-media scoreboard")
    ap.add_argument("--json", metavar="PATH", help="with --real: also write the scoreboard's JSON there")
    args = ap.parse_args(argv)
    model = load_weights(LOCATOR)
    t0 = time.time()
    X, B, G = collect(model, args.dataset, args.train, args.data_seed, "train")
    Xt, Bt, Gt = collect(model, "synthetic", 2000, 2024, "test", batch=200)  # as `gazezoom eval --synthetic`
    print(f"rendered and read {len(X)} training / {len(Xt)} held-out eyes in {time.time() - t0:.0f} s", file=sys.stderr)
    correct = fit(X, B, G, args.epochs, args.mlp, args.seed)
    with torch.no_grad():
        for name, (x, b, g) in {"train": (X, B, G), "held-out": (Xt, Bt, Gt)}.items():
            e0, e1 = angular_error_deg(b, g), angular_error_deg(b + correct(x), g)
            print(f"{name}: eyeball model {e0.mean():.2f}° mean / {e0.median():.2f}° median -> corrected "
                  f"{e1.mean():.2f}° / {e1.median():.2f}°")
    if args.real:
        from gazezoom.models.stages import _predictor
        from gazezoom.realeval import Stage, build_stages, evaluate_real, format_scoreboard

        stages = build_stages(WEIGHTS_DIR, ["sampler@P"], ["fusion", "pupil", "geometric"])
        for label, (weights, common) in {"pupil_corr": ((1.0, 1.0), None),
                                         "fusion_corr": ((0.5, 0.0), "blendshapes")}.items():
            cls, _ = corrected_stage(common is not None)
            stage = cls(CorrectedLocator(_predictor(LOCATOR, "torch", "cpu"), correct), weights, common_pitch=common)
            stages.append(Stage(label, "candidate", label, None, str(LOCATOR), stage))
        media = REPO_ROOT.parent / "shared"
        rep = evaluate_real(media / "media", media / "reference", stages, progress=False)
        print(format_scoreboard(rep).split("\n\n")[0])
        for label in ("geometric", "fusion", "fusion_corr"):
            per = {n: f["eyes"] for n, f in rep["stages"][label]["files"].items() if f.get("jitter_pitch_deg") is not None}
            print(label, "two eyes |dpitch| median / p90 per clip:",
                  ", ".join(f"{e['pitch_median_deg']:.2f} / {e['pitch_p90_deg']:.2f}" for e in per.values()))
        if args.json:
            import json

            with open(args.json, "w") as fh:
                json.dump(rep, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
