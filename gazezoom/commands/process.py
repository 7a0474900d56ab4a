"""``gazezoom process INPUT...``: gaze per frame of recorded videos and images into CSV/JSONL tables.

For every input (a video, or a group of images) this writes, into ``--out``:

* ``<name>.csv`` (or ``.jsonl``) — one row per processed frame, columns :data:`gazezoom.io.table.COLUMNS`, each row
  flushed as soon as it exists; with ``--all-faces`` one row per face per frame (:data:`~gazezoom.io.table.
  FACE_COLUMNS`: ``face_id``, ``face_primary`` added), each face with its own gaze, ``screen_*`` on the primary's;
* ``<name>.csv.meta.json`` — the sidecar: input (size, fps, rotation, listed frames), gaze model, landmarker model,
  profile, camera intrinsics, versions, options, status (``running`` / ``complete`` / ``interrupted`` / ``failed``)
  and a summary; rewritten atomically;
* with ``--annotate``: ``<name>.annotated.mp4`` (videos) or ``<name>.annotated/`` (images) with the GUI's overlays.

``--resume`` continues each table after its last complete row (a cut last line is dropped): the video is decoded
from the start without colour conversion up to a short warm-up before that frame, which is run through the pipeline
unwritten so that tracking and blink state match an uninterrupted run. ``--workers K`` processes K inputs at once,
one process per input. Ctrl-C stops after the current frame (a second Ctrl-C stops at once); either way every
written row stays valid. An ``--all-faces`` table resumes after its last whole frame (the rows of a frame cut between
two faces are dropped and the frame redone), and a video is then replayed (unwritten) from its first frame, so the
tracker hands out the same track ids (``face_id``) as in an uninterrupted run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from .. import __version__
from ..cliargs import add_model_args, add_threads_arg
from ..errors import GazezoomError, InputValueError, MediaError, ModelFileError
from ..fileio import WEIGHTS_DIR, atomic_write_text
from ..io.readers import Job, collect_jobs, open_reader
from ..io.table import COLUMNS, FACE_COLUMNS, FORMATS, open_writer, recover_table, result_to_row, result_to_rows

__all__ = ["Settings", "JobOutcome", "add_arguments", "run", "process_job", "ResumableJob", "TableSink",
           "LoopInstrument", "LoopStats", "AnnotationSink", "frame_loop", "output_paths", "RESUME_WARMUP", "SIDECAR_SCHEMA"]

SIDECAR_SCHEMA = "gazezoom-process-table"
#: Frames run through the pipeline (not written) before the resume point, to restore tracking and blink state.
RESUME_WARMUP = 30


@dataclass(frozen=True)
class Settings:
    """Resolved options of one ``process`` run (picklable: worker processes receive it)."""

    fmt: str = "csv"
    every: int = 1
    annotate: bool = False
    codec: str = "auto"
    weights: str | None = None  # gaze weights file; None = front-end only (gaze columns empty)
    variant: str | None = None
    backend: str | None = None  # gaze inference backend (GazePredictor.load); None = the model package's default
    model_identity: str | None = None
    gaze: str = "fusion"  # gaze stage (gazezoom.models.stages.GAZE_STAGES); learned ones read ``weights``
    profile: str | None = None  # profile file path
    profile_user: str | None = None
    camera: str | None = None
    landmarker: str = "mediapipe"
    resume: bool = False
    overwrite: bool = False
    threads: int = 0  # torch threads per process; 0 = torch's default
    overlap: bool = False  # videos: landmarker one frame ahead in a thread (gazezoom.io.overlap)
    tiles: int = 0  # images: also search an NxN grid of windows for small faces (FrontEnd tiles)
    all_faces: bool = False  # one row per face per frame (FACE_COLUMNS), every face gazed
    mirror: bool = False  # mirror averaging (gazezoom.face.mirror): each frame also read flipped, gaze averaged

    @property
    def columns(self) -> tuple[str, ...]:
        return FACE_COLUMNS if self.all_faces else COLUMNS

    def identity(self) -> dict:
        """What a resumed table must have been written with."""
        return {"format": self.fmt, "every": self.every, "gaze_model": self.model_identity, "profile": self.profile_user,
                "camera": self.camera, "landmarker": self.landmarker, "all_faces": self.all_faces} | (
                {"tiles": self.tiles} if self.tiles > 1 else {}) | ({"mirror": True} if self.mirror else {})


@dataclass
class JobOutcome:
    """What happened to one job. ``status``: complete, interrupted, failed or skipped (already complete)."""

    name: str
    label: str
    status: str
    table: str | None = None
    message: str = ""
    exit_code: int = 0
    rows: int = 0  # rows in the table now
    new_rows: int = 0  # rows written by this run
    new_frames: int = 0  # frames processed by this run (= new_rows, one row per frame, without --all-faces)
    faces: int = 0  # rows with a face, whole table
    blinks: int = 0  # blink onsets, whole table
    unread: int = 0  # rows with a face but no gaze although a gaze model ran: eyes that could not be read, whole table
    seconds: float = 0.0  # this run
    annotated: str | None = None
    peak_rss_mb: float = 0.0

    def line(self) -> str:
        written = bool(self.table) and Path(self.table).is_file()
        if not written:  # a failed input: no "-> table" for a file that was never written
            text = f"{self.name}: {self.status}, nothing written"
            return text + (f"\n    {self.message}" if self.message else "")
        fps = f", {self.new_frames / self.seconds:.1f} frames/s" if self.seconds > 0 and self.new_frames else ""
        text = (f"{self.name}: {self.status}, {self.rows} rows ({self.faces} with a face, {self.blinks} blinks), "
                f"{self.new_rows} new in {self.seconds:.1f} s{fps}")
        text += f" -> {self.table}"
        if self.unread:
            rows = "1 row has" if self.unread == 1 else f"{self.unread} rows have"
            text += (f"\n    {rows} a face without gaze: its eyes could not be read (sunglasses, covered eyes or a "
                     "failed landmark fit)")
        if self.message:
            text += f"\n    {self.message}"
        return text


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def sidecar_path(table: Path) -> Path:
    return table.with_name(table.name + ".meta.json")


def annotated_path(table: Path, kind: str) -> Path:
    stem = table.name[: -len(table.suffix)] if table.suffix else table.name
    return table.with_name(stem + (".annotated.mp4" if kind == "video" else ".annotated"))


def _write_json_atomic(path: Path, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def _versions() -> dict:
    import cv2
    import numpy

    out = {"gazezoom": __version__, "python": platform.python_version(), "numpy": numpy.__version__, "opencv": cv2.__version__}
    for mod in ("mediapipe", "torch"):
        m = sys.modules.get(mod)
        if m is not None:
            out[mod] = getattr(m, "__version__", "?")
    return out


def _peak_rss_mb() -> float:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux
    except (ImportError, OSError):  # pragma: no cover - not on Linux
        return 0.0


# --------------------------------------------------------------------------------------------------- outputs


def output_paths(jobs: list[Job], out: str | os.PathLike, fmt: str) -> list[Path]:
    """The table path of each job: ``out`` itself when it names a ``.csv``/``.jsonl`` file (one job only), else
    ``out/<job name>.<fmt>``. Creates the folder and checks it is writable (:class:`MediaError` otherwise)."""
    out = Path(out)
    suffixes = {"." + f for f in FORMATS.names()}
    if out.suffix.lower() in suffixes:
        if len(jobs) != 1:
            raise InputValueError(f"--out {out} names one table file, but there are {len(jobs)} inputs; give a folder")
        if out.suffix.lower() != "." + fmt:
            raise InputValueError(f"--out {out} has suffix {out.suffix} but --format is {fmt}; make them agree")
        folder, paths = out.parent, [out]
    else:
        folder, paths = out, [out / f"{j.name}.{fmt}" for j in jobs]
    from ..fileio import writable_dir

    writable_dir(folder, "output folder", "choose a writable --out")
    return paths


# --------------------------------------------------------------------------------------------------- one job


def build_pipeline(settings: Settings, mode: str):
    """The :class:`gazezoom.pipeline.Pipeline` for ``settings`` (``mode``: ``"video"`` or ``"image"``), built by
    :func:`gazezoom.build.build_pipeline` like every other command's."""
    from ..build import build_pipeline as build

    if settings.model_identity is not None and settings.threads > 0:
        import torch

        torch.set_num_threads(settings.threads)
    tiles = settings.tiles if mode == "image" else 0  # videos track faces frame to frame: no extra windows
    return build(gaze=False if settings.model_identity is None else settings.gaze,
                 weights=settings.weights or WEIGHTS_DIR, backend=settings.backend,
                 display=settings.annotate,  # patches and grids only when they will be drawn
                 profile=settings.profile, landmarker=settings.landmarker, camera=settings.camera, mode=mode,
                 tiles=tiles, all_faces=settings.all_faces, mirror=settings.mirror)


