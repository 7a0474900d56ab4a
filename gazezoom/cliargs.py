"""Argument parsing shared by commands: the one ``AxB`` rule for every size-like option.

Frame and video sizes are ``WxH`` as cameras say them (:func:`parse_size`); tensor sizes are ``HxW`` as torch shapes
are, and a chessboard is ``COLUMNSxROWS`` — each parsed by :func:`parse_pair` with its own name and bounds
(docs/architecture.md, "Sizes on the command line"). :func:`argtype` turns a parser's
:class:`~gazezoom.errors.InputValueError` into argparse's error for ``type=`` (argparse then prints usage).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .errors import InputValueError

__all__ = ["parse_pair", "parse_size", "argtype"]


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
