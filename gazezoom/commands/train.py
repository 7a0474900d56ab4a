"""``gazezoom train``: train gaze variants on rendered eyes (or any registered data source).

One command trains one variant or all of them in sequence with the same data, budget and task network, and writes
into ``--out``: ``gaze_<slug>.safetensors`` + ``.json`` sidecar (config, preprocessing, held-out validation figures),
``gaze_<slug>.csv`` (the log), ``gaze_<slug>.png`` (curves), ``gaze_curves.png`` (all variants) and resumable state
in ``train_state/gaze_<slug>.pt``. Paper schedule (Recasens et al. 2018, Sec. 4): the task network sees randomly
degraded patches during the first part of training, and the saliency network learns at a tenth of the rate.

The defaults suit a 2-core CPU: 6,400 training eyes rendered once into ``runs/cache`` (the renderer makes a few dozen
eyes per second there) and 800 steps of 64 per variant, a few minutes for P-sized variants and ~15 for 4P. On a
GPU (``--device cuda --amp``) render more and train longer, e.g.::

    gazezoom train --variant all --device cuda --amp --steps 2500 --batch-size 256 --train-n 119808 --out runs/gpu
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..cliargs import add_threads_arg
from ..errors import InputValueError, WeightsMismatchError
from ..geometry import angular_error_deg
from ..models.geometric import gaze_of_output
from ..models.variants import LOCATOR_OUTPUTS

__all__ = ["TrainConfig", "train_variant", "validate", "plot_curves", "add_arguments", "run"]

CSV_FIELDS = [
    "step", "loss", "train_mean_deg", "val_mean_deg", "val_median_deg", "lr", "degrade", "seconds", "images_per_s"
]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (recorded in every sidecar). Sizes of the model live in ``ModelConfig``."""

    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    saliency_lr_mult: float = 0.1  # paper: the saliency net learns slower than the task net
    weight_decay: float = 1e-4
    warmup_frac: float = 0.03
    degrade_until: float = 0.3  # fraction of the steps with random patch degradation (paper's early training)
    degrade_p: float = 0.5  # probability per step while it is on
    min_openness: float = 0.15  # nearly closed eyes carry no gaze signal: left out of the loss
    seed: int = 0
    dataset: str = "synthetic"
    train_n: int = 0  # > 0: render this many training eyes once and reuse them (epochs); 0: fresh eyes every step
    cache_dir: str = ""  # where rendered sets are kept between variants/runs ("" = keep in memory only)
    render_workers: int = 1  # processes rendering the cached sets (the renderer is single-threaded small ops)
    init: str = ""  # start from these weights (a gaze_<variant> file or a folder of them) instead of a random init
    val_n: int = 512
    val_seed: int = 1  # the validation draw; `gazezoom eval` defaults to another seed
    eval_every: int = 250
    log_every: int = 25
    device: str = "cpu"
    amp: bool = False

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 2 % of ``lr``."""
        warm = max(1, int(self.warmup_frac * self.steps))
        if step < warm:
            return self.lr * (step + 1) / warm
        t = (step - warm) / max(1, self.steps - warm)
        return self.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


#: The batch key each ``ModelConfig.output`` is trained against.
TARGET_KEYS = {"gaze": "gaze", "pupil": "pupil_uv", "landmarks": "landmarks_uv"}


def _loss(pred: torch.Tensor, batch: dict, min_openness: float, output: str = "gaze") -> tuple[torch.Tensor, torch.Tensor]:
    """L1 on pitch/yaw (or on the pupil's region u, v for ``output="pupil"``; for ``"landmarks"`` the pupil's plus
    the mean over the other landmarks'), nearly closed eyes weighted 0.
    Returns ``(loss, weights (B,))``."""
    key = TARGET_KEYS[output]
    if key not in batch:
        raise InputValueError(f"the training data has no {key!r} labels, which output={output!r} needs; "
                              "train it on rendered eyes (--dataset synthetic)")
    target = batch[key].to(pred.dtype).flatten(1)  # landmarks (B, 15, 2) -> (B, 30), as predicted
    w = torch.ones_like(target[:, 0])
    if "openness" in batch:
        w = (batch["openness"].to(pred.dtype) >= min_openness).to(pred.dtype)
    if output == "landmarks":  # the pupil as for a pupil model, plus the mean over the other 14 landmarks
        err = (pred - target).abs()
        per = err[:, :2].sum(-1) + err[:, 2:].reshape(len(err), -1, 2).sum(-1).mean(-1)
    else:
        per = (pred - target).abs().sum(-1)  # (B,)
    return (per * w).sum() / w.sum().clamp_min(1.0), w


@torch.no_grad()
def validate(model, batches: list[dict], min_openness: float = 0.0) -> dict:
    """Mean/median angular error (deg) of ``model`` on held-out batches (eyes below ``min_openness`` skipped).

    A pupil model (``config.output == "pupil"``) is scored on the gaze the eyeball model reads from its pupil, and
    also reports ``pupil_mm``: the mean distance from the true pupil centre on the region plane (mm)."""
    from ..geometry import REGION_MM

    output = getattr(getattr(model, "config", None), "output", "gaze")
    was = model.training
    model.eval()
    errs, mm = [], []
    for b in batches:
        raw = model(b["image"]).pitchyaw.float()
        e = angular_error_deg(gaze_of_output(raw, b, output), b["gaze"].float())
        keep = b["openness"] >= min_openness if "openness" in b else torch.ones_like(e, dtype=torch.bool)
        errs.append(e[keep].cpu())
        if output in LOCATOR_OUTPUTS:
            raw = raw[:, :2]
            scale = torch.tensor([REGION_MM[1] / 2, REGION_MM[0] / 2], device=raw.device)
            mm.append(((raw - b["pupil_uv"].float()) * scale).norm(dim=-1)[keep].cpu())
    model.train(was)
    e = torch.cat(errs)
    out = {"mean_deg": float(e.mean()), "median_deg": float(e.median()), "n": int(e.numel())}
    if mm:
        out["pupil_mm"] = float(torch.cat(mm).mean())
    return out


def plot_curves(csv_paths: dict[str, Path], out_png: Path, title: str = "") -> Path:
    """Training loss and validation error against step for one or more CSV logs → PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, p in csv_paths.items():
        rows = _read_rows(p)
        s = [int(r["step"]) for r in rows if r["loss"]]
        a1.plot(s, [float(r["loss"]) for r in rows if r["loss"]], label=name)
        v = [(int(r["step"]), float(r["val_mean_deg"])) for r in rows if r["val_mean_deg"]]
        if v:
            a2.plot(*zip(*v), marker="o", label=name)
    a1.set(xlabel="step", ylabel="L1 loss (rad)", yscale="log", title="training loss")
    a2.set(xlabel="step", ylabel="mean angular error (deg)", yscale="log", title="held-out validation (synthetic)")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def _read_rows(path: Path, upto: int | None = None) -> list[dict]:
    """Rows of a training log (those up to step ``upto``); none when the file does not exist yet."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if upto is None or int(r["step"]) <= upto]


def _cache_name(cfg: TrainConfig, n: int, seed: int, split: str, region_size) -> str:
    return f"{cfg.dataset}_{split}_n{n}_seed{seed}_{region_size[0]}x{region_size[1]}.pt"


def _render_cached(cfg: TrainConfig, n: int, seed: int, split: str, region_size, device, progress: bool) -> dict:
    """The rendered set ``(n, seed, split)`` as a CPU uint8 cache (read from ``cache_dir`` when already there)."""
    from ..models.data import DATASETS, render_cache

    rb = 256 if device.type == "cuda" else 64  # render batch
    path = Path(cfg.cache_dir) / _cache_name(cfg, n, seed, split, region_size) if cfg.cache_dir else None
    args = (n, seed, split, rb, tuple(region_size), str(device))
    return render_cache(DATASETS.get(cfg.dataset)(*args), path, progress=progress, workers=cfg.render_workers,
                        spec=(cfg.dataset, args))


def _datasets(cfg: TrainConfig, region_size, device, progress: bool, world: int = 1, memo: dict | None = None):
    """(train, validation) datasets; with ``train_n`` the training eyes are rendered once and cached (in ``memo``
    for the next variant of the same run, in ``cache_dir`` for later runs)."""
    # --- public datasets: --dataset NAME:PATH[,key=value…] opens a published release (gazezoom.data)
    from ..data import is_spec, open_dataset, subset
    from ..models.data import DATASETS, GROUP, CachedEyes

    if is_spec(cfg.dataset):
        return (open_dataset(cfg.dataset, "train", region_size),
                subset(open_dataset(cfg.dataset, "val", region_size), cfg.val_n))
    # --- end public datasets
    build = DATASETS.get(cfg.dataset)

    def cached(n, seed, split, shuffle, n_batches=None):
        name = _cache_name(cfg, n, seed, split, region_size)
        if memo is not None and name in memo:
            cache = memo[name]
        else:
            cache = _render_cached(cfg, n, seed, split, region_size, device, progress)
            if device.type == "cuda":  # uint8 eyes are small: keep them on the GPU, gather batches there
                cache = {k: v.to(device) for k, v in cache.items()}
            if memo is not None:
                memo[name] = cache
        bs = cfg.batch_size if shuffle else min(cfg.batch_size, 256)
        return CachedEyes(cache, bs, n_batches or -(-n // bs), seed, device, shuffle=shuffle,
                          group=GROUP.get(cfg.dataset, 1))

    steps = cfg.steps * world  # distributed: every process reads its own batches of one global sequence
    if cfg.train_n > 0:
        train = cached(cfg.train_n, cfg.seed, "train", True, steps)
    else:
        train = build(steps * cfg.batch_size, cfg.seed, "train", cfg.batch_size, region_size, device)
    if cfg.cache_dir or memo is not None:
        val = cached(cfg.val_n, cfg.val_seed, "test", False)
    else:
        val = build(cfg.val_n, cfg.val_seed, "test", min(cfg.batch_size, 256), region_size, device)
    return train, val


def _load_init(init: str, variant: str, overrides: dict | None):
    """The weights to fine-tune from and ``{"path", "sha256", "step"}`` for the sidecar. Sizes given on the command
    line must match the file's (the network would read its input differently); none given adopts the file's."""
    from ..fileio import file_sha256
    from ..models.checkpoint import load_weights, weights_path

    path = Path(init)
    if path.is_dir():
        path = weights_path(path, variant)
    model = load_weights(path, variant=variant)  # ModelFileError / WeightsMismatchError say what is wrong
    have = model.config.to_dict()  # sizes as JSON lists, like the asked-for ones below
    # the output may change (a gaze model fine-tuned to locate the pupil): same network, another target
    asked = {k: list(v) if isinstance(v, tuple) else v for k, v in (overrides or {}).items()
             if k not in ("output", "binocular")}
    diffs = [f"{k}: file has {have[k]!r}, asked for {v!r}" for k, v in asked.items() if have.get(k) != v]
    if diffs:
        raise WeightsMismatchError(f"--init {path} was trained with other sizes ({'; '.join(diffs)}); drop those "
                                   "options to adopt the file's, or train from scratch")
    st = path.with_suffix(".safetensors")
    return model, {"path": str(st), "sha256": file_sha256(st), "step": getattr(model, "sidecar", {}).get("step")}


def train_variant(
    variant: str,
    cfg: TrainConfig,
    model_overrides: dict | None = None,
    out_dir: str | Path = "runs/train",
    *,
    resume: bool = False,
    progress: bool = True,
    memo: dict | None = None,
) -> dict:
    """Train one variant; returns ``{"variant", "step", "val": {...}, "weights": path, "seconds"}``.

    ``memo``: a dict shared by the variants of one run, holding rendered sets so they are rendered once.
    """
    from tqdm import tqdm

    from ..models.checkpoint import load_train_state, save_train_state, save_weights
    from ..models.data import iter_batches
    from ..models.variants import GazeNet, ModelConfig, resolve_variant, variant_slug

    variant = resolve_variant(variant)
    init_model, init_info = _load_init(cfg.init, variant, model_overrides) if cfg.init else (None, None)
    mcfg = init_model.config if init_model is not None else ModelConfig(variant=variant, **(model_overrides or {}))
    for key in ("output", "binocular"):  # a gaze model fine-tuned into a pupil one, a monocular into a binocular one
        if init_model is not None and key in (model_overrides or {}):
            mcfg = dataclasses.replace(mcfg, **{key: model_overrides[key]})
    if mcfg.binocular:
        from ..models.data import GROUP

        if GROUP.get(cfg.dataset, 1) != 2:
            raise InputValueError(f"a binocular model reads the two eyes of a face together; train it on pairs "
                                  f"(--dataset synthetic_pairs), not {cfg.dataset!r}")
    out_dir = Path(out_dir)
    slug = f"{'gaze' if mcfg.output == 'gaze' else mcfg.output}_{variant_slug(variant)}"
    state_path = out_dir / "train_state" / f"{slug}.pt"
    csv_path = out_dir / f"{slug}.csv"
    device = torch.device(cfg.device)
    # --- distributed: under torchrun join the process group; rank 0 alone logs, validates and writes
    from ..distributed import all_mean, setup, shard_batches, wrap

    dist = setup(device)
    device, progress = dist.device, progress and dist.is_main
    # --- end distributed
    if cfg.amp and device.type != "cuda":
        raise InputValueError("--amp needs --device cuda (bfloat16 autocast); drop --amp on CPU")

    torch.manual_seed(cfg.seed)  # the same initial weights for a given seed and variant
    model = GazeNet(mcfg).to(device).train()
    if init_model is not None:  # fine-tuning: the given weights replace the random init (a resume still wins)
        sd = init_model.state_dict()
        own = model.state_dict()
        for k, v in list(sd.items()):  # a pupil model grown into a landmark one: its outputs are the first rows
            if k in own and own[k].shape != v.shape and k.startswith("task.head.") and own[k].shape[1:] == v.shape[1:]:
                grown = own[k].clone()
                grown[: v.shape[0]] = v
                sd[k] = grown
        missing, unexpected = model.load_state_dict(sd, strict=False)
        bad = [k for k in missing if not k.startswith("pair.")] + list(unexpected)
        if bad:  # only a binocular model's pair head may be new (it starts at zero: the monocular model)
            raise WeightsMismatchError(f"--init weights do not fit this model: {bad[:5]}")
    sal = model.saliency_parameters()
    sal_ids = {id(p) for p in sal}
    groups = [{"params": [p for p in model.parameters() if id(p) not in sal_ids], "lr_mult": 1.0}]
    if sal:
        groups.append({"params": sal, "lr_mult": cfg.saliency_lr_mult})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    start, elapsed, rows, seen = 0, 0.0, [], 0
    if resume and state_path.is_file():
        st = load_train_state(state_path)
        if st["model_config"] != mcfg.to_dict():
            raise WeightsMismatchError(
                f"{state_path} was trained with model config {st['model_config']}, not {mcfg.to_dict()}; "
                "use the same sizes or start without --resume"
            )
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        start, elapsed = int(st["step"]), float(st["seconds"])
        seen = int(st.get("batches_seen", start))  # global batches consumed, whatever the number of processes was
        rows = _read_rows(csv_path, start)
    if start >= cfg.steps and resume:
        print(f"{variant}: already trained to step {start} >= --steps {cfg.steps}; nothing to do", file=sys.stderr)

    train_ds, val_ds = _datasets(cfg, mcfg.region_size, device, progress, dist.world, memo)
    val_batches = list(iter_batches(val_ds, min(cfg.batch_size, 256), device=device, loop=False)) if dist.is_main else []
    batches = shard_batches(train_ds, cfg.batch_size, start=seen, rank=dist.rank, world=dist.world, seed=cfg.seed,
                            device=device)  # == iter_batches(train_ds, …, start=seen) in a single process
    net = wrap(model, dist)  # DistributedDataParallel when several processes train

    def checkpoint(step: int, val: dict | None) -> Path:
        from ..data import describe

        train_info = dataclasses.asdict(cfg) | {"data": describe(cfg.dataset), "seconds": round(elapsed, 1),
                                                "processes": dist.world, "init_weights": init_info}
        heldout = {"val_seed": cfg.val_seed, "val_n": cfg.val_n, "split": "test", **(val or {})}
        w, _ = save_weights(model, out_dir / slug, step=step, training=train_info, heldout=heldout)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        save_train_state(state_path, {
            "step": step, "seconds": elapsed, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "model_config": mcfg.to_dict(), "train_config": dataclasses.asdict(cfg),
            "batches_seen": seen + (step - start) * dist.world, "processes": dist.world,
        })
        with open(csv_path, "w", newline="") as f:
            wr = csv.DictWriter(f, CSV_FIELDS)
            wr.writeheader()
            wr.writerows(rows)
        return w

    val = None
    acc_loss = acc_err = acc_n = 0.0
    t_log = time.perf_counter()
    bar = tqdm(range(start, cfg.steps), desc=variant, disable=not progress, file=sys.stderr, dynamic_ncols=True)
    weights = out_dir / f"{slug}.safetensors"
    for step in bar:
        t0 = time.perf_counter()
        batch = next(batches)
        g = torch.Generator().manual_seed(cfg.seed * 7_000_003 + step)
        degrade = step < cfg.degrade_until * cfg.steps and float(torch.rand((), generator=g)) < cfg.degrade_p
        lr = cfg.lr_at(step)
        for grp in opt.param_groups:
            grp["lr"] = lr * grp["lr_mult"]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp):
            out = net(batch["image"], degrade=degrade, generator=g)
        loss, w = _loss(out.pitchyaw.float(), batch, cfg.min_openness, mcfg.output)
        if not torch.isfinite(loss):
            raise InputValueError(f"{variant}: the loss became {float(loss)} at step {step}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        elapsed += time.perf_counter() - t0
        with torch.no_grad():
            err = angular_error_deg(gaze_of_output(out.pitchyaw.detach().float(), batch, mcfg.output),
                                    batch["gaze"].float())
            acc_err += float((err * w).sum() / w.sum().clamp_min(1))
        acc_loss += float(loss.detach())
        acc_n += 1
        done = step + 1
        is_eval = done % cfg.eval_every == 0 or done == cfg.steps
        if done % cfg.log_every == 0 or is_eval:
            row = {k: "" for k in CSV_FIELDS}
            now = time.perf_counter()
            # over every rank's batches, not rank 0's share alone (all ranks log at the same steps: a collective)
            loss_avg, err_avg = all_mean(acc_loss / acc_n, dist), all_mean(acc_err / acc_n, dist)
            row.update(step=done, loss=f"{loss_avg:.5f}", train_mean_deg=f"{err_avg:.3f}",
                       lr=f"{lr:.6g}", degrade=int(degrade), seconds=f"{elapsed:.1f}",
                       images_per_s=f"{dist.world * acc_n * cfg.batch_size / max(now - t_log, 1e-9):.1f}")
            if is_eval and dist.is_main:
                val = validate(model, val_batches, cfg.min_openness)
                row.update(val_mean_deg=f"{val['mean_deg']:.3f}", val_median_deg=f"{val['median_deg']:.3f}")
            rows.append(row)
            bar.set_postfix(loss=f"{loss_avg:.4f}", err=f"{err_avg:.2f}",
                            val="" if val is None else f"{val['mean_deg']:.2f}")
            acc_loss = acc_err = acc_n = 0.0
            t_log = time.perf_counter()
            if is_eval and dist.is_main:
                weights = checkpoint(done, val)
    bar.close()
    if dist.is_main:  # distributed: only rank 0 validates, writes and plots
        if val is None:  # nothing trained in this call (resumed at the end): report the saved model
            val = validate(model, val_batches, cfg.min_openness)
            if not weights.is_file():
                weights = checkpoint(start, val)
        plot_curves({variant: csv_path}, out_dir / f"{slug}.png", title=f"{variant} (synthetic data)")
    return {"variant": variant, "step": max(start, cfg.steps), "val": val, "weights": str(weights),
            "seconds": round(elapsed, 1)}


# ------------------------------------------------------------------ CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.description = __doc__.split("\n\n")[0] + (
        " Writes weights + JSON sidecars, CSV logs and curve plots into --out; re-run with --resume to continue."
    )
    p.add_argument("--variant", default="all", help="variant to train, a comma-separated list, or 'all' (default): "
                   "sampler@P, uniform@P, uniform@2P, uniform@4P, center_crop@P (the issue's comparison); also "
                   "sampler_crop@P (the sampler on the central crop, experimental)")
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train; 'weights' to ship)")
    p.add_argument("--steps", type=int, default=800, help="optimizer steps per variant (default 800)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"(default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate, AdamW (default {d.lr})")
    p.add_argument("--saliency-lr-mult", type=float, default=d.saliency_lr_mult,
                   help=f"learning-rate factor of the saliency net (default {d.saliency_lr_mult})")
    p.add_argument("--degrade-until", type=float, default=d.degrade_until,
                   help=f"fraction of steps with random patch degradation (default {d.degrade_until})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the training draw and init (default 0)")
    p.add_argument("--dataset", default=d.dataset, help="data source registered in gazezoom.models.data.DATASETS "
                   "(default synthetic; 'toy' is a crude stand-in for smoke tests), or a public dataset you hold as "
                   "NAME:PATH[,key=value] (mpiifacegaze:DIR[,test_person=p00], ethxgaze:DIR, gazecapture:DIR; "
                   "docs/training_at_scale.md)")
    p.add_argument("--train-n", type=int, default=6400, help="render this many training eyes once and reuse them "
                   "in shuffled epochs (default 6400; 0: fresh eyes every step, for a fast renderer/GPU)")
    p.add_argument("--cache-dir", default="runs/cache", help="keep rendered training/validation sets here and "
                   "reuse them across variants and runs (default runs/cache; '' for memory only)")
    p.add_argument("--render-workers", type=int, default=1, help="processes rendering the cached sets (default 1; "
                   "the renderer is single-threaded, so use about the number of cores, also with a GPU)")
    p.add_argument("--jobs", type=int, default=1, help="train up to this many variants at once, each in its own "
                   "process (default 1: one after the other). Needs --cache-dir, which the processes share; on a GPU "
                   "that one small model cannot fill this is several times faster")
    p.add_argument("--init", default="", metavar="WEIGHTS", help="fine-tune: start each variant from these weights "
                   "(a weights folder such as 'weights', or one gaze_<variant>.safetensors) instead of a random init; "
                   "their sizes are adopted (size options, if given, must match). Recorded in the sidecar")
    p.add_argument("--val-n", type=int, default=d.val_n, help=f"held-out validation eyes (default {d.val_n})")
    p.add_argument("--val-seed", type=int, default=d.val_seed, help=f"validation seed (default {d.val_seed})")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help="validate + checkpoint every N steps")
    p.add_argument("--patch", type=int, nargs=2, metavar=("H", "W"), default=None, help="patch size P (24 40)")
    p.add_argument("--region", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="rendered region size, normally 4P (96 160)")
    p.add_argument("--low-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="saliency net input size (24 40)")
    p.add_argument("--supersample", type=int, default=None, help="sampler only: read k*P through the grid and "
                   "area-pool to P (anti-aliasing; k = 4 makes flat saliency ~ uniform@P). Default 1")
    p.add_argument("--fwhm", type=float, default=None, help="sampler only: full width at half maximum of the "
                   "attraction kernel, in saliency-grid cells (default 13; smaller = more local zoom)")
    p.add_argument("--grid-size", type=int, default=None, help="sampler only: side of the saliency grid g "
                   "(default 31)")
    p.add_argument("--crop-frac", type=float, default=None, help="center_crop@P / sampler_crop@P: the central "
                   "fraction of the region they read (default 0.5 = a 2x zoom)")
    p.add_argument("--output", choices=["gaze", "pupil", "landmarks"], default=None, help="what the task network learns: gaze "
                   "(pitch/yaw, default) or pupil (the pupil centre's region u, v, an eye-region landmark that the "
                   "eyeball model turns into gaze; writes pupil_<variant>.safetensors; rendered eyes only). With "
                   "--init a gaze model is fine-tuned into a pupil one. landmarks: the pupil plus 8 limbus and 6 "
                   "lid points (writes landmarks_<variant>; the pupil stages read its pupil)")
    p.add_argument("--binocular", action="store_true", default=None, help="read the two eyes of a face together "
                   "(a pair head lets each eye's reading use the other's features; each eye still reports its "
                   "own); needs pairs of eyes: --dataset synthetic_pairs. With --init a monocular model is "
                   "fine-tuned into a binocular one")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA only)")
    add_threads_arg(p, default=None)
    p.add_argument("--resume", action="store_true", help="continue from <out>/train_state if present")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _print_summary(r: dict) -> None:
    print(f"{r['variant']}: step {r['step']}, validation mean {r['val']['mean_deg']:.2f} deg, median "
          f"{r['val']['median_deg']:.2f} deg ({r['seconds']:.0f} s) -> {r['weights']}", file=sys.stderr)


def _train_job(variant: str, cfg: TrainConfig, overrides: dict, out: str, resume: bool, threads: int) -> dict:
    """One variant in a worker process of ``--jobs`` (no progress bar: several would interleave)."""
    torch.set_num_threads(threads)
    return train_variant(variant, cfg, overrides, out, resume=resume, progress=False)


def _train_parallel(names: list[str], cfg: TrainConfig, overrides: dict, args, progress: bool) -> list[dict]:
    """Train ``names`` in up to ``args.jobs`` processes. The shared sets are rendered (or found) in ``cache_dir``
    first, so every process reads the very same eyes."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm import tqdm

    from ..models.variants import ModelConfig

    if not cfg.cache_dir:
        raise InputValueError("--jobs > 1 needs --cache-dir: the training processes share the rendered sets through it")
    region = (_load_init(cfg.init, names[0], overrides)[0].config.region_size if cfg.init
              else ModelConfig(**overrides).region_size)
    device = torch.device(cfg.device)
    if cfg.train_n > 0:
        _render_cached(cfg, cfg.train_n, cfg.seed, "train", region, device, progress)
    _render_cached(cfg, cfg.val_n, cfg.val_seed, "test", region, device, progress)
    jobs = min(args.jobs, len(names))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    results: dict[str, dict] = {}
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_train_job, v, cfg, overrides, args.out, args.resume, threads): v for v in names}
        for fut in tqdm(as_completed(futures), total=len(futures), desc=f"variants ({jobs} at once)",
                        disable=not progress, file=sys.stderr):
            r = fut.result()  # a failed variant raises here, with its own traceback
            results[futures[fut]] = r
            _print_summary(r)
    return [results[v] for v in names]


