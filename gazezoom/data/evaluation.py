"""``gazezoom eval --data NAME:PATH``: the field's figure for trained variants on a public dataset split.

MPIIFaceGaze and ETH-XGaze report the angular error (degrees) between predicted and labelled gaze, per eye;
GazeCapture reports the on-screen distance (cm) between where the predicted gaze ray meets the screen plane and the
dot (:func:`gazezoom.data.gazecapture.on_screen_cm`). Means are also given per person (the leave-one-person-out
protocol reports the mean over persons).
"""

from __future__ import annotations

import sys

import torch

from ..errors import InputValueError
from ..geometry import angular_error_deg
from . import FIELD_METRIC, open_dataset, parse_spec, subset

__all__ = ["evaluate_dataset", "format_report"]

UNITS = {"angular_error_deg": "deg", "on_screen_cm": "cm"}


def _stats(e: torch.Tensor) -> dict:
    return {"mean": round(float(e.mean()), 4), "median": round(float(e.median()), 4), "n": int(e.numel())}


@torch.no_grad()
def evaluate_dataset(
    models: dict, spec: str, split: str = "test", *, batch_size: int = 128, device="cpu", limit: int = 0,
    progress: bool = False,
) -> dict:
    """Evaluate ``{variant: GazeNet}`` on ``split`` of the dataset ``spec`` → a JSON-able report.

    ``limit > 0`` scores that many evenly spaced eyes only.
    """
    from tqdm import tqdm

    if not models:
        raise InputValueError("no models to evaluate")
    name = parse_spec(spec)[0]
    metric = FIELD_METRIC[name]
    region = next(iter(models.values())).config.region_size
    ds = subset(open_dataset(spec, split, region), limit)
    if len(ds) == 0:
        raise InputValueError(f"{spec} split {split!r} is empty")
    if "gaze" not in ds[0]:
        raise InputValueError(f"{spec} split {split!r} has no gaze labels to evaluate against; choose another split")
    errs = {v: [] for v in models}
    persons = []
    for m in models.values():
        m.eval()

    def score(b: dict) -> None:
        persons.append(b["person"].cpu())
        for v, m in models.items():
            pred = m(b["image"]).pitchyaw.float()
            if metric == "on_screen_cm":
                from .gazecapture import on_screen_cm

                e = on_screen_cm(pred.cpu(), {k: b[k].cpu() for k in ("side", "R_norm", "eye_mm", "target_mm")})
            else:
                e = angular_error_deg(pred, b["gaze"].float())
            errs[v].append(e.float().cpu())

    from torch.utils.data import default_collate

    bs = max(1, batch_size)
    for i in tqdm(range(0, len(ds), bs), desc="eval", disable=not progress, file=sys.stderr):
        b = default_collate([ds[j] for j in range(i, min(len(ds), i + bs))])  # in order: every eye once
        score({k: v.to(device) for k, v in b.items()})
    who = torch.cat(persons)
    results = {}
    for v, parts in errs.items():
        e = torch.cat(parts)
        per = {int(p): round(float(e[who == p].mean()), 4) for p in torch.unique(who)}
        results[v] = _stats(e) | {"per_person": per, "mean_over_persons": round(sum(per.values()) / len(per), 4)}
    return {"data": spec, "dataset": name, "split": split, "metric": metric, "unit": UNITS[metric], "n": len(ds),
            "results": results}


def format_report(report: dict) -> str:
    """Markdown table of :func:`evaluate_dataset`'s report."""
    u = report["unit"]
    lines = [f"| variant | mean ({u}) | median ({u}) | mean over persons ({u}) | eyes |", "|---|---|---|---|---|"]
    for v, r in report["results"].items():
        lines.append(f"| {v} | {r['mean']:.2f} | {r['median']:.2f} | {r['mean_over_persons']:.2f} | {r['n']} |")
    lines.append(f"\n{report['dataset']} split {report['split']} ({report['metric']}), {report['n']} eyes: {report['data']}")
    return "\n".join(lines)
