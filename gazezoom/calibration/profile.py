"""Calibration profiles: ``<profiles>/<user>.json``, versioned, strictly validated, written atomically.

A profile is plain JSON (never pickle): the schema name and version, the user, the screen geometry, the regressor
and its parameters, the drift offset, the identity of the gaze model it was fitted with, the feature layout
version, the validation summary, and created/updated times (ISO 8601, UTC). Example::

    {"schema": "gazezoom-calibration-profile", "version": 1, "user": "alice",
     "created": "2026-11-26T20:00:00+00:00", "updated": "2026-11-26T20:00:00+00:00",
     "gaze_model": "gaze_sampler@3f2a9c01", "features": 1,
     "screen": {"width_px": 1920, ...}, "regressor": {"name": "ridge", "params": {...}},
     "offset_px": [0.0, 0.0], "validation": {"error_deg": 1.4, ...}}

Loading checks every field and raises :class:`ProfileError` with the file and the field on any problem: bad JSON,
duplicate or unknown keys, a foreign schema or version, wrong types, NaN, a regressor not in the registry, or a
gaze model other than the one in use (``on_mismatch="warn"`` turns that one into a warning).

Where profiles live: ``--profiles DIR`` beats the ``GAZEZOOM_PROFILES`` environment variable beats
``calibration/`` in the repository (or in the current directory when gazezoom is installed elsewhere).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import GazezoomError, ProfileError
from ..fileio import atomic_write_text, gaze_model_identity, os_error_message
from .features import FEATURE_VERSION
from .mapping import ScreenMapper
from .regressors import REGRESSORS, CalibrationModel
from .screen import ScreenGeometry

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Profile", "GazeModelMismatchWarning", "profiles_dir", "profile_path",
           "save_profile", "load_profile", "resolve_profile", "list_profiles", "delete_profile", "check_user", "ProfileInfo", "new_profile",
           "profile_from_json", "gaze_model_identity", "save_outcome"]

SCHEMA = "gazezoom-calibration-profile"
SCHEMA_VERSION = 1
MAX_BYTES = 2_000_000
ENV_VAR = "GAZEZOOM_PROFILES"
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEYS = {"schema", "version", "user", "created", "updated", "gaze_model", "features", "screen", "regressor",
         "offset_px", "validation"}


class GazeModelMismatchWarning(UserWarning):
    """A profile fitted with another gaze model was loaded with ``on_mismatch="warn"``."""


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, eq=False)
class Profile:
    """A user's fitted calibration. ``model`` is fitted; ``offset_px`` is the drift offset."""

    user: str
    screen: ScreenGeometry
    model: CalibrationModel
    gaze_model: str
    offset_px: tuple[float, float] = (0.0, 0.0)
    validation: dict | None = None
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    def mapper(self, filter=None) -> ScreenMapper:
        """A :class:`ScreenMapper` for this profile (``filter`` from ``gazezoom.filters`` optional)."""
        return ScreenMapper(self.model, self.screen, self.offset_px, filter=filter)

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "user": self.user,
            "created": self.created,
            "updated": self.updated,
            "gaze_model": self.gaze_model,
            "features": FEATURE_VERSION,
            "screen": self.screen.to_dict(),
            "regressor": {"name": self.model.name, "params": self.model.get_params()},
            "offset_px": [float(v) for v in self.offset_px],
            "validation": self.validation,
        }

    def replace(self, **changes) -> "Profile":
        """A copy with ``changes`` and a fresh ``updated`` time (e.g. ``offset_px`` after recentring)."""
        return dataclasses.replace(self, **{**changes, "updated": _now()})


def check_user(user: str) -> str:
    """A user name is 1–64 letters, digits, ``_``, ``-``, ``.``, not starting with ``.`` and not ending in ``.json``
    (it names a file, and :func:`load_profile` reads a string ending in ``.json`` or holding a separator as a path)."""
    if not isinstance(user, str) or not _USER_RE.match(user) or user.lower().endswith(".json"):
        raise ProfileError(
            f"invalid user name {user!r}: use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit "
            "and not ending in .json"
        )
    return user