def run(args: argparse.Namespace) -> int:
    from ..models.variants import VARIANTS, resolve_variant, variant_slug

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputValueError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    cfg = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, saliency_lr_mult=args.saliency_lr_mult,
        degrade_until=args.degrade_until, seed=args.seed, dataset=args.dataset, val_n=args.val_n,
        train_n=args.train_n, cache_dir=args.cache_dir, render_workers=args.render_workers, init=args.init,
        val_seed=args.val_seed, eval_every=args.eval_every, device=args.device, amp=args.amp,
    )
    if cfg.steps < 1 or cfg.batch_size < 1:
        raise InputValueError(f"--steps and --batch-size must be >= 1, got {cfg.steps}, {cfg.batch_size}")
    if cfg.render_workers < 1 or args.jobs < 1:
        raise InputValueError(f"--render-workers and --jobs must be >= 1, got {cfg.render_workers}, {args.jobs}")
    if cfg.eval_every < 1:
        raise InputValueError(f"--eval-every must be >= 1 (validate + checkpoint every N steps), got {cfg.eval_every}")
    overrides = {k: tuple(v) for k, v in (("patch", args.patch), ("region_size", args.region),
                                           ("low_size", args.low_size)) if v is not None}
    for key in ("supersample", "fwhm", "grid_size", "crop_frac", "output", "binocular"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    # Cheap variants first, so a cut-short run still leaves the main comparison.
    order = ["uniform@P", "sampler@P", "center_crop@P", "uniform@2P", "uniform@4P"]
    if args.variant == "all":
        names = [v for v in order if v in VARIANTS]
    else:
        names = list(dict.fromkeys(resolve_variant(v.strip()) for v in args.variant.split(",") if v.strip()))
    from ..distributed import setup, teardown  # distributed training

    dist = setup(args.device)
    if args.jobs > 1 and len(names) > 1:
        if dist.world > 1:
            raise InputValueError("--jobs > 1 trains variants side by side in one machine; under torchrun use --jobs 1")
        summary = _train_parallel(names, cfg, overrides, args, progress=not args.quiet)
    else:
        summary, memo = [], {}
        for v in names:
            r = train_variant(v, cfg, overrides, args.out, resume=args.resume, progress=not args.quiet, memo=memo)
            summary.append(r)
            if dist.is_main:
                _print_summary(r)
    out = Path(args.out)
    if dist.is_main:
        if len(names) > 1:
            plot_curves({v: out / f"gaze_{variant_slug(v)}.csv" for v in names}, out / "gaze_curves.png",
                        title="all variants, same data and budget (synthetic)")
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    teardown(dist)
    return 0
