"""The real-media scoreboard of fusion variants that are not registered stages (docs/zoom.md, "What was tried").

    python scripts/fusion_variants_scoreboard.py [MEDIA_DIR REFERENCE_DIR] [-- [--more] more `gazezoom eval` options]

Registers, for this run only, ``fusion_v2`` (the shipped fusion before stage v3: the two eyes' common vertical from
MediaPipe's iris through the eyeball model, not from its blendshapes), ``fusion_pair50`` / ``fusion_pair100`` (that
plus the pair term: ``PupilGaze(..., pair_weight=0.5 / 1.0)``, the two eyes' vertical *difference* partly the learned
locator's) and ``fusion_v50`` (learned ½ + MediaPipe ½ on both axes) — all without the blendshape common vertical,
which moves only the two eyes' mean pitch — then runs ``gazezoom eval --real`` with the geometric floor,
the shipped fusion and the direct sampler@P network beside them and prints the table. With ``-- --weights DIR``
the stages read that folder's ``pupil_sampler_P`` (link a candidate there); when it is a landmark locator
(``train --output landmarks``) ``pupil_limbus`` / ``fusion_limbus`` read the centre of its limbus points too. ``--more``
adds ``geometric_centre_point`` / ``fusion_centre_point`` (MediaPipe's separate iris centre point, as before gaze stage
v2), ``fusion_tta`` / ``pupil_tta`` (the locator averaged over ±0.06 region shifts) and ``geometric_map15`` /
``fusion_map15`` (the eyeball model as a MAP fit with a 15° prior on the eye-in-head rotation; needs scipy). The reference is for
evaluation only (../shared/reference/README.md).
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from io import StringIO

from gazezoom.cli import main
from gazezoom.fileio import REPO_ROOT
from gazezoom.models.stages import GAZE_STAGES, StageSpec, _predictor
from gazezoom.realeval import format_scoreboard

VARIANTS = {"fusion_v2": ((0.5, 0.0), 0.0), "fusion_pair50": ((0.5, 0.0), 0.5), "fusion_pair100": ((0.5, 0.0), 1.0), "fusion_v50": ((0.5, 0.5), 0.0)}
#: With a landmark locator (``train --output landmarks``): the same stages reading the centre of its 8 limbus points
#: (the iris rim, amodal) instead of its pupil landmark.
LIMBUS_VARIANTS = {"pupil_limbus": ((1.0, 1.0), 0.0), "fusion_limbus": ((0.5, 0.0), 0.0)}


class _LimbusCentre:
    """A landmark locator whose pupil reading is replaced by the mean of its limbus points."""

    def __init__(self, predictor):
        self.predictor, self.model, self.variant = predictor, predictor.model, predictor.variant
        self.backend = predictor.backend

    def predict_regions(self, frame, regions, keep_samples=True):
        import dataclasses

        r = self.predictor.predict_regions(frame, regions, keep_samples=keep_samples)
        rim = r.pitchyaw[:, 2:18].reshape(-1, 8, 2).mean(1)
        return dataclasses.replace(r, pitchyaw=rim)


def _stage(learned_weight, pair_weight, limbus=False, aperture=False):
    def build(path, backend=None, device="cpu"):
        from gazezoom.models.geometric import PupilGaze

        pred = _predictor(path, backend, device)
        stage = PupilGaze(_LimbusCentre(pred) if limbus else pred, learned_weight, pair_weight=pair_weight)
        return _Aperture(stage) if aperture else stage

    return build


class _Aperture:
    """A stage that reads frames painted grey outside MediaPipe's eye apertures (a ``synthetic_aperture`` locator)."""

    def __init__(self, stage):
        self.stage, self.name, self.variant = stage, stage.name, stage.variant

    def predict(self, frame, face, *, display=True):
        from gazezoom.face.eyes import mask_apertures

        return self.stage.predict(mask_apertures(frame, face.landmarks_px), face, display=display)


#: With a locator trained on ``synthetic_aperture``: the pupil and fusion stages on frames masked the same way.
APERTURE_VARIANTS = {"pupil_aperture": ((1.0, 1.0), 0.0), "fusion_aperture": ((0.5, 0.0), 0.0),
                     "fusion_aperture_v50": ((0.5, 0.5), 0.0)}


