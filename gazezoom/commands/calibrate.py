"""``gazezoom calibrate``: calibrate a user to this screen and seat, and save the profile.

Without ``--replay`` it opens the full-screen calibration window of the GUI (keyboard-driven; Esc cancels and the
saved profile stays as it was). With ``--replay FOLDER`` it fits from a saved recording (video + targets.json +
screen.json, see ``gazezoom/calibration/replay.py``) without camera or screen, e.g. to refit after a gaze-model
update. Either way the fit is validated on targets it never saw, the report is printed and drawn as a PNG, and the
profile goes to ``<profiles>/<user>.json``.

Live mode contract with the GUI: ``gazezoom.gui.calibrate_live.run_calibration(args) -> int`` receives these parsed
arguments. It builds ``CalibrationProcedure(screen, layout=args.layout, n_validation=args.validation,
regressor=args.regressor, settings=selection_settings(args), pursuit_s=args.pursuit_s)`` (screen from
:func:`screen_from_args`), forwards frames (``procedure.update(t, pipeline.process(frame, t))``) and keys
(``procedure.handle_key(name, t)``), draws ``ProcedureState``, optionally records with ``RecordingWriter`` when
``args.record`` is set, and on accept calls ``calibration.profile.save_outcome(args.user, outcome, screen,
stage_identity(resolve_stage(args.gaze, args.weights), args.weights, args.variant), args.profiles, report_png=..., max_error_deg=args.max_error_deg)``.
"""

from __future__ import annotations

import argparse
import importlib
import json

from ..cliargs import add_model_args, selection_settings
from ..errors import GazezoomError, StateError

