"""Calibration recordings: what the procedure saw, saved as a folder, and fitting a profile from it offline.

A recording folder holds:

- ``video.mp4`` (or any video OpenCV reads: the first of ``video.*``): the camera frames;
- ``targets.json``: every target shown, in the video's time base (``t = frame_index / fps``, seconds)::

      {"schema": "gazezoom-calibration-recording", "version": 1,
       "targets": [{"id": 0, "role": "calibration", "x_px": 192.0, "y_px": 108.0, "t_on_s": 0.0, "t_off_s": 1.5},
                   ...,
                   {"id": 9, "role": "validation", "x_px": 624.0, "y_px": 350.0, "t_on_s": 13.5, "t_off_s": 15.0}]}

  (a moving target adds ``"path": [[t_rel_s, x_px, y_px], ...]``; a target shown twice appears twice);
- ``screen.json``: the :class:`ScreenGeometry` as a JSON object.

``gazezoom calibrate --user NAME --replay FOLDER`` runs every frame through ``Pipeline.process``, selects samples
with the same rules as the live procedure, fits and validates — no camera and no screen needed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import GazezoomError, InputValueError, MediaError
from .procedure import Sample, SampleSelector, SelectionSettings
from .screen import ScreenGeometry
from .targets import Target

__all__ = ["RECORDING_SCHEMA", "Span", "Recording", "load_recording", "save_recording", "RecordingWriter",
           "replay_samples", "iter_video"]

RECORDING_SCHEMA = "gazezoom-calibration-recording"
RECORDING_VERSION = 1
_VIDEO_EXT = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass(frozen=True, eq=False)
class Span:
    """A target on screen from ``t_on`` to ``t_off`` seconds (video time base)."""

    target: Target
    t_on: float
    t_off: float


@dataclass(frozen=True, eq=False)
class Recording:
    folder: Path
    video: Path
    screen: ScreenGeometry
    spans: tuple[Span, ...]

    def span_at(self, t: float) -> Span | None:
        """The span showing at time ``t``, or None between targets. A frame at a switch time belongs to the
        target that ends there, as in the live procedure (the frame that completes a target is its last one)."""
        for s in self.spans:
            if s.t_on <= t <= s.t_off:
                return s
        return None


def _bad(folder: Path, msg: str) -> InputValueError:
    return InputValueError(f"recording {folder}: {msg}")


def load_recording(folder: str | Path) -> Recording:
    """Read and check a recording folder (see the module doc for the layout)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MediaError(f"recording folder {folder} does not exist; pass the folder the calibration window saved")
    videos = sorted(p for p in folder.iterdir() if p.stem == "video" and p.suffix.lower() in _VIDEO_EXT)
    if not videos:
        raise MediaError(f"recording {folder} has no video.* file (one of {', '.join(_VIDEO_EXT)})")
    screen_path, targets_path = folder / "screen.json", folder / "targets.json"
    for p in (screen_path, targets_path):
        if not p.is_file():
            raise _bad(folder, f"{p.name} is missing")
    try:
        screen = ScreenGeometry.from_dict(_read_json(screen_path))
        d = _read_json(targets_path)
    except GazezoomError as err:
        raise _bad(folder, str(err)) from None
    if not isinstance(d, dict) or d.get("schema") != RECORDING_SCHEMA or d.get("version") != RECORDING_VERSION:
        raise _bad(folder, f"targets.json must be an object with schema {RECORDING_SCHEMA!r} and version "
                           f"{RECORDING_VERSION}")
    items = d.get("targets")
    if not isinstance(items, list) or not items:
        raise _bad(folder, "targets.json has no 'targets' list")
    spans = []
    for k, it in enumerate(items):
        try:
            spans.append(_span(it))
        except (InputValueError, KeyError, TypeError, ValueError) as err:
            raise _bad(folder, f"targets.json target #{k}: {err}") from None
    spans.sort(key=lambda s: s.t_on)
    for a, b in zip(spans, spans[1:]):
        if b.t_on < a.t_off - 1e-6:
            raise _bad(folder, f"targets overlap in time: {a.t_on}-{a.t_off} s and {b.t_on}-{b.t_off} s")
    return Recording(folder, videos[0], screen, tuple(spans))


