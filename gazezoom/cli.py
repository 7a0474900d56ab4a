"""The ``gazezoom`` command line.

Sub-commands are registered by name in :data:`COMMANDS` (name → module path, one-line help). A command module
defines ``add_arguments(parser)`` and ``run(args) -> int``; it is imported only when that command runs, so
``gazezoom --help`` stays instant and headless.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from . import __version__
from .errors import GazezoomError

__all__ = ["COMMANDS", "build_parser", "main"]

#: name → (module path, one-line help). Add a line here to add a command (its module in ``gazezoom/commands/``).
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("gazezoom.commands.bench", "measure speed of a stage (sampler, frontend, model, pipeline …) in one run"),
    "train": ("gazezoom.commands.train", "train the gaze model variants on synthetic eyes (weights, sidecars, logs, plots)"),
    "calibrate": ("gazezoom.commands.calibrate", "calibrate a user (live window or --replay FOLDER), validate, save the profile"),
    "profile": ("gazezoom.commands.profile", "list, show or delete calibration profiles"),
    "eval": ("gazezoom.commands.eval", "evaluate the gaze: on real media against a reference (--real DIR --reference DIR), "
                                        "on held-out renders (--synthetic N), or on a public dataset (--data)"),
    "export": ("gazezoom.commands.export", "write each trained variant (sampler + gaze net) as ONNX beside its weights, checked against torch"),
    "demo": ("gazezoom.commands.demo", "the live desktop app: webcam or video, overlays, zoomed eyes, gaze on screen, calibration"),
    "inspect": ("gazezoom.commands.inspect", "debug picture of one frame: landmarks, eye regions, head pose, normalised eye patches"),
    "camera": ("gazezoom.commands.camera", "camera intrinsics: `camera calibrate` from chessboard images or video"),
    "process": ("gazezoom.commands.process", "gaze per frame of recorded videos/images into CSV/JSONL (+ annotated video); batch, resume"),
    "doctor": ("gazezoom.commands.doctor", "check models, MediaPipe, Qt and its system libraries, display and camera; say how to fix"),
    "synth": ("gazezoom.commands.synth", "contact sheet of synthetic training eyes with gaze arrows (eye width x gaze)"),
    "stream": ("gazezoom.commands.stream", "live gaze from a camera or video to Lab Streaming Layer (--lsl) and/or WebSocket clients (--websocket)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gazezoom",
        description="Webcam gaze tracking with a saliency-based zooming sampler (Learning to Zoom, ECCV 2018).",
    )
    parser.add_argument("--version", action="version", version=f"gazezoom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        p.add_argument("--verbose", action="store_true",
                       help="show the libraries' own log lines (MediaPipe, TensorFlow Lite, OpenCV), hidden by default")
        # Only the chosen command's module is imported (argparse needs its arguments to parse).
        if len(sys.argv) > 1 and name in sys.argv[1:2]:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser()  # placeholder for the type checker
    saved = sys.argv
    sys.argv = [saved[0] if saved else "gazezoom", *argv]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    finally:
        sys.argv = saved
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    if getattr(args, "verbose", False):
        from .logs import set_verbose

        set_verbose(True)
    terminated = []
    old_term = _on_sigterm(terminated)
    try:
        code = int(importlib.import_module(args._module).run(args) or 0)
    except GazezoomError as err:
        print(f"gazezoom {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:  # a read/write no command turned into a typed error: still one line, never a traceback
        from .errors import MediaError

        verb = "read" if isinstance(err, (FileNotFoundError, IsADirectoryError)) else "write"
        print(f"gazezoom {args.command}: error: cannot {verb} {err.filename or 'a file'}: {err.strerror or err}; "
              "check the path and its permissions", file=sys.stderr)
        return MediaError.exit_code
    except KeyboardInterrupt:
        print(f"gazezoom {args.command}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    if terminated:
        print(f"gazezoom {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 143
    return code


def _on_sigterm(seen: list):
    """SIGTERM (``kill``, a service manager) unwinds like Ctrl-C — files closed, ``--resume`` possible — and the
    command exits 143 instead of dying mid-write. Returns the previous handler (None off the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