EPILOG = """examples:
  gazezoom calibrate --user alice                          # live, 9 targets + 5 validation targets
  gazezoom calibrate --user alice --layout 13 --regressor geometric
  gazezoom calibrate --user alice --replay runs/calib_alice --compare
profiles folder: --profiles DIR, else $GAZEZOOM_PROFILES, else calibration/ in the repository."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..calibration.procedure import SelectionSettings
    from ..calibration.regressors import DEFAULT_REGRESSOR, REGRESSORS
    from ..calibration.targets import LAYOUTS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--user", required=True, help="profile name: letters, digits, '_', '-', '.'")
    parser.add_argument("--replay", metavar="FOLDER", help="fit from a recording folder instead of the camera")
    parser.add_argument("--regressor", default=DEFAULT_REGRESSOR, choices=REGRESSORS.names(),
                        help=f"calibration model (default {DEFAULT_REGRESSOR}); 'geometric' survives head movement")
    parser.add_argument("--compare", action="store_true",
                        help="with --replay: also fit and report every other regressor (only --regressor is saved)")
    parser.add_argument("--layout", default="9", choices=LAYOUTS.names(), help="calibration targets (default 9)")
    parser.add_argument("--validation", type=int, default=5, metavar="N", help="validation targets (default 5)")
    parser.add_argument("--pursuit-s", type=float, default=20.0, help="duration of the smooth-pursuit path (s)")
    parser.add_argument("--settle-s", type=float, default=SelectionSettings.settle_s,
                        help="skip this long after each target appears (default %(default)s s)")
    parser.add_argument("--max-head-move-mm", type=float, default=SelectionSettings.max_head_move_mm,
                        help="drop frames with the eyes this far from where they started (default %(default)s mm)")
    parser.add_argument("--outlier-k", type=float, default=SelectionSettings.outlier_k,
                        help="drop calibration frames whose gaze is over K x the median distance from the target's "
                             "median gaze (glances away); 0 keeps all (default %(default)s)")
    from ..models.stages import GAZE_HELP

    add_model_args(parser, backend=False, variant_help="gaze model variant in the weights folder",
                   gaze_help=GAZE_HELP + "; a profile only works with the stage it was fitted with")
    parser.add_argument("--landmarker", default="mediapipe", help="face landmarker backend")
    parser.add_argument("--camera-file", help="camera intrinsics (JSON / OpenCV YAML); default from frame size")
    parser.add_argument("--mirror", action="store_true", help="mirror averaging (as `demo --mirror` / `process "
                        "--mirror`): fit the profile on the readings those commands will map")
    parser.add_argument("--camera", type=int, default=0, help="live: camera index (default 0)")
    parser.add_argument("--screen", metavar="JSON",
                        help="live: screen geometry file (width_px, height_px, width_mm, height_mm, "
                             "camera_offset_mm); default a 15.6\" 1920x1080 laptop")
    parser.add_argument("--record", metavar="FOLDER", help="live: save the run as a recording folder")
    parser.add_argument("--profiles", metavar="DIR", help="profiles folder")
    parser.add_argument("--report", metavar="PNG", help="validation picture (default <profiles>/<user>_validation.png)")
    parser.add_argument("--max-error-deg", type=float,
                        help="refuse to save when the validation error is above this many degrees (default 5)")
    parser.add_argument("--force", action="store_true",
                        help="save even a fit the quality guard refuses (validation error above --max-error-deg, "
                             "fewer than 20 calibration frames, or no validation frames)")
    parser.add_argument("--dry-run", action="store_true", help="fit and report, save nothing")


def screen_from_args(args):
    """``--screen JSON`` or the laptop default."""
    from ..calibration.screen import ScreenGeometry

    return ScreenGeometry.load(args.screen) if args.screen else ScreenGeometry()


def run(args: argparse.Namespace) -> int:
    from ..calibration.profile import check_user

    check_user(args.user)
    if args.replay:
        return _replay(args)
    try:
        window = importlib.import_module("gazezoom.gui.calibrate_live")
    except ImportError as err:
        raise StateError(
            f"the calibration window (gazezoom.gui.calibrate_live) is not available ({err}); "
            "fit from a recording with --replay FOLDER instead"
        ) from None
    return int(window.run_calibration(args) or 0)


def _replay(args) -> int:
    from ..calibration.procedure import fit_and_validate
    from ..calibration.profile import check_quality, profiles_dir, save_outcome
    from ..calibration.regressors import REGRESSORS
    from ..calibration.replay import load_recording, replay_samples

    recording = load_recording(args.replay)
    settings = selection_settings(args)
    from ..build import build_pipeline, load_gaze

    gaze = load_gaze(args.gaze, weights=args.weights, variant=args.variant)
    identity = gaze.identity
    with build_pipeline(gaze=gaze, display=False, landmarker=args.landmarker, camera=args.camera_file,
                        mode="video", mirror=args.mirror) as pipe:
        samples, counts = replay_samples(recording, lambda frame, t: pipe.process(frame, t), settings, progress=True)
    print(f"frames: {json.dumps(counts)}")
    names = [args.regressor] + ([n for n in REGRESSORS.names() if n != args.regressor] if args.compare else [])
    outcomes = {}
    for name in names:
        try:
            outcomes[name] = fit_and_validate(samples, recording.screen, name, outlier_k=settings.outlier_k)
        except GazezoomError as err:
            if name == args.regressor:
                raise
            print(f"{name}: {err}")
            continue
        o = outcomes[name]
        print(f"{name}: fitted on {o.n_calibration_frames} frames ({o.n_outliers} outliers dropped) "
              f"in {o.fit_time_ms:.1f} ms")
        print(o.report.summary() if o.report else "  no validation frames: accuracy unknown")
    outcome = outcomes[args.regressor]
    if args.dry_run:
        if args.max_error_deg is not None and outcome.report is not None:
            outcome.report.check(args.max_error_deg)
        try:
            check_quality(outcome, args.max_error_deg)
        except GazezoomError as err:
            print(f"quality guard: {err}")
        print("dry run: nothing saved")
        return 0
    png = args.report or profiles_dir(args.profiles) / f"{args.user}_validation.png"
    path, png = save_outcome(args.user, outcome, recording.screen, identity, args.profiles, report_png=png,
                             max_error_deg=args.max_error_deg, force=args.force)
    print(f"saved profile {path}" + (f" and picture {png}" if png else ""))
    return 0