def _span(it: dict) -> Span:
    if not isinstance(it, dict):
        raise InputValueError("must be an object")
    for k in ("id", "role", "x_px", "y_px", "t_on_s", "t_off_s"):
        if k not in it:
            raise InputValueError(f"lacks {k!r}")
    nums = {k: it[k] for k in ("x_px", "y_px", "t_on_s", "t_off_s")}
    for k, v in nums.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputValueError(f"{k} must be a finite number, got {v!r}")
    if isinstance(it["id"], bool) or not isinstance(it["id"], int):
        raise InputValueError(f"id must be an integer, got {it['id']!r}")
    if not nums["t_on_s"] < nums["t_off_s"]:
        raise InputValueError(f"t_on_s {nums['t_on_s']} must be before t_off_s {nums['t_off_s']}")
    path = None
    if it.get("path") is not None:
        path = np.array(it["path"], dtype=np.float64)
        if path.ndim != 2 or path.shape[1] != 3 or len(path) < 2 or not np.all(np.isfinite(path)):
            raise InputValueError("path must be a list of at least 2 [t_rel_s, x_px, y_px] rows")
    target = Target(it["id"], it["role"], float(nums["x_px"]), float(nums["y_px"]), path)
    return Span(target, float(nums["t_on_s"]), float(nums["t_off_s"]))


def _read_json(path: Path):
    def no_constant(c):
        raise InputValueError(f"{path.name}: {c} is not allowed")

    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise InputValueError(f"{path.name} is not valid JSON: {err.msg} at line {err.lineno}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputValueError(f"cannot read {path.name}: {err}") from None


def save_recording(folder: str | Path, screen: ScreenGeometry, timeline: Iterable[dict]) -> Path:
    """Write ``targets.json`` (``timeline`` as from :meth:`CalibrationProcedure.timeline`) and ``screen.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"schema": RECORDING_SCHEMA, "version": RECORDING_VERSION,
           "time_base": "seconds from the first video frame (frame_index / fps)", "targets": list(timeline)}
    (folder / "targets.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (folder / "screen.json").write_text(json.dumps(screen.to_dict(), indent=2) + "\n", encoding="utf-8")
    return folder


class RecordingWriter:
    """Saves the camera frames of a calibration run as ``folder/video.mp4`` (mp4v) plus the JSON files.

    ``add(frame_bgr)`` per frame; the frame's time in the recording is ``index / fps``, so the caller converts
    target times with :meth:`time_of` (or records ``t0`` and uses ``procedure.timeline(t0)`` with a steady fps).
    """

    def __init__(self, folder: str | Path, fps: float, frame_size: tuple[int, int]):
        import cv2

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fps = float(fps)
        h, w = frame_size
        self._writer = cv2.VideoWriter(str(self.folder / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        if not self._writer.isOpened():
            raise MediaError(f"cannot write {self.folder / 'video.mp4'} (mp4v at {fps} fps, {w}x{h})")
        self.n_frames = 0

    def add(self, frame_bgr: np.ndarray) -> float:
        """Append a frame; returns its time in the recording's time base."""
        self._writer.write(frame_bgr)
        self.n_frames += 1
        return (self.n_frames - 1) / self.fps

    def time_of(self, index: int) -> float:
        return index / self.fps

    def close(self, screen: ScreenGeometry, timeline: Iterable[dict]) -> Path:
        self._writer.release()
        return save_recording(self.folder, screen, timeline)


def iter_video(path: Path):
    """Yield ``(index, time_s, frame_bgr)`` of a video; time = index / fps (the recording's time base)."""
    from ..io.readers import VideoReader

    with VideoReader(path) as reader:
        yield from _indexed_frames(reader)


def _indexed_frames(reader):
    """``(index, index / fps, image)`` of an open :class:`~gazezoom.io.readers.VideoReader` (it raises
    :class:`MediaError` for a video without frames or cut short)."""
    fps = reader.info.fps
    if not math.isfinite(fps) or fps <= 0:
        raise MediaError(f"video {reader.path} does not report a frame rate; re-encode it with one")
    for frame in reader.frames():
        yield frame.index, frame.index / fps, frame.image


def replay_samples(recording: Recording, process: Callable[[np.ndarray, float], object],
                   settings: SelectionSettings | None = None, *, progress: bool = False) -> tuple[list[Sample], dict]:
    """Run every frame through ``process(frame_bgr, time_s) -> FrameResult`` and select samples.

    Returns the samples and a count of frames per selection reason (plus ``"between targets"``).
    """
    from ..io.readers import VideoReader

    selector = SampleSelector(settings)
    lag = selector.settings.pursuit_lag_s
    samples, counts = [], {}
    with VideoReader(recording.video) as reader:
        frames = _indexed_frames(reader)
        if progress:
            from tqdm import tqdm

            total = reader.info.frame_count if reader.info.frame_count > 0 else None
            frames = tqdm(frames, desc="replay", unit="frame", total=total)
        for _, t, frame in frames:
            result = process(frame, t)
            span = recording.span_at(t)
            if span is None:
                counts["between targets"] = counts.get("between targets", 0) + 1
                continue
            t_rel = t - span.t_on
            reason, f = selector.consider(t_rel, result)
            counts[reason] = counts.get(reason, 0) + 1
            if f is not None:
                samples.append(Sample(span.target.id, span.target.role, t, span.target.position(t_rel - lag), f))
    return samples, counts