def _camera_dict(pipeline, width: int, height: int, source: str | None) -> dict:
    cam = pipeline.frontend.camera_for(width, height)
    return {"source": source or "default (focal length = long side of the frame)", "image_size": [width, height],
            "K": [[float(v) for v in r] for r in cam.K], "dist": [float(v) for v in cam.dist], "is_default": bool(cam.is_default)}


def input_identity(paths) -> list[dict]:
    """What ``--resume`` recognises an input by: resolved path, size and modification time (ns) per file, so the
    same video given by another relative or absolute path (or through a symlink) is the same input, and an edited
    one is not."""
    out = []
    for q in paths:
        r = Path(q).resolve()
        try:
            st = r.stat()
            out.append({"path": str(r), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
        except OSError:  # a missing input is reported by its job
            out.append({"path": str(r)})
    return out


def _check_resume(meta: dict, table: Path, job: Job, settings: Settings) -> None:
    if meta.get("schema") != SIDECAR_SCHEMA:
        raise InputValueError(f"cannot resume {table}: its sidecar {sidecar_path(table)} is not a gazezoom process sidecar")
    old_inputs = meta.get("job", {}).get("inputs")
    if old_inputs is None:  # a sidecar from before input identities: the resolved paths must agree
        old_inputs = [{"path": str(Path(q).resolve())} for q in meta.get("job", {}).get("paths", [])]
    now = input_identity(job.paths)
    if [i["path"] for i in old_inputs] != [i["path"] for i in now]:
        raise InputValueError(f"cannot resume {table}: it was written for {meta.get('job', {}).get('paths')}, not "
                              f"{list(job.paths)}; choose another --out or pass --overwrite")
    changed = [n["path"] for o, n in zip(old_inputs, now)
               if "size" in o and (o["size"], o.get("mtime_ns")) != (n.get("size"), n.get("mtime_ns"))]
    if changed:
        raise InputValueError(f"cannot resume {table}: {', '.join(changed)} changed since the table was written "
                              "(size or modification time differ); pass --overwrite to start again")
    old = {"all_faces": False, **meta.get("settings", {})}  # sidecars from before --all-faces: one row per frame
    new = settings.identity()
    diff = [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in new if old.get(k) != new[k]]
    if diff:
        raise InputValueError(f"cannot resume {table}: it was written with other settings ({'; '.join(diff)}); use "
                              "the same options, or --overwrite to start again")


def _reuse_annotated(path: Path, rows: int, writer) -> bool:
    """Copy the finished annotated video of an interrupted run into ``writer`` if it has exactly ``rows`` frames.

    Two passes (count without colour conversion, then copy) keep memory flat however long the video is; nothing is
    written unless the count matches.
    """
    from ..io.readers import VideoReader

    if rows == 0 or not path.is_file():
        return False
    try:
        with VideoReader(path) as r:
            n = sum(1 for _ in r.frames(lambda i: False, stop_after=rows))  # stops at rows + 1 frames
    except MediaError:
        return False
    if n != rows:
        return False
    with VideoReader(path) as r:
        for f in r.frames():
            writer.write(f.image)
    return True


class ResumableJob:
    """One job's table and sidecar across runs: a fresh start, a ``--resume`` after the table's last whole frame,
    or a job already complete; the sidecar records each run.

    :meth:`open` decides (and raises what forbids going on); then ``rows`` holds the recovered rows, ``first`` is the
    first frame written and ``warm`` the first frame run through the pipeline (a warm-up that restores tracking and
    blink state), ``old_rows`` / ``old_frames`` what the table held.
    """

    def __init__(self, job: Job, table: Path, settings: Settings):
        self.job, self.table, self.settings = job, table, settings
        self.meta_path = sidecar_path(table)
        self.ann_path = annotated_path(table, job.kind)
        self.meta: dict = {}
        self.rows: list[dict] = []
        self.exists = False
        self.last: int | None = None
        self.first = self.warm = self.old_rows = self.old_frames = 0
        self.new_frames = 0  # frames written by this run (the frame loop counts them)
        self.summary: dict = {}  # a complete table's summary (a skipped job reports it)

    def open(self) -> bool:
        """Check the table and its sidecar; False when the job is already complete (nothing to do)."""
        table, settings, job, meta_path = self.table, self.settings, self.job, self.meta_path
        exists = table.exists()
        if exists and settings.overwrite:
            table.unlink()
            meta_path.unlink(missing_ok=True)
            exists = False
        if exists and not settings.resume:
            raise MediaError(f"{table} exists; pass --resume to continue it or --overwrite to replace it")
        self.exists = exists
        if exists:
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputValueError(f"cannot resume {table}: its sidecar {meta_path.name} is missing; pass --overwrite") from None
            except (OSError, ValueError) as err:
                raise InputValueError(f"cannot resume {table}: its sidecar {meta_path.name} is unreadable ({err}); pass --overwrite") from None
            _check_resume(meta, table, job, settings)
            if meta.get("status") == "complete":
                self.summary = meta.get("summary", {})
                self.old_rows = self.summary.get("rows", 0)
                return False  # self.meta stays empty: nothing to update
            self.meta = meta
            self.rows = recover_table(table, settings.fmt, columns=settings.columns)
        else:
            self.meta = {"schema": SIDECAR_SCHEMA, "version": 1, "created": _now(), "table": table.name,
                         "format": settings.fmt, "columns": list(settings.columns), "job": {"name": job.name, "kind": job.kind,
                         "paths": list(job.paths), "inputs": input_identity(job.paths)}, "runs": []}
        rows = self.rows
        self.old_rows = len(rows)
        self.old_frames = len({r["frame"] for r in rows})  # = old_rows, one row per frame, without --all-faces
        self.last = int(rows[-1]["frame"]) if rows else None
        every = settings.every
        self.first = first = 0 if self.last is None else self.last + every
        # a video's track ids (--all-faces: face_id) count from its first frame: replay all of it to continue them
        self.warm = first if job.kind != "video" else 0 if settings.all_faces else max(0, first - RESUME_WARMUP * every)
        return True

    def begin_run(self, reader) -> None:
        """Record this run (input, settings, model, profile) in the sidecar kept in memory."""
        settings = self.settings
        self.meta.update({
            "input": reader.info.to_dict(),
            "settings": {**settings.identity(), "annotate": settings.annotate},
            "model": None if not settings.model_identity else {"gaze": settings.gaze, "weights": settings.weights,
                                                               "identity": settings.model_identity,
                                                               "variant": settings.variant},
            "profile": None if not settings.profile else {"user": settings.profile_user, "path": settings.profile},
            "status": "running",
            "updated": _now(),
        })
        self.meta.setdefault("runs", []).append({"started": _now(), "first_frame": self.first, "resumed_after": self.last})

    def record_pipeline(self, pipeline) -> None:
        """Add what the built pipeline loaded (backend, landmarker model, versions) and write the sidecar."""
        meta = self.meta
        if meta.get("model") and pipeline.gaze is not None:
            meta["model"]["backend"] = getattr(pipeline.gaze.predictor, "backend", None)
        meta["landmarker_model"] = str(getattr(pipeline.frontend.landmarker, "model_path", ""))
        meta["versions"] = _versions()
        _write_json_atomic(self.meta_path, meta)

    def record_camera(self, pipeline, image) -> None:
        """The camera intrinsics of the first frame processed in this run (once per sidecar)."""
        if "camera" not in self.meta:
            h, w = image.shape[:2]
            self.meta["camera"] = _camera_dict(pipeline, w, h, self.settings.camera)

    def finish(self, out: JobOutcome, written: int) -> None:
        """Close this run's record in the sidecar (status, rows, time) and rewrite it; a sidecar that cannot be
        written is noted in ``out.message``."""
        meta = self.meta
        if not meta.get("runs"):
            return
        meta["runs"][-1].update({"ended": _now(), "rows": written, "seconds": round(out.seconds, 3),
                                 "status": out.status, "peak_rss_mb": round(out.peak_rss_mb, 1)})
        meta.update({"status": out.status, "message": out.message, "updated": _now(),
                     "summary": {"rows": out.rows, "faces": out.faces, "blinks": out.blinks,
                                 "faces_without_gaze": out.unread}})
        try:
            _write_json_atomic(self.meta_path, meta)
        except OSError as err:
            out.message += f" (sidecar not updated: {err})"


class TableSink:
    """The table: each result's row (one per face with ``--all-faces``) written and flushed, faces and blink onsets
    counted over the whole table (the recovered ``rows`` of a resumed one included). ``writer`` is set once the
    pipeline is built (:func:`gazezoom.io.table.open_writer`)."""

    def __init__(self, rows: list[dict], all_faces: bool, gaze: bool = True):
        self.writer, self.all_faces, self.gaze = None, all_faces, gaze
        self.faces = sum(1 for r in rows if r["face"] == 1)
        self.unread = sum(1 for r in rows if self._unread(r))
        self.blinks = 0
        self._blinking: dict = {}  # face id → blink on its last row
        for r in rows:
            self.blinks += self._onset(r)

    @property
    def rows(self) -> int:
        """Rows written by this run."""
        return 0 if self.writer is None else self.writer.rows

    def write(self, frame, result) -> None:
        rows = result_to_rows(result, source=frame.source) if self.all_faces else [result_to_row(result, source=frame.source)]
        for row in rows:
            if frame.time_s is None:
                row["time_s"] = None  # stills have no time
            self.writer.write(row)
            self.faces += row["face"] == 1
            self.unread += self._unread(row)
            self.blinks += self._onset(row)

    def _unread(self, row: dict) -> bool:
        """A face without gaze in a table whose gaze model ran: its eyes could not be read (``UnreadableEyesError``;
        a ``--no-gaze`` table's faces all lack one, and are not counted)."""
        return self.gaze and row["face"] == 1 and row.get("gaze_pitch_deg") is None

    def _onset(self, row: dict) -> bool:
        """Whether ``row`` starts a blink of its face (``face_id``; None: the one face of a one-row-per-frame table)."""
        key, b = row.get("face_id"), row["blink"] == 1
        onset = b and not self._blinking.get(key, False)
        self._blinking[key] = b
        return onset

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class AnnotationSink:
    """``--annotate``: each result drawn on its frame into ``<name>.annotated.mp4`` (created on the first frame; a
    resumed run first copies the interrupted run's video when it is whole) or into ``<name>.annotated/`` (images)."""

    def __init__(self, state: ResumableJob, reader):
        self.state, self.reader = state, reader
        self.video = None

    def write(self, frame, result) -> None:
        import cv2

        from ..io.annotate import annotate_frame, create_video_writer, pick_codec

        state, settings, ann_path = self.state, self.state.settings, self.state.ann_path
        h, w = frame.image.shape[:2]
        img = annotate_frame(frame.image, result, result.camera.K, label=frame.source)
        if state.job.kind != "video":
            ann_path.mkdir(exist_ok=True)
            if not cv2.imwrite(str(ann_path / (Path(frame.source).stem + ".jpg")), img):
                raise MediaError(f"cannot write annotated image into {ann_path}")
            state.meta["annotated"] = {"path": ann_path.name + "/"}
            return
        if self.video is None:
            fps = (self.reader.info.fps or 30.0) / settings.every
            self.video = create_video_writer(ann_path, fps, (w, h), settings.codec)
            reused = _reuse_annotated(ann_path, state.old_frames, self.video)
            state.meta["annotated"] = {"path": ann_path.name, "codec": pick_codec(settings.codec),
                                       "first_frame": 0 if reused or not state.old_frames else state.first}
        self.video.write(img)


class LoopInstrument(Protocol):
    """What :func:`frame_loop` tells an observer (benchmarks): per written frame the wait for its decode, the
    pipeline's ``timings_ms`` and the table write (ms), and once the loop's wall and process CPU seconds."""

    def frame(self, decode_ms: float, timings_ms: Mapping[str, float], write_ms: float) -> None: ...

    def loop(self, wall_s: float, cpu_s: float) -> None: ...


@dataclass
class LoopStats:
    """A :class:`LoopInstrument` that keeps everything (``gazezoom bench pipeline`` reads it): lists per written
    frame and the loop's totals (NaN until the loop ends)."""

    decode_ms: list[float] = field(default_factory=list)
    pipeline_ms: list[dict[str, float]] = field(default_factory=list)
    write_ms: list[float] = field(default_factory=list)
    loop_s: float = float("nan")
    loop_cpu_s: float = float("nan")

    def frame(self, decode_ms: float, timings_ms: Mapping[str, float], write_ms: float) -> None:
        self.decode_ms.append(decode_ms)
        self.pipeline_ms.append(dict(timings_ms))
        self.write_ms.append(write_ms)

    def loop(self, wall_s: float, cpu_s: float) -> None:
        self.loop_s, self.loop_cpu_s = wall_s, cpu_s


def frame_loop(frames, pipeline, state: ResumableJob, sinks: list, *, progress: Callable[[int], None] | None = None,
               stop: Callable[[], bool] | None = None, instrument: LoopInstrument | None = None,
               ahead=None) -> tuple[str, str, int]:
    """Decoded frames → ``pipeline.process`` → every sink (from frame ``state.first`` on; earlier frames only warm
    the pipeline up; ``state.new_frames`` counts the written ones). Returns ``(status, message, exit_code)``:
    complete, or interrupted when ``stop()`` says so. ``sinks[0]`` is the table (the instrument's ``write_ms``);
    ``ahead``: the landmarker running one frame ahead (its own time is then the instrument's ``landmarks``, the wait
    for it ``landmarks_wait``)."""
    import dataclasses as dc

    table, others = sinks[0], sinks[1:]
    status, message, exit_code = "complete", "", 0
    pending = 0
    last_tick = t_read = t_loop = time.perf_counter()
    c_loop = time.process_time()
    for frame in frames:
        pending += 1
        if frame.image is not None:
            t_got = time.perf_counter()
            result = pipeline.process(frame.image, frame.time_s)
            if frame.index >= state.first:
                result = dc.replace(result, index=frame.index)
                t_w = time.perf_counter()
                table.write(frame, result)
                if instrument is not None:
                    tm = dict(result.timings_ms)
                    if ahead is not None:  # the landmarker's own time; "landmarks" is the wait for it
                        tm["landmarks_wait"], tm["landmarks"] = tm["landmarks"], ahead.last_compute_ms
                    instrument.frame((t_got - t_read) * 1e3, tm, (time.perf_counter() - t_w) * 1e3)
                state.new_frames += 1
                state.record_camera(pipeline, frame.image)
                for sink in others:
                    sink.write(frame, result)
        now = t_read = time.perf_counter()
        if progress is not None and (now - last_tick > 0.1):
            progress(pending)
            pending, last_tick = 0, now
        if stop is not None and stop():
            status, message, exit_code = "interrupted", "stopped by the user; --resume continues it", 130
            break
    if instrument is not None:
        instrument.loop(time.perf_counter() - t_loop, time.process_time() - c_loop)
    if progress is not None and pending:
        progress(pending)
    return status, message, exit_code


def process_job(job: Job, table: Path, settings: Settings, progress: Callable[[int], None] | None = None,
                stop: Callable[[], bool] | None = None, total: Callable[[int], None] | None = None,
                instrument: LoopInstrument | None = None, on_pipeline: Callable | None = None) -> JobOutcome:
    """Process one job into ``table``; never raises for a problem of this job (it is in the outcome).

    ``progress(n)`` is called with the number of frames decoded since the last call; ``total(n)`` once with the
    frame count the container lists; ``stop()`` True ends the job after the current frame (status interrupted).
    For benchmarks: ``instrument`` (a :class:`LoopInstrument`, e.g. :class:`LoopStats`) hears of every written
    frame and of the loop's wall / CPU time; ``on_pipeline(pipeline)`` is called once the pipeline is built.

    The parts: :class:`ResumableJob` (table + sidecar across runs), :func:`frame_loop`, the sinks
    (:class:`TableSink`, :class:`AnnotationSink`).
    """
    t_start = time.perf_counter()
    out = JobOutcome(job.name, job.label, "failed", str(table))
    state = ResumableJob(job, table, settings)
    reader = pipeline = table_sink = annotation = None
    status, message, exit_code = "failed", "", 1
    try:
        reader = open_reader(job)
        if total is not None:
            total(reader.info.frame_count)
        if not state.open():
            status, message, exit_code = "skipped", "already complete", 0
            return out
        table_sink = TableSink(state.rows, settings.all_faces, settings.model_identity is not None)
        state.begin_run(reader)
        pipeline = build_pipeline(settings, "video" if job.kind == "video" else "image")
        if on_pipeline is not None:
            on_pipeline(pipeline)
        state.record_pipeline(pipeline)
        table_sink.writer = open_writer(table, settings.fmt, append=state.exists, columns=settings.columns)
        sinks: list = [table_sink]
        if settings.annotate:
            annotation = AnnotationSink(state, reader)
            sinks.append(annotation)

        frames = reader.frames(lambda i: i >= state.warm and i % settings.every == 0)
        ahead = None
        if settings.overlap and job.kind == "video":
            from ..io.overlap import install, lookahead

            ahead = install(pipeline)
            frames = lookahead(frames, ahead)
        status, message, exit_code = frame_loop(frames, pipeline, state, sinks, progress=progress, stop=stop,
                                               instrument=instrument, ahead=ahead)
    except KeyboardInterrupt:
        status, message, exit_code = "interrupted", "interrupted; --resume continues it", 130
    except GazezoomError as err:
        status, message, exit_code = "failed", str(err), err.exit_code
    except Exception as err:  # one broken input must not stop the batch; the message names the file
        status, message, exit_code = "failed", f"{job.label}: unexpected {type(err).__name__}: {err}", 1
    finally:
        video = None if annotation is None else annotation.video
        writer = None if table_sink is None else table_sink.writer
        for what, closer in (("table", writer), ("annotated video", video), ("pipeline", pipeline), ("reader", reader)):
            if closer is None:
                continue
            try:
                closer.close()  # the annotated video is renamed from its .part file here
            except Exception as err:  # an output that could not be finished fails the job, visibly
                note = f"closing the {what} failed: {type(err).__name__}: {err}"
                message = f"{message}; {note}" if message else note
                if closer is writer or closer is video:
                    video = None if closer is video else video
                    if status != "failed":
                        status, exit_code = "failed", MediaError.exit_code
        if video is not None:
            out.annotated = str(state.ann_path)
        out.seconds = time.perf_counter() - t_start
        out.peak_rss_mb = _peak_rss_mb()
        out.status, out.message, out.exit_code = status, message, exit_code
        written = 0 if writer is None else writer.rows
        if table_sink is not None:
            faces, blinks, unread = table_sink.faces, table_sink.blinks, table_sink.unread
        else:  # a skipped job reports its complete table's summary
            faces, blinks, unread = (state.summary.get(k, 0) for k in ("faces", "blinks", "faces_without_gaze"))
        out.rows, out.new_rows, out.new_frames = state.old_rows + written, written, state.new_frames
        out.faces, out.blinks, out.unread = faces, blinks, unread
        if writer is not None:
            state.finish(out, written)
    return out


# --------------------------------------------------------------------------------------------------- progress


class _Bars:
    """tqdm bars on stderr: one overall, one per running job (frames/s and ETA come from tqdm)."""

    def __init__(self, n_jobs: int, totals: int | None, enabled: bool):
        from tqdm import tqdm

        self._tqdm, self.enabled = tqdm, enabled
        self.overall = tqdm(total=totals, desc=f"all {n_jobs} inputs", unit="frame", position=0, disable=not enabled,
                            dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
        self.bars: dict[int, object] = {}
        self._free = list(range(1, 64))

    def start(self, key: int, label: str) -> None:
        pos = self._free.pop(0)
        name = label if len(label) <= 32 else "…" + label[-31:]
        self.bars[key] = (self._tqdm(total=None, desc=name, unit="frame", position=pos, leave=False,
                                     disable=not self.enabled, dynamic_ncols=True, file=sys.stderr, mininterval=0.5), pos)

    def total(self, key: int, n: int) -> None:
        if key in self.bars and n > 0:
            bar = self.bars[key][0]
            bar.total = n
            bar.refresh()

    def update(self, key: int, n: int) -> None:
        if key in self.bars:
            self.bars[key][0].update(n)
        self.overall.update(n)

    def finish(self, key: int) -> None:
        bar, pos = self.bars.pop(key, (None, None))
        if bar is not None:
            bar.close()
            self._free.insert(0, pos)
            self._free.sort()

    def close(self) -> None:
        for key in list(self.bars):
            self.finish(key)
        self.overall.close()


# --------------------------------------------------------------------------------------------------- workers

_WORKER: dict = {}


def _worker_init(queue, stop_event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into stop_event
    _WORKER.update(queue=queue, stop=stop_event)


def _worker_job(key: int, job: Job, table: str, settings: Settings) -> JobOutcome:
    q, stop = _WORKER["queue"], _WORKER["stop"]
    q.put(("start", key, job.label))
    try:
        return process_job(job, Path(table), settings, progress=lambda n: q.put(("update", key, n)),
                           stop=stop.is_set, total=lambda n: q.put(("total", key, n)))
    finally:
        q.put(("finish", key, None))


def _listed_frames(job: Job) -> int:
    """Frame count the container lists (0 when unknown or unreadable), for the overall bar."""
    if job.error:
        return 0
    if job.kind != "video":
        return len(job.paths)
    from ..io.readers import VideoReader

    try:
        with VideoReader(job.paths[0]) as r:
            return max(r.info.frame_count, 0)
    except (MediaError, OSError):  # the job itself reports it
        return 0


def run_jobs(jobs: list[Job], tables: list[Path], settings: Settings, workers: int = 1, progress: bool = True) -> list[JobOutcome]:
    """Process every job (in this process, or ``workers`` processes with one job each at a time); Ctrl-C stops all
    jobs after their current frame. Returns the outcomes in job order."""
    totals = sum(_listed_frames(j) for j in jobs) or None
    bars = _Bars(len(jobs), totals, progress)
    outcomes: list[JobOutcome | None] = [None] * len(jobs)
    try:
        if workers <= 1 or len(jobs) == 1:
            stop = {"flag": False}

            def on_sigint(signum, frame):
                if stop["flag"]:
                    raise KeyboardInterrupt
                stop["flag"] = True
                print("\ngazezoom process: stopping after the current frame (Ctrl-C again to stop at once)", file=sys.stderr)

            old = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
            try:
                for k, (job, table) in enumerate(zip(jobs, tables)):
                    if stop["flag"]:
                        outcomes[k] = JobOutcome(job.name, job.label, "interrupted", str(table), "not started", 130)
                        continue
                    bars.start(k, job.label)
                    outcomes[k] = process_job(job, table, settings, progress=lambda n, k=k: bars.update(k, n),
                                              stop=lambda: stop["flag"], total=lambda n, k=k: bars.total(k, n))
                    bars.finish(k)
            finally:
                if old is not None:
                    signal.signal(signal.SIGINT, old)
        else:
            _run_pool(jobs, tables, settings, workers, bars, outcomes)
    finally:
        bars.close()
    return [o for o in outcomes if o is not None]


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _run_pool(jobs, tables, settings, workers, bars: _Bars, outcomes: list) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")  # MediaPipe and torch threads do not survive fork
    q, stop = ctx.Queue(), ctx.Event()
    interrupted = False
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(q, stop)) as ex:
        futures = {ex.submit(_worker_job, k, j, str(t), settings): k for k, (j, t) in enumerate(zip(jobs, tables))}
        pending = set(futures)
        while pending:
            try:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for f in done:
                    k = futures[f]
                    try:
                        outcomes[k] = f.result()
                    except Exception as err:  # a worker died (killed, out of memory)
                        outcomes[k] = JobOutcome(jobs[k].name, jobs[k].label, "failed", str(tables[k]),
                                                 f"worker process failed: {type(err).__name__}: {err}", 1)
                while True:
                    try:
                        kind, k, val = q.get_nowait()
                    except queue_mod.Empty:
                        break
                    {"start": bars.start, "update": bars.update, "total": bars.total}.get(kind, lambda k, v: bars.finish(k))(k, val)
            except KeyboardInterrupt:
                if interrupted:
                    raise
                interrupted = True
                stop.set()
                for f in pending:
                    f.cancel()
                print("\ngazezoom process: stopping every worker after its current frame", file=sys.stderr)
    for k, o in enumerate(outcomes):
        if o is None:
            outcomes[k] = JobOutcome(jobs[k].name, jobs[k].label, "interrupted", str(tables[k]), "not started", 130)


# --------------------------------------------------------------------------------------------------- command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Gaze per frame of recorded videos and images into CSV/JSONL tables (one row per processed frame, rows "
        "flushed as they are made), a JSON sidecar per table, and optionally annotated videos. INPUT may be video "
        "files, image files or folders of them (each video is one table; the images of a folder, or those named on "
        "the command line, are one table). Exit codes: 0 done, 2 bad options, 3 model file problem, 4 media problem "
        "(missing, unreadable, truncated input or unwritable output; other inputs still run), 7 profile problem, "
        "130 interrupted."
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video files, image files, or folders of them")
    parser.add_argument("--out", default="gazezoom-out", metavar="DIR_OR_FILE",
                        help="output folder (default: ./gazezoom-out), or a .csv/.jsonl file when there is one input")
    parser.add_argument("--format", default="csv", choices=FORMATS.names(), help="table format (default: csv)")
    parser.add_argument("--annotate", action="store_true", help="also write each frame with the GUI's overlays "
                        "(<name>.annotated.mp4; images: <name>.annotated/)")
    parser.add_argument("--codec", default="auto", help="annotated video codec: auto (h264 with PyAV if installed, "
                        "else mp4v), mp4v (OpenCV) or h264 (PyAV)")
    parser.add_argument("--profile", metavar="USER", help="calibration profile (user name or .json path): fills screen_x_px/screen_y_px")
    parser.add_argument("--profiles", metavar="DIR", help="folder of calibration profiles (default: $GAZEZOOM_PROFILES or calibration/)")
    parser.add_argument("--camera-file", "--camera", dest="camera", metavar="FILE", help="camera intrinsics (JSON or "
                        "OpenCV YAML, as `gazezoom camera calibrate` writes; --camera is the older name); default: a "
                        "typical webcam guessed from the frame size")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="process every N-th frame (default: 1)")
    parser.add_argument("--tiles", type=int, default=0, metavar="N", help="images only: also search an NxN grid of "
                        "overlapping windows for faces that are small in the frame (group photos; N = 2 or 3; "
                        "N*N more landmarker calls per image; default 0 = off; videos are unaffected)")
    parser.add_argument("--all-faces", action="store_true", help="one row per face per frame instead of one per frame "
                        "(the primary face's): every face with its own gaze, a face_id column (a video's track id, "
                        "stable while the face stays in view; in images 1, 2, ... from left to right) and "
                        "face_primary (1 on the primary face's row); screen_x_px/screen_y_px (--profile) and --events "
                        "/ --figures are for the primary face only; --annotate draws every face's gaze")
    parser.add_argument("--mirror", action="store_true", help="mirror averaging: also read every frame flipped "
                        "left-right and average each gaze with its mirror image's (the landmarker's left/right bias "
                        "cancels, two landmark passes average their noise: on the shared clips the two eyes' "
                        "|pitch difference| and the frame-to-frame jitter fall by a quarter to a half). About twice "
                        "the landmarker's time per frame: for recordings, when precision matters more than speed")
    parser.add_argument("--workers", type=int, default=1, metavar="K", help="process K inputs at once, one process per "
                        "input (default: 1)")
    parser.add_argument("--resume", action="store_true", help="continue existing tables after their last written "
                        "row (same options required); complete tables are skipped")
    parser.add_argument("--overwrite", action="store_true", help="replace existing tables instead of failing")
    add_model_args(parser, weights_metavar="PATH", backend_choices=None,
                   weights_help="gaze weights: a .safetensors file or a folder holding gaze_<variant>.safetensors "
                                "(default: weights/)",
                   variant_help="gaze model variant to load from a weights folder (default: sampler)",
                   backend_help="gaze inference backend: torch, onnx (needs the exported .onnx beside the weights) "
                                "or auto (default: the model package's choice)")
    parser.add_argument("--no-gaze", action="store_true", help="front-end only: face, head pose, eyes; gaze columns empty")
    add_threads_arg(parser, default=1, help="torch threads per process (default 1: the gaze network is small, and "
                    "MediaPipe works in parallel on another core; 0 = torch's choice)")
    parser.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=None,
                        help="videos: run the landmarker one frame ahead in a second thread (same table). Default: on "
                        "with 2 or more CPU cores (on an idle 2-core machine 82-88%% of the landmarker-alone rate vs "
                        "67-75%% serial, `gazezoom bench pipeline`); --no-overlap on a machine whose cores are busy")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    from .analysis import add_arguments as add_analysis_arguments

    add_analysis_arguments(parser)  # --events, --figures (gazezoom/commands/analysis.py)


def resolve_settings(args: argparse.Namespace) -> Settings:
    """Check the options and load what every job shares once (fails fast with a typed error)."""
    if args.every < 1:
        raise InputValueError(f"--every must be >= 1, got {args.every}")
    from ..face.frontend import MAX_TILES

    if not 0 <= args.tiles <= MAX_TILES:
        raise InputValueError(f"--tiles must be 0 (off) to {MAX_TILES} windows per side, got {args.tiles}")
    if args.workers < 1:
        raise InputValueError(f"--workers must be >= 1, got {args.workers}")
    if args.resume and args.overwrite:
        raise InputValueError("--resume and --overwrite exclude each other; choose one")
    if args.mirror and args.no_gaze:
        raise InputValueError("--mirror averages the gaze with its mirror image's, and --no-gaze reads none; drop one")
    weights = variant = identity = None
    from ..models.stages import resolve_stage, stage_identity, stage_weights_file

    gaze_stage = resolve_stage(getattr(args, "gaze", None), args.weights)
    if not args.no_gaze:
        wfile = stage_weights_file(gaze_stage, args.weights, args.variant)
        if wfile is not None:
            if not wfile.is_file():
                raise ModelFileError(f"gaze weights not found at {wfile} (--gaze {gaze_stage}); train them "
                                     "(gazezoom train), pass --weights FILE, choose --gaze geometric (no weights), "
                                     "or use --no-gaze for face, head pose and eyes only")
            from ..models.checkpoint import read_sidecar

            weights, variant = str(wfile.resolve()), read_sidecar(wfile).get("variant")
        identity = stage_identity(gaze_stage, args.weights, args.variant)
        variant = variant or gaze_stage
    profile = user = None
    if args.profile:
        from ..calibration.profile import load_profile, resolve_profile

        if identity is None:
            raise InputValueError("--profile needs a gaze model; drop --no-gaze")
        prof = load_profile(args.profile, args.profiles, gaze_model=identity)  # ProfileError says what is wrong
        profile = str(resolve_profile(args.profile, args.profiles).resolve())
        user = prof.user
    camera = None
    if args.camera:
        from ..pipeline import read_camera_file

        read_camera_file(args.camera)  # MediaError now rather than in every job
        camera = str(Path(args.camera).resolve())
    if args.codec != "auto":
        from ..io.annotate import pick_codec

        pick_codec(args.codec)
    threads = max(0, args.threads)
    if args.backend is not None and weights is not None:
        from ..models.onnx_backend import resolve_backend

        resolve_backend(args.backend, weights)  # an unknown name lists the valid ones
    return Settings(fmt=args.format, every=args.every, annotate=args.annotate, codec=args.codec, weights=weights,
                    variant=variant, backend=args.backend, model_identity=identity, gaze=gaze_stage, profile=profile, profile_user=user, camera=camera,
                    resume=args.resume, overwrite=args.overwrite, threads=threads, tiles=args.tiles,
                    all_faces=args.all_faces, mirror=args.mirror,
                    overlap=(os.cpu_count() or 1) >= 2 if args.overlap is None else args.overlap)


def _figure_screen(analysis, settings: Settings):
    """The profile's screen for ``--figures`` in screen pixels (None without ``--figures`` or ``--profile``)."""
    if not (analysis.figures and settings.profile):
        return None
    from ..calibration.profile import load_profile

    return load_profile(settings.profile, gaze_model=settings.model_identity).screen


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    from .analysis import Analysis

    analysis = Analysis.from_args(args)  # None without --events / --figures
    jobs = collect_jobs(args.inputs)
    tables = output_paths(jobs, args.out, settings.fmt)
    t0 = time.perf_counter()
    outcomes = run_jobs(jobs, tables, settings, workers=args.workers, progress=not args.quiet)
    elapsed = time.perf_counter() - t0
    for o in outcomes:
        print(o.line(), file=sys.stdout if o.status in ("complete", "skipped") else sys.stderr)
    analysis_code = analysis.run(outcomes, settings, _figure_screen(analysis, settings)) if analysis is not None else 0
    new = sum(o.new_frames for o in outcomes)
    n_ok = sum(o.status in ("complete", "skipped") for o in outcomes)
    print(f"summary: {n_ok} of {len(outcomes)} inputs complete; {new} frames processed in {elapsed:.1f} s "
          f"({new / elapsed if elapsed > 0 else 0:.1f} frames/s); {sum(o.faces for o in outcomes)} rows with a face, "
          f"{sum(o.blinks for o in outcomes)} blinks; peak memory {max((o.peak_rss_mb for o in outcomes), default=0):.0f} MB "
          "per process")
    if any(o.status == "interrupted" for o in outcomes):
        return 130
    failed = [o for o in outcomes if o.status == "failed"]
    return failed[0].exit_code if failed else analysis_code
