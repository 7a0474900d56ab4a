"""Gaze stages by name: what ``--gaze NAME`` picks (``process``, ``demo``, ``eval --real``).

A gaze stage is any object with ``predict(frame_bgr, face) -> GazeResult`` (:class:`gazezoom.pipeline.GazeStage`);
each :class:`~gazezoom.results.EyeGaze` of the result carries that eye's own reading (``vector_cam``) before the two
are fused. Builders are registered in :data:`GAZE_STAGES`:

==============  ==================================================================================================
``network``     the learned model read through the saliency sampler (:class:`~.predictor.GazePredictor`, weights
                from ``weights``/``variant``)
``geometric``   no learned weights: MediaPipe's iris centre, eye corners and lids plus the head pose through an
                eyeball model (:class:`~.geometric.GeometricGaze`) — the floor the network must beat on real eyes
==============  ==================================================================================================

>>> GAZE_STAGES.names()
['geometric', 'network']
>>> build_gaze_stage("geometric").name
'geometric'
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..fileio import WEIGHTS_DIR
from ..registry import Registry

__all__ = ["GAZE_STAGES", "DEFAULT_GAZE", "STAGE_IDENTITIES", "build_gaze_stage", "stage_identity"]

#: name → builder ``(**options) -> gaze stage``; options a builder does not use are ignored.
GAZE_STAGES: Registry[Callable[..., object]] = Registry("gaze stage")

#: The stage commands use when ``--gaze`` is not given.
DEFAULT_GAZE = "network"


@GAZE_STAGES.register("network")
def _network(weights: str | Path = WEIGHTS_DIR, variant: str = "sampler", backend: str | None = None,
             device: str = "cpu", **_):
    from .predictor import GazePredictor

    return GazePredictor.from_weights(weights, variant=variant, device=device, backend=backend)


@GAZE_STAGES.register("geometric")
def _geometric(**_):
    from .geometric import GeometricGaze

    return GeometricGaze()


@GAZE_STAGES.register("pupil")
def _pupil(weights: str | Path = WEIGHTS_DIR, variant: str = "sampler", backend: str | None = None,
           device: str = "cpu", **_):
    from .checkpoint import weights_path
    from .geometric import PupilGaze
    from .predictor import GazePredictor

    p = Path(weights)
    path = p if p.is_file() else weights_path(p, variant).with_name(weights_path(p, variant).name.replace("gaze_", "pupil_", 1))
    return PupilGaze(GazePredictor.from_weights(path, device=device, backend=backend))


#: What a profile or table sidecar records as the gaze model of a stage without weights files (bump the version
#: when the stage's output changes, so profiles fitted with an older one are refused).
STAGE_IDENTITIES = {"geometric": "gaze_geometric@v1"}


def stage_identity(name: str) -> str:
    """The model identity of a stage without weights (``"geometric"`` → ``"gaze_geometric@v1"``); the ``network``
    stage's identity comes from its weights file (:func:`gazezoom.calibration.profile.gaze_model_identity`)."""
    GAZE_STAGES.get(name)
    if name not in STAGE_IDENTITIES:
        from ..errors import InputValueError

        raise InputValueError(f"gaze stage {name!r} reads weights; its identity comes from its weights file")
    return STAGE_IDENTITIES[name]


def build_gaze_stage(name: str = DEFAULT_GAZE, **options):
    """The gaze stage registered as ``name`` (unknown names list the valid ones), built with ``options``
    (``weights``, ``variant``, ``backend``, ``device`` for ``network``)."""
    return GAZE_STAGES.get(name)(**options)
