"""The per-frame gaze table: fixed columns, ``result_to_row``, and CSV / JSONL writers that never lose a row.

Other tools read these column names; never rename one (add new ones at the end). Conventions
(``docs/architecture.md``): gaze is a unit vector in camera coordinates (x right, y down, z forward) pointing from
the eyes into the scene; pitch/yaw are MPIIGaze / ETH-XGaze degrees, ``g = (-cos p sin y, -sin p, -cos p cos y)``,
pitch > 0 looks up. ``left``/``right`` are the subject's own eyes.

Empty, never zero, for what is unknown: on a frame without a face every column but ``frame``, ``time_s``, ``face``,
``faces`` and ``source`` is empty (``None`` in the row, an empty CSV cell, ``null`` in JSONL); gaze columns are empty
without a gaze model; ``screen_*`` are empty without a calibration profile.

A table has one row per frame (:data:`COLUMNS`, :func:`result_to_row`, the primary face), or with ``process
--all-faces`` one row per face per frame (:data:`FACE_COLUMNS`, :func:`result_to_rows`): the same columns plus
``face_id`` and ``face_primary`` at the end.

This module imports numpy only (no Qt, no MediaPipe, no torch): the GUI's "record session" uses it too.

>>> from gazezoom.results import FrameResult
>>> row = result_to_row(FrameResult(index=3, time_s=0.1, frame_size=(480, 640), face=None))
>>> row["frame"], row["time_s"], row["face"], row["gaze_x"], row["screen_x_px"]
(3, 0.1, 0, None, None)
>>> list(row) == list(COLUMNS)
True
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..geometry import vector_to_pitchyaw
from ..registry import Registry
from ..results import FrameResult

__all__ = [
    "COLUMNS",
    "FIXED_COLUMNS",
    "EYE_COLUMNS",
    "INT_COLUMNS",
    "STR_COLUMNS",
    "FORMATS",
    "result_to_row",
    "FACE_COLUMNS",
    "result_to_rows",
    "primary_rows",
    "TableWriter",
    "open_writer",
    "read_table",
    "recover_table",
]

#: The columns the issue fixes, in this order.
FIXED_COLUMNS: tuple[str, ...] = (
    "frame", "time_s", "face", "confidence",
    "gaze_x", "gaze_y", "gaze_z", "gaze_pitch_deg", "gaze_yaw_deg",
    "head_x_mm", "head_y_mm", "head_z_mm", "head_pitch_deg", "head_yaw_deg", "head_roll_deg",
    "blink", "screen_x_px", "screen_y_px",
)  # fmt: skip

#: Per-eye columns, prefixed ``left_`` and ``right_``. ``gaze_*`` of an eye is that eye's ray in camera space;
#: ``center_*_mm`` is the eye centre (midpoint of its corners); ``iris_*_px`` the iris centre in the frame (the centre
#: of MediaPipe's iris circle, :func:`gazezoom.face.eyes.iris_centre_px`).
EYE_FIELDS: tuple[str, ...] = (
    "gaze_x", "gaze_y", "gaze_z", "gaze_pitch_deg", "gaze_yaw_deg", "openness", "blink",
    "iris_x_px", "iris_y_px", "center_x_mm", "center_y_mm", "center_z_mm",
)  # fmt: skip
EYE_COLUMNS: tuple[str, ...] = tuple(f"{side}_{f}" for side in ("left", "right") for f in EYE_FIELDS)

#: Extra columns after the per-eye ones: the number of faces found, whether the gaze was held from the last good
#: frame during a blink, the unsmoothed screen point, and the image file name (image sets; empty for videos);
#: ``screen_clamped`` is 1 when the calibration put the point far off the screen and it was clamped to the edge band
#: (:data:`gazezoom.calibration.mapping.CLAMP_MARGIN`): such a point says "off screen", not where.
EXTRA_COLUMNS: tuple[str, ...] = ("faces", "gaze_held", "screen_raw_x_px", "screen_raw_y_px", "source", "screen_clamped")

COLUMNS: tuple[str, ...] = FIXED_COLUMNS + EYE_COLUMNS + EXTRA_COLUMNS

#: The columns of a table with one row per face (``process --all-faces``): :data:`COLUMNS`, then ``face_id`` — the
#: face's track id in a video (stable while the tracker follows it; a face lost for longer than the tracker waits
#: comes back with a new id), its rank 1, 2, … from left to right in a still — and ``face_primary``, 1 on the
#: primary face's row (the one with the gaze events and the ``screen_*`` columns). Both are empty on the one row of a
#: frame without a face.
FACE_COLUMNS: tuple[str, ...] = COLUMNS + ("face_id", "face_primary")
INT_COLUMNS = frozenset({"frame", "face", "faces", "blink", "gaze_held", "left_blink", "right_blink", "screen_clamped"})
FACE_INT_COLUMNS = INT_COLUMNS | {"face_id", "face_primary"}
STR_COLUMNS = frozenset({"source"})

#: Decimal places kept for floats (0.001 px / 1e-6 of a unit vector is far below what any stage resolves).
DECIMALS = 6


def _num(x, decimals: int = DECIMALS) -> float | None:
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def _gaze_cols(prefix: str, v, row: dict, decimals: int) -> None:
    v = np.asarray(v, float)
    n = float(np.linalg.norm(v))
    if v.shape != (3,) or not math.isfinite(n) or n == 0:
        return
    v = v / n
    pitch, yaw = np.degrees(vector_to_pitchyaw(v))
    for k, val in zip(("gaze_x", "gaze_y", "gaze_z", "gaze_pitch_deg", "gaze_yaw_deg"), (*v, pitch, yaw)):
        row[prefix + k] = _num(val, decimals)


def result_to_row(result: FrameResult, *, source: str | None = None, decimals: int = DECIMALS) -> dict:
    """A :class:`FrameResult` → one table row: a dict over :data:`COLUMNS` in order (int, float, str or None).

    ``frame`` is ``result.index``; pass a ``FrameResult`` whose index is the frame's position in the file.
    Pitch/yaw are recomputed from the unit vectors so the angles and vectors in a row always agree.
    """
    row: dict = dict.fromkeys(COLUMNS)
    row["frame"] = int(result.index)
    row["time_s"] = None if result.time_s is None else _num(result.time_s, decimals)
    row["source"] = source
    face = result.face
    row["faces"] = (face is not None) + len(result.others)
    row["face"] = int(face is not None)
    if face is None:
        return row
    row["confidence"] = _num(face.confidence, decimals)
    head = face.head
    for k, val in zip(("head_x_mm", "head_y_mm", "head_z_mm"), np.asarray(head.translation_mm, float)):
        row[k] = _num(val, decimals)
    row["head_pitch_deg"] = _num(head.pitch_deg, decimals)
    row["head_yaw_deg"] = _num(head.yaw_deg, decimals)
    row["head_roll_deg"] = _num(head.roll_deg, decimals)
    row["blink"] = int(bool(face.blink))
    for eye in face.eyes:
        p = eye.side + "_"
        row[p + "openness"] = _num(eye.openness, decimals)
        row[p + "blink"] = int(bool(eye.blink))
        row[p + "iris_x_px"], row[p + "iris_y_px"] = (_num(v, decimals) for v in np.asarray(eye.iris_px, float)[:2])
        c = np.asarray(eye.center_mm, float)
        row[p + "center_x_mm"], row[p + "center_y_mm"], row[p + "center_z_mm"] = (_num(v, decimals) for v in c)
    gaze = result.gaze
    if gaze is not None:
        _gaze_cols("", gaze.vector_cam, row, decimals)
        row["gaze_held"] = int(bool(gaze.held))
        for eg in gaze.eyes:
            _gaze_cols(eg.side + "_", eg.vector_cam, row, decimals)
    screen = result.screen
    if screen is not None and not screen.held:  # a held point (blink) repeats the last one: not a new reading
        row["screen_x_px"], row["screen_y_px"] = _num(screen.x_px, decimals), _num(screen.y_px, decimals)
        row["screen_raw_x_px"], row["screen_raw_y_px"] = _num(screen.raw_x_px, decimals), _num(screen.raw_y_px, decimals)
        row["screen_clamped"] = int(bool(screen.clamped))
    return row


def result_to_rows(result: FrameResult, *, source: str | None = None, decimals: int = DECIMALS) -> list[dict]:
    """A :class:`FrameResult` → one row per face over :data:`FACE_COLUMNS`, in ``face_id`` order (one row with
    ``face`` 0 for a frame without faces). Each face's row is :func:`result_to_row` of the frame seen with that face
    as the primary and its own gaze (``FrameResult.others_gaze``; empty gaze columns where it was not computed);
    ``screen_*`` only on the primary's row.

    >>> rows = result_to_rows(FrameResult(index=3, time_s=0.1, frame_size=(480, 640), face=None))
    >>> [(r["frame"], r["face"], r["face_id"], r["face_primary"]) for r in rows]
    [(3, 0, None, None)]
    """
    faces = result.face_gazes()
    if not faces:
        return [{**result_to_row(result, source=source, decimals=decimals), "face_id": None, "face_primary": None}]
    rows = []
    for i, (face, gaze) in sorted(enumerate(faces), key=lambda x: x[1][0].track_id):
        primary = face is result.face
        rest = tuple(f for j, (f, _) in enumerate(faces) if j != i)  # keeps the ``faces`` count of the frame
        view = dataclasses.replace(result, face=face, others=rest, gaze=gaze, others_gaze=(),
                                   screen=result.screen if primary else None)
        row = result_to_row(view, source=source, decimals=decimals)
        row["face_id"], row["face_primary"] = int(face.track_id), int(primary)
        rows.append(row)
    return rows


def primary_rows(rows: list[Mapping]) -> list[Mapping]:
    """The rows of the primary face, one per frame, from a table of either kind: a one-row-per-frame table as it is;
    a :data:`FACE_COLUMNS` table reduced to each frame's ``face_primary`` row, or, for a frame without one (no face,
    or only other faces while the primary is out of sight), a no-face row of that frame. Events and figures read
    these."""
    if not rows or "face_id" not in rows[0]:
        return list(rows)
    out: list[Mapping] = []
    for r in rows:
        if out and out[-1]["frame"] == r["frame"]:
            if r["face_primary"] == 1:
                out[-1] = r
            continue
        if r["face_primary"] == 1 or r["face"] == 0:
            out.append(r)
        else:
            keep = ("frame", "time_s", "faces", "source")
            out.append({**dict.fromkeys(r), **{k: r[k] for k in keep}, "face": 0})
    return out


# --------------------------------------------------------------------------------------------------- writers


class TableWriter:
    """Appends rows to a table file and flushes after every row, so a crash or Ctrl-C leaves every finished row on
    disk (at most the line being written when the process is killed is cut; :func:`recover_table` drops it).

    ``append=True`` continues an existing file (after :func:`recover_table`); otherwise the file is created and must
    not exist yet. ``columns``: :data:`COLUMNS` (one row per frame) or :data:`FACE_COLUMNS` (one row per face).
    Use as a context manager or call :meth:`close`.
    """

    suffix = ""

    def __init__(self, path: str | os.PathLike, *, append: bool = False, columns: tuple[str, ...] = COLUMNS):
        if columns not in (COLUMNS, FACE_COLUMNS):
            raise MediaError("a table's columns are gazezoom.io.table.COLUMNS or FACE_COLUMNS")
        self.path, self.columns = Path(path), columns
        self.rows = 0
        try:
            self._fh = open(self.path, "a" if append else "x", encoding="utf-8", newline="")
        except FileExistsError:
            raise MediaError(f"{self.path} exists; pass --resume to continue it or --overwrite to replace it") from None
        except OSError as err:
            raise MediaError(f"cannot write table {self.path}: {err.strerror or err}; choose a writable --out") from None
        if not append or self._fh.tell() == 0:
            self._header()

    def _header(self) -> None:
        pass

    def _line(self, row: Mapping) -> str:
        raise NotImplementedError

    def write(self, row: Mapping) -> None:
        """Write one row (a mapping over ``self.columns``) as one line and flush it to the operating system."""
        try:
            self._fh.write(self._line(row))  # one write per row: a line is either all there or cut at the end
            self._fh.flush()
        except OSError as err:
            raise MediaError(f"cannot write to {self.path}: {err.strerror or err} (disk full?)") from None
        self.rows += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _csv_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return repr(v) if isinstance(v, float) else str(v)


class CsvWriter(TableWriter):
    """Comma-separated, one header line (the columns), empty cells for missing values, ``\\n`` line ends."""

    suffix = ".csv"

    def _header(self) -> None:
        self._fh.write(",".join(self.columns) + "\n")
        self._fh.flush()

    def _line(self, row: Mapping) -> str:
        cells = [_csv_cell(row.get(c)) for c in self.columns]
        if any(ch in c for c in cells for ch in ',"\n\r'):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(cells)
            return buf.getvalue()
        return ",".join(cells) + "\n"


class JsonlWriter(TableWriter):
    """One JSON object per line with every column (``null`` for missing values); no header line."""

    suffix = ".jsonl"

    def _line(self, row: Mapping) -> str:
        return json.dumps({c: row.get(c) for c in self.columns}, allow_nan=False, separators=(",", ":")) + "\n"


#: table format name → writer class
FORMATS: Registry = Registry("table format")
FORMATS.register("csv", CsvWriter)
FORMATS.register("jsonl", JsonlWriter)


def open_writer(path: str | os.PathLike, fmt: str = "csv", *, append: bool = False,
                columns: tuple[str, ...] = COLUMNS) -> TableWriter:
    """A writer of format ``fmt`` (``FORMATS.names()``) for ``path``; ``columns``: see :class:`TableWriter`."""
    return FORMATS.get(fmt)(path, append=append, columns=columns)


# --------------------------------------------------------------------------------------------------- readers


def _typed(col: str, cell: str):
    if cell == "":
        return None
    if col in STR_COLUMNS:
        return cell
    if col in FACE_INT_COLUMNS:
        return int(cell)
    return float(cell)


def read_table(path: str | os.PathLike, fmt: str | None = None) -> list[dict]:
    """Every complete row of a table written by a :class:`TableWriter` as typed dicts (int / float / str / None).

    ``fmt`` defaults to the file suffix. A cut last line (a killed process) is ignored; any other malformed line
    raises :class:`MediaError`. Rows have the table's columns: :data:`COLUMNS` or :data:`FACE_COLUMNS`.
    """
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    FORMATS.get(fmt)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MediaError(f"cannot read table {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise MediaError(f"{path} is not a gazezoom table (not UTF-8 text)") from None
    lines = text.split("\n")
    lines = lines[:-1]  # the part after the last newline is empty or a cut row
    rows = []
    if fmt == "csv":
        if not lines:
            return rows
        columns = tuple(next(csv.reader([lines[0]])))
        if columns not in (COLUMNS, FACE_COLUMNS):
            raise MediaError(f"{path} is not a gazezoom table of this version: its header differs from the fixed columns")
        for i, cells in enumerate(csv.reader(lines[1:]), 2):
            if len(cells) != len(columns):
                raise MediaError(f"{path}, line {i}: {len(cells)} cells, expected {len(columns)}")
            try:
                rows.append({c: _typed(c, v) for c, v in zip(columns, cells)})
            except ValueError as err:
                raise MediaError(f"{path}, line {i}: {err}") from None
    else:
        for i, line in enumerate(lines, 1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise MediaError(f"{path}, line {i}: not JSON ({err})") from None
            if not isinstance(obj, dict) or tuple(obj) not in (COLUMNS, FACE_COLUMNS) or (rows and obj.keys() != rows[0].keys()):
                raise MediaError(f"{path}, line {i}: not a gazezoom row of this version (columns differ)")
            rows.append(obj)
    return rows


def recover_table(path: str | os.PathLike, fmt: str | None = None, *, columns: tuple[str, ...] = COLUMNS) -> list[dict]:
    """Make an interrupted table appendable and return its complete rows (as :func:`read_table`).

    Cuts a partly written last line (the process was killed while writing it) so the next row starts on a fresh
    line, and checks every complete line. A table of :data:`FACE_COLUMNS` also loses the rows of a last frame that
    has fewer rows than faces (stopped between two faces of a frame), so every frame left is whole. The last row's
    ``frame`` is where a resumed run continues after. ``columns``: what the table must have been written with.
    """
    path = Path(path)
    try:
        with open(path, "rb+") as fh:
            data = fh.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                fh.truncate(end)
    except OSError as err:
        raise MediaError(f"cannot resume {path}: {err.strerror or err}") from None
    rows = read_table(path, fmt)
    if rows and tuple(rows[0]) != columns:
        raise MediaError(f"cannot resume {path}: it was written with{'out' if columns == FACE_COLUMNS else ''} "
                         "--all-faces; use the same options, or --overwrite to start again")
    if columns == FACE_COLUMNS and rows:
        n = max(rows[-1]["faces"], 1)  # a whole frame has one row per face, or its one no-face row
        last = [r for r in rows[-n:] if r["frame"] == rows[-1]["frame"]]
        if len(last) < n:
            del rows[-len(last):]
            with open(path, "rb+") as fh:  # one row per line (read_table reads it so): cut the last len(last) lines
                data = fh.read()
                end = len(data)
                for _ in range(len(last)):
                    end = data.rfind(b"\n", 0, end - 1) + 1
                fh.truncate(end)
    return rows
