"""Recordings and `gazezoom calibrate --replay` on a real video.

The replay test uses ../shared/media/single_face.mp4 with made-up targets and an untrained gaze network: it checks
the plumbing end to end (video → Pipeline.process → sample selection → fit → validation report → profile), not
accuracy — the man in the video does not look at these targets.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from gazezoom.calibration.profile import load_profile
from gazezoom.calibration.replay import RecordingWriter, iter_video, load_recording, save_recording
from gazezoom.calibration.screen import ScreenGeometry
from gazezoom.calibration.targets import layout_points, validation_points
from gazezoom.cli import main
from gazezoom.errors import InputValueError, MediaError, ProfileError

_HAS_PREDICTOR = importlib.util.find_spec("gazezoom.models.predictor") is not None


def made_up_timeline(screen: ScreenGeometry, dwell_s: float = 0.34) -> list[dict]:
    """5 calibration + 2 validation targets, 0.34 s each: 2.38 s, inside the 2.4 s video."""
    cal = layout_points("5", screen)
    val = validation_points(screen, cal, 2)
    out, t = [], 0.0
    for i, (p, role) in enumerate([(p, "calibration") for p in cal] + [(p, "validation") for p in val]):
        out.append(dict(id=i, role=role, x_px=float(p[0]), y_px=float(p[1]), t_on_s=round(t, 3),
                        t_off_s=round(t + dwell_s, 3)))
        t += dwell_s
    return out


@pytest.fixture
def recording(tmp_path, media_dir):
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "video.mp4").symlink_to(media_dir / "single_face.mp4")  # used in place, never copied
    save_recording(folder, ScreenGeometry(), made_up_timeline(ScreenGeometry()))
    return folder


def test_load_recording(recording):
    rec = load_recording(recording)
    assert len(rec.spans) == 7 and rec.screen == ScreenGeometry()
    assert rec.span_at(0.1).target.id == 0 and rec.span_at(2.0).target.role == "validation"
    assert rec.span_at(5.0) is None


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda d: d.update(version=9), "schema"),
        (lambda d: d["targets"][0].pop("t_on_s"), "lacks 't_on_s'"),
        (lambda d: d["targets"][1].update(t_on_s=0.1), "overlap"),
        (lambda d: d["targets"][0].update(role="warmup"), "role"),
        (lambda d: d["targets"][0].update(t_off_s=-1), "before t_off_s"),
        (lambda d: d.update(targets=[]), "no 'targets'"),
    ],
)
def test_malformed_recordings(recording, edit, match):
    p = recording / "targets.json"
    d = json.loads(p.read_text())
    edit(d)
    p.write_text(json.dumps(d))
    with pytest.raises(InputValueError, match=match):
        load_recording(recording)


def test_recording_without_video(tmp_path):
    save_recording(tmp_path, ScreenGeometry(), made_up_timeline(ScreenGeometry()))
    with pytest.raises(MediaError, match="no video"):
        load_recording(tmp_path)
    with pytest.raises(MediaError, match="does not exist"):
        load_recording(tmp_path / "nope")


def test_recording_writer_round_trip(tmp_path, media_dir):
    frames = [f for _, _, f in iter_video(media_dir / "single_face.mp4")][:20]
    h, w = frames[0].shape[:2]
    writer = RecordingWriter(tmp_path / "rec", 30.0, (h, w))
    times = [writer.add(f) for f in frames]
    assert times[:3] == [0.0, 1 / 30, 2 / 30]
    tl = [dict(id=0, role="calibration", x_px=10.0, y_px=20.0, t_on_s=0.0, t_off_s=0.5)]
    writer.close(ScreenGeometry(width_px=1280, height_px=800, width_mm=300, height_mm=187.5), tl)
    rec = load_recording(tmp_path / "rec")
    assert rec.screen.width_px == 1280
    back = list(iter_video(rec.video))
    assert len(back) == 20 and back[0][2].shape == (h, w, 3)


@pytest.mark.slow
@pytest.mark.skipif(not _HAS_PREDICTOR, reason="gazezoom.models.predictor cannot be imported (gaze model not built)")
def test_replay_cli_end_to_end(recording, tmp_path, capsys):
    import torch

    from gazezoom.models.checkpoint import save_weights
    from gazezoom.models.variants import ModelConfig, build_model

    torch.manual_seed(0)
    weights, _ = save_weights(build_model(ModelConfig(variant="sampler@P")), tmp_path / "w" / "gaze_sampler_P")
    profiles = tmp_path / "profiles"
    args = ["calibrate", "--user", "replayed", "--replay", str(recording), "--weights", str(weights),
            "--settle-s", "0.05", "--profiles", str(profiles)]
    # an untrained network's fit is far worse than 5°: the quality guard refuses to save it and says how to override
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 8 and "not saved" in err and "--force" in err, err
    assert not profiles.exists() or not list(profiles.iterdir())
    rc = main([*args, "--compare", "--force"])
    out = capsys.readouterr().out
    assert rc == 0, out
    counts = json.loads(out.splitlines()[0].split("frames: ", 1)[1])
    assert counts.get("ok", 0) >= 40  # MediaPipe finds the face in every frame of this video
    assert "validation (ridge)" in out and "validation (geometric)" in out
    p = load_profile("replayed", profiles)
    assert p.model.name == "ridge" and p.gaze_model.startswith("gaze_sampler_P@")
    assert p.validation and len(p.validation["targets"]) == 2
    assert (profiles / "replayed_validation.png").stat().st_size > 10_000
    # a different gaze model is refused on load
    with pytest.raises(ProfileError, match="fitted with gaze model"):
        load_profile("replayed", profiles, gaze_model="gaze_sampler_P@000000000000")


def test_live_calibrate_without_gui_is_a_clear_error(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gazezoom.gui.calibrate_live", None)  # makes the import fail
    rc = main(["calibrate", "--user", "bob"])
    err = capsys.readouterr().err
    assert rc != 0 and "calibration window" in err and "--replay" in err


def test_live_run_and_its_replay_select_the_same_frames(tmp_path):
    """A run recorded with RecordingWriter + procedure.timeline() replays to the very same samples (simulated user
    standing in for the camera and the pipeline, so the time bases are what is tested)."""
    from gazezoom.calibration.procedure import CalibrationProcedure
    from gazezoom.calibration.replay import replay_samples
    from gazezoom.calibration.simulate import SimulatedUser

    fps = 30.0
    live_user = SimulatedUser(seed=11)
    proc = CalibrationProcedure(live_user.screen, layout="5", n_validation=2)
    writer = RecordingWriter(tmp_path / "rec", fps, (32, 32))
    black = np.zeros((32, 32, 3), np.uint8)
    t = writer.add(black)
    st = proc.start(t)
    while proc.phase == proc.RUNNING:
        st = proc.update(t, live_user.frame(t, st.position_px))
        t = writer.add(black)
    writer.close(live_user.screen, proc.timeline(0.0))
    rec = load_recording(tmp_path / "rec")

    replay_user = SimulatedUser(seed=11)  # same seed: the same noise for the same sequence of frames

    def process(frame, t):
        span = rec.span_at(t)
        return replay_user.frame(t, span.target.position(t - span.t_on)) if span else None

    samples, counts = replay_samples(rec, process, proc.settings)
    live = [(s.target_id, round(s.t, 6)) for s in proc.samples]
    assert [(s.target_id, round(s.t, 6)) for s in samples] == live
    np.testing.assert_allclose(np.stack([s.features for s in samples]), np.stack([s.features for s in proc.samples]))