class _CentrePoint:
    """A stage that reads MediaPipe's separate iris centre point, as every stage did before gaze stage v2, instead of
    the centre of its rim points (``face.eyes.iris_centre_px``): the rim points are moved onto the centre point."""

    def __init__(self, stage):
        self.stage, self.name, self.variant = stage, stage.name, stage.variant

    def predict(self, frame, face, *, display=True):
        import dataclasses

        import numpy as np

        from gazezoom.face.eyes import EYE_LANDMARKS

        L = np.array(face.landmarks_px, float, copy=True)
        for side in ("left", "right"):
            i = EYE_LANDMARKS[side]["iris"]
            L[i + 1 : i + 5, :2] += L[i, :2] - L[i + 1 : i + 5, :2].mean(0)
        return self.stage.predict(frame, dataclasses.replace(face, landmarks_px=L), display=display)


class _Averaged:
    """Test-time augmentation: the locator's reading averaged over the region shifted along u and v by ±``d`` region
    units (the readings mapped back to the unshifted region first)."""

    def __init__(self, predictor, d: float = 0.06):
        self.predictor, self.model, self.variant = predictor, predictor.model, predictor.variant
        self.backend = predictor.backend
        self.shifts = [(0.0, 0.0), (d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)]

    def predict_regions(self, frame, regions, keep_samples=True):
        import dataclasses

        import numpy as np

        from gazezoom.face.eyes import frame_to_region
        from gazezoom.geometry import apply_homography

        H0 = np.stack([np.asarray(r.region_to_frame, float) for r in regions])
        reads = []
        for du, dv in self.shifts:
            H = H0 @ np.array([[1.0, 0.0, du], [0.0, 1.0, dv], [0.0, 0.0, 1.0]])
            uv = self.predictor.predict_regions(frame, H, keep_samples=False).pitchyaw[:, :2]
            reads.append([frame_to_region(H0[i], apply_homography(H[i], uv[i][None]))[0] for i in range(len(H0))])
        r = self.predictor.predict_regions(frame, H0, keep_samples=keep_samples)
        return dataclasses.replace(r, pitchyaw=np.mean(reads, 0))


def _map_fit(sigma_theta_deg: float, sigma_px: float, focal: list[float]):
    """``geometric.eyeball_fit`` as a MAP fit: the eye's rotation (pitch, yaw in head axes) that best explains the
    iris's image direction (Gaussian, ``sigma_px`` at focal length ``focal[0]``) under a Gaussian prior on the
    eye-in-head rotation (``sigma_theta_deg``, centred on the head's forward direction). Needs scipy."""
    import numpy as np
    from scipy.optimize import least_squares

    from gazezoom.models import geometric as G

    def fit(iris_ray, corner_mid_mm, head_R, side):
        R = np.asarray(head_R, float)
        off = G.EYEBALL_OFFSET_MM.copy()
        if side == "right":
            off[0] = -off[0]
        E = np.asarray(corner_mid_mm, float) + R @ off
        d_obs = np.asarray(iris_ray, float) / np.linalg.norm(iris_ray)
        o0 = G.ray_sphere_near(d_obs, E, G.IRIS_SPHERE_MM) - E  # start from the bare intersection
        h0 = R.T @ (o0 / np.linalg.norm(o0))  # head axes, forward = -z
        start = np.array([np.arcsin(np.clip(-h0[1], -1, 1)), np.arctan2(h0[0], -h0[2])])

        def axis(th):
            return R @ np.array([np.cos(th[0]) * np.sin(th[1]), -np.sin(th[0]), -np.cos(th[0]) * np.cos(th[1])])

        def residuals(th):
            P = E + G.IRIS_SPHERE_MM * axis(th)
            image = focal[0] * (P / np.linalg.norm(P) - d_obs)[:2] / max(d_obs[2], 1e-6)
            return np.concatenate([image / sigma_px, th / np.radians(sigma_theta_deg)])

        o = axis(least_squares(residuals, start, method="lm").x)
        return R @ G._with_kappa(R.T @ o, side), max(0.0, float(-d_obs @ o)) ** 2

    return fit


