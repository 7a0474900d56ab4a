"""``gazezoom synth``: write a contact sheet of synthetic eye images (with gaze arrows), or a one-subject gaze sweep."""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_size(text: str, flag: str = "--size") -> tuple[int, int]:
    """``"96x160"`` → ``(96, 160)`` (height x width); anything else is an :class:`InputValueError` naming ``flag``.

    >>> parse_size("24X40")
    (24, 40)
    """
    from ..cliargs import parse_pair

    return parse_pair(text, name=flag, form="HEIGHTxWIDTH", example="96x160")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="output PNG path (e.g. docs/img/synth_examples.png)")
    p.add_argument("--rows", type=int, default=6, help="rows: eye width in the frame grows from 15 to 200 px (default 6)")
    p.add_argument("--cols", type=int, default=8, help="columns: gaze sweeps from the subject's right to left (default 8)")
    p.add_argument("--size", default="96x160", help="image size HxW (default 96x160)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--split", choices=("train", "test"), default="train", help="parameter split to draw from")
    p.add_argument("--clean", action="store_true", help="no camera effects (blur, noise, JPEG, low resolution)")
    p.add_argument("--no-arrows", action="store_true", help="do not draw the gaze labels")
    p.add_argument("--scale", type=int, default=1, help="enlarge the sheet by this integer factor (nearest)")
    p.add_argument("--sweep", action="store_true",
                   help="instead: one subject over a pitch (+20, 0, -25) x yaw (+30 … -30) grid, clean unless --effects")
    p.add_argument("--effects", action="store_true", help="with --sweep: apply camera effects")


def run(args: argparse.Namespace) -> int:
    import cv2

    from ..errors import InputValueError, MediaError
    from ..synth.sheet import contact_sheet, gaze_sweep

    h, w = parse_size(args.size)
    if args.scale < 1:
        raise InputValueError(f"--scale must be >= 1, got {args.scale}")
    if args.sweep:
        sheet = gaze_sweep(out_size=(h, w), seed=args.seed, camera_effects=args.effects, arrows=not args.no_arrows)
    else:
        sheet = contact_sheet(args.rows, args.cols, (h, w), args.seed, args.split, arrows=not args.no_arrows,
                              camera_effects=not args.clean)
    if args.scale > 1:
        sheet = cv2.resize(sheet, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_NEAREST)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(args.out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
        raise MediaError(f"could not write {args.out}; check the folder exists and the name ends in .png")
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0
