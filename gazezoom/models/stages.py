"""Gaze stages by name: what ``--gaze NAME`` picks (``process``, ``demo``, ``calibrate``, ``eval --real``).

A gaze stage is any object with ``predict(frame_bgr, face) -> GazeResult`` (:class:`gazezoom.pipeline.GazeStage`);
each :class:`~gazezoom.results.EyeGaze` of the result carries that eye's own reading (``vector_cam``) before the two
are fused. Stages are registered in :data:`GAZE_STAGES` as :class:`StageSpec`:

==============  ==================================================================================================
``fusion``      (default) the saliency sampler zooms each eye of the full-resolution frame; a network trained on
                rendered eyes locates the pupil in the zoomed patch; back in the frame ("unzoom") it is fused with
                MediaPipe's iris centre — the learned reading for the horizontal, MediaPipe's for the vertical,
                where lids hide the iris — and the eyeball model turns it into gaze; the two eyes' *common*
                vertical is then read by MediaPipe's real-trained blendshape model (lids with the iris), their
                difference stays each eye's own (``pupil_<variant>`` weights)
``pupil``       the same with the learned pupil alone
``network``     the direct gaze network read through the saliency sampler (``gaze_<variant>`` weights)
``geometric``   no learned weights: MediaPipe's iris centre, eye corners and lids plus the head pose through the
                eyeball model — the floor the learned stages must beat on real eyes
==============  ==================================================================================================

Why ``fusion`` is the default, with the measurements: docs/zoom.md, "Gaze that reads real eyes".

>>> sorted(GAZE_STAGES.names())
['fusion', 'geometric', 'network', 'pupil']
>>> build_gaze_stage("geometric").name
'geometric'
>>> stage_weights_file("fusion", "weights", "sampler").name
'pupil_sampler_P.safetensors'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..fileio import WEIGHTS_DIR
from ..registry import Registry

__all__ = ["StageSpec", "GAZE_STAGES", "DEFAULT_GAZE", "GAZE_HELP", "FUSION_LEARNED_WEIGHT", "build_gaze_stage",
           "resolve_stage", "weights_output", "stage_weights_file", "stage_identity"]


@dataclass(frozen=True)
class StageSpec:
    """A gaze stage: ``build(weights_file | None, backend, device) -> stage``; ``weights_prefix`` names its weights
    files (``<prefix>_<variant>.safetensors``; None: it has none); ``version`` enters the profile identity (bump it
    when the stage's output changes, so profiles fitted with an older one are refused)."""

    build: Callable[..., object]
    weights_prefix: str | None
    version: str


#: name → :class:`StageSpec`.
GAZE_STAGES: Registry[StageSpec] = Registry("gaze stage")

#: The stage commands use when ``--gaze`` is not given.
DEFAULT_GAZE = "fusion"

#: ``--help`` of every command's ``--gaze`` option.
GAZE_HELP = ("gaze stage: fusion (default for a weights folder; a --weights FILE runs what it was trained for: "
             "network or fusion) (the sampler's learned pupil fused with MediaPipe's iris, through an eyeball "
             "model; the eyes' common vertical from MediaPipe's blendshapes), pupil (the learned pupil alone), "
             "network (the direct gaze network), geometric (no learned "
             "weights: MediaPipe's iris and eye corners through the eyeball model). Learned stages read --weights "
             "(pupil_<variant> / gaze_<variant>); measured on real faces in docs/zoom.md")

#: ``fusion``: weight of the learned pupil reading along the region's (u, v) axes (MediaPipe's gets the rest).
FUSION_LEARNED_WEIGHT = (0.5, 0.0)


def _predictor(path, backend, device):
    from .predictor import GazePredictor

    return GazePredictor.from_weights(path, device=device, backend=backend)


def _pupil_stage(learned_weight, common_pitch=None):
    def build(path, backend=None, device="cpu"):
        from .geometric import PupilGaze

        return PupilGaze(_predictor(path, backend, device), learned_weight, common_pitch=common_pitch)

    return build


def _geometric(path=None, backend=None, device="cpu"):
    from .geometric import GeometricGaze

    return GeometricGaze()


GAZE_STAGES.register("network", StageSpec(_predictor, "gaze", "v1"))
# v2: MediaPipe's iris centre is the centre of its rim points (face.eyes.iris_centre_px), not its centre point
GAZE_STAGES.register("geometric", StageSpec(_geometric, None, "v2"))
GAZE_STAGES.register("pupil", StageSpec(_pupil_stage((1.0, 1.0)), "pupil", "v1"))
# v3: the two eyes' common vertical from MediaPipe's blendshapes (geometric.blendshape_pitch)
# v4: that common vertical and each eye's offset from it weighted by the eyes' shares in the fused gaze
GAZE_STAGES.register("fusion", StageSpec(_pupil_stage(FUSION_LEARNED_WEIGHT, common_pitch="blendshapes"), "pupil",
                                         "v4"))


def resolve_stage(name: str | None, weights: str | Path = WEIGHTS_DIR) -> str:
    """The stage to run: ``name`` when given; else for a weights *file* what it was trained for (a gaze network →
    ``network``, a pupil locator → :data:`DEFAULT_GAZE`), for a folder :data:`DEFAULT_GAZE`."""
    if name:
        GAZE_STAGES.get(name)  # an unknown name lists the valid ones
        return name
    p = Path(weights)
    if p.suffix in (".safetensors", ".json"):
        return "network" if weights_output(p) == "gaze" else DEFAULT_GAZE
    return DEFAULT_GAZE


def weights_output(weights_file: str | Path) -> str:
    """What a weights file's network was trained to predict (``ModelConfig.output``: ``"gaze"`` or ``"pupil"``),
    from its sidecar; ``"gaze"`` when there is none (the loader then says what is missing)."""
    js = Path(weights_file).with_suffix(".json")
    if not js.is_file():
        return "gaze"
    from .checkpoint import read_sidecar

    return read_sidecar(js).get("config", {}).get("output", "gaze")


def stage_weights_file(name: str, weights: str | Path = WEIGHTS_DIR, variant: str = "sampler") -> Path | None:
    """The weights file stage ``name`` reads: ``weights`` itself when it is a file, else
    ``<weights>/<prefix>_<variant slug>.safetensors``; None for a stage without weights."""
    from .checkpoint import weights_path

    spec = GAZE_STAGES.get(name)
    if spec.weights_prefix is None:
        return None
    p = Path(weights)
    if p.is_file() or p.suffix == ".safetensors":
        return p
    f = weights_path(p, variant)
    return f.with_name(spec.weights_prefix + f.name[len("gaze"):])


def stage_identity(name: str, weights: str | Path = WEIGHTS_DIR, variant: str = "sampler") -> str:
    """What a profile and a table's sidecar record as the gaze model: ``"<weights stem>@<sha256 prefix>"`` for the
    ``network`` stage (as before stages existed), ``"<name>@<version>[:<weights identity>]"`` for the others."""
    from ..fileio import gaze_model_identity

    spec = GAZE_STAGES.get(name)
    f = stage_weights_file(name, weights, variant)
    if name == "network":
        return gaze_model_identity(f)
    return f"gaze_{name}@{spec.version}" + ("" if f is None else ":" + gaze_model_identity(f))


def build_gaze_stage(name: str = DEFAULT_GAZE, *, weights: str | Path = WEIGHTS_DIR, variant: str = "sampler",
                     backend: str | None = None, device: str = "cpu", **_):
    """The gaze stage registered as ``name`` (unknown names list the valid ones) with its weights from ``weights``
    (a folder or a file) and ``variant``; ``backend`` (torch / onnx / auto) and ``device`` for learned stages."""
    spec = GAZE_STAGES.get(name)
    path = stage_weights_file(name, weights, variant)
    if path is not None and not path.is_file():
        from ..errors import ModelFileError

        raise ModelFileError(f"gaze stage {name!r} needs weights {path}, which do not exist; pass --weights, or "
                             f"train them (gazezoom train{' --output pupil' if spec.weights_prefix == 'pupil' else ''})")
    return spec.build(path, backend=backend, device=device)
