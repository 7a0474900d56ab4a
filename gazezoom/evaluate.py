"""``gazezoom eval``: held-out synthetic evaluation of every gaze variant on the very same eyes.

The test set is rendered with ``split="test"`` (texture and lighting draws never used in training) and a seed
of your choice; every variant sees the same images. Reports mean/median angular error (degrees) per variant and
per bin of eye width in the simulated camera frame (small eyes are where zooming should matter most).

    gazezoom eval --synthetic 2000 --seed 2024 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from .errors import InputValueError, ModelFileError, WeightsMismatchError
from .geometry import angular_error_deg

__all__ = ["ALL_VARIANTS", "EYE_WIDTH_BINS", "load_variants", "evaluate", "add_arguments", "run"]

#: The table's rows, in order.
ALL_VARIANTS = ("uniform@P", "sampler@P", "uniform@2P", "uniform@4P", "center_crop@P")
#: Eye width in the camera frame (pixels, corner to corner): ``[lo, hi)``.
EYE_WIDTH_BINS = ((0.0, 30.0), (30.0, 60.0), (60.0, 120.0), (120.0, math.inf))


def _bin_name(lo: float, hi: float) -> str:
    return f"{lo:.0f}+ px" if math.isinf(hi) else f"{lo:.0f}-{hi:.0f} px"


def load_variants(weights_dir: str | Path, variants=ALL_VARIANTS, device="cpu") -> dict:
    """``{variant: GazeNet}`` from ``weights_dir``; all must share patch and region size."""
    from .models.checkpoint import load_weights, weights_path

    folder = Path(weights_dir)
    missing = [v for v in variants if not weights_path(folder, v).is_file()]
    if missing:
        raise ModelFileError(
            f"no weights for {', '.join(missing)} in {folder}; train them with "
            f"`gazezoom train --variant all --out {folder}` or pass --variants / --weights"
        )
    models = {v: load_weights(weights_path(folder, v), variant=v, device=device) for v in variants}
    sizes = {(m.config.patch, m.config.region_size) for m in models.values()}
    if len(sizes) > 1:
        raise WeightsMismatchError(f"the variants in {folder} disagree on (patch, region size): {sorted(sizes)}")
    return models


def _stats(e: torch.Tensor) -> dict:
    if e.numel() == 0:
        return {"mean_deg": None, "median_deg": None, "n": 0}
    return {"mean_deg": round(float(e.mean()), 4), "median_deg": round(float(e.median()), 4), "n": int(e.numel())}


@torch.no_grad()
def evaluate(
    models: dict,
    n: int,
    seed: int,
    *,
    batch_size: int = 200,
    device: str = "cpu",
    dataset: str = "synthetic",
    min_openness: float = 0.15,
    progress: bool = False,
) -> dict:
    """Evaluate ``{variant: GazeNet}`` on ``n`` held-out eyes rendered with ``seed`` → the ``--json`` dict.

    Eyes with openness below ``min_openness`` (blinks: no visible gaze) are left out; each entry's ``n`` says
    how many were scored.
    """
    from tqdm import tqdm

    from .models.data import DATASETS, iter_batches

    if n < 1:
        raise InputValueError(f"--synthetic N must be >= 1, got {n}")
    if not models:
        raise InputValueError("no models to evaluate")
    first = next(iter(models.values()))
    region, patch = first.config.region_size, first.config.patch
    ds = DATASETS.get(dataset)(n, seed, "test", batch_size, region, device)
    errs = {v: [] for v in models}
    widths = []
    for m in models.values():
        m.eval()
    for b in tqdm(iter_batches(ds, batch_size, device=device, loop=False), total=len(ds), disable=not progress,
                  desc="eval", file=sys.stderr):
        keep = torch.ones(b["gaze"].shape[0], dtype=torch.bool, device=b["gaze"].device)
        if "openness" in b:
            keep = b["openness"] >= min_openness
        gaze = b["gaze"].float()[keep]
        widths.append(b["eye_width_px"].float()[keep].cpu() if "eye_width_px" in b else torch.full((int(keep.sum()),), math.nan))
        for v, m in models.items():
            pred = m(b["image"][keep]).pitchyaw.float()
            errs[v].append(angular_error_deg(pred, gaze).cpu())
    w = torch.cat(widths)
    e = {v: torch.cat(x) for v, x in errs.items()}
    by_width = {}
    for lo, hi in EYE_WIDTH_BINS:
        sel = (w >= lo) & (w < hi)
        by_width[_bin_name(lo, hi)] = {"n": int(sel.sum()), "results": {v: _stats(x[sel]) for v, x in e.items()}}
    return {
        "n": int(n),
        "seed": int(seed),
        "patch": list(patch),
        "results": {v: _stats(x) for v, x in e.items()},
        "by_eye_width": by_width,
    }


def format_table(report: dict) -> str:
    """Markdown table of a report (overall, then one column per eye-width bin, mean degrees)."""
    bins = list(report["by_eye_width"])
    head = "| variant | mean (deg) | median (deg) | " + " | ".join(f"mean, eyes {b}" for b in bins) + " |"
    lines = [head, "|" + "---|" * (3 + len(bins))]
    base = report["results"].get("uniform@P", {}).get("mean_deg")
    for v, r in report["results"].items():
        cells = []
        for b in bins:
            m = report["by_eye_width"][b]["results"][v]["mean_deg"]
            cells.append("–" if m is None else f"{m:.2f}")
        rel = f" ({r['mean_deg'] / base:.2f}x)" if base and v != "uniform@P" else ""
        lines.append(f"| {v} | {r['mean_deg']:.2f}{rel} | {r['median_deg']:.2f} | " + " | ".join(cells) + " |")
    counts = ", ".join(f"{b}: {report['by_eye_width'][b]['n']}" for b in bins)
    lines.append(f"\nn = {report['n']} rendered (seed {report['seed']}), eyes per width bin: {counts}; "
                 f"patch P = {report['patch'][0]}x{report['patch'][1]}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1]
    p.add_argument("--synthetic", type=int, metavar="N", default=None, help="number of held-out eyes to render")
    # --- real datasets (issue 8)
    p.add_argument("--data", metavar="NAME:PATH", default=None,
                   help="evaluate on a public dataset instead: mpiifacegaze:DIR[,test_person=p00], ethxgaze:DIR, "
                        "gazecapture:DIR; reports angular error (MPII/ETH) or on-screen cm (GazeCapture)")
    p.add_argument("--split", default="test", help="split of --data: train, val, test (default), test_person_specific")
    p.add_argument("--limit", type=int, default=0, help="score only this many evenly spaced eyes of --data (0: all)")
    # --- end real datasets
    p.add_argument("--seed", type=int, default=2024, help="seed of the held-out draw (default 2024; training "
                   "validation uses 1, training 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--weights", default="weights", help="folder with gaze_<variant>.safetensors + .json (weights)")
    p.add_argument("--variants", nargs="+", default=list(ALL_VARIANTS), help="variants to compare (default all)")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--dataset", default="synthetic", help="data source (default synthetic)")


def run(args: argparse.Namespace) -> int:
    from .models.variants import resolve_variant

    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [resolve_variant(v) for v in args.variants]
    if (args.data is None) == (args.synthetic is None):
        raise InputValueError("give exactly one of --synthetic N (rendered eyes) or --data NAME:PATH (a public dataset)")
    models = load_variants(args.weights, variants, args.device)
    if args.data is not None:  # --- real datasets (issue 8)
        from .data.evaluation import evaluate_dataset, format_report

        report = evaluate_dataset(models, args.data, args.split, batch_size=args.batch_size, device=args.device,
                                  limit=args.limit, progress=not args.json)
        print(json.dumps(report) if args.json else format_report(report))
        return 0
    report = evaluate(models, args.synthetic, args.seed, batch_size=args.batch_size, device=args.device,
                      dataset=args.dataset, progress=not args.json)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report))
    return 0
