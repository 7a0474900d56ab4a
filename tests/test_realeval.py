"""``gazezoom eval --real DIR --reference DIR``: the reference CSV reader, the metrics on small arrays with exact
values, and the scoreboard end to end on real media (MediaPipe on ../shared/media, no mocks)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gazezoom.cli import main
from gazezoom.errors import InputValueError, MediaError, ModelFileError, UnknownNameError
from gazezoom.geometry import pitchyaw_to_vector, vector_to_pitchyaw
from gazezoom.realeval import (
    AIMS,
    PORTRAITS,
    REFERENCE_COLUMNS,
    angle_to_camera_deg,
    angles_to_reference_deg,
    eye_agreement,
    find_media,
    format_scoreboard,
    jitter_deg,
    mirror_consistency_deg,
    offset_removed_angles_deg,
    parse_candidate,
    pearson_r,
    read_reference,
    roll_consistency_deg,
    rolled_frame,
    vergence_error_deg,
)

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "weights"
REFERENCE = REPO.parent / "shared" / "reference"
HEADER = ",".join(REFERENCE_COLUMNS)


def _row(frame, face=1, pitch=-10.0, yaw=5.0, ear=(0.3, 0.3)):
    vals = [frame, frame / 30, face, pitch, yaw, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 600.0, *ear]
    return ",".join("nan" if isinstance(v, float) and math.isnan(v) else str(v) for v in vals)


def _csv(tmp_path, lines, name="clip.mp4.csv") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture(scope="module")
def reference_dir() -> Path:
    if not (REFERENCE / "single_face.mp4.csv").is_file():
        pytest.skip(f"reference CSVs not found at {REFERENCE}")
    return REFERENCE


def _have_weights(*variants) -> None:
    from gazezoom.models.checkpoint import weights_path

    if not all(weights_path(WEIGHTS, v).is_file() for v in variants):
        pytest.skip("weights/ holds no gaze weights yet")


# --------------------------------------------------------------------------------------------------- the CSV reader


def test_read_reference_keeps_frames_and_marks_the_usable_ones(tmp_path):
    nan = float("nan")
    p = _csv(tmp_path, [HEADER, _row(0), _row(1, ear=(0.19, 0.4)), _row(3, face=0, pitch=nan, yaw=nan, ear=(nan, nan)),
                        _row(4, pitch=-12.5, yaw=-3.0, ear=(0.2, 0.21))])
    r = read_reference(p)
    assert r.frame.tolist() == [0, 1, 3, 4]
    assert r.face.tolist() == [True, True, False, True]
    assert r.usable.tolist() == [True, False, False, True]  # min(ear) 0.19 < 0.2 is a closed eye; 0.2 is open
    assert r.pitchyaw_deg[3].tolist() == [-12.5, -3.0] and r.face_mm[0].tolist() == [0.0, 0.0, 600.0]
    py, ok = r.at(np.array([4, 2, 0, 1]))  # frame 2 has no row: nan and not usable
    assert ok.tolist() == [True, False, True, False]
    assert py[0].tolist() == [-12.5, -3.0] and np.isnan(py[1]).all()


def test_read_reference_on_the_shared_clip(reference_dir):
    r = read_reference(reference_dir / "single_face.mp4.csv")
    assert len(r.frame) == 72 and r.face.all() and r.usable.sum() == 68  # 4 blinks (reference README)


@pytest.mark.parametrize("lines, match", [
    ([HEADER.replace(",ear_r", "")] + [_row(0)[: _row(0).rfind(",")]], "no column ear_r"),
    ([HEADER, _row(0), _row(1).replace("-10.0", "ten", 1)], r"line 3, column 'ref_pitch_deg' is 'ten'"),
    ([HEADER, _row(0), _row(1) + ",7"], "line 3 has 16 fields"),
    ([HEADER, _row(0), _row(0)], "distinct whole numbers"),
    ([HEADER, _row(0, face=2)], "'face' must be 0 or 1"),
    ([HEADER, _row(0, pitch=float("nan"))], "line 2 has face 1 but no finite gaze"),
    ([HEADER], "no rows"),
])
def test_read_reference_refuses_a_malformed_csv_naming_it(tmp_path, lines, match):
    p = _csv(tmp_path, lines)
    with pytest.raises(InputValueError, match=match) as err:
        read_reference(p)
    assert str(p) in str(err.value) and "README" in str(err.value)


def test_read_reference_missing_file_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match="gone.mp4.csv"):
        read_reference(tmp_path / "gone.mp4.csv")


def test_find_media_pairs_files_with_their_csv_and_names_bad_folders(tmp_path):
    media, ref = tmp_path / "media", tmp_path / "ref"
    media.mkdir()
    ref.mkdir()
    for n in ("a.jpg", "b.mp4", "c.png", "notes.txt"):
        (media / n).write_bytes(b"x")
    for n in ("a.jpg.csv", "b.mp4.csv", "notes.txt.csv", "other.jpg.csv"):
        (ref / n).write_text(HEADER)
    assert [(m.name, c.name) for m, c in find_media(media, ref)] == [("a.jpg", "a.jpg.csv"), ("b.mp4", "b.mp4.csv")]
    with pytest.raises(MediaError, match=r"media folder not found: .*nowhere.*--real"):
        find_media(tmp_path / "nowhere", ref)
    with pytest.raises(MediaError, match=r"reference folder not found: .*nowhere.*--reference"):
        find_media(media, tmp_path / "nowhere")
    with pytest.raises(MediaError, match="no image or video in .* has a reference CSV"):
        find_media(media, tmp_path)


# --------------------------------------------------------------------------------------------------- metrics


def test_pearson_r_exact_values():
    t = np.arange(6.0)
    assert pearson_r(t, 3 * t - 2) == 1.0 and pearson_r(t, -t) == -1.0
    assert pearson_r(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) == pytest.approx(5 / math.sqrt(2 * 114 / 9), abs=1e-4)
    assert pearson_r(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0])) == 0.8
    assert pearson_r(t, np.ones(6)) is None  # a constant series has no correlation
    assert pearson_r(t[:2], t[:2]) is None  # too few frames


def test_offset_removed_angles_remove_exactly_the_mean_offset():
    ref = np.array([[-10.0, 5.0], [-12.0, 7.0], [-8.0, 3.0]])
    ours = ref + [21.0, -4.0]  # a constant offset: raw angle large, offset-removed zero
    assert np.all(angles_to_reference_deg(ours, ref) > 20.0)
    np.testing.assert_allclose(offset_removed_angles_deg(ours, ref), 0.0, atol=1e-6)
    # pitch differences 21, 23, 19 (mean 21): what remains is ±2 deg of pure pitch (yaw equal) → exactly 0, 2, 2
    ours = ref + [[21.0, 0.0], [23.0, 0.0], [19.0, 0.0]]
    np.testing.assert_allclose(offset_removed_angles_deg(ours, ref), [0.0, 2.0, 2.0], atol=1e-6)


def test_eye_agreement_exact_values():
    left = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [-7.0, 10.0], [0.0, 10.0]])
    right = np.array([[0.0, 12.0], [0.0, 9.0], [0.0, 10.0], [3.0, 14.0], [0.0, 10.0]])
    # |pitch_L - pitch_R| = 1, 2, 3, 10, 0 → median 2, p90 (linear) 3 + 0.6 * 7 = 7.2; |yaw diff| 2, 1, 0, 4, 0 → 1
    assert eye_agreement(left, right) == {"pitch_median_deg": 2.0, "pitch_p90_deg": 7.2, "yaw_median_deg": 1.0}
    assert eye_agreement(np.zeros((0, 2)), np.zeros((0, 2)))["pitch_median_deg"] is None


def test_scaled_frame_is_the_same_scene_at_lower_resolution():
    from gazezoom.errors import InputValueError
    from gazezoom.realeval import scale_consistency_deg, scaled_frame

    frame = np.zeros((100, 60, 3), np.uint8)
    frame[40:44, 20:24] = 200  # a 4x4 bright square ...
    small = scaled_frame(frame, 0.5)
    assert small.shape == (50, 30, 3)
    assert small[20:22, 10:12].min() == 200 and small.sum() == frame.sum() // 4  # ... is 2x2, area-averaged
    assert scaled_frame(np.zeros((101, 63, 3), np.uint8), 0.5).shape == (50, 32, 3)  # sizes rounded
    assert scaled_frame(frame, 1.0).shape == frame.shape
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(InputValueError, match="scale must be in"):
            scaled_frame(frame, bad)
    v = np.array([0.0, 0.0, -1.0])
    assert scale_consistency_deg(v, v) == 0.0
    assert scale_consistency_deg(v, np.array([math.sin(0.1), 0.0, -math.cos(0.1)])) == pytest.approx(math.degrees(0.1))


def test_jitter_skips_gaps_and_mirror_and_camera_angles():
    py = np.array([[0.0, 0.0], [0.5, -1.0], [10.0, 10.0], [10.0, 10.25]])
    np.testing.assert_array_equal(jitter_deg(py, np.array([3, 4, 9, 10])), [[0.5, 1.0], [0.0, 0.25]])
    assert jitter_deg(py, np.array([0, 2, 4, 6])).shape == (0, 2)
    assert mirror_consistency_deg(np.array([-5.0, 20.0]), np.array([-7.0, -18.5])) == (1.5, 2.0)
    # a frame turned by +15 deg (counter-clockwise on screen) turns a gaze to the side by the same angle in the
    # image plane: rolled_frame and roll_consistency_deg agree on the direction
    frame = np.zeros((101, 101, 3), np.uint8)
    frame[50, 90] = 255  # a point right of the centre ...
    y, x = np.argwhere(rolled_frame(frame, 15.0, (50.0, 50.0))[..., 0] > 60)[0]
    assert x > 85 and y < 45  # ... moves up on screen (y down) when the frame turns counter-clockwise
    side = np.array([1.0, 0.0, 0.0])  # a direction in the same place: turned the same way, it reads 0
    assert roll_consistency_deg(side, np.array([math.cos(math.radians(15)), -math.sin(math.radians(15)), 0.0]), 15.0) < 1e-9
    up = np.array([0.0, -math.sin(math.radians(10)), -math.cos(math.radians(10))])  # pitch +10 from straight ahead
    assert angle_to_camera_deg(up, np.array([0.0, 0.0, 600.0])) == pytest.approx(10.0, abs=1e-9)
    # an eye 100 mm above the camera's axis (y = -100) looks at the camera when it looks down by atan(100/600)
    down = np.array([0.0, 100.0, -600.0]) / math.hypot(100, 600)
    assert angle_to_camera_deg(down, np.array([0.0, -100.0, 600.0])) == pytest.approx(0.0, abs=1e-6)


def test_vergence_error_is_signed_and_follows_where_the_eyes_are():
    e_l, e_r = np.array([30.0, -40.0, 500.0]), np.array([-34.0, -38.0, 510.0])  # off-axis, slightly turned face
    at_cam = [-e / np.linalg.norm(e) for e in (e_l, e_r)]
    assert vergence_error_deg(*at_cam, e_l, e_r) == pytest.approx(0.0, abs=1e-9)
    # both eyes turned 2 deg temporally (left eye towards the subject's left = -yaw): 4 deg of divergence
    turn = lambda v, deg: pitchyaw_to_vector(vector_to_pitchyaw(v) + np.radians([0.0, deg]))  # noqa: E731
    assert vergence_error_deg(turn(at_cam[0], -2), turn(at_cam[1], 2), e_l, e_r) == pytest.approx(-4.0, abs=1e-6)
    # parallel axes diverge by the whole convergence angle (~7 deg here); swapped eyes by twice that
    forward = np.array([0.0, 0.0, -1.0])
    parallel = vergence_error_deg(forward, forward, e_l, e_r)
    assert -8.0 < parallel < -6.0
    assert vergence_error_deg(at_cam[1], at_cam[0], e_l, e_r) == pytest.approx(2 * parallel, abs=1e-9)


def test_parse_candidate(tmp_path):
    w = tmp_path / "gaze_uniform_P.safetensors"
    w.write_bytes(b"")
    assert parse_candidate(f"new={w}") == ("new", w, None)
    assert parse_candidate(f"new={tmp_path}:uniform") == ("new", tmp_path, "uniform@P")
    with pytest.raises(InputValueError, match="LABEL=WEIGHTS_PATH"):
        parse_candidate(str(w))
    with pytest.raises(ModelFileError, match="--candidate x: weights .*missing not found"):
        parse_candidate(f"x={tmp_path / 'missing'}")
    with pytest.raises(UnknownNameError, match="sampler@P"):
        parse_candidate(f"x={tmp_path}:nonsense")


def test_importing_realeval_stays_light():
    code = ("import sys, gazezoom.realeval; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('mediapipe', 'PyQt5', 'torch', 'matplotlib', 'cv2')]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------------------------------- end to end


def _linked(tmp_path, media_dir, reference_dir, names) -> tuple[Path, Path]:
    """A media folder and a reference folder of symlinks to the shared files (never copies)."""
    m, r = tmp_path / "media", tmp_path / "ref"
    m.mkdir()
    r.mkdir()
    for n in names:
        (m / n).symlink_to(media_dir / n)
        (r / f"{n}.csv").symlink_to(reference_dir / f"{n}.csv")
    return m, r


def _finite_numbers(x, path="") -> list[str]:
    """Paths of non-finite floats in a JSON-like object (None is allowed: it means "not measured")."""
    if isinstance(x, dict):
        return [p for k, v in x.items() for p in _finite_numbers(v, f"{path}.{k}")]
    if isinstance(x, list):
        return [p for i, v in enumerate(x) for p in _finite_numbers(v, f"{path}[{i}]")]
    return [path] if isinstance(x, float) and not math.isfinite(x) else []


@pytest.mark.slow
def test_scoreboard_end_to_end_on_a_still_and_a_clip(tmp_path, media_dir, reference_dir):
    """One portrait and the first 20 frames of single_face.mp4, a network variant, a candidate and the baseline."""
    pytest.importorskip("mediapipe")
    _have_weights("uniform@P")
    from gazezoom.realeval import build_stages, evaluate_real

    media, ref = _linked(tmp_path, media_dir, reference_dir, ["obama.jpg", "single_face.mp4"])
    stages = build_stages(WEIGHTS, ["uniform"], ["geometric"], [f"cand={WEIGHTS / 'gaze_uniform_P.safetensors'}"])
    rep = evaluate_real(media, ref, stages, max_frames=20, figures_dir=tmp_path / "fig")
    json.dumps(rep, allow_nan=False)  # strict JSON: no NaN anywhere
    assert _finite_numbers(rep) == []
    assert list(rep["stages"]) == ["uniform@P", "geometric", "cand"]
    assert [rep["stages"][s]["kind"] for s in rep["stages"]] == ["network", "baseline", "candidate"]
    clip = rep["files"]["single_face.mp4"]
    usable = read_reference(ref / "single_face.mp4.csv").usable[:20]
    assert clip["frames_decoded"] == 20 and clip["our_face"] == 20
    kept = clip["reference"]["kept"]
    assert int(usable.sum()) - clip["our_blink"] <= kept <= int(usable.sum()) and kept >= 12
    assert not clip["reference"]["pitch_moves"]  # the dev clip hardly moves: r is not meaningful there
    for label, s in rep["stages"].items():
        f = s["files"]["single_face.mp4"]
        assert f["frames"] == kept and s["pooled"]["video_frames"] == kept
        assert f["pitch_r"] is None and f["pitch_r_meaningful"] is False
        for key in ("angle_to_ref_deg", "angle_to_ref_offset_removed_deg", "jitter_pitch_deg", "jitter_yaw_deg"):
            assert isinstance(f[key], float) and f[key] >= 0.0, (label, key)
        assert f["angle_to_ref_offset_removed_deg"] <= f["angle_to_ref_deg"] + 1e-9
        assert all(isinstance(v, float) for v in f["eyes"].values())
        still = s["files"]["obama.jpg"]
        assert still["frames"] == 1 and 0.0 <= still["to_camera_deg"] < 90.0 and "mirror" in still
        # the two eyes' pitch on the still, and its pooled median (one still: the same number)
        assert 0.0 <= still["eye_pitch_diff_deg"] < 45.0
        assert s["pooled"]["stills_eye_pitch_median_deg"] == still["eye_pitch_diff_deg"]
        # roll: the still turned ±15° in-plane; the face is found both ways and the gaze turns with the frame
        # (measured 1.8–6° on obama.jpg for every stage; not turning it at all would read ~2 x 15 x sin(gaze) off)
        assert set(still["roll_per_turn_deg"]) == {"-15", "+15"}
        assert 0.0 <= still["roll_deg"] < 10.0 and s["pooled"]["roll_median_deg"] == still["roll_deg"]
        # scale: the still at half its size (eyes ~22 px instead of 43) is the same scene, so the gaze stays put
        # (measured 0.5-3.3 deg on obama.jpg for every stage); one still: pooled median = max = its figure
        assert 0.0 <= still["scale_deg"] < 8.0
        assert s["pooled"]["scale_median_deg"] == s["pooled"]["scale_max_deg"] == still["scale_deg"]
        # vergence: signed, from each eye's own reading; on a portrait both eyes look at the camera
        assert -45.0 < still["vergence_error_deg"] < 45.0 and -45.0 < f["vergence_error_deg"] < 45.0
        assert s["pooled"]["vergence_error_portraits_deg"] == still["vergence_error_deg"]
        assert s["pooled"]["vergence_error_videos_deg"] == f["vergence_error_deg"]
        assert set(s["aims"]) == set(AIMS)
        assert s["aims"]["pitch_r"]["pass"] is None  # n/a: no clip moves
        assert s["aims"]["portraits_to_camera"]["count"] in ("0/1", "1/1")
    # the candidate is the same weights file as the uniform@P row: the same numbers
    assert rep["stages"]["cand"]["pooled"] == rep["stages"]["uniform@P"]["pooled"]
    assert [Path(p).name for p in rep["figures"]] == ["traces_single_face.mp4.png"]
    assert Path(rep["figures"][0]).stat().st_size > 20_000
    table = format_scoreboard(rep)
    assert all(f"| {s} |" in table for s in rep["stages"]) and "~11 deg low" in table
    assert "stills eyes Δpitch" in table and "roll ±15°" in table and "scale ×0.5" in table and "vergence err" in table


def test_mirror_check_on_a_still_looking_away(tmp_path, media_dir, reference_dir):
    """obama2.jpg looks far to the side (reference yaw +38 deg): the flipped image's yaw must come out negated, so
    |yaw + yaw_mirrored| is far below the 2 |yaw| an unflipped or un-negated check would give."""
    pytest.importorskip("mediapipe")
    from gazezoom.realeval import build_stages, evaluate_real

    assert "obama2.jpg" not in PORTRAITS
    media, ref = _linked(tmp_path, media_dir, reference_dir, ["obama2.jpg"])
    f = evaluate_real(media, ref, build_stages(WEIGHTS, [], ["geometric"]))["stages"]["geometric"]["files"]["obama2.jpg"]
    # measured (geometric baseline): yaw +51.7 deg, |yaw + yaw_m| 11.9, |pitch - pitch_m| 2.8
    yaw = f["pitch_yaw_deg"][1]
    assert yaw > 20.0
    assert f["mirror"]["abs_yaw_sum_deg"] < 0.5 * yaw and f["mirror"]["abs_pitch_diff_deg"] < 6.0
    assert "to_camera_deg" not in f  # not a portrait looking into the camera
    # the roll check pins the direction of the turn: a gaze 40-50 deg to the side that did not turn with the frame
    # would be ~2 sin(7.5 deg) sin(45 deg) ~ 11 deg off; one turned the wrong way ~ 2 x that. Measured 2.1-2.4 deg.
    assert f["roll_deg"] < 6.0


def test_cli_json_is_the_only_stdout(tmp_path, media_dir, reference_dir, capsys):
    pytest.importorskip("mediapipe")
    _have_weights("uniform@P")
    media, ref = _linked(tmp_path, media_dir, reference_dir, ["astronaut.png", "single_face.mp4"])
    rc = main(["eval", "--real", str(media), "--reference", str(ref), "--json", "--variants", "uniform@P",
               "--max-frames", "6", "--weights", str(WEIGHTS)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)  # the whole of stdout is one JSON object
    # the shipped folder holds the pupil locator: the fusion and pupil stages are rows by default, then geometric
    assert list(out["stages"]) == ["uniform@P", "fusion", "pupil", "geometric"] and out["max_frames"] == 6
    assert out["files"]["single_face.mp4"]["frames_decoded"] == 6
    assert out["stages"]["geometric"]["files"]["astronaut.png"]["to_camera_deg"] is not None


def test_cli_real_mode_errors(tmp_path, capsys):
    """A wrong folder or a lone --reference fails fast, with the typed error's exit code and what to do."""
    rc = main(["eval", "--real", str(tmp_path / "nowhere"), "--reference", str(tmp_path)])
    assert rc == MediaError.exit_code and "media folder not found" in capsys.readouterr().err
    rc = main(["eval", "--reference", str(tmp_path)])
    assert rc == InputValueError.exit_code and "--reference needs --real DIR" in capsys.readouterr().err
    rc = main(["eval", "--real", str(tmp_path), "--reference", str(tmp_path), "--synthetic", "4"])
    assert rc == InputValueError.exit_code and "runs on its own" in capsys.readouterr().err
    rc = main(["eval", "--real", str(tmp_path)])  # the weak checks still ride along with --synthetic only
    assert rc == InputValueError.exit_code and "--real DIR --reference REF_DIR" in capsys.readouterr().err
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "a.jpg.csv").write_text(HEADER + "\n" + _row(0).replace("0.3", "open") + "\n")
    rc = main(["eval", "--real", str(tmp_path), "--reference", str(tmp_path), "--variants", "uniform@P",
               "--weights", str(tmp_path), "--baselines"])
    assert rc == ModelFileError.exit_code and "no weights for uniform@P" in capsys.readouterr().err
    rc = main(["eval", "--real", str(tmp_path), "--reference", str(tmp_path), "--weights", str(tmp_path)])
    assert rc == InputValueError.exit_code and "a.jpg.csv is malformed" in capsys.readouterr().err


