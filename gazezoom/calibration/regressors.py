"""Calibration regressors: per-frame features ``(N, 19)`` → screen points ``(N, 2)`` in pixels.

Each regressor has ``fit(X, y)``, ``predict(X)``, ``is_fitted`` and ``get_params()`` / ``from_params()`` that round
trip through JSON (pupil-labs ``gazer_base`` style). They are chosen by name from :data:`REGRESSORS`:

- ``ridge`` (default): ridge regression on per-eye pitch/yaw, eye origin, head rotation and iris position.
- ``poly2``: ridge on second-order terms of the per-eye pitch/yaw plus the linear head/iris terms.
- ``geometric``: intersects the corrected gaze ray with the screen plane (:class:`ScreenGeometry`) and fits only
  four per-user numbers — a kappa-like angular offset and a gain for pitch and yaw, in the head's frame. Because
  the eye position and head rotation enter through geometry, not through fitted weights, it keeps its accuracy
  when the head moves away from where it was during calibration; the data-driven regressors do not.

>>> import numpy as np
>>> names = REGRESSORS.names(); names
['geometric', 'poly2', 'ridge']
>>> create_regressor("ridge").is_fitted
False
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ..errors import InputValueError, NotEnoughDataError, NotFittedError, ShapeError
from ..geometry import pitchyaw_to_vector, vector_to_pitchyaw
from ..registry import Registry
from .features import COLUMNS, check_features, gaze_inputs, mean_gaze, rvec_to_rotation
from .screen import ScreenGeometry

__all__ = ["CalibrationModel", "RidgeModel", "Poly2Model", "GeometricModel", "REGRESSORS", "create_regressor",
           "DEFAULT_REGRESSOR"]

REGRESSORS: Registry[type["CalibrationModel"]] = Registry("calibration regressor")
DEFAULT_REGRESSOR = "ridge"


class CalibrationModel:
    """Base class. Subclasses set ``name`` and ``min_targets`` and implement ``_fit``, ``_predict`` and params."""

    name: ClassVar[str] = ""
    #: fewest distinct target positions a fit accepts
    min_targets: ClassVar[int] = 3

    def __init__(self, screen: ScreenGeometry | None = None):
        self.screen = screen if screen is not None else ScreenGeometry()
        self._params: dict[str, Any] | None = None

    @property
    def is_fitted(self) -> bool:
        return self._params is not None

    def fit(self, X: np.ndarray, y: np.ndarray) -> "CalibrationModel":
        """Fit on features ``X (N, 19)`` and target screen points ``y (N, 2)`` in pixels; returns self."""
        X = check_features(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (len(X), 2):
            raise ShapeError("calibration targets y", f"({len(X)}, 2) screen pixels, one row per feature row", y.shape)
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise InputValueError("calibration samples contain NaN or inf; drop frames without a face or gaze first")
        n_targets = len(np.unique(np.round(y, 1), axis=0))
        if n_targets < self.min_targets:
            raise NotEnoughDataError(
                f"the {self.name} regressor needs samples at {self.min_targets} or more target positions, got "
                f"{n_targets}; look at more targets (or choose a layout with more points)"
            )
        self._params = self._fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Features ``(N, 19)`` → screen points ``(N, 2)`` in pixels (NaN where undefined)."""
        if not self.is_fitted:
            raise NotFittedError(f"the {self.name} calibration model is not fitted; call fit(X, y) or load a profile")
        return self._predict(check_features(X))

    def get_params(self) -> dict[str, Any]:
        """Fitted parameters as plain JSON types."""
        if not self.is_fitted:
            raise NotFittedError(f"the {self.name} calibration model has no parameters yet; call fit(X, y) first")
        return _jsonable(self._params)

    @classmethod
    def from_params(cls, params: dict[str, Any], screen: ScreenGeometry | None = None) -> "CalibrationModel":
        """Rebuild a fitted model from :meth:`get_params`; malformed params raise :class:`InputValueError`."""
        model = cls(screen=screen)
        model._params = model._check_params(params)
        return model

    # -- subclass API ------------------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------------------------
