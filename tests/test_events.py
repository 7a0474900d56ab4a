"""Eye-movement events (gazezoom.io.events) and `process --events / --figures`.

The synthetic trace (30 fps, noise-free) and its hand-checked reading, with the central-difference velocity
v[i] = (x[i+1] - x[i-1]) * 30 / 2 and the I-VT threshold 30 deg/s:

    frames   (yaw, pitch)   velocity |v| (deg/s)
    0-19     (0, 0)         0 … 0, v[19] = 10*15 = 150
    20-39    (10, 0)        v[20] = 150, 0 …, v[39] = NaN (frame 40 is a blink)
    40-42    blink, held    NaN; v[43] = NaN (frame 42)
    43-59    (10, 6)        0 …, v[59] = |(-15, 0)|*15 = 225
    60-64    (-5, 6)        v[60] = 225, v[61..63] = 0, v[64] = 6*15 = 90      (5 frames: 3 slow samples)
    65-68    (-5, 0)        v[65] = 90, v[66..67] = 0, v[68] = 10*15 = 150     (4 frames: 2 slow samples < 100 ms)
    69-89    (5, 0)         v[69] = 150, 0 … (pymovements sets the last sample's velocity to 0)

so fixations 0-18, 21-38, 44-58, 61-63, 70-89 (66-67 is too short), saccades 19-20 (10 deg, 150 deg/s),
59-60 (15 deg, 225), 64-65 (6 deg, 90), 68-69 (10 deg, 150), and the blink 40-42. Amplitudes are measured from the
sample before to the sample after the saccade samples.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gazezoom.io.events import EVENT_COLUMNS, detect_events, events_path, read_events, resolution, write_events
from gazezoom.io.table import COLUMNS

FPS = 30.0


def synthetic_rows(noise_deg: float = 0.0, seed: int = 0) -> list[dict]:
    segments = [(20, (0, 0)), (20, (10, 0)), (3, None), (17, (10, 6)), (5, (-5, 6)), (4, (-5, 0)), (21, (5, 0))]
    rng = np.random.default_rng(seed)
    rows, i, last = [], 0, None
    for n, pos in segments:
        for _ in range(n):
            r = dict.fromkeys(COLUMNS)
            r.update(frame=i, time_s=round(i / FPS, 6), face=1, faces=1, blink=0, gaze_held=0)
            if pos is None:  # blink: the pipeline holds the last gaze
                r.update(blink=1, gaze_held=1)
                yaw, pitch = last
            else:
                yaw, pitch = np.asarray(pos, float) + rng.normal(0, noise_deg, 2) if noise_deg else pos
                last = (yaw, pitch)
            r.update(gaze_yaw_deg=float(yaw), gaze_pitch_deg=float(pitch))
            rows.append(r)
            i += 1
    return rows


def _spans(det, kind):
    return [(e["start_frame"], e["end_frame"]) for e in det.events if e["type"] == kind]


def test_synthetic_trace_exact():
    det = detect_events(synthetic_rows(), threshold_deg_s=30.0)
    assert _spans(det, "fixation") == [(0, 18), (21, 38), (44, 58), (61, 63), (70, 89)]
    assert _spans(det, "saccade") == [(19, 20), (59, 60), (64, 65), (68, 69)]
    assert _spans(det, "blink") == [(40, 42)]
    assert [e["type"] for e in det.events] == ["fixation", "saccade", "fixation", "blink", "fixation", "saccade",
                                              "fixation", "saccade", "saccade", "fixation"]
    fix = [e for e in det.events if e["type"] == "fixation"]
    assert [(e["gaze_yaw_deg"], e["gaze_pitch_deg"]) for e in fix] == [(0, 0), (10, 0), (10, 6), (-5, 6), (5, 0)]
    assert [e["duration_ms"] for e in fix] == pytest.approx([19e3 / 30, 18e3 / 30, 15e3 / 30, 100.0, 20e3 / 30], abs=2e-3)
    assert fix[0]["start_s"] == 0.0 and fix[0]["end_s"] == pytest.approx(19 / 30, abs=1e-6)
    sac = [e for e in det.events if e["type"] == "saccade"]
    assert [e["amplitude_deg"] for e in sac] == pytest.approx([10, 15, 6, 10], abs=1e-9)
    assert [e["peak_velocity_deg_s"] for e in sac] == pytest.approx([150, 225, 90, 150], rel=1e-4)  # frame times have 6 decimals
    assert all(e["screen_x_px"] is None for e in det.events)  # no profile
    blink = next(e for e in det.events if e["type"] == "blink")
    assert blink["start_s"] == pytest.approx(40 / 30, abs=1e-6) and blink["duration_ms"] == pytest.approx(100, abs=2e-3)
    assert blink["gaze_pitch_deg"] is None and blink["amplitude_deg"] is None
    assert det.info["counts"] == {"fixation": 5, "saccade": 4, "blink": 1}
    assert det.info["threshold_deg_s"] == 30.0


def test_automatic_threshold_floor_and_noise():
    clean = detect_events(synthetic_rows())  # no noise: the floor, Tobii's 30 deg/s, and the exact reading
    assert clean.info["threshold_deg_s"] == 30.0 and clean.info["velocity_noise_deg_s"] == 0.0
    assert _spans(clean, "saccade") == [(19, 20), (59, 60), (64, 65), (68, 69)]
    noisy = detect_events(synthetic_rows(noise_deg=0.8, seed=1))
    # 0.8 deg per sample -> per-axis velocity sd 0.8*sqrt(2)*15 = 17 deg/s; the Engbert-Kliegl estimate is 0.674 of
    # that per axis, hypot 16.2 deg/s; threshold 3x that
    assert 12 < noisy.info["velocity_noise_deg_s"] < 21
    assert noisy.info["threshold_deg_s"] == pytest.approx(3 * noisy.info["velocity_noise_deg_s"], abs=1e-3)
    found = {(e["start_frame"], e["end_frame"]): e["amplitude_deg"] for e in noisy.events if e["type"] == "saccade"}
    for span, amp in zip([(19, 20), (59, 60), (64, 65), (68, 69)], [10, 15, 6, 10]):  # found through the noise
        assert found[span] == pytest.approx(amp, abs=2.0)  # two samples of 0.8 deg noise: ~1.1 deg sd
    false = [a for span, a in found.items() if span not in [(19, 20), (59, 60), (64, 65), (68, 69)]]
    assert len(false) <= 4 and max(false, default=0) < 4  # noise crosses the threshold on a few samples only
    assert _spans(noisy, "blink") == [(40, 42)]


def test_min_fixation_and_threshold_options():
    det = detect_events(synthetic_rows(), threshold_deg_s=30.0, min_fixation_ms=60.0)
    assert (66, 67) in _spans(det, "fixation")  # 2 samples = 66.7 ms >= 60 ms
    det = detect_events(synthetic_rows(), threshold_deg_s=200.0)
    assert _spans(det, "saccade") == [(59, 60)]  # only the 15 deg step reaches 225 deg/s


def test_resolution_at_30fps():
    r = resolution(1 / 30, 30.0)
    assert r == {"smallest_saccade_deg": 2.0, "shortest_fixation_ms": pytest.approx(166.7), "fixation_duration_bias_ms": -66.7}


def test_bad_input():
    from gazezoom.errors import InputValueError

    rows = synthetic_rows()
    with pytest.raises(InputValueError, match="threshold must be > 0"):
        detect_events(rows, threshold_deg_s=0)
    with pytest.raises(InputValueError, match="at least 3 frames"):
        detect_events(rows[:2])
    stills = [dict(r, time_s=None) for r in rows]
    with pytest.raises(InputValueError, match="increasing frame times"):
        detect_events(stills)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_write_read_roundtrip(tmp_path, fmt):
    det = detect_events(synthetic_rows(), threshold_deg_s=30.0)
    path = write_events(events_path(tmp_path / f"clip.{fmt}"), det, fmt)
    assert path.name == f"clip.events.{fmt}"
    back = read_events(path)
    assert back == det.events
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    assert meta["columns"] == list(EVENT_COLUMNS) and meta["threshold_deg_s"] == 30.0
    assert meta["resolution"]["smallest_saccade_deg"] == pytest.approx(2.0, abs=1e-3)


def test_figures_angle_space(tmp_path):
    import cv2

    from gazezoom.io.figures import draw_figures

    rows = synthetic_rows(noise_deg=0.3)
    det = detect_events(rows, threshold_deg_s=30.0)
    heat, scan = draw_figures(rows, det.events, tmp_path / "clip.csv", title="synthetic")
    for p in (heat, scan):
        img = cv2.imread(str(p))
        assert img is not None and img.shape == (600, 800, 3) and img.std() > 10


@pytest.mark.slow
def test_process_events_single_face(tmp_path, media_dir):
    """The CLI on a real video: fixations, and its one real blink at frames 26-28."""
    from gazezoom.cli import main

    out = tmp_path / "sf.csv"
    code = main(["process", str(media_dir / "single_face.mp4"), "--out", str(out), "--quiet", "--events", "--figures"])
    assert code == 0
    events = read_events(tmp_path / "sf.events.csv")
    blinks = [(e["start_frame"], e["end_frame"]) for e in events if e["type"] == "blink"]
    assert blinks == [(26, 28)]
    fix = [e for e in events if e["type"] == "fixation"]
    assert len(fix) >= 3 and sum(e["duration_ms"] for e in fix) > 1000  # most of the 2.4 s clip is fixations
    assert all(np.isfinite(e["gaze_pitch_deg"]) for e in fix)
    assert not any(e["start_frame"] <= 27 <= e["end_frame"] for e in events if e["type"] != "blink")
    assert (tmp_path / "sf.heatmap.png").stat().st_size > 10_000 and (tmp_path / "sf.scanpath.png").is_file()


def test_figures_screen_space(tmp_path):
    import cv2

    from gazezoom.calibration.screen import ScreenGeometry

    rows = synthetic_rows(noise_deg=0.3)
    for r in rows:  # a made-up linear map to a 1920x1080 screen: 40 px per degree around the centre
        if r["blink"] != 1:
            r["screen_x_px"], r["screen_y_px"] = 960 + 40 * r["gaze_yaw_deg"], 540 - 40 * r["gaze_pitch_deg"]
    det = detect_events(rows, threshold_deg_s=30.0)
    fix = [e for e in det.events if e["type"] == "fixation"]
    assert fix[0]["screen_x_px"] == pytest.approx(960, abs=10) and fix[1]["screen_x_px"] == pytest.approx(1360, abs=10)
    from gazezoom.io.figures import draw_figures

    heat, scan = draw_figures(rows, det.events, tmp_path / "clip.csv", ScreenGeometry())
    assert all(cv2.imread(str(p)).std() > 10 for p in (heat, scan))
