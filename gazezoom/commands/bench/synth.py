"""``gazezoom bench synth``: synthetic eye rendering throughput (images/s) and the time a training set takes.

Measures, in one run and on the same batch of scenes: scene sampling, shading without camera effects, and the
full render (shading + camera effects), so the share of each stage is a ratio within one run.
"""

from __future__ import annotations

import argparse
import json
import time

from ...cliargs import add_threads_arg
from . import median_ms


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", type=int, default=256, help="images per render call (default 256)")
    p.add_argument("--size", default="96x160", help="render size HxW (default 96x160)")
    p.add_argument("--repeat", type=int, default=3, help="timed calls per measurement, median reported (default 3)")
    add_threads_arg(p, default=-1,
                    help="torch threads while sampling/rendering (default: the renderer's 'auto', 1 on CPU; 0: torch's setting)")
    p.add_argument("--device", default="cpu", help="torch device to render on (cpu, cuda, …)")
    p.add_argument("--images", type=int, default=200_000, help="training-set size to extrapolate to (default 200000)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def run(args: argparse.Namespace) -> int:
    import torch

    from ...errors import InputValueError
    from ...synth import EyeRenderer
    from ..synth import parse_size

    threads = "auto" if args.threads < 0 else (args.threads or None)
    h, w = parse_size(args.size)
    if args.batch < 1 or args.repeat < 1:
        raise InputValueError("--batch and --repeat must be >= 1")
    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    full = EyeRenderer(out_size=(h, w), device=dev, threads=threads)
    clean = EyeRenderer(out_size=(h, w), device=dev, camera_effects=False, threads=threads)
    params = full.sample_params(args.batch, seed=0)

    def timed(fn):
        def call():
            fn()
            sync()
        return median_ms(call, repeat=args.repeat, warmup=1)

    ms_sample = timed(lambda: full.sample_params(args.batch, seed=1))
    ms_clean = timed(lambda: clean.render(params))
    ms_full = timed(lambda: full.render(params))
    per_img = (ms_sample + ms_full) / args.batch
    # process CPU time of one sampling + render: steadier than wall time on a shared machine (CPU only)
    cpu0 = time.process_time()
    full.render(full.sample_params(args.batch, seed=2))
    sync()
    cpu_ms = (time.process_time() - cpu0) * 1000 / args.batch
    res = {
        "device": str(dev), "threads": full.threads or torch.get_num_threads(), "batch": args.batch, "size": [h, w],
        "sample_params_ms": round(ms_sample, 1), "shade_only_ms": round(ms_clean, 1), "render_ms": round(ms_full, 1),
        "camera_effects_share": round(max(ms_full - ms_clean, 0) / ms_full, 3),
        "images_per_s": round(1000 / per_img, 1),
        f"minutes_for_{args.images}": round(args.images * per_img / 60000, 1),
        "cpu_ms_per_image": round(cpu_ms, 2),
    }
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"synthetic eyes {h}x{w}, batch {args.batch}, {dev}, {res['threads']} threads (median of {args.repeat})")
    print(f"  sample_params   {ms_sample:9.1f} ms")
    print(f"  shade only      {ms_clean:9.1f} ms   (no camera effects)")
    if ms_full >= ms_clean:
        print(f"  full render     {ms_full:9.1f} ms   (camera effects {100 * res['camera_effects_share']:.0f}% of it)")
    else:  # blurred samples (small eyes, defocus) are shaded at 1/2 or 1/4 resolution when camera effects are on
        print(f"  full render     {ms_full:9.1f} ms   (cheaper than shade only: blurred samples are shaded at lower resolution)")
    print(f"  throughput      {res['images_per_s']:9.1f} images/s (sampling + full render)")
    print(f"  {args.images} images  {res[f'minutes_for_{args.images}']:7.1f} min")
    print(f"  process CPU time {cpu_ms:8.2f} ms per image (all threads; steadier than wall time when the machine is shared)")
    return 0
