"""``gazezoom bench calibration``: validation error and fit time of every calibration regressor on the simulated
user (synthetic: ``gazezoom.calibration.simulate``), from the calibration seat and with the head moved."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=5, help="simulated sessions to average (default 5)")
    parser.add_argument("--layout", default="9", help="calibration layout (default 9)")
    parser.add_argument("--shift-mm", type=float, nargs=3, default=(100.0, 0.0, 0.0), metavar=("DX", "DY", "DZ"),
                        help="head move for the second validation, camera mm (default 100 0 0: 10 cm sideways)")
    parser.add_argument("--repeat", type=int, default=30, help="timing repeats (default 30)")
    parser.add_argument("--figures", metavar="DIR", help="save validation pictures (calib_<regressor>_<seat>.png)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from ...calibration.regressors import REGRESSORS, create_regressor
    from ...calibration.report import plot_report, validation_report
    from ...calibration.simulate import compare_regressors, simulated_session
    from . import median_ms

    rows = compare_regressors(range(args.seeds), head_shift_mm=tuple(args.shift_mm), layout=args.layout)
    s = simulated_session(0, layout=args.layout, head_shift_mm=tuple(args.shift_mm))
    X, y = s["X"], s["y"]
    print(f"SYNTHETIC simulated user, layout {args.layout}, {args.seeds} sessions, {len(X)} calibration frames each; "
          f"per-frame validation error, mean over {len(np.unique(s['idv']))} unseen targets; head moved by {tuple(args.shift_mm)} mm")
    print("error = mean per-frame error; bias = error of the mean prediction per target (what smoothing cannot fix)")
    print(f"{'regressor':10s} {'same seat: error':>24s} {'bias':>6s} {'head moved: error':>25s} {'bias':>6s} "
          f"{'fit ms':>7s} {'predict us/frame':>17s}")
    for r in rows:
        name = r["regressor"]
        if name in REGRESSORS:
            fit = median_ms(lambda: create_regressor(name, s["sim"].screen).fit(X, y), repeat=args.repeat)
            m = create_regressor(name, s["sim"].screen).fit(X, y)
            pred = median_ms(lambda: m.predict(X[:1]), repeat=args.repeat * 10) * 1e3
            t = f"{fit:7.2f} {pred:17.1f}"
        else:
            t = f"{'-':>7s} {'-':>17s}  (true parameters: network-gaze noise floor)"
        print(f"{name:10s} {r['static_deg']:6.2f}° {r['static_px']:5.0f} px {r['static_cm']:5.2f} cm "
              f"{r['static_bias_deg']:5.2f}° {r['moved_deg']:6.2f}° {r['moved_px']:5.0f} px {r['moved_cm']:5.2f} cm "
              f"{r['moved_bias_deg']:5.2f}° {t}")
    if args.figures:
        out = Path(args.figures)
        sim = s["sim"]
        cal = np.unique(y, axis=0)
        for name in REGRESSORS.names():
            m = create_regressor(name, sim.screen).fit(X, y)
            for seat, (Xk, yk, ik) in {"seat": ("Xv", "yv", "idv"), "moved": ("Xm", "ym", "idm")}.items():
                r = validation_report(m, s[Xk], s[yk], s[ik], sim.screen, name)
                where = "same seat" if seat == "seat" else f"head moved {tuple(args.shift_mm)} mm"
                p = plot_report(r, sim.screen, out / f"calib_{name}_{seat}.png", calibration_px=cal,
                                title=f"SYNTHETIC user, {name}, {where}: {r.error_px:.0f} px = {r.error_cm:.1f} cm = "
                                      f"{r.error_deg:.2f}°")
                print(f"wrote {p}")
    return 0
