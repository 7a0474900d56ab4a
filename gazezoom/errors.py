"""The gazezoom error family.

Every error a user can trigger derives from :class:`GazezoomError` and says what was wrong and what to do.
The CLI prints ``str(err)`` and exits with ``err.exit_code``; the GUI shows the message as it is.
"""

from __future__ import annotations

__all__ = [
    "GazezoomError",
    "ShapeError",
    "InputValueError",
    "UnknownNameError",
    "ModelFileError",
    "WeightsMismatchError",
    "MediaError",
    "CameraError",
    "NoFaceError",
    "UnreadableEyesError",
    "ProfileError",
    "CalibrationError",
    "NotEnoughDataError",
    "PoorFitError",
    "NotFittedError",
    "StateError",
]


class GazezoomError(Exception):
    """Base class of all gazezoom errors. ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class ShapeError(GazezoomError, ValueError):
    """A tensor or array has the wrong rank or size. The message shows expected and actual."""

    exit_code = 2

    def __init__(self, name: str, expected: str, actual: object):
        self.name, self.expected, self.actual = name, expected, actual
        super().__init__(f"{name}: expected shape {expected}, got {tuple(actual) if not isinstance(actual, str) else actual}")


class InputValueError(GazezoomError, ValueError):
    """A value is outside what the function accepts (negative saliency, empty region, bad option …)."""

    exit_code = 2


class UnknownNameError(GazezoomError, KeyError):
    """A registry lookup failed; the message lists the valid names."""

    exit_code = 2

    def __init__(self, kind: str, name: str, valid):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class ModelFileError(GazezoomError, FileNotFoundError):
    """A weights or model file is missing, unreadable or corrupt."""

    exit_code = 3


class WeightsMismatchError(GazezoomError):
    """A checkpoint does not fit the model or settings it is loaded into."""

    exit_code = 3


class MediaError(GazezoomError):
    """A video or image could not be opened, read or written."""

    exit_code = 4


class CameraError(MediaError):
    """No camera at that index, or the camera stopped delivering frames."""

    exit_code = 5


class NoFaceError(GazezoomError):
    """A call needed a face and the frame has none."""

    exit_code = 6


class UnreadableEyesError(NoFaceError):
    """A face was found but no gaze can be read from its eyes: the landmarks put every open eye's iris where no
    eyeball could show it (outside the eyeball's silhouette seen from the camera, or a gaze pointing away from the
    camera) — sunglasses, a hand over the eyes, or a failed landmark fit. The pipeline reports such a face without
    gaze."""


class ProfileError(GazezoomError):
    """A calibration profile is missing, malformed, of a foreign version or for another gaze model."""

    exit_code = 7


class CalibrationError(GazezoomError):
    """Calibration could not produce a usable mapping."""

    exit_code = 8


class NotEnoughDataError(CalibrationError):
    """Too few usable samples (or targets) to fit."""


class PoorFitError(CalibrationError):
    """The fit is worse than the acceptance threshold on validation points."""


class NotFittedError(CalibrationError):
    """``predict`` was called before ``fit``."""


class StateError(GazezoomError, RuntimeError):
    """An object was used in the wrong state; the message says what to call first."""
