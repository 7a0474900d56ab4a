"""The app's start-up settings and how they become a :class:`~gazezoom.pipeline.Pipeline` (no Qt).

A missing gaze-weights file is not a crash: the app runs the face front-end alone and says so (``GazeSetup.note``),
and the calibration actions explain that they need gaze weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..build import GazeSetup
from ..errors import GazezoomError
from ..fileio import WEIGHTS_DIR
from .sources import SourceSpec

__all__ = ["AppConfig", "GazeSetup", "load_gaze", "pipeline_factory"]


@dataclass
class AppConfig:
    """Everything the window needs at start. ``gaze_factory`` (tests, embedding) replaces loading ``weights``."""

    source: SourceSpec | None = None
    weights: str = str(WEIGHTS_DIR)
    variant: str = "sampler"
    gaze: str | None = None  # gaze stage (gazezoom.models.stages); None: what ``weights`` holds (resolve_stage)
    backend: str | None = None  # gaze inference backend (torch / onnx / auto); None = the predictor's default
    landmarker: str = "mediapipe"
    camera_file: str | None = None
    mirror: bool = False  # mirror averaging (Pipeline(mirror=True)): each frame also read flipped, gaze averaged
    profile: str | None = None
    profiles_dir: str | None = None
    min_cutoff: float | None = None
    beta: float | None = None
    out_dir: str = "."
    max_frames: int | None = None
    display_width: int = 1280
    retry_s: float = 2.0
    settings_file: str | None = None  # an INI file instead of the per-user QSettings store
    gaze_factory: Callable[[], object] | None = field(default=None, repr=False)


def load_gaze(config: AppConfig) -> GazeSetup:
    """Load the gaze predictor named by ``config`` (never raises for a missing file: the note says what to do)."""
    if config.gaze_factory is not None:
        predictor = config.gaze_factory()
        variant = str(getattr(predictor, "variant", "custom"))
        slug = "".join(c if c.isalnum() or c in "_-." else "_" for c in variant)
        # not a weights file, so no hash: profiles fitted with it say so and never match shipped weights
        return GazeSetup(predictor, str(getattr(predictor, "name", variant)), f"gaze_{slug}@in-memory", None,
                         f"gaze model: {variant} (supplied by the caller)")
    from ..build import load_gaze as load_stage  # the one loader every command uses

    try:
        return load_stage(config.gaze, weights=config.weights, variant=config.variant, backend=config.backend)
    except GazezoomError as err:
        return GazeSetup(None, "none", None, None, f"no gaze model ({err}); showing the face front-end only")


def pipeline_factory(config: AppConfig, on_gaze: Callable[[GazeSetup], None] | None = None) -> Callable[..., object]:
    """``factory(calibration=callable) -> Pipeline`` for :class:`~gazezoom.live.engine.Engine`.

    The engine calls it in its processing thread, so torch, the gaze weights and MediaPipe load off the UI thread;
    ``on_gaze`` is told which gaze stage was loaded (or why none was).
    """

    def make(calibration=None):
        from ..build import build_pipeline

        gaze = load_gaze(config)
        if on_gaze is not None:
            on_gaze(gaze)
        return build_pipeline(gaze=gaze, calibration=calibration,
                              landmarker=config.landmarker, camera=config.camera_file, mode="video",
                              mirror=config.mirror)

    return make
