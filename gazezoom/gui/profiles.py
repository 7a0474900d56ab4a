"""The main window's calibration profiles: the profile menu, loading and using a profile (its screen mapper and One
Euro filter), and opening the calibration and recentre windows and taking their results.

:class:`ProfilesMixin` is part of :class:`~gazezoom.gui.window.MainWindow`; it uses the window's ``config``,
``engine``, ``gaze``, ``notify``, ``view_shown`` and the widgets :mod:`.layout` builds (``profile_box``,
``profile_label``, ``minimap``, ``min_cutoff``, ``beta``, ``actions``).
"""

from __future__ import annotations

import warnings

from ..errors import GazezoomError
from .calibration import Finished, Status

__all__ = ["ProfilesMixin"]


class ProfilesMixin:
    """Profile choice, loading and calibration orchestration for the main window (state: ``profile``, ``mapper``,
    the open full-screen window ``_calibration``)."""

    profile = None
    mapper = None
    _calibration = None  # the open calibration / recentre window

    # ---- choosing and loading ---------------------------------------------------------------------------------
    def _refresh_profiles(self) -> None:
        from ..calibration.profile import list_profiles

        self.profile_box.blockSignals(True)
        self.profile_box.clear()
        self.profile_box.addItem("(none)", None)
        for info in list_profiles(self.config.profiles_dir):
            label = info.user if info.error is None else f"{info.user} (unreadable)"
            self.profile_box.addItem(label, str(info.path))
        if self.profile is not None:
            i = self.profile_box.findText(self.profile.user)
            self.profile_box.setCurrentIndex(max(0, i))
        self.profile_box.blockSignals(False)

    def _profile_chosen(self, index: int) -> None:
        path = self.profile_box.itemData(index)
        if path is None:
            self.set_profile(None)
        else:
            self.load_profile(path)

    def load_profile(self, user_or_path: str, *, quiet: bool = False) -> bool:
        """Load a profile by user name or path and use it; problems are shown, not raised."""
        from ..calibration.profile import GazeModelMismatchWarning, load_profile

        if self.gaze is None or self.gaze.stage is None:
            if not quiet:
                self.notify("a calibration profile needs a gaze model; none is loaded (see --weights)", error=True)
            return False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", GazeModelMismatchWarning)
                profile = load_profile(user_or_path, self.config.profiles_dir, gaze_model=self.gaze.identity,
                                       on_mismatch="warn")
        except GazezoomError as err:
            if not quiet:
                self.notify(str(err), error=True, seconds=8)
            return False
        self.set_profile(profile)
        for w in caught:
            self.notify(f"warning: {w.message}", error=True, seconds=8)
        return True

    def set_profile(self, profile) -> None:
        from ..filters import create_filter

        self.profile = profile
        if profile is None:
            self.mapper = None
            self.profile_label.setText("profile: none")
            self.minimap.set_note("no profile: calibrate or choose one")
        else:
            self.mapper = profile.mapper(filter=create_filter("one_euro", min_cutoff=self.min_cutoff.value(),
                                                              beta=self.beta.value()))
            err = (profile.validation or {}).get("error_deg")
            self.profile_label.setText(f"profile: {profile.user}" + (f" ({err:.1f}°)" if isinstance(err, (int, float)) else ""))
            self.minimap.screen_size = (profile.screen.width_px, profile.screen.height_px)
            self.minimap.set_note("no gaze point (no face)")
        self.engine.set_mapper(self.mapper)
        self._refresh_profiles()
        self._update_action_states()

    def _filter_changed(self) -> None:
        from ..filters import create_filter

        mapper = self.mapper
        if mapper is not None:
            mapper.filter = create_filter("one_euro", min_cutoff=self.min_cutoff.value(), beta=self.beta.value())

    def _update_action_states(self) -> None:
        has_gaze = self.gaze is not None and self.gaze.stage is not None
        self.actions["calibrate"].setEnabled(True)  # explains itself when it cannot run
        self.actions["recentre"].setEnabled(has_gaze and self.mapper is not None)

    # ---- calibration and recentring ---------------------------------------------------------------------------
    def calibrate(self, user: str | None = None, **procedure_options):
        """Open the full-screen calibration window for ``user`` (default: the current profile's user or the login
        name). Returns the window, or None when calibration cannot run (the reason is shown)."""
        if self.gaze is None or self.gaze.stage is None:
            self.notify("calibration needs a gaze model; none is loaded (see --weights)", error=True)
            return None
        from ..calibration.procedure import CalibrationProcedure
        from .calibration import CalibrationWindow, screen_geometry

        user = user or (self.profile.user if self.profile is not None else _default_user())
        screen = screen_geometry(self.screen())
        window = CalibrationWindow(CalibrationProcedure(screen, **procedure_options), user=user,
                                   gaze_model=self.gaze.identity, profiles_dir=self.config.profiles_dir)
        self._open_calibration(window)
        window.finished.connect(self._calibration_finished)
        return window

    def recentre(self):
        """Drift correction: a dot at the screen centre; the profile's offset is re-estimated and saved."""
        if self.mapper is None or self.profile is None:
            self.notify("recentring needs a calibration profile: calibrate or choose one first", error=True)
            return None
        from .calibration import RecentreWindow

        window = RecentreWindow(self.mapper, self.profile, profiles_dir=self.config.profiles_dir)
        self._open_calibration(window)
        window.finished.connect(self._recentre_finished)
        return window

    def _open_calibration(self, window) -> None:
        if self._calibration is not None:
            self._calibration.close()
        self._calibration = window
        self.view_shown.connect(window.feed)
        window.showFullScreen()
        window.activateWindow()

    def _close_calibration(self) -> None:
        w, self._calibration = self._calibration, None
        if w is not None:
            try:
                self.view_shown.disconnect(w.feed)
            except TypeError:
                pass

    def _calibration_finished(self, outcome: Finished) -> None:
        self._close_calibration()
        if outcome.status is Status.SAVED:
            self._refresh_profiles()
            self.load_profile(str(outcome.path))
            self.notify(f"calibration saved: {outcome.path}  {outcome.message}")
        else:
            self.notify(outcome.message or "calibration cancelled; the saved profile is unchanged")

    def _recentre_finished(self, outcome: Finished) -> None:
        self._close_calibration()
        if outcome.status is Status.SAVED:
            self.profile = outcome.profile
            self.profile_label.setText(f"profile: {self.profile.user} (recentred)")
            self.notify(outcome.message or "recentred")
        else:
            self.notify(outcome.message or "recentre cancelled", error=outcome.status is Status.FAILED)


def _default_user() -> str:
    import getpass
    import re

    try:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser()).lstrip("._-")
    except Exception:  # noqa: BLE001 - no login name (containers)
        name = ""
    return name[:64] or "user"