# ridge and poly2: data-driven maps
# ---------------------------------------------------------------------------------------------------------------


def ridge_solve(A: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge with an unpenalised intercept. ``A (N, D)`` already standardised, ``y (N, K)`` → ``W (D, K)``, ``b (K,)``."""
    ym = y.mean(0)
    Am = A.mean(0)
    Ac = A - Am
    W = np.linalg.solve(Ac.T @ Ac + alpha * np.eye(A.shape[1]), Ac.T @ (y - ym))
    return W, ym - Am @ W


class _LinearOnDesign(CalibrationModel):
    """Standardise a design matrix, solve ridge with penalty ``alpha · N``. Subclasses define ``_design(X) -> (N, D)``."""

    def __init__(self, screen: ScreenGeometry | None = None, alpha: float = 0.01):
        super().__init__(screen)
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha >= 0):
            raise InputValueError(f"ridge alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def _design(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit(self, X, y):
        A = self._design(X)
        mean, std = A.mean(0), A.std(0)
        std = np.where(std < 1e-9, 1.0, std)  # constant columns carry no information
        # alpha is per sample, so the same setting suits 15 and 60 fps recordings
        W, b = ridge_solve((A - mean) / std, y, self.alpha * len(A))
        return {"alpha": self.alpha, "mean": mean, "std": std, "coef": W, "intercept": b}

    def _predict(self, X):
        p = self._params
        return ((self._design(X) - p["mean"]) / p["std"]) @ p["coef"] + p["intercept"]

    def _check_params(self, params):
        d = self._design(np.zeros((1, 19)) + _NEUTRAL).shape[1]
        out = {
            "alpha": _number(params, "alpha"),
            "mean": _array(params, "mean", (d,)),
            "std": _array(params, "std", (d,)),
            "coef": _array(params, "coef", (d, 2)),
            "intercept": _array(params, "intercept", (2,)),
        }
        if np.any(out["std"] <= 0):
            raise InputValueError("regressor parameter 'std' must be positive")
        _no_extra(params, out)
        return out


# A neutral feature row (looking at the camera from 550 mm) to size designs without data.
_NEUTRAL = np.array([0, 0, -1, 0, 0, -1, 0, 0, 550, 0, 0, 0, 0, 0, 550, 0, 0, 0, 0], float)


@REGRESSORS.register("ridge")
class RidgeModel(_LinearOnDesign):
    """Ridge regression on :func:`~gazezoom.calibration.features.gaze_inputs` (14 inputs), standardised."""

    name = "ridge"
    min_targets = 3

    def _design(self, X):
        return gaze_inputs(X)


@REGRESSORS.register("poly2")
class Poly2Model(_LinearOnDesign):
    """Ridge on second-order terms (squares and products) of the per-eye pitch/yaw, linear in the rest."""

    name = "poly2"
    min_targets = 5

    def _design(self, X):
        g = gaze_inputs(X)
        py = g[:, :4]
        iu = np.triu_indices(4)
        quad = (py[:, :, None] * py[:, None, :])[:, iu[0], iu[1]]  # (N, 10)
        return np.concatenate([g, quad], axis=1)


# ---------------------------------------------------------------------------------------------------------------
# geometric: ray ∩ screen plane with per-user angular offsets
# ---------------------------------------------------------------------------------------------------------------


@REGRESSORS.register("geometric")
class GeometricModel(CalibrationModel):
    """Gaze ray from the eye origin, corrected in the head's frame, intersected with the screen plane.

    The correction is per pitch/yaw component ``c`` in head coordinates: ``angle_true = scale_c · angle_net +
    kappa_c`` — the angle kappa between the optical axis (what an appearance model sees) and the visual axis, plus
    the network's per-user gain. ``prior`` pulls the gains toward 1 when the targets span little angle.
    """

    name = "geometric"
    min_targets = 2

    def __init__(self, screen: ScreenGeometry | None = None, prior: float = 1e-4):
        super().__init__(screen)
        if not (isinstance(prior, (int, float)) and math.isfinite(prior) and prior >= 0):
            raise InputValueError(f"geometric prior must be a finite number >= 0, got {prior!r}")
        self.prior = float(prior)

    def _head_angles(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        R = rvec_to_rotation(X[:, COLUMNS["head_r"]])  # (N, 3, 3) head → camera
        g_head = np.einsum("nji,nj->ni", R, mean_gaze(X))  # R^T g
        return vector_to_pitchyaw(g_head), R

    def _fit(self, X, y):
        py_net, R = self._head_angles(X)
        origin = X[:, COLUMNS["origin"]]
        d = self.screen.px_to_cam(y) - origin  # true direction to the target
        py_true = vector_to_pitchyaw(np.einsum("nji,nj->ni", R, d))
        n = len(X)
        scale, kappa = np.ones(2), np.zeros(2)
        for c in range(2):
            x, t = py_net[:, c], py_true[:, c]
            lam = self.prior * n
            A = np.array([[x @ x + lam, x.sum()], [x.sum(), n]])
            rhs = np.array([x @ t + lam, t.sum()])
            if np.std(x) < np.radians(0.5):  # no spread: only an offset is identifiable
                kappa[c] = float(np.mean(t - x))
            else:
                scale[c], kappa[c] = np.linalg.solve(A, rhs)
        return {"prior": self.prior, "scale": scale, "kappa_rad": kappa}

    def _predict(self, X):
        py_net, R = self._head_angles(X)
        py = py_net * self._params["scale"] + self._params["kappa_rad"]
        g = np.einsum("nij,nj->ni", R, pitchyaw_to_vector(py))
        return self.screen.intersect(X[:, COLUMNS["origin"]], g)

    def _check_params(self, params):
        out = {
            "prior": _number(params, "prior"),
            "scale": _array(params, "scale", (2,)),
            "kappa_rad": _array(params, "kappa_rad", (2,)),
        }
        if np.any(np.abs(out["kappa_rad"]) > np.radians(45)) or np.any(out["scale"] <= 0.1) or np.any(out["scale"] > 10):
            raise InputValueError(
                f"geometric parameters out of range (|kappa| <= 45°, 0.1 < scale <= 10): "
                f"kappa_rad={out['kappa_rad'].tolist()}, scale={out['scale'].tolist()}"
            )
        _no_extra(params, out)
        return out


def create_regressor(name: str = DEFAULT_REGRESSOR, screen: ScreenGeometry | None = None, **options) -> CalibrationModel:
    """An unfitted regressor by registry name (unknown names list the valid ones)."""
    return REGRESSORS.get(name)(screen=screen, **options)


# ---------------------------------------------------------------------------------------------------------------
# parameter validation helpers (profiles are user-editable files: check everything)
# ---------------------------------------------------------------------------------------------------------------


def _number(params: dict, key: str) -> float:
    if not isinstance(params, dict):
        raise InputValueError(f"regressor parameters must be a JSON object, got {type(params).__name__}")
    v = params.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputValueError(f"regressor parameter {key!r} must be a finite number, got {v!r}")
    return float(v)


def _array(params: dict, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(params, dict):
        raise InputValueError(f"regressor parameters must be a JSON object, got {type(params).__name__}")
    if key not in params:
        raise InputValueError(f"regressor parameter {key!r} is missing")
    v = params[key]
    try:
        a = np.array(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputValueError(f"regressor parameter {key!r} must be numbers of shape {shape}") from None
    if a.shape != shape:
        raise InputValueError(f"regressor parameter {key!r}: expected shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputValueError(f"regressor parameter {key!r} contains NaN or inf")
    return a


def _no_extra(params: dict, known: dict) -> None:
    extra = set(params) - set(known)
    if extra:
        raise InputValueError(f"unknown regressor parameters {sorted(extra)}; expected {sorted(known)}")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj
