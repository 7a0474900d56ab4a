"""Eye-movement events (fixations, saccades, blinks) from a per-frame gaze table: ``gazezoom process --events``.

The detector is the velocity-threshold identification (I-VT, Salvucci & Goldberg 2000) of ``pymovements``
(``pymovements.events.ivt`` for fixations, and its Engbert–Kliegl detector ``pymovements.events.microsaccades``
with an explicit circular threshold for the samples above it, i.e. the saccades); blinks come from the front-end's
per-frame ``blink`` flag. What this module adds is the webcam's honest bookkeeping:

* **position**: the fused gaze's ``(yaw, pitch)`` in degrees (the table's ``gaze_yaw_deg``, ``gaze_pitch_deg``).
  Frames without a face, without gaze, during a blink or with the gaze held over a blink are gaps (NaN): no event
  spans a gap.
* **velocity**: ``pymovements.transforms.numpy.pos2vel(method="neighbors")``, the central difference over ±1 frame
  (67 ms at 30 fps). It halves the velocity noise of the one-sided difference; in exchange a step between frames
  ``k-1`` and ``k`` marks *two* samples (``k-1``, ``k``) as fast. A sample next to a gap has no velocity.
* **threshold**: ``threshold_deg_s`` if given, else ``max(30 °/s, 3·s_v)``. 30 °/s is Tobii's I-VT default;
  ``s_v = hypot(s_x, s_y)`` is the recording's velocity noise by the Engbert–Kliegl median estimator
  (``compute_threshold(…, "engbert2015")``, per axis ``sqrt(median((v - median v)²))``, 0.674 σ for Gaussian
  noise), so ``3·s_v`` is 2.86 σ and about 2 % of the samples of a fixation with isotropic Gaussian noise cross it.
  Webcam gaze is noisy enough (≈1° sample-to-sample) that a fixed 30 °/s would chop its fixations into pieces.
* **minimum fixation**: ``min_fixation_ms`` (100 ms, pymovements' and Salvucci & Goldberg's default); shorter
  sub-threshold runs are neither fixations nor saccades (left unlabelled).

Times: an event of samples ``a..b`` has ``start_s = t[a]`` and ``end_s = t[b] + dt`` (each sample stands for one
frame interval ``dt``, the median of the table's frame intervals), so ``duration_ms`` is the number of samples
times ``dt``. :func:`resolution` turns ``dt`` and the threshold into what the recording can resolve.

>>> resolution(1 / 30, 30.0)["smallest_saccade_deg"]
2.0
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputValueError, MediaError
from ..fileio import atomic_write_text
from .table import FORMATS, _csv_cell

__all__ = ["EVENT_COLUMNS", "EVENT_TYPES", "EventDetection", "detect_events", "resolution", "events_path",
           "write_events", "read_events", "TOBII_IVT_DEG_S", "NOISE_FACTOR", "MIN_FIXATION_MS"]

#: Column order of ``<name>.events.csv`` / ``.jsonl``; empty (None) where a value does not apply.
EVENT_COLUMNS: tuple[str, ...] = (
    "type", "start_s", "end_s", "duration_ms", "start_frame", "end_frame",
    "gaze_pitch_deg", "gaze_yaw_deg", "screen_x_px", "screen_y_px", "amplitude_deg", "peak_velocity_deg_s",
)  # fmt: skip
EVENT_TYPES = ("fixation", "saccade", "blink")

#: Tobii Pro's I-VT default velocity threshold, the floor of the automatic threshold.
TOBII_IVT_DEG_S = 30.0
#: Automatic threshold = max(TOBII_IVT_DEG_S, NOISE_FACTOR * the recording's velocity noise).
NOISE_FACTOR = 3.0
MIN_FIXATION_MS = 100.0
VELOCITY_METHOD = "neighbors"
DECIMALS = 6


@dataclass(frozen=True)
class EventDetection:
    """Events of one recording (dicts over :data:`EVENT_COLUMNS`, ordered by start) and the parameters used."""

    events: list[dict]
    info: dict = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return sum(e["type"] == kind for e in self.events)


def resolution(dt_s: float, threshold_deg_s: float, min_fixation_ms: float = MIN_FIXATION_MS) -> dict:
    """What I-VT with central-difference velocity resolves at frame interval ``dt_s`` and ``threshold_deg_s``.

    A gaze step of ``A`` degrees between two frames gives two samples of velocity ``A / (2 dt)``: the smallest
    saccade that crosses the threshold is ``2 dt threshold``. A fixation of ``m`` frames between two saccades keeps
    ``m - 2`` sub-threshold samples (its neighbours on both sides see the steps), so the shortest detectable
    fixation lasts ``n_min + 2`` frames, ``n_min`` the samples that make ``min_fixation_ms``; its reported duration
    is two frames short.
    """
    n_min = max(1, math.ceil(min_fixation_ms / (dt_s * 1e3) - 0.5))
    return {"smallest_saccade_deg": round(2 * dt_s * threshold_deg_s, 3),
            "shortest_fixation_ms": round((n_min + 2) * dt_s * 1e3, 1),
            "fixation_duration_bias_ms": round(-2 * dt_s * 1e3, 1)}


def _column(rows: list[Mapping], name: str) -> np.ndarray:
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows], float)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index pairs of the True runs of ``mask``."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def detect_events(rows: list[Mapping], *, threshold_deg_s: float | None = None,
                  min_fixation_ms: float = MIN_FIXATION_MS) -> EventDetection:
    """Fixations, saccades and blinks of a gaze table (rows as :func:`gazezoom.io.table.read_table` returns them).

    ``threshold_deg_s``: the I-VT velocity threshold; None = ``max(30, 3 s_v)`` (module docstring).
    Raises :class:`InputValueError` for a table without frame times (image sets) or with fewer than 3 rows.
    """
    from pymovements.events import ivt, microsaccades
    from pymovements.events.detection.microsaccades import compute_threshold
    from pymovements.transforms.numpy import pos2vel

    if threshold_deg_s is not None and not threshold_deg_s > 0:
        raise InputValueError(f"the I-VT velocity threshold must be > 0 deg/s, got {threshold_deg_s}")
    if not min_fixation_ms >= 0:
        raise InputValueError(f"the minimum fixation duration must be >= 0 ms, got {min_fixation_ms}")
    if len(rows) < 3:
        raise InputValueError(f"eye-movement events need at least 3 frames, the table has {len(rows)}")
    t = _column(rows, "time_s")
    if not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise InputValueError("eye-movement events need increasing frame times (a video, not a set of images)")
    dt = float(np.median(np.diff(t)))
    frames = [int(r["frame"]) for r in rows]
    blink = np.array([r.get("blink") == 1 for r in rows])
    held = np.array([r.get("gaze_held") == 1 for r in rows])
    pos = np.stack([_column(rows, "gaze_yaw_deg"), _column(rows, "gaze_pitch_deg")], axis=1)  # (N, 2) deg
    pos[blink | held] = np.nan
    screen = np.stack([_column(rows, "screen_x_px"), _column(rows, "screen_y_px")], axis=1)
    vel = pos2vel(pos, sampling_rate=1.0 / dt, method=VELOCITY_METHOD)  # (N, 2) deg/s, NaN next to gaps
    speed = np.hypot(vel[:, 0], vel[:, 1])
    valid = np.isfinite(speed)

    noise = None
    if valid.sum() >= 3:
        sx, sy = compute_threshold(vel[valid], method="engbert2015")
        noise = float(np.hypot(sx, sy))
    thr = float(threshold_deg_s) if threshold_deg_s is not None else max(TOBII_IVT_DEG_S, NOISE_FACTOR * (noise or 0.0))

    # pymovements measures a duration as t[last] - t[first]; ours counts samples (n * dt): n*dt >= min ⇔
    # t[last] - t[first] >= min - dt. Integer microseconds, half a frame of slack for the rounded frame times.
    t_us = np.round(t * 1e6).astype(np.int64)
    min_us = max(0, int(round((min_fixation_ms * 1e-3 - 1.5 * dt) * 1e6)))
    idx_of = {int(v): i for i, v in enumerate(t_us)}
    events: list[dict] = []

    def base(kind: str, a: int, b: int) -> dict:
        e = dict.fromkeys(EVENT_COLUMNS)
        start, end = t[a], t[b] + dt
        e.update(type=kind, start_s=_round(start), end_s=_round(end), duration_ms=round(float(end - start) * 1e3, 3),
                 start_frame=frames[a], end_frame=frames[b])
        if kind != "blink":
            with np.errstate(invalid="ignore"):
                seg, scr = pos[a:b + 1], screen[a:b + 1]
                if np.isfinite(seg).all(axis=1).any():
                    yaw, pitch = np.nanmean(seg, axis=0)
                    e.update(gaze_pitch_deg=_round(pitch), gaze_yaw_deg=_round(yaw))
                if np.isfinite(scr).all(axis=1).any():
                    sx_, sy_ = np.nanmean(scr, axis=0)
                    e.update(screen_x_px=_round(sx_), screen_y_px=_round(sy_))
        return e

    if valid.any():
        fix = ivt(vel, timesteps=t_us, minimum_duration=min_us, velocity_threshold=thr)
        for on, off in zip(fix.frame["onset"].to_list(), fix.frame["offset"].to_list()):
            events.append(base("fixation", idx_of[on], idx_of[off]))
        sac = microsaccades(vel, timesteps=t_us, minimum_duration=0, threshold=(thr, thr), threshold_factor=1.0)
        for on, off in zip(sac.frame["onset"].to_list(), sac.frame["offset"].to_list()):
            a, b = idx_of[on], idx_of[off]
            e = base("saccade", a, b)
            # Amplitude from the last sample before to the first after: with the central difference those are
            # the first samples that lie wholly on either side of the step (module docstring).
            p0 = pos[a - 1] if a > 0 and np.isfinite(pos[a - 1]).all() else pos[a]
            p1 = pos[b + 1] if b + 1 < len(pos) and np.isfinite(pos[b + 1]).all() else pos[b]
            e.update(amplitude_deg=_round(float(np.hypot(*(p1 - p0)))),
                     peak_velocity_deg_s=_round(float(np.nanmax(speed[a:b + 1]))))
            events.append(e)
    for a, b in _runs(blink):
        events.append(base("blink", a, b))
    events.sort(key=lambda e: (e["start_s"], EVENT_TYPES.index(e["type"])))

    info = {"algorithm": "I-VT (pymovements.events.ivt; saccades: pymovements.events.microsaccades with a circular "
                         "threshold); blinks: front-end blink flags",
            "pymovements": _version("pymovements"), "position": "gaze_yaw_deg, gaze_pitch_deg (fused gaze)",
            "velocity": f"pymovements pos2vel(method={VELOCITY_METHOD!r})",
            "threshold_deg_s": round(thr, 3), "threshold_source": "given" if threshold_deg_s is not None else
            f"max({TOBII_IVT_DEG_S:g}, {NOISE_FACTOR:g} * velocity noise)",
            "velocity_noise_deg_s": None if noise is None else round(noise, 3),
            "min_fixation_ms": min_fixation_ms, "frame_interval_ms": round(dt * 1e3, 3),
            "rows": len(rows), "rows_with_gaze": int(np.isfinite(pos).all(axis=1).sum()),
            "counts": {k: sum(e["type"] == k for e in events) for k in EVENT_TYPES},
            "resolution": resolution(dt, thr, min_fixation_ms)}
    return EventDetection(events, info)


def _round(x: float) -> float | None:
    x = float(x)
    return round(x, DECIMALS) + 0.0 if math.isfinite(x) else None


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:  # pragma: no cover - a dependency
        return None


# --------------------------------------------------------------------------------------------------- files


def events_path(table: str | os.PathLike, fmt: str | None = None) -> Path:
    """``out/clip.csv`` → ``out/clip.events.csv`` (``fmt`` defaults to the table's suffix)."""
    table = Path(table)
    fmt = fmt or table.suffix.lstrip(".")
    stem = table.name[: -len(table.suffix)] if table.suffix else table.name
    return table.with_name(f"{stem}.events.{fmt}")


def write_events(path: str | os.PathLike, detection: EventDetection, fmt: str = "csv") -> Path:
    """Write the events as CSV (header + one line each) or JSONL, and the parameters to ``<path>.meta.json``."""
    FORMATS.get(fmt)  # an unknown format lists the valid ones
    path = Path(path)
    if fmt == "csv":
        lines = [",".join(EVENT_COLUMNS)] + [",".join(_csv_cell(e[c]) for c in EVENT_COLUMNS) for e in detection.events]
    else:
        lines = [json.dumps({c: e[c] for c in EVENT_COLUMNS}, allow_nan=False, separators=(",", ":"))
                 for e in detection.events]
    try:
        atomic_write_text(path, "".join(line + "\n" for line in lines))
        atomic_write_text(path.with_name(path.name + ".meta.json"),
                          json.dumps({"schema": "gazezoom-events", "version": 1, "columns": list(EVENT_COLUMNS),
                                      **detection.info}, indent=2, allow_nan=False) + "\n")
    except OSError as err:
        raise MediaError(f"cannot write events {path}: {err.strerror or err}") from None
    return path


def read_events(path: str | os.PathLike) -> list[dict]:
    """The events of a file :func:`write_events` wrote (typed: str, float, int or None)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line]
    lines = text.splitlines()
    if not lines or tuple(lines[0].split(",")) != EVENT_COLUMNS:
        raise MediaError(f"{path} is not a gazezoom events file (header differs)")
    out = []
    for line in lines[1:]:
        cells = line.split(",")
        out.append({c: _typed(c, v) for c, v in zip(EVENT_COLUMNS, cells)})
    return out


def _typed(col: str, cell: str):
    if cell == "" or col == "type":
        return cell or None
    return int(cell) if col.endswith("_frame") else float(cell)


def events_for_tables(tables: Iterable[str | os.PathLike], fmt: str, **options) -> list[tuple[Path, EventDetection]]:
    """Detect and write the events of each finished table (``gazezoom process --events``); the primary face's
    rows of a one-row-per-face table (:func:`gazezoom.io.table.primary_rows`)."""
    from .table import primary_rows, read_table

    out = []
    for table in tables:
        det = detect_events(primary_rows(read_table(table, fmt)), **options)
        out.append((write_events(events_path(table, fmt), det, fmt), det))
    return out
