"""``gazezoom bench NAME``: speed measurements printed as medians and ratios taken in one run.

Each benchmark lives in its own module (``gazezoom/commands/bench/<name>.py``) with ``add_arguments(parser)`` and
``run(args) -> int``; register it in :data:`BENCHMARKS`. Timings on shared machines are noisy, so every benchmark
measures its reference in the same run and reports ratios.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable

from ...errors import InputValueError

__all__ = ["BENCHMARKS", "median_ms", "print_report", "add_arguments", "run", "busy_warning", "SPREADS",
           "BUSY_LOAD_PER_CORE", "BUSY_SPREAD"]

#: Relative spread ``(p90 - p10) / median`` of the repeats of every :func:`median_ms` call in this run.
SPREADS: list[float] = []
#: Load average per core (1 min, before the run) above which the machine counts as busy.
BUSY_LOAD_PER_CORE = 0.5
#: A relative spread of the repeats above this says something else took the CPU during the measurement.
BUSY_SPREAD = 0.5

#: name → (module path, one-line help)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "calibration": ("gazezoom.commands.bench.calibration", "calibration regressors on a simulated user: validation error (same seat, head moved 10 cm) and fit time"),
    "frontend": ("gazezoom.commands.bench.frontend", "face front-end per frame at 640x360 and 1280x720: MediaPipe alone vs whole front-end, share that is ours"),
    "synth": ("gazezoom.commands.bench.synth", "synthetic eye renderer: images/s at 96x160, batch 256, and minutes per 200k training images"),
    "sampler": ("gazezoom.commands.bench.sampler", "grid + warp for two eye regions of a 1280x720 frame: dense vs separable vs crop"),
    "model": ("gazezoom.commands.bench.model", "gaze inference, two eyes + fusion, vs the landmarker on a real 1280x720 frame"),
    "inference": ("gazezoom.commands.bench.inference", "two-eye gaze network: torch eager vs torch jit.freeze vs ONNX Runtime (and predict() end to end), one run"),
    "pipeline": ("gazezoom.commands.bench.pipeline", "gazezoom process throughput and per-stage medians vs the landmarker alone, native size and 1280x720"),
}


def median_ms(fn: Callable[[], object], *, repeat: int = 50, warmup: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` calls after ``warmup`` calls."""
    if repeat < 1 or warmup < 0:
        raise InputValueError(f"need repeat >= 1 and warmup >= 0, got repeat={repeat}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median(times)
    if len(times) >= 5:
        q = statistics.quantiles(times, n=10)
        SPREADS.append((q[-1] - q[0]) / max(med, 1e-9))
    return med


def busy_warning(load1: float | None, cpus: int, spreads: list[float]) -> str | None:
    """Why this run's timings cannot be trusted, or None: the 1-min load average before the run above
    :data:`BUSY_LOAD_PER_CORE` per core (other work on the machine), or repeats spread wider than
    :data:`BUSY_SPREAD` of their median (contention during the run).

    >>> busy_warning(0.1, 2, [0.05, 0.1]) is None
    True
    >>> "load average 2.8" in busy_warning(2.8, 2, [])
    True
    """
    reasons = []
    if load1 is not None and load1 > BUSY_LOAD_PER_CORE * cpus:
        reasons.append(f"load average {load1:.1f} on {cpus} cores before the run")
    worst = max(spreads, default=0.0)
    if worst > BUSY_SPREAD:
        reasons.append(f"repeats spread up to {100 * worst:.0f}% of their median")
    if not reasons:
        return None
    return (f"warning: the machine is busy ({'; '.join(reasons)}): these timings are unreliable and the ratios may "
            "not match the README's. Close other work, or rerun with --threads 1 (one thread suffers far less from "
            "contention: `bench sampler` measured 195.7 ms with 2 threads vs 2.76 ms with 1 on a busy 2-core machine)")


def print_report(
    as_json: bool, title: str, info: dict, medians: dict, ratios: dict, *, extra: dict | None = None,
    unit: str = " ms", ratio_note: str = "",
) -> None:
    """Print a benchmark's medians and ratios: one JSON object ``{**info, "median_ms", "ratios", **extra}`` with
    ``as_json``, else ``title`` and an aligned table (``None`` medians print as n/a)."""
    if as_json:
        print(json.dumps({**info, "median_ms": medians, "ratios": ratios, **(extra or {})}))
        return
    print(title)
    width = max(map(len, [*medians, *(f"ratio {k}" for k in ratios)]), default=0)
    for k, v in medians.items():
        print(f"  {k:<{width}s} {v:8.3f}{unit}" if v is not None else f"  {k:<{width}s}      n/a")
    for k, v in ratios.items():
        print(f"  {'ratio ' + k:<{width}s} {v:8.3f}x{ratio_note}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name, (module, help_) in BENCHMARKS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_bench_module=module)
        importlib.import_module(module).add_arguments(p)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    SPREADS.clear()
    code = int(importlib.import_module(args._bench_module).run(args) or 0)
    note = busy_warning(load1, os.cpu_count() or 1, SPREADS)
    if note:
        print(note, file=sys.stderr)
    return code
