"""``gazezoom bench sampler``: the sampler on two eye regions of a 1280×720 frame, all variants in one run."""

from __future__ import annotations

import argparse

from ...cliargs import add_threads_arg
from . import median_ms, print_report


def _patch_size(text: str) -> tuple[int, int]:
    """``"24x40"`` → ``(24, 40)`` (height, width); anything else is an argparse error naming the form."""
    from ...cliargs import argtype, parse_pair

    return argtype(lambda t: parse_pair(t, name="--patch", form="HEIGHTxWIDTH", example="24x40"))(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeat", type=int, default=100, help="timed calls per measurement (median reported)")
    add_threads_arg(p, default=0, help="torch threads (0: leave torch's default)")
    p.add_argument("--patch", type=_patch_size, default="24x40", help="patch size HxW (default 24x40)")
    p.add_argument("--grid-size", type=int, default=31, help="saliency grid cells per side (default 31)")
    p.add_argument("--landmarker", action="store_true",
                   help="also time one MediaPipe face-landmark call on a real 1280x720 frame (../shared/media)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _landmarker_ms(repeat: int) -> float:
    import cv2

    from ...face.landmarker import create_landmarker  # MediaPipe stays behind this import
    from .frontend import DEFAULT_VIDEO
    from .model import _frame

    rgb = cv2.cvtColor(_frame(DEFAULT_VIDEO, (1280, 720)), cv2.COLOR_BGR2RGB)  # MediaError when the video is missing
    with create_landmarker("mediapipe", mode="image") as lm:
        return median_ms(lambda: lm.detect(rgb), repeat=max(10, repeat // 5), warmup=3)


def run(args: argparse.Namespace) -> int:
    import torch

    from ...errors import InputValueError
    from ...sampler import SaliencySampler, attraction, quads_to_regions, saliency_grid, sample_regions

    if args.repeat < 1 or args.grid_size < 2:
        raise InputValueError(f"--repeat must be >= 1 and --grid-size >= 2, got {args.repeat} and {args.grid_size}")
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = args.patch
    g = args.grid_size
    torch.manual_seed(0)
    frame = torch.rand(1, 3, 720, 1280)
    # Two eye regions about 110x66 px, slightly rotated (head roll), as the front-end produces at 720p.
    quads = torch.tensor(
        [[[540.0, 300.0], [650.0, 308.0], [645.0, 374.0], [535.0, 366.0]],
         [[700.0, 310.0], [810.0, 318.0], [805.0, 384.0], [695.0, 376.0]]]
    )
    regions = quads_to_regions(quads)
    sal = torch.softmax(torch.randn(2, g * g) * 2, 1).view(2, 1, g, g)
    sampler = SaliencySampler(out_size=(h, w), low_size=(h, w), grid_size=g).eval()
    torch.nn.init.normal_(sampler.saliency_net[-1].weight, std=0.5)

    def grid_warp(separable: bool):
        def f():
            grid = saliency_grid(sal, (h, w), separable=separable)
            return sample_regions(frame, regions, (h, w), grid=grid)
        return f

    r = args.repeat
    res: dict[str, float] = {}
    with torch.inference_mode():
        res["attraction_dense_ms"] = median_ms(lambda: attraction(sal, separable=False), repeat=r)
        res["attraction_separable_ms"] = median_ms(lambda: attraction(sal, separable=True), repeat=r)
        res["grid_warp_dense_ms"] = median_ms(grid_warp(False), repeat=r)
        res["grid_warp_separable_ms"] = median_ms(grid_warp(True), repeat=r)
        res["full_sampler_ms"] = median_ms(lambda: sampler.forward_regions(frame, regions), repeat=r)
        res["crop_resize_ms"] = median_ms(lambda: sample_regions(frame, regions, (h, w)), repeat=r)
    if args.landmarker:
        res["landmarker_ms"] = _landmarker_ms(r)
    ratios = {
        "dense/separable attraction": res["attraction_dense_ms"] / res["attraction_separable_ms"],
        "dense/separable grid+warp": res["grid_warp_dense_ms"] / res["grid_warp_separable_ms"],
        "full sampler / crop-resize": res["full_sampler_ms"] / res["crop_resize_ms"],
    }
    if args.landmarker:
        ratios["full sampler / landmarker"] = res["full_sampler_ms"] / res["landmarker_ms"]
    info = {"patch": [h, w], "grid_size": g, "regions": 2, "frame": [720, 1280], "threads": torch.get_num_threads()}
    print_report(args.json, f"sampler benchmark: 2 eye regions of a 1280x720 frame -> 2 patches {h}x{w}, g={g}, "
                 f"{info['threads']} threads, median of {r}", info, res, ratios)
    return 0