def profiles_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where profiles live: ``directory``, else ``$GAZEZOOM_PROFILES``, else ``calibration/`` of the repository."""
    if directory:
        return Path(directory)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    from ..fileio import REPO_ROOT

    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "calibration"
    return Path.cwd() / "calibration"


def profile_path(user: str, directory=None) -> Path:
    return profiles_dir(directory) / f"{check_user(user)}.json"


def save_profile(profile: Profile, directory=None) -> Path:
    """Write ``<dir>/<user>.json`` atomically: a temporary file in the same folder, fsync, then ``os.replace``.

    An interrupted write leaves the previous profile untouched (and no temporary file behind).
    """
    path = profile_path(profile.user, directory)
    text = json.dumps(profile.to_dict(), indent=2, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text)


def resolve_profile(user_or_path: str | os.PathLike, directory=None) -> Path:
    """Where ``user_or_path`` points: a path (ends in ``.json`` or holds a separator) as given, else the user's
    profile in ``directory`` (see :func:`profiles_dir`)."""
    p = Path(user_or_path)
    if p.suffix == ".json" or os.sep in str(user_or_path):
        return p
    return profile_path(str(user_or_path), directory)


def _stage_hint(identity: str, in_use: str | None = None) -> str:
    """``"; or run with --gaze STAGE …"`` naming the gaze stage a profile's model identity belongs to — or, when the
    identity ``in_use`` is the same stage at another version (``gaze_fusion@v1`` vs ``@v2``), saying so: that stage
    no longer gives what the profile was fitted to."""
    head = identity.split("@", 1)[0]
    stage = head[len("gaze_"):] if head in ("gaze_fusion", "gaze_pupil", "gaze_geometric") else "network"
    if stage != "network" and in_use is not None and in_use.split("@", 1)[0] == head:
        old, new = (i.split("@", 1)[1].split(":", 1)[0] for i in (identity, in_use))
        if old != new:
            return (f" (the {stage} stage changed since, {old} → {new}: its readings moved, so the profile's mapping "
                    "no longer holds)")
    return f"; or use the stage it was fitted with: --gaze {stage} (the default is fusion)"


def load_profile(user_or_path: str | os.PathLike, directory=None, *, gaze_model: str | None = None,
                 on_mismatch: str = "error") -> Profile:
    """Load and validate a profile by user name (in ``directory``) or by path.

    ``gaze_model``: the identity of the gaze model in use; a profile fitted with another raises
    :class:`ProfileError` (``on_mismatch="error"``) or warns (``"warn"``). None skips the check.
    """
    if on_mismatch not in ("error", "warn"):
        raise ProfileError(f"on_mismatch must be 'error' or 'warn', got {on_mismatch!r}")
    path = resolve_profile(user_or_path, directory)
    if not path.is_file():
        raise ProfileError(f"no calibration profile at {path}; run `gazezoom calibrate --user {path.stem}` first")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ProfileError(f"cannot read profile {path}: {err}") from None
    if len(raw) > MAX_BYTES:
        raise ProfileError(f"profile {path} is {len(raw)} bytes, more than a profile can be ({MAX_BYTES}); not loaded")
    profile = profile_from_json(raw, str(path))
    if gaze_model is not None and profile.gaze_model != gaze_model:
        msg = (f"profile {path} was fitted with gaze model {profile.gaze_model!r}, but {gaze_model!r} is in use; "
               f"recalibrate, or refit from a recording with `gazezoom calibrate --user {profile.user} --replay FOLDER`"
               f"{_stage_hint(profile.gaze_model, gaze_model)}")
        if on_mismatch == "error":
            raise ProfileError(msg)
        warnings.warn(msg, GazeModelMismatchWarning, stacklevel=2)
    return profile


def profile_from_json(raw: bytes | str, where: str = "profile") -> Profile:
    """Parse and validate profile JSON text; every problem is a :class:`ProfileError` naming ``where``."""
    def bad(msg: str) -> ProfileError:
        return ProfileError(f"{where}: {msg}; fix the file or delete it and recalibrate")

    def pairs(items):
        keys = [k for k, _ in items]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise bad(f"duplicate keys {sorted(dup)}")
        return dict(items)

    def no_constant(name):
        raise bad(f"{name} is not allowed in a profile")

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        d = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    except UnicodeDecodeError:
        raise bad("not UTF-8 text (is this a profile?)") from None
    except json.JSONDecodeError as err:
        raise bad(f"not valid JSON (truncated or hand-edited?): {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise bad("nested too deeply") from None
    if not isinstance(d, dict):
        raise bad(f"expected a JSON object, got {type(d).__name__}")
    if d.get("schema") != SCHEMA:
        raise bad(f"not a gazezoom calibration profile (schema {d.get('schema')!r}, expected {SCHEMA!r})")
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise bad(f"'version' must be an integer, got {version!r}")
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise bad(f"profile format version {version} {'is newer than' if newer else 'differs from'} the version this "
                  f"gazezoom reads ({SCHEMA_VERSION}){'; update gazezoom' if newer else ''}")
    missing = _KEYS - set(d)
    extra = set(d) - _KEYS
    if missing:
        raise bad(f"missing fields {sorted(missing)}")
    if extra:
        raise bad(f"unknown fields {sorted(extra)}")
    user = d["user"]
    try:
        check_user(user)
    except ProfileError as err:
        raise bad(str(err)) from None
    for k in ("created", "updated"):
        if not isinstance(d[k], str):
            raise bad(f"{k!r} must be an ISO 8601 time string")
        try:
            datetime.fromisoformat(d[k])
        except ValueError:
            raise bad(f"{k!r} is not an ISO 8601 time: {d[k]!r}") from None
    if not isinstance(d["gaze_model"], str) or not d["gaze_model"]:
        raise bad("'gaze_model' must be a non-empty string like 'gaze_sampler@<sha256 prefix>'")
    if d["features"] != FEATURE_VERSION or isinstance(d["features"], bool):
        raise bad(f"feature layout version {d['features']!r} is not the one in use ({FEATURE_VERSION}); recalibrate")
    try:
        screen = ScreenGeometry.from_dict(d["screen"])
    except (GazezoomError, TypeError) as err:
        raise bad(f"screen: {err}") from None
    reg = d["regressor"]
    if not isinstance(reg, dict) or set(reg) != {"name", "params"}:
        raise bad("'regressor' must be an object with exactly 'name' and 'params'")
    if not isinstance(reg["name"], str) or reg["name"] not in REGRESSORS:
        raise bad(f"unknown regressor {reg['name']!r}; known: {', '.join(REGRESSORS.names())}")
    try:
        model = REGRESSORS.get(reg["name"]).from_params(reg["params"], screen=screen)
    except (GazezoomError, TypeError) as err:
        raise bad(f"regressor {reg['name']!r}: {err}") from None
    off = d["offset_px"]
    if (not isinstance(off, list) or len(off) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in off)):
        raise bad(f"'offset_px' must be two finite numbers, got {off!r}")
    if d["validation"] is not None and not isinstance(d["validation"], dict):
        raise bad("'validation' must be an object or null")
    return Profile(user=user, screen=screen, model=model, gaze_model=d["gaze_model"],
                   offset_px=(float(off[0]), float(off[1])), validation=d["validation"],
                   created=d["created"], updated=d["updated"])


@dataclass(frozen=True)
class ProfileInfo:
    """One row of ``gazezoom profile list``: a loadable profile, or the reason it is not."""

    user: str
    path: Path
    profile: Profile | None
    error: str | None


def list_profiles(directory=None) -> list[ProfileInfo]:
    """Every ``*.json`` in the profiles folder, loaded (malformed files are listed with their error)."""
    d = profiles_dir(directory)
    if not d.is_dir():
        return []
    out = []
    for path in sorted(d.glob("*.json")):
        try:
            out.append(ProfileInfo(path.stem, path, load_profile(path), None))
        except ProfileError as err:
            out.append(ProfileInfo(path.stem, path, None, str(err)))
    return out


def delete_profile(user: str, directory=None) -> Path:
    """Delete ``<dir>/<user>.json``; a missing profile is a :class:`ProfileError`."""
    path = profile_path(user, directory)
    if not path.is_file():
        raise ProfileError(f"no profile for user {user!r} in {path.parent}")
    path.unlink()
    return path


def new_profile(user: str, model: CalibrationModel, screen: ScreenGeometry, gaze_model: str,
                validation: dict | None = None, previous: Profile | None = None) -> Profile:
    """A profile for a fresh fit; keeps ``created`` from ``previous`` (recalibration of the same user)."""
    check_user(user)
    now = _now()
    return Profile(user=user, screen=screen, model=model, gaze_model=gaze_model, offset_px=(0.0, 0.0),
                   validation=validation, created=previous.created if previous else now, updated=now)



#: The quality guard's defaults: a fit is saved without ``force`` only when its validation error is at most this many
#: degrees and it was fitted on at least this many frames (a replay with 7 frames validated at 18° is not a profile).
DEFAULT_MAX_ERROR_DEG = 5.0
MIN_CALIBRATION_FRAMES = 20
FORCE_HINT = "save it anyway with --force (in the calibration window: F)"


def check_quality(outcome, max_error_deg: float | None = None, min_frames: int = MIN_CALIBRATION_FRAMES) -> None:
    """Raise :class:`NotEnoughDataError` / :class:`PoorFitError` (messages end with how to override) when
    ``outcome`` is not good enough to save: fewer than ``min_frames`` calibration frames, no validation frames, or
    a validation error above ``max_error_deg`` (default :data:`DEFAULT_MAX_ERROR_DEG`)."""
    from ..errors import NotEnoughDataError, PoorFitError

    limit = DEFAULT_MAX_ERROR_DEG if max_error_deg is None else float(max_error_deg)
    if outcome.n_calibration_frames < min_frames:
        raise NotEnoughDataError(
            f"not saved: the fit used only {outcome.n_calibration_frames} calibration frames (at least {min_frames} "
            f"needed for a trustworthy profile); recalibrate looking at each dot, or {FORCE_HINT}")
    if outcome.report is None:
        raise NotEnoughDataError(
            "not saved: no validation target had usable frames, so the accuracy is unknown; recalibrate with "
            f"validation targets, or {FORCE_HINT}")
    try:
        outcome.report.check(limit)
    except PoorFitError as err:
        raise PoorFitError(f"not saved: {err}; or {FORCE_HINT}") from None


def save_outcome(user: str, outcome, screen: ScreenGeometry, gaze_model: str, directory=None, *,
                 report_png: str | os.PathLike | None = None, max_error_deg: float | None = None,
                 force: bool = False) -> tuple[Path, Path | None]:
    """Save a calibration outcome as ``user``'s profile (and its validation picture); returns both paths.

    Unless ``force``, :func:`check_quality` guards the save (``max_error_deg``: the limit, default
    :data:`DEFAULT_MAX_ERROR_DEG`) and nothing is written for a poor fit. A previous profile of the user keeps its
    ``created`` time; a malformed previous profile is replaced. When the profiles folder cannot be written the fitted
    profile is kept in :func:`unsaved_dir` and the :class:`ProfileError` says where.
    """
    check_user(user)
    report = outcome.report
    if not force:
        check_quality(outcome, max_error_deg)
    previous = None
    try:
        previous = load_profile(user, directory)
    except ProfileError:
        pass
    profile = new_profile(user, outcome.model, screen, gaze_model,
                          report.to_dict() if report is not None else None, previous)
    try:
        path = save_profile(profile, directory)
    except OSError as err:
        target = profile_path(user, directory)
        kept = keep_unsaved(profile)
        where = (f"the fitted profile is kept in {kept}: copy it to {target} once that folder is writable, or "
                 f"calibrate again with --profiles DIR") if kept else "the fit could not be kept anywhere either"
        raise ProfileError(f"{os_error_message(err, 'profile', target)}; {where}") from None
    png = None
    if report_png is not None and report is not None:
        from .report import plot_report

        try:
            png = plot_report(report, screen, report_png)
        except OSError as err:
            from ..errors import MediaError

            raise MediaError(f"profile saved to {path}, but {os_error_message(err, 'validation picture', report_png)}; "
                             "pass --report with a path you can write to") from None
    return path, png


def unsaved_dir() -> Path:
    """Where a fitted profile goes when its profiles folder cannot be written: ``$XDG_CACHE_HOME`` (else
    ``~/.cache``)/gazezoom/unsaved-profiles — outside the repository and the temp folder, so it survives."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gazezoom" / "unsaved-profiles"


def keep_unsaved(profile: Profile) -> Path | None:
    """Write ``profile`` to :func:`unsaved_dir` (then the temp folder) under a timestamped name; the path, or None
    when nothing could be written."""
    import tempfile

    text = json.dumps(profile.to_dict(), indent=2, allow_nan=False) + "\n"
    stamp = profile.updated.replace(":", "").replace("-", "")[:15]
    for folder in (unsaved_dir(), Path(tempfile.gettempdir()) / "gazezoom-unsaved-profiles"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return atomic_write_text(folder / f"{profile.user}-{stamp}.json", text)
        except OSError:
            continue
    return None
