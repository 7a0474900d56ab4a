"""``gazezoom doctor``: check what gazezoom needs on this machine and say how to fix what is missing.

Checks, each ``ok``, ``warn`` (something optional is missing) or ``FAIL`` (a command will not work):
the model files in ``weights/``, MediaPipe (a face landmarker really starts), PyQt5 and the system libraries its
``xcb`` platform plugin loads (``ldd``; the Debian/Ubuntu package of each missing one), a display, and a camera.
Exit code 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..fileio import WEIGHTS_DIR

__all__ = ["Check", "run_checks", "missing_qt_libraries", "debian_package", "APT_LINE"]

#: What the README tells Debian/Ubuntu users to install for the desktop app (Qt's xcb platform plugin).
APT_LINE = "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" or "FAIL"
    detail: str
    fix: str = ""


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships a shared library, by Debian's naming rule (``libNAME.so.N`` →
    ``libNAMEN``, with a dash when NAME ends in a digit).

    >>> debian_package("libxcb-icccm.so.4"), debian_package("libxkbcommon-x11.so.0")
    ('libxcb-icccm4', 'libxkbcommon-x11-0')
    """
    m = re.match(r"(lib.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, major = m.groups()
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def missing_qt_libraries() -> list[str] | None:
    """Shared libraries Qt's xcb plugin (the one a Linux desktop uses) cannot find, from ``ldd``; None when that
    cannot be checked (not Linux, no ``ldd``, no PyQt5)."""
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None:
        return None
    try:
        import PyQt5
    except ImportError:
        return None
    qt = Path(PyQt5.__file__).parent / "Qt5"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "lib").glob("libQt5XcbQpa.so*"))[:1]]
    missing: list[str] = []
    for f in files:
        if not f.is_file():
            continue
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "not found" in line:
                lib = line.split("=>")[0].strip()
                if lib not in missing:
                    missing.append(lib)
    return missing


def _weights(weights: Path) -> list[Check]:
    out = []
    task = weights / "face_landmarker.task"
    out.append(Check("face landmarker model", "ok" if task.is_file() else "FAIL", str(task),
                     "" if task.is_file() else "restore weights/face_landmarker.task from the repository (git checkout weights/)"))
    nets = sorted(weights.glob("gaze_*.safetensors"))
    out.append(Check("gaze weights", "ok" if nets else "warn",
                     ", ".join(p.name for p in nets) if nets else f"none in {weights}",
                     "" if nets else "train them (`gazezoom train`) or use --gaze geometric / --no-gaze"))
    return out


def _mediapipe() -> Check:
    try:
        import numpy as np

        from ..build import build_pipeline

        with build_pipeline(gaze=False, mode="image") as pipe:
            pipe.process(np.zeros((120, 160, 3), np.uint8))
    except Exception as err:  # noqa: BLE001 - a doctor reports every failure, whatever its type
        return Check("MediaPipe", "FAIL", f"{type(err).__name__}: {err}",
                     "pip install -e . (mediapipe and opencv-contrib-python, not opencv-python)")
    import mediapipe

    return Check("MediaPipe", "ok", f"mediapipe {mediapipe.__version__}: the face landmarker starts")


def _qt() -> list[Check]:
    try:
        from PyQt5.QtCore import QT_VERSION_STR
    except ImportError as err:
        return [Check("PyQt5", "FAIL", str(err), "pip install PyQt5")]
    out = [Check("PyQt5", "ok", f"Qt {QT_VERSION_STR}")]
    missing = missing_qt_libraries()
    if missing is None:
        out.append(Check("Qt system libraries", "ok", "not checked on this system"))
    elif missing:
        pkgs = " ".join(debian_package(m) for m in missing)
        out.append(Check("Qt system libraries", "FAIL",
                         f"Qt's xcb plugin cannot load {', '.join(missing)}: the desktop app would abort with "
                         "'Could not load the Qt platform plugin xcb'",
                         f"sudo apt-get install -y {pkgs}   (Debian/Ubuntu; headless runs with --screenshot work "
                         "without them)"))
    else:
        out.append(Check("Qt system libraries", "ok", "everything Qt's xcb plugin loads is installed"))
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    platform = os.environ.get("QT_QPA_PLATFORM")
    if display or platform or not sys.platform.startswith("linux"):
        out.append(Check("display", "ok", f"DISPLAY={os.environ.get('DISPLAY')!r}" if display else
                         f"QT_QPA_PLATFORM={platform!r}" if platform else "not needed on this system"))
    else:
        out.append(Check("display", "warn", "no DISPLAY / WAYLAND_DISPLAY: the app can only run headless",
                         "run on a desktop, under `xvfb-run -a`, or use `gazezoom demo --screenshot out.png`"))
    return out


def _camera(index: int) -> Check:
    import cv2

    from ..logs import quiet_opencv

    quiet_opencv()
    cap = cv2.VideoCapture(index)
    try:
        if not cap.isOpened():
            return Check("camera", "warn", f"no camera at index {index} (not connected, busy, or no permission)",
                         "connect one or try --camera 1; recorded videos work without a camera "
                         "(`gazezoom process`, `gazezoom demo --source clip.mp4`)")
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok or frame is None:
        return Check("camera", "warn", f"camera {index} opens but gives no frames", "close other apps using it")
    return Check("camera", "ok", f"camera {index}: {frame.shape[1]}x{frame.shape[0]}")


def run_checks(weights: Path = WEIGHTS_DIR, camera: int = 0, *, landmarker: bool = True) -> list[Check]:
    """Every check, in the order ``gazezoom doctor`` prints them."""
    checks = _weights(Path(weights))
    if landmarker:
        checks.append(_mediapipe())
    checks += _qt()
    checks.append(_camera(camera))
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--camera", type=int, default=0, help="camera index to try (default 0)")
    parser.add_argument("--weights", default=str(WEIGHTS_DIR), help="model folder to check (default weights/)")


def run(args: argparse.Namespace) -> int:
    checks = run_checks(Path(args.weights), args.camera)
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix:
            print(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    failed = [c.name for c in checks if c.status == "FAIL"]
    print("all needed parts found" if not failed else f"{len(failed)} problem(s): {', '.join(failed)}")
    return 1 if failed else 0
