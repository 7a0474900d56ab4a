"""A simulated user for tests and figures: known eye/screen geometry → per-frame ``FrameResult`` s.

**Everything here is synthetic.** The simulation places a head in front of a :class:`ScreenGeometry`, lets both
eyes look at a target, and measures what a webcam gaze pipeline would report:

- each eye's *visual* axis points at the target; its *optical* axis differs by a per-eye angle kappa; the gaze
  network sees the optical axis with a per-user gain (appearance models shrink extreme angles) and Gaussian noise
  (``noise_deg`` per eye per frame plus ``shared_noise_deg`` common to both eyes);
- the head sways a few millimetres and degrees (sum of slow sinusoids); ``head_shift_mm`` moves it further, and the
  head turns ``head_turn`` of the way toward the screen centre as people do;
- blinks arrive at random (``blink_every_s`` on average, ``blink_s`` long); in a blink the face is marked ``blink``
  and the gaze ``held`` as the pipeline does;
- the reported eye origin, head pose and iris carry measurement noise (``origin_noise_mm``, ``pose_noise_deg``,
  ``iris_noise_px``);
- iris and eye-corner pixels come from projecting a 12 mm eyeball through a pinhole camera ``K``.

The head frame is the camera frame when the face looks straight into the camera (rotation = identity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import pitchyaw_to_vector, vector_to_pitchyaw
from ..results import EyeGaze, EyeRegion, Face, FrameResult, GazeResult, HeadPose
from .features import features_from_result, rvec_to_rotation
from .screen import ScreenGeometry

__all__ = ["SimulatedUser", "SimConfig", "simulated_session", "compare_regressors"]

_EYE_HALF_IPD_MM = 31.5
_CORNER_HALF_MM = 14.0
_EYEBALL_R_MM = 12.0


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated user (synthetic; defaults chosen to resemble a webcam tracker)."""

    head_mm: tuple[float, float, float] = (0.0, 60.0, 550.0)
    kappa_deg: tuple[tuple[float, float], tuple[float, float]] = ((1.5, 3.0), (1.0, 1.5))  # (left, right) (pitch, yaw)
    gain: tuple[float, float] = (0.85, 0.9)  # network gain on (pitch, yaw)
    noise_deg: float = 1.5
    shared_noise_deg: float = 0.5
    origin_noise_mm: tuple[float, float, float] = (2.0, 2.0, 8.0)
    pose_noise_deg: float = 1.0
    iris_noise_px: float = 1.0  # landmark jitter of the iris centre
    sway_mm: float = 4.0
    sway_deg: float = 1.5
    head_turn: float = 0.5
    blink_every_s: float = 3.5
    blink_s: float = 0.15
    fps: float = 30.0


