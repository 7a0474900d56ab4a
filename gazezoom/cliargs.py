"""Argument parsing shared by commands: the one ``AxB`` rule for every size-like option.

Frame and video sizes are ``WxH`` as cameras say them (:func:`parse_size`); tensor sizes are ``HxW`` as torch shapes
are, and a chessboard is ``COLUMNSxROWS`` — each parsed by :func:`parse_pair` with its own name and bounds
(docs/architecture.md, "Sizes on the command line"). :func:`argtype` turns a parser's
:class:`~gazezoom.errors.InputValueError` into argparse's error for ``type=`` (argparse then prints usage).

The option groups several commands share are defined here once: :func:`add_model_args` (``--weights``,
``--variant``, ``--gaze``, ``--backend``: which gaze model a pipeline loads) and :func:`add_threads_arg`
(``--threads``); a command passes only what differs (its default, a help text that says more).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from .errors import InputValueError

__all__ = ["parse_pair", "parse_size", "argtype", "add_model_args", "add_threads_arg", "selection_settings",
           "BACKEND_CHOICES"]

#: The gaze inference backends a command may name (``--backend``; :mod:`gazezoom.models.onnx_backend`).
BACKEND_CHOICES = ("auto", "torch", "onnx")


def parse_pair(text: str, *, name: str, form: str, example: str, minimum: int = 1,
               maximum: int | None = None) -> tuple[int, int]:
    """``"AxB"`` (``x`` or ``X``) → ``(A, B)`` in the order written; anything else is an :class:`InputValueError`
    naming ``name``, the ``form`` and an ``example``. Both numbers must lie in ``[minimum, maximum]``.

    >>> parse_pair("24X40", name="--patch", form="HEIGHTxWIDTH", example="24x40")
    (24, 40)
    """
    try:
        a, b = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise InputValueError(f"{name} must look like {form} (e.g. {example}), got {text!r}") from None
    if maximum is not None and (min(a, b) < minimum or max(a, b) > maximum):
        raise InputValueError(f"{name} must be between {minimum}x{minimum} and {maximum}x{maximum}, got {text!r}")
    if min(a, b) < minimum:
        raise InputValueError(f"{name} must be at least {minimum}x{minimum}, got {text!r}")
    return a, b


def parse_size(text: str) -> tuple[int, int]:
    """A frame size ``"1280x720"`` → ``(1280, 720)`` (width, height; 16 to 8192 each).

    >>> parse_size("1280x720")
    (1280, 720)
    """
    return parse_pair(text, name="size", form="WIDTHxHEIGHT", example="1280x720", minimum=16, maximum=8192)


def argtype(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` for argparse's ``type=``: its :class:`InputValueError` becomes ``argparse.ArgumentTypeError``."""

    def convert(text: str):
        try:
            return parse(text)
        except InputValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def add_model_args(parser, *, gaze: bool = True, backend: bool = True, gaze_default: str | None = None,
                   backend_choices: Sequence[str] | None = BACKEND_CHOICES, weights_metavar: str | None = None,
                   weights_help: str = "gaze weights file or folder (default weights/)",
                   variant_help: str = "gaze model variant in the weights folder (default sampler)",
                   gaze_help: str | None = None,
                   backend_help: str = "gaze inference backend (default auto: ONNX Runtime when an exported model "
                                       "is beside the weights)") -> None:
    """``--weights`` (default ``weights/``), ``--variant`` (default ``sampler``), ``--gaze STAGE`` (default
    ``gaze_default``; help :data:`~gazezoom.models.stages.GAZE_HELP` unless ``gaze_help``) and ``--backend``
    (``backend_choices``; ``None`` leaves the name to :func:`~gazezoom.models.onnx_backend.resolve_backend`, whose
    error lists the valid ones) on ``parser`` (a parser or an argument group): what
    :func:`gazezoom.build.load_gaze` / :func:`gazezoom.build.build_pipeline` read. ``gaze`` / ``backend`` False
    leave those two out."""
    from .fileio import WEIGHTS_DIR

    parser.add_argument("--weights", default=str(WEIGHTS_DIR), metavar=weights_metavar, help=weights_help)
    parser.add_argument("--variant", default="sampler", help=variant_help)
    if backend and backend_choices is None:  # the order `gazezoom process --help` has always shown
        parser.add_argument("--backend", default=None, help=backend_help)
    if gaze:
        if gaze_help is None:
            from .models.stages import GAZE_HELP

            gaze_help = GAZE_HELP
        parser.add_argument("--gaze", default=gaze_default, metavar="STAGE", help=gaze_help)
    if backend and backend_choices is not None:
        parser.add_argument("--backend", choices=list(backend_choices), help=backend_help)


def add_threads_arg(parser, *, default: int | None = 0, help: str | None = None) -> None:
    """``--threads N`` (an int, ``default`` per command: 0 or None leave torch's own choice). ``help`` defaults to
    ``"torch CPU threads (default …)"`` written from ``default``."""
    if help is None:
        help = ("torch CPU threads (default: torch's choice)" if not default
                else f"torch CPU threads (default {default})")
    parser.add_argument("--threads", type=int, default=default, help=help)


def selection_settings(args: argparse.Namespace):
    """The calibration :class:`~gazezoom.calibration.procedure.SelectionSettings` that ``gazezoom calibrate``'s
    options ask for (dwell times stretched past a long ``--settle-s``): one mapping for the replay and the live loop."""
    from .calibration.procedure import SelectionSettings as S

    return S(settle_s=args.settle_s, max_head_move_mm=args.max_head_move_mm,
             dwell_s=max(S.dwell_s, args.settle_s + 0.1), max_dwell_s=max(S.max_dwell_s, args.settle_s + 0.1),
             outlier_k=args.outlier_k if args.outlier_k > 0 else None)