class _MapFit:
    """A stage whose eyeball model is :func:`_map_fit` (the default camera: focal length = the frame's long side)."""

    def __init__(self, stage, sigma_theta_deg: float, sigma_px: float = 1.0):
        self.stage, self.name, self.variant = stage, stage.name, stage.variant
        self.focal = [1000.0]
        self.fit = _map_fit(sigma_theta_deg, sigma_px, self.focal)

    def predict(self, frame, face, *, display=True):
        from gazezoom.models import geometric as G

        self.focal[0] = float(max(frame.shape[:2]))
        bare, G.eyeball_fit = G.eyeball_fit, self.fit
        try:
            return self.stage.predict(frame, face, display=display)
        finally:
            G.eyeball_fit = bare


def _more_stages() -> list[str]:
    """``--more``: the stages as before gaze stage v2 (MediaPipe's centre point), the test-time-augmented locator and
    the MAP eyeball fit."""
    from gazezoom.models.stages import build_gaze_stage

    more = {
        "geometric_centre_point": lambda path=None, backend=None, device="cpu": _CentrePoint(build_gaze_stage("geometric")),
        "fusion_centre_point": lambda path, backend=None, device="cpu": _CentrePoint(_stage((0.5, 0.0), 0.0)(path, backend, device)),
        "fusion_tta": lambda path, backend=None, device="cpu": _tta_stage((0.5, 0.0), path, backend, device),
        "pupil_tta": lambda path, backend=None, device="cpu": _tta_stage((1.0, 1.0), path, backend, device),
        "geometric_map15": lambda path=None, backend=None, device="cpu": _MapFit(build_gaze_stage("geometric"), 15.0),
        "fusion_map15": lambda path, backend=None, device="cpu": _MapFit(_stage((0.5, 0.0), 0.0)(path, backend, device),
                                                                         15.0),
    }
    for name, build in more.items():
        if name not in GAZE_STAGES:
            GAZE_STAGES.register(name, StageSpec(build, None if name.startswith("geometric") else "pupil", "experiment"))
    return list(more)


def _tta_stage(learned_weight, path, backend, device):
    from gazezoom.models.geometric import PupilGaze

    return PupilGaze(_Averaged(_predictor(path, backend, device)), learned_weight)


def run(media: str, reference: str, extra: list[str]) -> int:
    names = list(VARIANTS)
    for name, (lw, pw) in VARIANTS.items():
        if name not in GAZE_STAGES:
            GAZE_STAGES.register(name, StageSpec(_stage(lw, pw), "pupil", "experiment"))
    if "--more" in extra:
        extra = [a for a in extra if a != "--more"]
        names += _more_stages()
    weights = extra[extra.index("--weights") + 1] if "--weights" in extra else str(REPO_ROOT / "weights")
    from gazezoom.models.stages import stage_weights_file, weights_output

    if weights_output(stage_weights_file("pupil", weights)) == "landmarks":
        for name, (lw, pw) in LIMBUS_VARIANTS.items():
            if name not in GAZE_STAGES:
                GAZE_STAGES.register(name, StageSpec(_stage(lw, pw, limbus=True), "pupil", "experiment"))
        names += list(LIMBUS_VARIANTS)
    from gazezoom.models.checkpoint import read_sidecar

    side = read_sidecar(stage_weights_file("pupil", weights).with_suffix(".json"))
    if side.get("training", {}).get("dataset", "").startswith("synthetic_aperture"):
        for name, (lw, pw) in APERTURE_VARIANTS.items():
            if name not in GAZE_STAGES:
                GAZE_STAGES.register(name, StageSpec(_stage(lw, pw, aperture=True), "pupil", "experiment"))
        names += list(APERTURE_VARIANTS)
    out = StringIO()
    with redirect_stdout(out):
        code = main(["eval", "--real", media, "--reference", reference, "--variants", "sampler@P", "--baselines",
                     "geometric", "pupil", "fusion", *names, "--json", *extra])
    if code == 0:
        print(format_scoreboard(json.loads(out.getvalue())))
    return code


if __name__ == "__main__":
    args = sys.argv[1:]
    extra = args[args.index("--") + 1:] if "--" in args else []
    pos = args[: args.index("--")] if "--" in args else args
    shared = REPO_ROOT.parent / "shared"
    media, ref = (pos + [str(shared / "media"), str(shared / "reference")][len(pos):])[:2]
    sys.exit(run(media, ref, extra))
