"""The per-frame gaze table: fixed columns, ``result_to_row``, and CSV / JSONL writers that never lose a row.

Other tools read these column names; never rename one (add new ones at the end). Conventions
(``docs/architecture.md``): gaze is a unit vector in camera coordinates (x right, y down, z forward) pointing from
the eyes into the scene; pitch/yaw are MPIIGaze / ETH-XGaze degrees, ``g = (-cos p sin y, -sin p, -cos p cos y)``,
pitch > 0 looks up. ``left``/``right`` are the subject's own eyes.

Empty, never zero, for what is unknown: on a frame without a face every column but ``frame``, ``time_s``, ``face``,
``faces`` and ``source`` is empty (``None`` in the row, an empty CSV cell, ``null`` in JSONL); gaze columns are empty
without a gaze model; ``screen_*`` are empty without a calibration profile.

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
#: ``center_*_mm`` is the eye centre (midpoint of its corners); ``iris_*_px`` the iris centre in the frame.
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
INT_COLUMNS = frozenset({"frame", "face", "faces", "blink", "gaze_held", "left_blink", "right_blink", "screen_clamped"})
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
    if screen is not None:
        row["screen_x_px"], row["screen_y_px"] = _num(screen.x_px, decimals), _num(screen.y_px, decimals)
        row["screen_raw_x_px"], row["screen_raw_y_px"] = _num(screen.raw_x_px, decimals), _num(screen.raw_y_px, decimals)
        row["screen_clamped"] = int(bool(screen.clamped))
    return row


# --------------------------------------------------------------------------------------------------- writers


class TableWriter:
    """Appends rows to a table file and flushes after every row, so a crash or Ctrl-C leaves every finished row on
    disk (at most the line being written when the process is killed is cut; :func:`recover_table` drops it).

    ``append=True`` continues an existing file (after :func:`recover_table`); otherwise the file is created and must
    not exist yet. Use as a context manager or call :meth:`close`.
    """

    suffix = ""

    def __init__(self, path: str | os.PathLike, *, append: bool = False):
        self.path = Path(path)
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
        """Write one row (a mapping over :data:`COLUMNS`) as one line and flush it to the operating system."""
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
    """Comma-separated, one header line (:data:`COLUMNS`), empty cells for missing values, ``\\n`` line ends."""

    suffix = ".csv"

    def _header(self) -> None:
        self._fh.write(",".join(COLUMNS) + "\n")
        self._fh.flush()

    def _line(self, row: Mapping) -> str:
        cells = [_csv_cell(row.get(c)) for c in COLUMNS]
        if any(ch in c for c in cells for ch in ',"\n\r'):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(cells)
            return buf.getvalue()
        return ",".join(cells) + "\n"


class JsonlWriter(TableWriter):
    """One JSON object per line with every column (``null`` for missing values); no header line."""

    suffix = ".jsonl"

    def _line(self, row: Mapping) -> str:
        return json.dumps({c: row.get(c) for c in COLUMNS}, allow_nan=False, separators=(",", ":")) + "\n"


#: table format name → writer class
FORMATS: Registry = Registry("table format")
FORMATS.register("csv", CsvWriter)
FORMATS.register("jsonl", JsonlWriter)


def open_writer(path: str | os.PathLike, fmt: str = "csv", *, append: bool = False) -> TableWriter:
    """A writer of format ``fmt`` (``FORMATS.names()``) for ``path``."""
    return FORMATS.get(fmt)(path, append=append)


# --------------------------------------------------------------------------------------------------- readers


def _typed(col: str, cell: str):
    if cell == "":
        return None
    if col in STR_COLUMNS:
        return cell
    if col in INT_COLUMNS:
        return int(cell)
    return float(cell)


def read_table(path: str | os.PathLike, fmt: str | None = None) -> list[dict]:
    """Every complete row of a table written by a :class:`TableWriter` as typed dicts (int / float / str / None).

    ``fmt`` defaults to the file suffix. A cut last line (a killed process) is ignored; any other malformed line
    raises :class:`MediaError`.
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
        header = next(csv.reader([lines[0]]))
        if tuple(header) != COLUMNS:
            raise MediaError(f"{path} is not a gazezoom table of this version: its header differs from the fixed columns")
        for i, cells in enumerate(csv.reader(lines[1:]), 2):
            if len(cells) != len(COLUMNS):
                raise MediaError(f"{path}, line {i}: {len(cells)} cells, expected {len(COLUMNS)}")
            try:
                rows.append({c: _typed(c, v) for c, v in zip(COLUMNS, cells)})
            except ValueError as err:
                raise MediaError(f"{path}, line {i}: {err}") from None
    else:
        for i, line in enumerate(lines, 1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise MediaError(f"{path}, line {i}: not JSON ({err})") from None
            if not isinstance(obj, dict) or tuple(obj) != COLUMNS:
                raise MediaError(f"{path}, line {i}: not a gazezoom row of this version (columns differ)")
            rows.append(obj)
    return rows


def recover_table(path: str | os.PathLike, fmt: str | None = None) -> list[dict]:
    """Make an interrupted table appendable and return its complete rows (as :func:`read_table`).

    Cuts a partly written last line (the process was killed while writing it) so the next row starts on a fresh
    line, and checks every complete line. The last row's ``frame`` is where a resumed run continues after.
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
    return read_table(path, fmt)
