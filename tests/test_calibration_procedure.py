"""Targets, sample selection, the procedure driven by a simulated user (synthetic), report, drift correction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gazezoom.calibration.drift import ClickCorrector, recentre
from gazezoom.calibration.mapping import ScreenMapper
from gazezoom.calibration.procedure import (
    CalibrationProcedure,
    Reason,
    SampleSelector,
    SelectionSettings,
    fit_and_validate,
)
from gazezoom.calibration.regressors import create_regressor
from gazezoom.calibration.report import accuracy_report, plot_report
from gazezoom.calibration.screen import ScreenGeometry
from gazezoom.calibration.simulate import SimConfig, SimulatedUser
from gazezoom.calibration.targets import LAYOUTS, layout_points, make_targets, pursuit_path, validation_points
from gazezoom.errors import InputValueError, NotEnoughDataError, PoorFitError, StateError, UnknownNameError
from gazezoom.filters import create_filter
from gazezoom.results import FrameResult

FPS = 30.0


def drive(proc, sim, t=0.0, shift=lambda t: (0.0, 0.0, 0.0), max_s=120.0):
    """Run the procedure to the end of the current run with the simulated user looking at the target."""
    st = proc.start(t) if proc.phase == proc.IDLE else proc.state(t)
    end = t + max_s
    while proc.phase == proc.RUNNING and t < end:
        st = proc.update(t, sim.frame(t, st.position_px, shift(t)))
        t += 1 / FPS
    return t


# ---- targets --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,n", [("5", 5), ("9", 9), ("13", 13), ("16", 16), ("pursuit", 1)])
def test_layouts_inside_screen(name, n):
    s = ScreenGeometry()
    p = layout_points(name, s)
    assert p.shape == (n, 2)
    assert np.all(p >= 0) and np.all(p[:, 0] < s.width_px) and np.all(p[:, 1] < s.height_px)
    assert len(np.unique(p, axis=0)) == n


@pytest.mark.parametrize("name", ["5", "9", "13", "16"])
def test_validation_points_never_calibration_points(name):
    s = ScreenGeometry()
    cal = layout_points(name, s)
    val = validation_points(s, cal, 5)
    d = np.linalg.norm(val[:, None] - cal[None], axis=-1)
    assert d.min() > 0.08 * s.width_px
    assert len(np.unique(val, axis=0)) == 5


def test_pursuit_path_is_smooth_and_slow():
    s = ScreenGeometry()
    path = pursuit_path(s, 20.0)
    speed_px = np.linalg.norm(np.diff(path[:, 1:], axis=0), axis=1) / np.diff(path[:, 0])
    mm_per_px = s.mm_per_px[0]
    speed_deg = np.degrees(speed_px * mm_per_px / s.default_distance_mm)
    assert speed_deg.max() < 15  # smooth pursuit follows up to about 30°/s; stay well below
    assert np.all((path[:, 1:] >= 0) & (path[:, 1:] < [s.width_px, s.height_px]))


def test_unknown_layout_lists_valid():
    with pytest.raises(UnknownNameError, match="13, 16, 5, 9, pursuit"):
        layout_points("7", ScreenGeometry())


def test_make_targets_roles_and_ids():
    t = make_targets(ScreenGeometry(), "9", 4, seed=3)
    assert [x.role for x in t] == ["calibration"] * 9 + ["validation"] * 4
    assert [x.id for x in t] == list(range(13))


# ---- selection ------------------------------------------------------------------------------------------------


def test_selector_rules():
    sim = SimulatedUser(seed=0, config=SimConfig(blink_every_s=1e9))
    sel = SampleSelector(SelectionSettings(settle_s=0.3, max_head_move_mm=40))
    assert sel.consider(0.1, sim.frame(0.1, [500, 500]))[0] == Reason.SETTLING
    reason, f = sel.consider(0.5, sim.frame(0.5, [500, 500]))
    assert reason == Reason.OK and f.shape == (19,)
    assert sel.consider(0.6, sim.frame(0.6, [500, 500], (60, 0, 0)))[0] == Reason.HEAD_MOVED
    assert sel.consider(0.7, FrameResult(0, 0.7, (480, 640), None))[0] == Reason.NO_FACE
    blinker = SimulatedUser(seed=0)
    tb = blinker._blinks[0] + 0.05
    assert sel.consider(1.0, blinker.frame(tb, [500, 500]))[0] == Reason.BLINK


def test_settings_validation():
    with pytest.raises(InputValueError, match="settle_s"):
        SelectionSettings(settle_s=2.0, dwell_s=1.5)


def test_radius_shrinks_then_steady():
    s = SelectionSettings()
    r = [s.radius_px(t) for t in np.linspace(0, 0.45, 10)]
    assert r[0] == s.radius_max_px and all(a >= b for a, b in zip(r, r[1:]))
    late = [s.radius_px(t) for t in np.linspace(0.6, 1.5, 20)]
    assert max(late) < 1.2 * s.radius_min_px


# ---- procedure ------------------------------------------------------------------------------------------------


def test_full_procedure_with_simulated_user():
    sim = SimulatedUser(seed=2)
    proc = CalibrationProcedure(sim.screen, layout="9", n_validation=5, regressor="geometric")
    assert proc.state(0.0).phase == "idle"
    t = drive(proc, sim)
    assert proc.phase == "review", proc.error
    rep = proc.outcome.report
    assert len(rep.targets) == 5 and all(tr.n_frames >= proc.settings.min_samples for tr in rep.targets)
    assert 0.5 < rep.error_deg < 2.5 and rep.distance_mm == pytest.approx(555, abs=40)
    # no sample from the settle part, no blink frames
    starts = {s.target.id: s.t_on for s in proc.shown}
    assert min(x.t - starts[x.target_id] for x in proc.samples) >= proc.settings.settle_s - 1e-9
    assert not any(sim.is_blink(x.t) for x in proc.samples)
    # timeline for a recording: every target once, in order, not overlapping
    tl = proc.timeline()
    assert len(tl) == 14 and all(a["t_off_s"] <= b["t_on_s"] for a, b in zip(tl, tl[1:]))
    outcome = proc.accept()
    assert outcome.model.is_fitted and proc.phase == "accepted"
    with pytest.raises(StateError, match="nothing to accept"):
        proc.accept()
    assert t < 14 * proc.settings.max_dwell_s


def test_head_moving_during_calibration_drops_frames():
    sim = SimulatedUser(seed=4, config=SimConfig(blink_every_s=1e9))
    proc = CalibrationProcedure(sim.screen, layout="5", n_validation=2)
    away = (3.0, 6.0)  # the user leans 12 cm sideways for three seconds
    drive(proc, sim, shift=lambda t: (120.0, 0.0, 0.0) if away[0] <= t < away[1] else (0.0, 0.0, 0.0))
    assert proc.phase == "review", proc.error
    ts = np.array([s.t for s in proc.samples])
    assert not np.any((ts >= away[0]) & (ts < away[1]))
    # the target on screen while the head was away waited for max_dwell_s instead of dwell_s
    spans = [(s.t_on, s.t_off) for s in proc.shown]
    assert any(off - on >= proc.settings.max_dwell_s - 1e-6 for on, off in spans if on < away[1] and off > away[0])


def test_head_away_for_good_fails_with_clear_error():
    sim = SimulatedUser(seed=4, config=SimConfig(blink_every_s=1e9))
    proc = CalibrationProcedure(sim.screen, layout="5", n_validation=2)
    drive(proc, sim, shift=lambda t: (0.0, 0.0, 0.0) if t < 3.0 else (120.0, 0.0, 0.0))
    assert proc.phase == "failed" and isinstance(proc.error, NotEnoughDataError)
    assert "target positions" in str(proc.error)


def test_redo_worst_and_cancel():
    sim = SimulatedUser(seed=5)
    proc = CalibrationProcedure(sim.screen, layout="9", n_validation=4)
    t = drive(proc, sim)
    worst = proc.outcome.report.worst(1)
    n_before = len(proc.samples)
    st = proc.redo_worst(t, n=1)
    assert st.phase == "running" and st.total == 2 and st.target.id == worst[0]
    t = drive(proc, sim, t)
    assert proc.phase == "review" and len(proc.samples) == pytest.approx(n_before, rel=0.1)
    with pytest.raises(InputValueError, match="valid ids"):
        proc.redo([99], t)
    proc.cancel()
    assert proc.state(t).phase == "cancelled"
    with pytest.raises(StateError):
        proc.redo([0], t)


def test_no_face_fails_with_clear_error():
    proc = CalibrationProcedure(ScreenGeometry(), layout="5", n_validation=1)
    t = 0.0
    proc.start(t)
    while proc.phase == "running":
        proc.update(t, FrameResult(0, t, (480, 640), None))
        t += 1 / FPS
    assert proc.phase == "failed" and isinstance(proc.error, NotEnoughDataError)
    assert "face" in proc.state(t).message


def test_pursuit_layout_runs():
    sim = SimulatedUser(seed=6)
    proc = CalibrationProcedure(sim.screen, layout="pursuit", n_validation=3, pursuit_s=8.0)
    drive(proc, sim)
    assert proc.phase == "review"
    cal = [s for s in proc.samples if s.role == "calibration"]
    assert len(np.unique(np.array([s.target_px for s in cal]), axis=0)) > 100  # a moving target
    assert proc.outcome.report.error_deg < 3.0


def test_unknown_regressor_fails_before_the_run():
    with pytest.raises(UnknownNameError):
        CalibrationProcedure(ScreenGeometry(), regressor="nope")


# ---- report ---------------------------------------------------------------------------------------------------


def test_report_units_on_a_known_offset(tmp_path):
    """Predictions exactly 1 cm right of the target, eye 573 mm in front: 1 cm, about 1°, px = 10 mm / pitch."""
    s = ScreenGeometry()
    true = np.array([[960.0, 540.0]] * 4 + [[300.0, 300.0]] * 4)
    pred = true + np.array([10.0 / s.mm_per_px[0], 0.0])
    eye_at = s.px_to_cam(true) + np.array([0, 0, 573.0])  # straight in front of each target
    rep = accuracy_report(pred, true, np.array([0] * 4 + [1] * 4), eye_at, s, "test")
    assert rep.error_cm == pytest.approx(1.0)
    assert rep.error_px == pytest.approx(10.0 / s.mm_per_px[0])
    assert rep.error_deg == pytest.approx(1.0, rel=3e-3)
    assert rep.precision_px == pytest.approx(0.0, abs=1e-9)
    assert rep.to_dict()["targets"][0]["n_frames"] == 4
    with pytest.raises(PoorFitError, match="above the limit"):
        rep.check(0.5)
    rep.check(1.5)
    png = plot_report(rep, s, tmp_path / "r.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000



def test_validation_picture_of_a_wild_fit_stays_readable(tmp_path):
    """A fit that puts one target 12 000 px off the screen (issue 14): the plot keeps its size (no squashing, no
    layout warning), every per-target label stays inside the plot, none floats above it."""
    import warnings

    import cv2

    s = ScreenGeometry()
    targets = np.array([[300, 300], [960, 540], [1600, 300], [300, 800], [1600, 800]], float)
    true, ids = np.repeat(targets, 6, 0), np.repeat(np.arange(5), 6)
    pred = true + np.array([700.0, 200.0])
    pred[ids == 0] = [-11835.0, 500.0]
    rep = accuracy_report(pred, true, ids, s.px_to_cam(true) + np.array([0, 0, 573.0]), s, "ridge")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Tight layout not applied" was the squashed picture
        png = plot_report(rep, s, tmp_path / "v.png")
    img = cv2.imread(str(png))
    h, w = img.shape[:2]
    spines = np.nonzero((img.max(axis=2) < 60).sum(axis=1) > 0.5 * w)[0]  # the axes' top and bottom frame lines
    top, bottom = spines.min(), spines.max()
    assert bottom - top > 0.6 * h
    red = (img[..., 2] > 180) & (img[..., 1] < 90) & (img[..., 0] < 90)  # tab:red: circles and error labels
    assert not red[: top - 1].any() and not red[bottom + 2 :].any()

def test_report_counts_missing_predictions_as_errors():
    s = ScreenGeometry()
    true = np.array([[960.0, 540.0]] * 2)
    pred = np.array([[960.0, 540.0], [np.nan, np.nan]])
    rep = accuracy_report(pred, true, np.zeros(2, int), np.array([[0, 0, 550.0]] * 2), s)
    assert rep.error_px > 500


# ---- drift ----------------------------------------------------------------------------------------------------


def _fitted_mapper(seed=7):
    sim = SimulatedUser(seed=seed)
    proc = CalibrationProcedure(sim.screen, layout="9", n_validation=0)
    drive(proc, sim)
    return sim, ScreenMapper(proc.outcome.model, sim.screen)


def test_recentre_removes_a_drift_offset():
    sim, mapper = _fitted_mapper()
    # drift: the user's eye position estimate moved 15 mm down after calibration
    drifted = dataclasses.replace(sim.cfg, head_mm=(0.0, 75.0, 550.0))
    sim2 = SimulatedUser(sim.screen, drifted, seed=8)
    X, y, _ = sim2.fixations([[960, 540]], dwell_s=1.5, t0=100)
    before = np.linalg.norm(np.median(mapper.map_features(X), 0) - [960, 540])
    params_before = mapper.model.get_params()
    off = recentre(mapper, X, [960, 540])
    after = np.linalg.norm(np.median(mapper.map_features(X), 0) - [960, 540])
    assert after < 1.0 < before
    assert mapper.model.get_params() == params_before  # only the offset changed
    np.testing.assert_allclose(mapper.offset_px, off)
    with pytest.raises(NotEnoughDataError, match="frames"):
        recentre(mapper, X[:2], [960, 540])
    with pytest.raises(InputValueError, match="recalibrate"):
        recentre(mapper, X, [1900, 1000], max_offset_px=100)


def test_click_correction_moves_offset_toward_clicks_only_when_near():
    sim, mapper = _fitted_mapper()
    c = ClickCorrector(mapper, rate=0.5, max_distance_px=150)
    for k in range(10):
        c.observe(10.0 + k / 30, [1000.0, 500.0])
    assert c.click(10.4, [1060.0, 520.0])
    np.testing.assert_allclose(mapper.offset_px, [30.0, 10.0])
    assert not c.click(10.4, [1500.0, 900.0])  # looking elsewhere while clicking: ignored
    np.testing.assert_allclose(mapper.offset_px, [30.0, 10.0])
    assert not c.click(30.0, [1000.0, 500.0])  # no recent gaze


def test_mapper_with_filter_keeps_raw():
    sim, mapper = _fitted_mapper()
    mapper.filter = create_filter("one_euro")
    pts = [mapper.map_result(sim.frame(50 + k / 30, [960, 540])) for k in range(30)]
    pts = [p for p in pts if p is not None]
    raw = np.array([[p.raw_x_px, p.raw_y_px] for p in pts])
    smooth = np.array([[p.x_px, p.y_px] for p in pts])
    assert smooth[5:].std(0).max() < raw[5:].std(0).max()
    assert mapper.map_result(FrameResult(0, 60.0, (480, 640), None)) is None


def test_fit_and_validate_without_samples():
    with pytest.raises(NotEnoughDataError, match="no usable calibration frames"):
        fit_and_validate([], ScreenGeometry())
    assert create_regressor("ridge").min_targets == 3
    assert "pursuit" in LAYOUTS


def test_keys_drive_the_procedure():
    sim = SimulatedUser(seed=9)
    proc = CalibrationProcedure(sim.screen, layout="5", n_validation=2)
    assert proc.state(0.0).phase == "idle"
    st = proc.handle_key("space", 0.0)
    assert st.phase == "running" and st.position_px is not None and st.radius_px == proc.settings.radius_max_px
    t = drive(proc, sim)
    assert proc.phase == "review" and "validation" in proc.state(t).message
    assert proc.handle_key("W", t).phase == "running"
    t = drive(proc, sim, t)
    assert proc.handle_key("Enter", t).phase == "accepted"
    proc2 = CalibrationProcedure(sim.screen, layout="5")
    proc2.handle_key("space", 0.0)
    assert proc2.handle_key("Escape", 0.1).phase == "cancelled"


def test_recentre_session():
    from gazezoom.calibration.drift import RecentreSession

    sim, mapper = _fitted_mapper()
    sess = RecentreSession(mapper, t0=200.0)
    t = 200.0
    reasons = []
    while not sess.done(t):
        reasons.append(sess.update(t, sim.frame(t, sess.target_px)))
        t += 1 / FPS
    assert reasons[0] == "settling" and "ok" in reasons
    off = sess.finish()
    assert np.linalg.norm(off) < 60  # the simulated user has not drifted: a small correction
    np.testing.assert_allclose(mapper.offset_px, off)


def test_outlier_rejection_removes_glances_away():
    """10 % of calibration frames look at a random other place: dropped, and the fit is better for it."""
    from gazezoom.calibration.features import features_from_result
    from gazezoom.calibration.procedure import Sample, reject_outliers
    from gazezoom.calibration.simulate import simulated_session

    s = simulated_session(3)
    sim = s["sim"]
    no_blinks = SimulatedUser(sim.screen, dataclasses.replace(sim.cfg, blink_every_s=1e9), seed=3)
    rng = np.random.default_rng(0)
    samples, glance = [], []
    for k, (x, y) in enumerate(zip(s["X"], s["y"])):
        if rng.random() < 0.1:
            elsewhere = rng.uniform([0, 0], [sim.screen.width_px, sim.screen.height_px])
            x = features_from_result(no_blinks.frame(500 + k / 30, elsewhere))
            glance.append(k)
        samples.append(Sample(0, "calibration", 0.0, y, x))
    # give each target its own id as the procedure does
    ids = {tuple(v): i for i, v in enumerate(np.unique(s["y"], axis=0))}
    samples = [dataclasses.replace(smp, target_id=ids[tuple(smp.target_px)]) for smp in samples]
    kept, n = reject_outliers(samples)
    kept_idx = {id(smp) for smp in kept}
    dropped_glances = sum(id(samples[k]) not in kept_idx for k in glance)
    assert dropped_glances >= 0.8 * len(glance)
    assert n - dropped_glances <= 0.03 * (len(samples) - len(glance))  # few good frames lost
    val = [Sample(int(i), "validation", 0.0, y, x) for x, y, i in zip(s["Xv"], s["yv"], s["idv"])]
    clean = fit_and_validate(samples + val, sim.screen, "ridge").report.error_deg
    dirty = fit_and_validate(samples + val, sim.screen, "ridge", outlier_k=None).report.error_deg
    assert clean < dirty
