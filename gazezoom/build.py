"""The one place that wires the stages into a :class:`~gazezoom.pipeline.Pipeline` (segment-anything's ``build_sam``).

Every command and the app build their pipeline here, so a gaze stage, its weights, its profile identity and the
calibration profile are resolved the same way everywhere:

    with build_pipeline(gaze=None, weights="weights", profile="alice", mode="video") as pipe:
        result = pipe.process(frame)

``load_gaze`` is the gaze half alone (the app loads it in its worker thread and reports the note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import InputValueError
from .fileio import WEIGHTS_DIR

__all__ = ["GazeSetup", "load_gaze", "build_pipeline"]


@dataclass(frozen=True)
class GazeSetup:
    """A loaded gaze stage: ``stage`` (``predict(frame_bgr, face) -> GazeResult``; None: none could be loaded, the
    ``note`` says why, and a pipeline built from it runs the face front-end alone), its registry ``name``, the
    ``identity`` a calibration profile records, the ``weights`` file it read (None without), a one-line ``note``."""

    stage: object | None
    name: str
    identity: str | None
    weights: Path | None
    note: str


def load_gaze(gaze: str | None = None, *, weights: str | Path = WEIGHTS_DIR, variant: str = "sampler",
              backend: str | None = None, device: str = "cpu") -> GazeSetup:
    """The gaze stage ``gaze`` (None: what ``weights`` holds, :func:`gazezoom.models.stages.resolve_stage`).
    Raises the typed errors of the stage registry and the weights loader (missing or wrong weights)."""
    from .models.stages import build_gaze_stage, resolve_stage, stage_identity, stage_weights_file

    name = resolve_stage(gaze, weights)
    path = stage_weights_file(name, weights, variant)
    stage = build_gaze_stage(name, weights=weights, variant=variant, backend=backend, device=device)
    identity = stage_identity(name, weights, variant)
    if path is None:
        note = f"gaze: {name} (no learned weights)"
    else:
        b = getattr(stage, "backend", None)
        note = f"gaze: {name}, model {getattr(stage, 'variant', '?')} from {path}" + (f" ({b})" if isinstance(b, str) else "")
    return GazeSetup(stage, name, identity, path, note)


class _Display:
    """A gaze stage with ``display`` fixed: the sampler's patches and grids kept only when something will draw them."""

    def __init__(self, stage, display: bool):
        self.predictor, self.display = stage, display

    def predict(self, frame_bgr, face):
        return self.predictor.predict(frame_bgr, face, display=self.display)


def build_pipeline(
    *,
    gaze: str | GazeSetup | None | bool = None,
    weights: str | Path = WEIGHTS_DIR,
    variant: str = "sampler",
    backend: str | None = None,
    device: str = "cpu",
    display: bool = True,
    profile: str | Path | None = None,
    profiles_dir: str | Path | None = None,
    calibration: Callable | None = None,
    camera=None,
    mode: str = "video",
    landmarker: str = "mediapipe",
    **frontend_options,
):
    """A :class:`~gazezoom.pipeline.Pipeline` with its stages resolved.

    ``gaze``: a stage name, None (what ``weights`` holds), a loaded :class:`GazeSetup`, a stage object, or False
    (front-end only).
    ``display``: whether the gaze stage makes the patches and grids for drawing. ``profile``: a user name or
    profile file, loaded from ``profiles_dir`` and checked against the gaze stage's identity (``calibration``: an
    already-built ``(FrameResult) -> ScreenPoint`` instead). ``camera``: a :class:`~gazezoom.face.camera.Camera`, a
    camera file or None. The rest goes to the front-end (``tiles``, ``num_faces`` …).
    """
    from .pipeline import Pipeline

    setup = None
    if isinstance(gaze, GazeSetup):
        setup = gaze if gaze.stage is not None else None
    elif callable(getattr(gaze, "predict", None)):  # a stage object built elsewhere (tests, embedding)
        setup = GazeSetup(gaze, str(getattr(gaze, "name", "custom")), "", None, "gaze: supplied by the caller")
    elif gaze is not False:
        setup = load_gaze(gaze or None, weights=weights, variant=variant, backend=backend, device=device)
    if profile is not None:
        if calibration is not None:
            raise InputValueError("give a profile or a calibration callable, not both")
        if setup is None:
            raise InputValueError("a calibration profile needs a gaze stage; drop --no-gaze")
        from .calibration.profile import load_profile

        calibration = load_profile(profile, profiles_dir, gaze_model=setup.identity).mapper().map_result
    stage = None if setup is None else _Display(setup.stage, display)
    return Pipeline(landmarker, camera=camera, mode=mode, gaze=stage, calibration=calibration, **frontend_options)