class SimulatedUser:
    """Deterministic (given ``seed``) simulated user. ``frame(t, target_px)`` → :class:`FrameResult`."""

    def __init__(self, screen: ScreenGeometry | None = None, config: SimConfig | None = None, *, seed: int = 0,
                 frame_size: tuple[int, int] = (480, 640)):
        self.screen = screen or ScreenGeometry()
        self.cfg = config or SimConfig()
        self.frame_size = frame_size
        h, w = frame_size
        self.K = np.array([[1.1 * w, 0, (w - 1) / 2], [0, 1.1 * w, (h - 1) / 2], [0, 0, 1.0]])
        self.rng = np.random.default_rng(seed)
        r = np.random.default_rng(seed + 1)
        self._sway_f = r.uniform(0.05, 0.4, size=(3, 6))  # Hz, for (position, rotation) × axes
        self._sway_phi = r.uniform(0, 2 * np.pi, size=(3, 6))
        gaps = r.exponential(self.cfg.blink_every_s, size=4096) + self.cfg.blink_s
        self._blinks = np.cumsum(gaps)
        self._index = 0

    # ---- ground truth -----------------------------------------------------------------------------------------
    def head_state(self, t: float, head_shift_mm=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
        """True head rotation ``(3, 3)`` and position ``(3,)`` mm at time ``t``."""
        c = self.cfg
        sway = (np.sin(2 * np.pi * self._sway_f * t + self._sway_phi)).mean(0)  # (6,) in about [-1, 1]
        pos = np.asarray(c.head_mm, float) + np.asarray(head_shift_mm, float) + c.sway_mm * sway[:3]
        # turn part of the way toward the screen centre (people keep the screen in front of them)
        centre = self.screen.px_to_cam(np.array([(self.screen.width_px - 1) / 2, (self.screen.height_px - 1) / 2]))
        to_centre = centre - pos
        py_face = vector_to_pitchyaw(to_centre) * c.head_turn
        return _rot_pitchyaw(py_face) @ rvec_to_rotation(np.radians(c.sway_deg) * sway[3:]), pos

    def is_blink(self, t: float) -> bool:
        i = np.searchsorted(self._blinks, t, side="right") - 1
        return bool(i >= 0 and t < self._blinks[i] + self.cfg.blink_s)

    def true_params(self) -> dict:
        """Parameters of the ``geometric`` regressor that undo the simulated distortion (the oracle)."""
        kappa = np.radians(np.mean(np.asarray(self.cfg.kappa_deg, float), axis=0))
        gain = np.asarray(self.cfg.gain, float)
        return {"prior": 0.0, "scale": (1 / gain).tolist(), "kappa_rad": kappa.tolist()}

    # ---- measurements -----------------------------------------------------------------------------------------
    def frame(self, t: float, target_px, head_shift_mm=(0.0, 0.0, 0.0)) -> FrameResult:
        """What the pipeline would report at time ``t`` while the user looks at ``target_px`` (2,) screen px."""
        c = self.cfg
        R, pos = self.head_state(t, head_shift_mm)
        target = self.screen.px_to_cam(np.asarray(target_px, float))
        blink = self.is_blink(t)
        shared = self.rng.normal(0, np.radians(c.shared_noise_deg), 2)
        eyes, gazes, centres = [], [], []
        for k, (side, sign) in enumerate((("left", 1.0), ("right", -1.0))):
            centre = pos + R @ np.array([sign * _EYE_HALF_IPD_MM, 0.0, 0.0])
            visual = vector_to_pitchyaw(R.T @ (target - centre))  # head frame
            optical = visual - np.radians(c.kappa_deg[k])
            net = np.asarray(c.gain) * optical + shared + self.rng.normal(0, np.radians(c.noise_deg), 2)
            g_cam = R @ pitchyaw_to_vector(net)
            g_opt_cam = R @ pitchyaw_to_vector(optical)
            eyeball = centre + R @ np.array([0.0, 0.0, _EYEBALL_R_MM])
            iris3 = eyeball + _EYEBALL_R_MM * g_opt_cam
            inner = centre + R @ np.array([-sign * _CORNER_HALF_MM, 0.0, 0.0])
            outer = centre + R @ np.array([sign * _CORNER_HALF_MM, 0.0, 0.0])
            corners = np.stack([self._project(inner), self._project(outer)])
            iris = self._project(iris3) + self.rng.normal(0, self.cfg.iris_noise_px, 2)
            eyes.append(EyeRegion(side=side, region_to_frame=np.eye(3), R_norm=np.eye(3), center_mm=centre,
                                  corners_px=corners, iris_px=iris, openness=0.1 if blink else 0.9, blink=blink))
            gazes.append(EyeGaze(side=side, pitchyaw_norm=net, vector_cam=g_cam))
            centres.append(centre)
        R_meas = R @ rvec_to_rotation(self.rng.normal(0, np.radians(c.pose_noise_deg), 3))
        origin = np.mean(centres, axis=0) + self.rng.normal(0, c.origin_noise_mm)
        head = HeadPose(rotation=R_meas, translation_mm=pos + self.rng.normal(0, c.origin_noise_mm),
                        pitch_deg=0.0, yaw_deg=0.0, roll_deg=0.0)
        box = np.concatenate([self._project(pos) - 80, self._project(pos) + 80])
        face = Face(track_id=0, bbox=box, confidence=1.0, landmarks_px=np.zeros((478, 3)), blendshapes={},
                    transform=np.eye(4), head=head, eyes=(eyes[0], eyes[1]), blink=blink)
        g = gazes[0].vector_cam + gazes[1].vector_cam
        g = g / np.linalg.norm(g)
        gaze = GazeResult(eyes=(gazes[0], gazes[1]), vector_cam=g, pitchyaw=vector_to_pitchyaw(g), origin_mm=origin,
                          held=blink)
        self._index += 1
        return FrameResult(index=self._index - 1, time_s=float(t), frame_size=self.frame_size, face=face, gaze=gaze)

    def fixations(self, targets_px, *, dwell_s: float = 1.5, settle_s: float = 0.3, t0: float = 0.0,
                  head_shift_mm=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Look at each target for ``dwell_s``; keep frames after ``settle_s`` that have features.

        Returns ``X (N, 19)``, ``y (N, 2)`` target px and ``target_index (N,)``. Blink frames are dropped (the same
        selection the procedure applies, without the head-distance check).
        """
        targets_px = np.asarray(targets_px, float).reshape(-1, 2)
        X, y, idx = [], [], []
        dt = 1.0 / self.cfg.fps
        t = t0
        for i, tgt in enumerate(targets_px):
            n = int(round(dwell_s / dt))
            for j in range(n):
                tt = t + j * dt
                f = features_from_result(self.frame(tt, tgt, head_shift_mm))
                if j * dt >= settle_s and f is not None:
                    X.append(f)
                    y.append(tgt)
                    idx.append(i)
            t += n * dt
        return np.array(X), np.array(y), np.array(idx)

    def _project(self, p: np.ndarray) -> np.ndarray:
        q = self.K @ p
        return q[:2] / q[2]


def _rot_pitchyaw(py: np.ndarray) -> np.ndarray:
    """Rotation that turns the face (forward = −z, facing the camera) by pitch/yaw in the gaze convention."""
    p, y = float(py[0]), float(py[1])
    # maps (0, 0, −1) to pitchyaw_to_vector((p, y)): about x (pitch > 0 tilts −z toward −y), then about y
    Rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    Ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    return Ry @ Rx


def simulated_session(seed: int = 0, *, layout: str = "9", n_validation: int = 5, head_shift_mm=(100.0, 0.0, 0.0),
                      config: SimConfig | None = None, screen: ScreenGeometry | None = None) -> dict:
    """Synthetic calibration session: fixations on the layout's targets, then the validation targets twice —
    once from the calibration seat and once with the head moved by ``head_shift_mm``.

    Returns arrays ``X, y`` (calibration), ``Xv, yv, idv`` (validation, same seat), ``Xm, ym, idm`` (validation,
    head moved) and the :class:`SimulatedUser` (``sim``).
    """
    from .targets import CALIBRATION, make_targets

    sim = SimulatedUser(screen, config, seed=seed)
    targets = make_targets(sim.screen, layout, n_validation, seed=seed)
    cal = np.array([[t.x_px, t.y_px] for t in targets if t.role == CALIBRATION])
    val = np.array([[t.x_px, t.y_px] for t in targets if t.role != CALIBRATION])
    X, y, _ = sim.fixations(cal)
    t1 = len(cal) * 1.5 + 1.0
    Xv, yv, idv = sim.fixations(val, t0=t1)
    Xm, ym, idm = sim.fixations(val, t0=t1 + len(val) * 1.5 + 1.0, head_shift_mm=head_shift_mm)
    return dict(sim=sim, X=X, y=y, Xv=Xv, yv=yv, idv=idv, Xm=Xm, ym=ym, idm=idm)


def compare_regressors(seeds=(0, 1, 2), *, head_shift_mm=(100.0, 0.0, 0.0), layout: str = "9",
                       names=None) -> list[dict]:
    """Validation error (degrees, px, cm; and the bias — error of the mean prediction — in degrees) of every
    regressor on simulated sessions, same seat and head moved,
    plus the oracle (the geometric model with the simulator's true parameters: the noise floor). Synthetic.

    Returns one row per regressor with means over ``seeds``.
    """
    from .regressors import REGRESSORS, GeometricModel, create_regressor
    from .report import validation_report

    names = list(names or REGRESSORS.names())
    acc: dict[str, list] = {n: [] for n in names + ["oracle"]}
    for seed in seeds:
        s = simulated_session(seed, layout=layout, head_shift_mm=head_shift_mm)
        sim = s["sim"]
        for n in names + ["oracle"]:
            if n == "oracle":
                m = GeometricModel.from_params(sim.true_params(), sim.screen)
            else:
                m = create_regressor(n, sim.screen).fit(s["X"], s["y"])
            row = []
            for Xk, yk, ik in (("Xv", "yv", "idv"), ("Xm", "ym", "idm")):
                r = validation_report(m, s[Xk], s[yk], s[ik], sim.screen, n)
                row += [r.error_deg, r.error_px, r.error_cm, r.bias_deg]
            acc[n].append(row)
    out = []
    for n, rows in acc.items():
        a = np.mean(np.array(rows), axis=0)
        out.append(dict(regressor=n, static_deg=a[0], static_px=a[1], static_cm=a[2], static_bias_deg=a[3],
                        moved_deg=a[4], moved_px=a[5], moved_cm=a[6], moved_bias_deg=a[7]))
    return out
