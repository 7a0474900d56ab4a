"""``gazezoom eval``: held-out synthetic evaluation of every gaze variant on the very same eyes.

The test set is rendered with ``split="test"`` (texture and lighting draws never used in training) and a seed
of your choice; every variant sees the same images. Reports mean/median angular error (degrees) per variant and
per bin of eye width in the simulated camera frame (small eyes are where zooming should matter most). Rendered eyes
also give ``"magnification"``: per variant, the linear magnification its patch gives the pupil and its peak
magnification (medians over the eyes), against reading the whole region at P (uniform@P = 1, uniform@2P = 2, a
centre crop of half the region = 2): how much a sampler really zooms where the gaze signal is.

    gazezoom eval --synthetic 2000 --seed 2024 --json

A third mode, ``--real DIR --reference DIR`` (alone), scores every gaze stage on real faces against a
real-trained reference, one row per variant, baseline and ``--candidate`` (:mod:`gazezoom.realeval`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from ..cliargs import add_threads_arg
from ..errors import InputValueError, ModelFileError, WeightsMismatchError
from ..fileio import WEIGHTS_DIR
from ..geometry import angular_error_deg
from ..models.geometric import gaze_of_output
from ..models.variants import ALL_VARIANTS, GazeOutput, forward_pairs
from ..sampler import grid_magnification, magnification_at

__all__ = [
    "ALL_VARIANTS", "EYE_WIDTH_BINS", "load_variants", "evaluate", "format_table", "render_figures",
    "real_face_checks", "real_vs_synthetic_figure", "binocular_agreement", "add_arguments", "run",
]

#: Eye width in the camera frame (pixels, corner to corner): ``[lo, hi)``.
EYE_WIDTH_BINS = ((0.0, 30.0), (30.0, 60.0), (60.0, 120.0), (120.0, math.inf))


def _bin_name(lo: float, hi: float) -> str:
    return f"{lo:.0f}+ px" if math.isinf(hi) else f"{lo:.0f}-{hi:.0f} px"


def load_variants(weights_dir: str | Path, variants=ALL_VARIANTS, device="cpu") -> dict:
    """``{variant: GazeNet}`` from ``weights_dir``; all must share patch and region size."""
    from ..models.checkpoint import load_weights, weights_path

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

    from ..models.data import DATASETS, iter_batches

    if n < 1:
        raise InputValueError(f"--synthetic N must be >= 1, got {n}")
    if not models:
        raise InputValueError("no models to evaluate")
    first = next(iter(models.values()))
    region, patch = first.config.region_size, first.config.patch
    ds = DATASETS.get(dataset)(n, seed, "test", batch_size, region, device)
    errs = {v: [] for v in models}
    zoom = {v: [] for v in models}  # (magnification at the pupil, peak magnification) per eye, where labelled
    widths = []
    for m in models.values():
        m.eval()
    binocular = any(m.config.binocular for m in models.values())
    if binocular and not hasattr(ds, "batch_params"):
        raise InputValueError(f"a binocular model reads both eyes of a face; the {dataset!r} eval set has no "
                              "partner eyes (evaluate it on a rendered set: --dataset synthetic…)")
    from ..synth.params import partner_params

    for i, b in tqdm(enumerate(iter_batches(ds, batch_size, device=device, loop=False)), total=len(ds),
                     disable=not progress, desc="eval", file=sys.stderr):
        partner = None
        if binocular:  # the right eyes of the same faces (mirrored patches): binocular models read both
            partner = ds.renderer.render(partner_params(ds.batch_params(i)))["image"].to(b["image"].device)
        keep = torch.ones(b["gaze"].shape[0], dtype=torch.bool, device=b["gaze"].device)
        if "openness" in b:
            keep = b["openness"] >= min_openness
        gaze = b["gaze"].float()[keep]
        widths.append(b["eye_width_px"].float()[keep].cpu() if "eye_width_px" in b else torch.full((int(keep.sum()),), math.nan))
        for v, m in models.items():
            if m.config.binocular:  # both eyes of every face go in; the kept left eyes are scored
                out = forward_pairs(m, b["image"], partner)[0]
                out = GazeOutput(*(None if t is None else t[keep] for t in out))
            else:
                out = m(b["image"][keep])
            pred = gaze_of_output(out.pitchyaw.float(), {k: x[keep] for k, x in b.items() if k == "head"},
                                  m.config.output)  # a pupil model is scored on its eyeball-model gaze
            errs[v].append(angular_error_deg(pred, gaze).cpu())
            if "pupil_uv" in b:  # against uniform@P: a 2P patch reads the whole region at 2x
                scale = math.sqrt(out.grid.shape[1] * out.grid.shape[2] / (patch[0] * patch[1]))
                mag = grid_magnification(out.grid)
                at = magnification_at(out.grid, b["pupil_uv"][keep], mag)
                zoom[v].append((torch.stack([at, mag.flatten(1).amax(1)], 1) * scale).cpu())
    w = torch.cat(widths)
    e = {v: torch.cat(x) for v, x in errs.items()}
    by_width = {}
    for lo, hi in EYE_WIDTH_BINS:
        sel = (w >= lo) & (w < hi)
        by_width[_bin_name(lo, hi)] = {"n": int(sel.sum()), "results": {v: _stats(x[sel]) for v, x in e.items()}}
    report = {
        "n": int(n),
        "seed": int(seed),
        "patch": list(patch),
        "results": {v: _stats(x) for v, x in e.items()},
        "by_eye_width": by_width,
    }
    if all(zoom.values()):
        report["magnification"] = {v: _zoom_stats(torch.cat(z)) for v, z in zoom.items()}
    return report


@torch.no_grad()
def binocular_agreement(models: dict, n: int, seed: int, *, batch_size: int = 100, min_openness: float = 0.15) -> dict:
    """Two-eye agreement on rendered pairs of eyes that move together (synthetic; no real-eye number).

    ``n`` pairs: each left eye (``split="test"``, ``seed``) gets a right eye of the same person at the same moment —
    the same anatomy, lids, textures and pitch, the yaw converging on a target at the camera's distance, the head
    residual and the light mirrored (the right eye's patch is a mirror image), its own sensor noise — and the gaze
    sweeps the renderer's whole range across the pairs. Per model: median and 90th percentile of
    ``|pitch_L − pitch_R|`` (degrees) — what real two-eye agreement measures, on eyes whose gaze moves.
    """
    from ..synth import EyeRenderer
    from ..synth.params import partner_params

    first = next(iter(models.values()))
    r = EyeRenderer(first.config.region_size)
    p = r.sample_params(n, seed=seed, split="test")
    pr = partner_params(p)
    d = {v: [] for v in models}
    for lo in range(0, n, batch_size):
        idx = slice(lo, min(n, lo + batch_size))
        bl, br = r.render(p[idx]), r.render(pr[idx])
        keep = torch.minimum(bl["openness"], br["openness"]) >= min_openness
        for v, m in models.items():
            ol, orr = forward_pairs(m, bl["image"], br["image"])  # a binocular model reads the two together
            pl = gaze_of_output(ol.pitchyaw.float(), bl, m.config.output)
            pR = gaze_of_output(orr.pitchyaw.float(), br, m.config.output)
            d[v].append(torch.rad2deg((pl[:, 0] - pR[:, 0]).abs())[keep])
    out = {}
    for v, x in d.items():
        x = torch.cat(x)
        out[v] = {"pitch_lr_median_deg": round(float(x.median()), 3),
                  "pitch_lr_p90_deg": round(float(x.quantile(0.9)), 3), "n": int(x.numel())}
    return {"n_pairs": int(n), "seed": int(seed), "synthetic": True, "results": out}


def _zoom_stats(z: torch.Tensor) -> dict:
    """``z (n, 2)``: linear magnification at the pupil and the patch's peak, per eye (1 = uniform@P over the region)."""
    q = torch.tensor([0.1, 0.5, 0.9])
    p10, p50, p90 = (round(float(x), 3) for x in z[:, 0].quantile(q))
    return {"pupil_median": p50, "pupil_q10": p10, "pupil_q90": p90, "peak_median": round(float(z[:, 1].median()), 3)}


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
        if r["mean_deg"] is None:  # every eye of this set was left out (blinks)
            lines.append(f"| {v} | – | – | " + " | ".join(cells) + " |")
            continue
        rel = f" ({r['mean_deg'] / base:.2f}x)" if base and v != "uniform@P" else ""
        lines.append(f"| {v} | {r['mean_deg']:.2f}{rel} | {r['median_deg']:.2f} | " + " | ".join(cells) + " |")
    counts = ", ".join(f"{b}: {report['by_eye_width'][b]['n']}" for b in bins)
    lines.append(f"\nn = {report['n']} rendered (seed {report['seed']}), eyes per width bin: {counts}; "
                 f"patch P = {report['patch'][0]}x{report['patch'][1]}")
    if "magnification" in report:
        mags = ", ".join(f"{v} {z['pupil_median']:.2f}x (peak {z['peak_median']:.2f}x)"
                         for v, z in report["magnification"].items())
        lines.append(f"linear magnification at the pupil against uniform@P, median over eyes: {mags}")
    if "binocular" in report:
        b = report["binocular"]
        agree = ", ".join(f"{v} {x['pitch_lr_median_deg']:.2f} / {x['pitch_lr_p90_deg']:.2f}"
                          for v, x in b["results"].items())
        lines.append(f"two-eye pitch agreement |pitch_L - pitch_R| median / p90 (deg) on {b['n_pairs']} rendered pairs "
                     f"moving together (synthetic): {agree}")
    return "\n".join(lines)


@torch.no_grad()
def render_figures(models: dict, n: int, seed: int, out_dir: str | Path, *, dataset: str = "synthetic") -> list[Path]:
    """The paper's Fig. 1 for our task, on ``n`` held-out eyes → ``zoom_examples.png`` and ``zoom_saliency.png``.

    ``zoom_examples.png``: per eye, the full-resolution region with the sampler's grid, the saliency map, the
    sampler's zoomed patch ("caricature") and, where given, the uniform patch and the centre crop, all at P, with
    true and predicted gaze. ``zoom_saliency.png``: mean saliency over the eyes, next to one region.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..geometry import pitchyaw_to_vector
    from ..models.data import DATASETS

    if "sampler@P" not in models:
        raise InputValueError("--figures needs the sampler@P weights")
    sm = models["sampler@P"].eval()
    region = sm.config.region_size
    b = DATASETS.get(dataset)(n, seed, "test", n, region, "cpu")[0]
    order = torch.argsort(b["eye_width_px"]) if "eye_width_px" in b else torch.arange(n)
    img = b["image"][order]
    gaze = b["gaze"][order]
    widths = b["eye_width_px"][order] if "eye_width_px" in b else torch.full((n,), float("nan"))
    out = sm(img)
    others = {v: models[v](img) for v in ("uniform@P", "center_crop@P") if v in models}
    cols = ["region 4P + sampler grid", "saliency", "sampler@P patch"] + [f"{v} patch" for v in others]
    step = max(1, out.grid.shape[1] // 12)  # about 12 grid lines per side
    fig, axes = plt.subplots(n, len(cols), figsize=(2.6 * len(cols), 1.75 * n), squeeze=False)
    H, W = region
    for i in range(n):
        ax = axes[i]
        ax[0].imshow(img[i].permute(1, 2, 0).numpy())
        g = out.grid[i].numpy()  # (h, w, 2) region units, align_corners=True
        gx, gy = (g[..., 0] + 1) / 2 * (W - 1), (g[..., 1] + 1) / 2 * (H - 1)
        for r in range(0, gx.shape[0], step):
            ax[0].plot(gx[r], gy[r], color="yellow", lw=0.5)
        for c in range(0, gx.shape[1], step):
            ax[0].plot(gx[:, c], gy[:, c], color="yellow", lw=0.5)
        cx, cy = W / 2, H / 2
        for py, col in ((gaze[i], "lime"), (out.pitchyaw[i], "red")):
            v = pitchyaw_to_vector(py.double()).numpy()
            # the normalised camera looks along z; x_n, y_n run along the region's u, v (image right, down)
            ax[0].arrow(cx, cy, v[0] * 0.6 * W, v[1] * 0.6 * W, color=col, width=0.8, head_width=4)
        err = float(angular_error_deg(out.pitchyaw[i:i + 1], gaze[i:i + 1]))
        ax[0].set_title(f"eye {widths[i]:.0f} px, sampler err {err:.1f}°", fontsize=7)
        ax[1].imshow(out.saliency[i, 0].numpy(), cmap="magma")
        ax[2].imshow(out.patch[i].permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
        ax[0].set_xlim(-0.5, W - 0.5)
        ax[0].set_ylim(H - 0.5, -0.5)
        for k, o in enumerate(others.values()):
            e = float(angular_error_deg(o.pitchyaw[i:i + 1], gaze[i:i + 1]))
            ax[3 + k].imshow(o.patch[i].permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
            ax[3 + k].set_title(f"err {e:.1f}°", fontsize=7)
        for j, a in enumerate(ax):
            a.set_xticks([])
            a.set_yticks([])
            if i == 0:
                a.set_xlabel(cols[j], fontsize=7)
                a.xaxis.set_label_position("top")
    fig.suptitle("held-out synthetic eyes (smallest first); green: true gaze, red: sampler's prediction", fontsize=9)
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p1 = out_dir / "zoom_examples.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(1, 2, figsize=(8, 2.6))
    ax[0].imshow(img[-1].permute(1, 2, 0).numpy())
    ax[0].set_title("a held-out region (4P)", fontsize=8)
    ax[1].imshow(out.saliency[:, 0].mean(0).numpy(), cmap="magma")
    ax[1].set_title(f"mean saliency over {n} eyes (31x31 grid)", fontsize=8)
    for a in ax:
        a.set_xticks([])
        a.set_yticks([])
    fig.tight_layout()
    p2 = out_dir / "zoom_saliency.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def real_face_checks(
    weights_dir: str | Path,
    media_dir: str | Path,
    variant: str = "sampler@P",
    *,
    stills: tuple[str, ...] = ("obama.jpg", "obama2.jpg", "obama3.jpg", "single_face.jpg", "astronaut.png"),
    max_frames: int | None = None,
) -> dict:
    """Weak checks on real faces WITHOUT gaze labels (not accuracy): see docs/zoom.md.

    * stills looking at the camera: angle between the fused gaze and the direction from the eyes to the camera;
    * each still mirrored horizontally: ``|yaw + yaw_mirrored|`` (camera-space yaw should flip sign);
    * ``single_face.mp4``: spread of the fused gaze over its frames.

    Each still also reports ``aperture_over_iris`` (mean of both eyes, :func:`gazezoom.face.eyes.aperture_over_iris`),
    the lid opening the renderer calls ``openness``: where real eyes sit in the renderer's range.
    """
    import numpy as np

    from ..face.eyes import aperture_over_iris
    from ..face.frontend import FrontEnd
    from ..io.readers import VideoReader, read_image
    from ..models import GazePredictor

    media = Path(media_dir)
    pred = GazePredictor.from_weights(weights_dir, variant=variant)
    rows = []
    with FrontEnd(mode="image") as fe:
        for name in stills:
            frame = read_image(media / name)  # a missing or unreadable still is a MediaError, not a shorter table
            res = {}
            for tag, f in (("orig", frame), ("mirror", np.ascontiguousarray(frame[:, ::-1]))):
                face, _, _ = fe.process(f)
                if face is not None:
                    res[tag] = (pred.predict(f, face, display=False), face)
            if "orig" not in res:
                continue
            g, face = res["orig"]
            to_cam = -g.origin_mm / np.linalg.norm(g.origin_mm)
            row = {"image": name, "eye_width_px": round(float(np.mean([abs(e.corners_px[1, 0] - e.corners_px[0, 0]) for e in face.eyes])), 1),
                   "aperture_over_iris": round(float(np.mean([aperture_over_iris(face.landmarks_px, e.side) for e in face.eyes])), 3),
                   "pitch_deg": round(float(np.degrees(g.pitchyaw[0])), 2), "yaw_deg": round(float(np.degrees(g.pitchyaw[1])), 2),
                   "to_camera_deg": round(float(np.degrees(np.arccos(np.clip(g.vector_cam @ to_cam, -1, 1)))), 2)}
            if "mirror" in res:
                gm = res["mirror"][0]
                row["yaw_mirrored_deg"] = round(float(np.degrees(gm.pitchyaw[1])), 2)
                row["abs_yaw_sum_deg"] = round(abs(row["yaw_deg"] + row["yaw_mirrored_deg"]), 2)
            rows.append(row)
    video = []
    stop = None if max_frames is None else max_frames - 1
    with VideoReader(media / "single_face.mp4") as reader, FrontEnd(mode="video") as fe:
        for f in reader.frames(stop_after=stop):
            face, _, _ = fe.process(f.image, f.time_s)
            if face is not None:
                video.append(pred.predict(f.image, face, display=False).pitchyaw)
    v = np.degrees(np.array(video)) if video else np.zeros((0, 2))
    steps = np.linalg.norm(np.diff(v, axis=0), axis=1) if len(v) > 1 else np.zeros(0)
    return {
        "variant": variant,
        "stills": rows,
        "median_to_camera_deg": round(float(np.median([r["to_camera_deg"] for r in rows])), 2) if rows else None,
        "median_abs_yaw_sum_deg": round(float(np.median([r["abs_yaw_sum_deg"] for r in rows if "abs_yaw_sum_deg" in r])), 2)
        if any("abs_yaw_sum_deg" in r for r in rows) else None,
        "video": {"frames_with_face": int(len(v)), "std_pitch_yaw_deg": [round(float(x), 2) for x in v.std(0)] if len(v) else None,
                  "median_frame_to_frame_deg": round(float(np.median(steps)), 2) if len(steps) else None},
    }


def real_vs_synthetic_figure(
    weights_dir: str | Path,
    media_dir: str | Path,
    out_dir: str | Path,
    variant: str = "sampler@P",
    *,
    stills: tuple[str, ...] = ("obama.jpg", "obama3.jpg", "single_face.jpg", "single_face.mp4"),
    seed: int = 5,
) -> Path:
    """Side by side: real eye regions (both eyes, right ones mirrored, as the model reads them) next to synthetic
    eyes rendered looking straight ahead (gaze 0, no head residual, 60 px wide), each with the model's per-eye
    pitch/yaw → ``real_vs_synthetic.png``. Centre lines mark the region centre (the corners' midpoint).

    A diagnostic of the synthetic-to-real gap (where real irises, lids and corners sit in the region against the
    renders'), not an accuracy figure: the real people's true gaze is unknown. The first frame is used for videos.
    """
    import dataclasses as dc

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..face.frontend import FrontEnd
    from ..io.readers import VideoReader, read_image
    from ..models.checkpoint import load_weights, weights_path
    from ..sampler import sample_regions
    from ..synth import EyeRenderer

    media, out_dir = Path(media_dir), Path(out_dir)
    model = load_weights(weights_path(weights_dir, variant), variant=variant).eval()
    size = model.config.region_size
    rows = []  # (title, [(image (H, W, 3), pitch, yaw)])
    with FrontEnd(mode="image") as fe:
        for name in stills:
            if name.endswith((".mp4", ".mov", ".avi")):
                with VideoReader(media / name) as rd:
                    frame = next(iter(rd.frames(stop_after=0))).image
            else:
                frame = read_image(media / name)
            face, _, _ = fe.process(frame)
            if face is None:
                continue
            rgb = torch.from_numpy(np.ascontiguousarray(frame[:, :, ::-1])).permute(2, 0, 1)[None].float() / 255
            H = torch.tensor(np.stack([e.region_to_frame for e in face.eyes]), dtype=torch.float32)
            reg = sample_regions(rgb, H, size)
            with torch.no_grad():
                py = torch.rad2deg(model(reg).pitchyaw)
            rows.append((name, [(reg[i].permute(1, 2, 0).numpy(), *py[i].tolist(), e.side) for i, e in enumerate(face.eyes)]))
    r = EyeRenderer(size)
    p = r.sample_params(4, seed=seed, split="test")
    p = dc.replace(p, gaze=torch.zeros_like(p.gaze), head=torch.zeros_like(p.head), closure=torch.zeros_like(p.closure),
                   eye_width_px=torch.full_like(p.eye_width_px, 60.0))
    b = r.render(p)
    with torch.no_grad():
        py = torch.rad2deg(model(b["image"]).pitchyaw)
    synth = [(b["image"][i].permute(1, 2, 0).numpy(), *py[i].tolist(), "synthetic") for i in range(4)]
    fig, axes = plt.subplots(len(rows) + 2, 2, figsize=(7, 2.0 * (len(rows) + 2)))
    cells = [(f"{name}: {side} eye", img, pi, ya) for name, eyes in rows for img, pi, ya, side in eyes]
    cells += [(f"synthetic, true gaze 0/0 (#{i})", img, pi, ya) for i, (img, pi, ya, _) in enumerate(synth)]
    for ax, (title, img, pi, ya) in zip(axes.ravel(), cells):
        ax.imshow(np.clip(img, 0, 1))
        ax.axhline(size[0] / 2 - 0.5, color="yellow", lw=0.6)
        ax.axvline(size[1] / 2 - 0.5, color="yellow", lw=0.6)
        ax.set_title(f"{title}\npredicted pitch {pi:+.1f}°, yaw {ya:+.1f}°", fontsize=7)
        ax.axis("off")
    for ax in axes.ravel()[len(cells):]:
        ax.axis("off")
    fig.suptitle(f"real eye regions vs synthetic eyes looking straight ahead ({variant}; region read, not the app path)",
                 fontsize=8)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "real_vs_synthetic.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1] + " " + __doc__.split("\n\n")[3]
    p.add_argument("--synthetic", type=int, metavar="N", default=None, help="number of held-out eyes to render")
    # --- public datasets (gazezoom.data)
    p.add_argument("--data", metavar="NAME:PATH", default=None,
                   help="evaluate on a public dataset instead: mpiifacegaze:DIR[,test_person=p00], ethxgaze:DIR, "
                        "gazecapture:DIR; reports angular error (MPII/ETH) or on-screen cm (GazeCapture)")
    p.add_argument("--split", default="test", help="split of --data: train, val, test (default), test_person_specific")
    p.add_argument("--limit", type=int, default=0, help="score only this many evenly spaced eyes of --data (0: all)")
    # --- end public datasets
    p.add_argument("--seed", type=int, default=2024, help="seed of the held-out draw (default 2024; training "
                   "validation uses 1, training 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--weights", default=str(WEIGHTS_DIR), help="folder with gaze_<variant>.safetensors + .json (weights)")
    p.add_argument("--variants", nargs="+", default=None, help="variants to compare (default all; with "
                   "--reference: those with weights in --weights)")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument("--device", default="cpu")
    add_threads_arg(p, default=None, help="torch CPU threads")
    p.add_argument("--dataset", default="synthetic", help="data source (default synthetic)")
    p.add_argument("--figures", metavar="DIR", default=None, help="also write zoom_examples.png and "
                   "zoom_saliency.png (8 held-out eyes, seed --seed) into DIR; with --real also real_vs_synthetic.png "
                   "(real eye regions next to synthetic eyes looking straight ahead); with --real and --reference "
                   "only traces_<video>.png (per-frame pitch and yaw of every stage and the reference)")
    p.add_argument("--real", metavar="MEDIA_DIR", default=None, help="with --reference: the real-media scoreboard "
                   "(a mode of its own). With --synthetic instead: also run the weak unlabelled real-face checks on "
                   "MEDIA_DIR (e.g. ../shared/media): gaze vs camera direction, mirror symmetry, video steadiness")
    # --- real-media scoreboard (gazezoom/realeval.py)
    p.add_argument("--reference", metavar="REF_DIR", default=None,
                   help="with --real DIR: score every gaze stage on each image/video of DIR that has <file name>.csv "
                        "in REF_DIR (format: ../shared/reference/README.md; a real-trained network's gaze, for "
                        "evaluation only) over the frames where both see an open-eyed face: Pearson r of pitch/yaw "
                        "over time, angle to the reference raw and offset-removed, two-eye agreement, jitter, mirror, "
                        "roll, scale (the still at half its size), vergence and look-into-the-camera checks on "
                        "stills, and the real-eye aims (docs/zoom.md). With --figures DIR: traces_<video>.png per video")
    p.add_argument("--baselines", nargs="*", default=None, metavar="NAME",
                   help="with --reference: the other gaze stages to score beside the network variants (default: "
                        "geometric, and fusion and pupil when their weights are in --weights; give none to leave "
                        "them out)")
    p.add_argument("--binocular", type=int, default=0, metavar="N", help="with --synthetic: also render N pairs of "
                   "eyes of one person moving together and report two-eye pitch agreement (synthetic)")
    p.add_argument("--candidate", action="append", default=[], metavar="LABEL=WEIGHTS[:VARIANT]",
                   help="also score these weights (a folder with gaze_<variant>.safetensors, VARIANT default "
                        "sampler@P, or a .safetensors file, e.g. a pupil model) as row LABEL; repeat for more")
    p.add_argument("--max-frames", type=int, default=None, metavar="N",
                   help="with --reference: read only the first N frames of each video (quick checks)")
    p.add_argument("--portraits", metavar="DIR", default=None,
                   help="with --reference: also score every image of DIR as a portrait of someone looking into the "
                        "camera, without a reference (your own photos): angle to the camera, mirror, roll, scale, two-eye "
                        "and vergence checks, pooled with the others")
    p.add_argument("--mirror", action="store_true",
                   help="with --reference: mirror-average every reading, as `gazezoom process --mirror` does (a "
                        "second front-end on each frame flipped left-right); the stills' mirror check is then left "
                        "out (it holds by construction)")
    # --- end real-media scoreboard


def run(args: argparse.Namespace) -> int:
    from ..models.variants import resolve_variant

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.reference is not None:  # --- real-media scoreboard
        return _run_real(args)
    if args.portraits is not None:
        raise InputValueError("--portraits DIR goes with the real-media scoreboard: --real DIR --reference REF_DIR "
                              "--portraits DIR")
    if args.mirror:
        raise InputValueError("--mirror goes with the real-media scoreboard: --real DIR --reference REF_DIR --mirror")
    variants = [resolve_variant(v) for v in (args.variants or ALL_VARIANTS)]
    if (args.data is None) == (args.synthetic is None):
        raise InputValueError("give exactly one of --synthetic N (rendered eyes), --data NAME:PATH (a public dataset) "
                              "or --real DIR --reference REF_DIR (real media against a reference)")
    models = load_variants(args.weights, variants, args.device)
    for spec in args.candidate:  # extra weights files (e.g. a pupil model) scored beside the variants
        from ..models.checkpoint import load_weights
        from ..realeval import candidate_file, parse_candidate

        label, path, variant = parse_candidate(spec)
        if label in models:
            raise InputValueError(f"--candidate {label}: a variant of that name is already scored; choose another LABEL")
        models[label] = load_weights(candidate_file(path, variant), variant=variant, device=args.device)
    if args.data is not None:  # --- public datasets
        from ..data.evaluation import evaluate_dataset, format_report

        report = evaluate_dataset(models, args.data, args.split, batch_size=args.batch_size, device=args.device,
                                  limit=args.limit, progress=not args.json)
        print(json.dumps(report) if args.json else format_report(report))
        return 0
    report = evaluate(models, args.synthetic, args.seed, batch_size=args.batch_size, device=args.device,
                      dataset=args.dataset, progress=not args.json)
    if args.binocular:
        report["binocular"] = binocular_agreement(models, args.binocular, args.seed + 1)
    if args.figures:
        for p in render_figures(models, 8, args.seed, args.figures, dataset=args.dataset):
            print(f"wrote {p}", file=sys.stderr)
    if args.real:
        real = real_face_checks(args.weights, args.real)
        print("real-face weak checks (no labels): " + json.dumps(real), file=sys.stderr)
        if args.figures:
            print(f"wrote {real_vs_synthetic_figure(args.weights, args.real, args.figures)}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report))
    return 0


def _run_real(args: argparse.Namespace) -> int:
    """``--real DIR --reference REF_DIR``: the real-media scoreboard, a mode of its own."""
    from ..realeval import build_stages, evaluate_real, find_media, find_portraits, format_scoreboard

    if args.real is None:
        raise InputValueError("--reference needs --real DIR: the folder of images/videos the reference CSVs belong to")
    if args.synthetic is not None or args.data is not None:
        raise InputValueError("--real DIR --reference REF_DIR runs on its own; leave out --synthetic / --data "
                              "(or drop --reference for the weak checks next to --synthetic)")
    find_media(args.real, args.reference)  # a wrong folder fails before any model loads
    if args.portraits is not None:
        find_portraits(args.portraits)
    baselines = args.baselines
    if baselines is None:  # the learned stages whose weights are there, and the geometric floor
        from ..models.stages import stage_weights_file

        baselines = [b for b in ("fusion", "pupil") if stage_weights_file(b, args.weights).is_file()] + ["geometric"]
    stages = build_stages(args.weights, args.variants, baselines, args.candidate, device=args.device)
    report = evaluate_real(args.real, args.reference, stages, max_frames=args.max_frames, figures_dir=args.figures,
                           progress=True, portraits_dir=args.portraits, mirror=args.mirror)
    for p in report.get("figures", []):
        print(f"wrote {p}", file=sys.stderr)
    print(json.dumps(report) if args.json else format_scoreboard(report))
    return 0
