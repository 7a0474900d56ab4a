"""``gazezoom calibrate``'s live mode: camera → engine → the full-screen :class:`~.calibration.CalibrationWindow`,
without the main window (``gazezoom.commands.calibrate`` imports this module only when it runs live)."""

from __future__ import annotations

import sys

from PyQt5.QtCore import Qt

from ..errors import GazezoomError
from ..live.engine import StateKind
from .calibration import CalibrationWindow, Finished, Status, screen_geometry

__all__ = ["run_calibration"]


def run_calibration(args, *, gaze_factory=None, on_window=None) -> int:
    """``gazezoom calibrate --user NAME`` (live): camera → pipeline → full-screen calibration window.

    ``gaze_factory`` replaces loading ``args.weights`` (embedding, tests); ``on_window(window)`` is called once the
    window exists. Returns 0 when a profile was saved (or a dry run accepted), 1 when cancelled or failed.
    """
    from ..calibration.procedure import CalibrationProcedure
    from ..calibration.screen import ScreenGeometry
    from ..cliargs import selection_settings
    from ..live.config import AppConfig, pipeline_factory
    from ..live.engine import Engine
    from ..live.sources import parse_source
    from ..models.stages import resolve_stage
    from .app import create_application

    app = create_application()
    screen = ScreenGeometry.load(args.screen) if args.screen else screen_geometry(app.primaryScreen())
    settings = selection_settings(args)  # the one mapping of the command's options (--outlier-k included)
    procedure = CalibrationProcedure(screen, layout=args.layout, n_validation=args.validation,
                                     regressor=args.regressor, settings=settings, pursuit_s=args.pursuit_s)
    config = AppConfig(source=parse_source(str(args.camera)), weights=args.weights, variant=args.variant,
                       gaze=resolve_stage(getattr(args, "gaze", None), args.weights), landmarker=args.landmarker, camera_file=args.camera_file, profiles_dir=args.profiles,
                       mirror=getattr(args, "mirror", False),
                       gaze_factory=gaze_factory)
    from ..live.config import load_gaze

    gaze = load_gaze(config)
    if gaze.stage is None:
        raise GazezoomError(gaze.note.replace("; showing the face front-end only", "") +
                            "; calibration needs a trained gaze model")
    config.gaze_factory = lambda: gaze.stage
    from .bridge import Bridge

    bridge = Bridge()
    writer = [None]
    window = CalibrationWindow(procedure, user=args.user, gaze_model=gaze.identity, profiles_dir=args.profiles,
                               report_png=args.report, max_error_deg=args.max_error_deg, dry_run=args.dry_run,
                               force=getattr(args, "force", False),
                               frame_clock=bool(args.record))
    result = [Finished(Status.CANCELLED)]

    def show_state(state):
        if state.kind in (StateKind.RETRYING, StateKind.ERROR):
            from ..live.sources import VIDEO_HINT

            window._error = state.message.replace(
                VIDEO_HINT, "pass --camera N (or calibrate from a recording with --replay FOLDER)")

    def on_view():
        view = bridge.take()
        if view is None:
            return
        t = None
        if args.record:
            from ..calibration.replay import RecordingWriter

            if writer[0] is None:
                writer[0] = RecordingWriter(args.record, engine.source_fps or 30.0, view.frame.shape[:2])
            t = writer[0].add(view.frame)
        window.feed(view, t)

    bridge.view_ready.connect(on_view, Qt.QueuedConnection)
    bridge.state_changed.connect(show_state, Qt.QueuedConnection)
    engine = Engine(pipeline_factory(config), on_view=bridge.push_view, on_state=bridge.state_changed.emit)

    def finished(outcome: Finished):
        result[0] = outcome
        app.quit()

    window.finished.connect(finished)
    engine.start(config.source)
    window.showFullScreen()
    if on_window is not None:
        on_window(window)
    from .app import QuitOnSignals

    try:
        with QuitOnSignals(app, on_signal=lambda signum: window.close()) as signals:
            app.exec_()
    finally:
        engine.stop()
        if writer[0] is not None:
            writer[0].close(procedure.screen, procedure.timeline(0.0))
            print(f"recording saved in {args.record}")
    if signals.signum is not None:
        print("gazezoom calibrate: interrupted; nothing saved, the profile stays as it was", file=sys.stderr)
        return signals.exit_code
    outcome = result[0]
    print(outcome.message or outcome.status.value)
    if outcome.status is Status.SAVED:
        print(f"saved profile {outcome.path}" + (f" and picture {outcome.report_png}" if outcome.report_png else ""))
    return 0 if outcome.status in (Status.SAVED, Status.DRY_RUN) else 1