def test_help_explains_the_real_mode(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--reference REF_DIR" in out and "--candidate LABEL=WEIGHTS[:VARIANT]" in out and "--baselines" in out


def test_portraits_without_a_reference_are_scored_by_the_reference_free_checks(tmp_path, media_dir, reference_dir):
    """--portraits DIR: photos without a reference CSV join the stills as portraits looking into the camera (here
    matplotlib's public-domain Grace Hopper beside obama.jpg): angle to the camera, mirror, roll, vergence; no angle
    to a reference; pooled with the others. A missing or empty folder and a name clash are clear errors."""
    pytest.importorskip("mediapipe")
    from matplotlib import cbook

    from gazezoom.realeval import build_stages, evaluate_real

    media, ref = _linked(tmp_path, media_dir, reference_dir, ["obama.jpg"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "hopper.jpg").symlink_to(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    (mine / "notes.txt").write_text("not an image")
    stages = build_stages(WEIGHTS, [], ["geometric"])
    rep = evaluate_real(media, ref, stages, portraits_dir=mine)
    json.dumps(rep, allow_nan=False)
    assert rep["portraits"] == ["obama.jpg", "hopper.jpg"] and rep["portraits_dir"] == str(mine)
    assert rep["files"]["hopper.jpg"]["reference"]["given"] is False
    assert rep["files"]["obama.jpg"]["reference"]["given"] is True
    f = rep["stages"]["geometric"]["files"]["hopper.jpg"]
    assert f["angle_to_ref_deg"] is None and f["frames"] == 0  # nothing to compare with
    assert 0.0 <= f["to_camera_deg"] < 10.0  # measured 3.1 deg (geometric)
    assert "mirror" in f and "roll_deg" in f and -45.0 < f["vergence_error_deg"] < 45.0
    assert rep["stages"]["geometric"]["pooled"]["portraits"] == 2
    assert "no reference (--portraits" in format_scoreboard(rep)
    with pytest.raises(MediaError, match="portraits folder not found"):
        evaluate_real(media, ref, stages, portraits_dir=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="no image in"):
        evaluate_real(media, ref, stages, portraits_dir=tmp_path / "empty")
    (mine / "obama.jpg").symlink_to(media_dir / "obama.jpg")
    with pytest.raises(InputValueError, match="obama.jpg, also in"):
        evaluate_real(media, ref, stages, portraits_dir=mine)
    # the CLI: --portraits belongs to the scoreboard
    assert main(["eval", "--synthetic", "4", "--portraits", str(mine)]) != 0


@pytest.mark.slow
def test_scoreboard_mirror_mode_on_a_still(tmp_path, media_dir, reference_dir):
    """Mirror averaging (``evaluate_real(mirror=True)``, ``eval --mirror``; tests/test_mirror.py has the rest): said in the report, the stills' mirror check left out (it would hold by
    construction), the other checks still run."""
    pytest.importorskip("mediapipe")
    from gazezoom.realeval import build_stages, evaluate_real

    media, ref = _linked(tmp_path, media_dir, reference_dir, ["obama.jpg"])
    stages = build_stages(WEIGHTS, [], ["geometric"])
    plain, rep = evaluate_real(media, ref, stages), evaluate_real(media, ref, stages, mirror=True)
    assert rep["mirror_averaged"] is True and plain["mirror_averaged"] is False
    f, p = rep["stages"]["geometric"]["files"]["obama.jpg"], plain["stages"]["geometric"]["files"]["obama.jpg"]
    assert "mirror" not in f and "mirror" in p
    assert rep["stages"]["geometric"]["aims"]["mirror_yaw"]["pass"] is None
    assert 0.0 <= f["roll_deg"] < 10.0 and 0.0 <= f["scale_deg"] < 8.0 and 0.0 <= f["to_camera_deg"] < 30.0
    assert f["pitch_yaw_deg"] != p["pitch_yaw_deg"]
    assert "mirror-averaged" in format_scoreboard(rep) and "mirror-averaged" not in format_scoreboard(plain)


def test_a_face_whose_eyes_a_stage_cannot_read_is_left_out_for_every_stage(tmp_path, media_dir, reference_dir):
    """A stage that finds the face's eyes unreadable (UnreadableEyesError: the pipeline gives such a face no gaze)
    takes the frame out for every stage — they are scored on the same frames — and the file says how many."""
    pytest.importorskip("mediapipe")
    from gazezoom.errors import UnreadableEyesError
    from gazezoom.realeval import Stage, build_stages, evaluate_real

    class Unreadable:
        def predict(self, frame, face, display=True):
            raise UnreadableEyesError("no gaze can be read from this face's eyes")

    media, ref = _linked(tmp_path, media_dir, reference_dir, ["obama.jpg"])
    stages = build_stages(WEIGHTS, [], ["geometric"]) + [Stage("blind", "candidate", "blind", None, None, Unreadable())]
    rep = evaluate_real(media, ref, stages)
    assert rep["files"]["obama.jpg"]["our_face"] == 1 and rep["files"]["obama.jpg"]["unreadable"] == 1
    for label in ("geometric", "blind"):
        f = rep["stages"][label]["files"]["obama.jpg"]
        assert f["frames"] == 0 and f["angle_to_ref_deg"] is None
    alone = evaluate_real(media, ref, stages[:1])["stages"]["geometric"]["files"]["obama.jpg"]
    assert alone["frames"] == 1 and "unreadable" not in evaluate_real(media, ref, stages[:1])["files"]["obama.jpg"]
