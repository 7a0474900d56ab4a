"""``gazezoom process`` end to end on ../shared/media: real videos and images through the real Pipeline
(MediaPipe front-end + gaze model), tables, sidecars, annotated video, batch, resume, bad inputs.

The gaze weights are a freshly initialised (untrained, seed 0) sampler model saved to tmp_path: the gaze numbers
are meaningless, but every column, shape and code path is the shipped one. Face/no-face stretches of the two .mov
files were read off one run of the front-end (faces in frames 0-71 of face_noface.mov and 97-167 of
noface_face.mov) and are checked with a two-frame margin around each change.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gazezoom.cli import main
from gazezoom.io.table import COLUMNS, read_table

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from test_io import read_frames, set_rotation, write_video  # noqa: E402  (helpers shared with test_io.py)

NUMERIC = [c for c in COLUMNS if c not in ("frame", "time_s", "face", "faces", "source")]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    import torch

    from gazezoom.models import build_model, save_weights

    torch.manual_seed(0)
    st, _ = save_weights(build_model("sampler"), tmp_path_factory.mktemp("w") / "gaze_sampler_P")
    return st


@pytest.fixture(scope="module")
def short_clip(media_dir, tmp_path_factory) -> Path:
    """12 frames of single_face.mp4 (OpenCV mp4v)."""
    return write_video(tmp_path_factory.mktemp("short") / "short.mp4", read_frames(media_dir / "single_face.mp4")[:12])


def gz(*args) -> int:
    return main(["process", "--quiet", *map(str, args)])


def meta(table: Path) -> dict:
    return json.loads(table.with_name(table.name + ".meta.json").read_text())


def test_video_end_to_end_with_gaze_and_annotation(media_dir, tmp_path, weights, capsys):
    out = tmp_path / "o"
    assert gz(media_dir / "single_face.mp4", "--out", out, "--weights", weights, "--annotate") == 0
    table = out / "single_face.csv"
    rows = read_table(table)
    assert [r["frame"] for r in rows] == list(range(72))  # one row per frame
    assert all(r["face"] == 1 and r["faces"] >= 1 for r in rows)  # every frame of this clip has a face
    t = np.array([r["time_s"] for r in rows])
    assert np.all(np.diff(t) > 0) and np.allclose(t, np.arange(72) / 30.0, atol=1e-6)
    header = table.read_text().splitlines()[0].split(",")
    assert header == list(COLUMNS)
    for r in rows:
        g = np.array([r["gaze_x"], r["gaze_y"], r["gaze_z"]], float)
        assert abs(np.linalg.norm(g) - 1) < 1e-5
        p, y = math.radians(r["gaze_pitch_deg"]), math.radians(r["gaze_yaw_deg"])
        assert np.allclose(g, [-math.cos(p) * math.sin(y), -math.sin(p), -math.cos(p) * math.cos(y)], atol=1e-5)
        assert isinstance(r["blink"], int) and isinstance(r["head_z_mm"], float) and 200 < r["head_z_mm"] < 2000
        assert r["screen_x_px"] is None and r["screen_y_px"] is None  # no profile
    video = read_frames(out / "single_face.annotated.mp4")
    assert len(video) == 72 and video[0].shape == (360, 640, 3)
    m = meta(table)
    assert m["status"] == "complete" and m["summary"]["rows"] == 72 and m["input"]["fps"] == 30.0
    assert m["model"]["identity"].startswith("gaze_sampler_P@") and len(m["camera"]["K"]) == 3
    assert {"gazezoom", "opencv", "mediapipe", "torch", "numpy", "python"} <= set(m["versions"])
    assert "single_face: complete, 72 rows (72 with a face" in capsys.readouterr().out


@pytest.mark.slow
def test_face_stretches_every_workers_jsonl(media_dir, tmp_path):
    out = tmp_path / "o"
    ins = [media_dir / "face_noface.mov", media_dir / "noface_face.mov", media_dir / "no_face.mp4"]
    assert gz(*ins, "--out", out, "--no-gaze", "--every", "3", "--workers", "2", "--format", "jsonl") == 0
    expect = {"face_noface": (169, lambda f: 1 if f < 70 else 0 if f > 73 else None),
              "noface_face": (169, lambda f: 0 if f < 95 or f > 168 else 1 if 99 <= f <= 166 else None),
              "no_face": (95, lambda f: 0)}
    for name, (n, face_at) in expect.items():
        rows = read_table(out / f"{name}.jsonl")
        assert [r["frame"] for r in rows] == list(range(0, n, 3)), name  # --every 3 over every decoded frame
        assert np.all(np.diff([r["time_s"] for r in rows]) > 0)
        for r in rows:
            want = face_at(r["frame"])
            if want is not None:
                assert r["face"] == want, (name, r["frame"])
            if r["face"] == 0:
                assert all(r[c] is None for c in NUMERIC), (name, r["frame"])  # empty, not zero
            else:
                assert r["head_z_mm"] is not None and r["gaze_x"] is None  # --no-gaze
    assert meta(out / "no_face.jsonl")["input"]["frame_count"] == 98  # listed; 95 play (edit list)


def test_images_table_and_bad_image(media_dir, tmp_path, weights, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "o"
    ims = [media_dir / "obama.jpg", bad, media_dir / "obama2.jpg", media_dir / "single_face.jpg"]
    assert gz(*ims, "--out", out, "--weights", weights, "--annotate") == 4  # MediaError for the broken image
    rows = read_table(out / "images.csv")
    assert [(r["frame"], r["source"]) for r in rows] == [(0, "obama.jpg"), (2, "obama2.jpg"), (3, "single_face.jpg")]
    assert all(r["face"] == 1 and r["time_s"] is None and r["gaze_x"] is not None for r in rows)
    assert sorted(p.name for p in (out / "images.annotated").iterdir()) == ["obama.jpg", "obama2.jpg", "single_face.jpg"]
    err = capsys.readouterr().err
    assert "1 of 4 images could not be read" in err and "broken.jpg" in err


def test_batch_with_bad_inputs_goes_on(short_clip, tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    avi = write_video(tmp_path / "long.avi", read_frames(short_clip) * 4, fourcc="MJPG")  # 48 frames
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    out = tmp_path / "o"
    rc = gz(short_clip, text, tmp_path / "missing.mp4", cut, "--out", out, "--no-gaze")
    assert rc == 4
    assert len(read_table(out / "short.csv")) == 12 and meta(out / "short.csv")["status"] == "complete"
    from gazezoom.errors import MediaError
    from gazezoom.io.readers import VideoReader

    decodable = []
    with pytest.raises(MediaError), VideoReader(cut) as r:
        decodable.extend(f.index for f in r.frames(lambda i: False))
    cut_rows = read_table(out / "cut.csv")
    assert [r["frame"] for r in cut_rows] == decodable and 10 < len(decodable) < 40  # every decodable frame kept
    assert meta(out / "cut.csv")["status"] == "failed"
    cap = capsys.readouterr()
    assert "cannot open" in cap.err and "notes.mp4" in cap.err
    assert "input not found" in cap.err and "missing.mp4" in cap.err
    assert "truncated or corrupt" in cap.err and "1 of 4 inputs complete" in cap.out
    assert not (out / "notes.csv").exists()


def test_annotated_video_that_cannot_be_finished_fails_the_job(short_clip, tmp_path, capsys, monkeypatch):
    from gazezoom.io import annotate

    def broken_close(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(annotate._OpenCVWriter, "close", broken_close)
    out = tmp_path / "o"
    assert gz(short_clip, "--out", out, "--no-gaze", "--annotate", "--codec", "mp4v") == 4
    m = meta(out / "short.csv")
    assert m["status"] == "failed" and "closing the annotated video failed" in m["message"] and "No space" in m["message"]
    assert len(read_table(out / "short.csv")) == 12  # the table itself is complete and valid
    assert not (out / "short.annotated.mp4").exists()
    assert "closing the annotated video failed" in capsys.readouterr().err


def test_options_and_outputs_errors(short_clip, tmp_path, capsys):
    out = tmp_path / "o"
    assert gz(short_clip, "--out", out, "--no-gaze") == 0
    assert gz(short_clip, "--out", out, "--no-gaze") == 4  # never overwrite silently
    assert "exists; pass --resume" in capsys.readouterr().err
    assert gz(short_clip, "--out", out, "--no-gaze", "--resume") == 0  # complete: skipped
    assert "already complete" in capsys.readouterr().out
    assert gz(short_clip, "--out", out, "--no-gaze", "--resume", "--every", "2") == 2
    assert "other settings (every 1 -> 2)" in capsys.readouterr().err
    assert gz(short_clip, "--out", out, "--no-gaze", "--overwrite", "--every", "2") == 0
    assert [r["frame"] for r in read_table(out / "short.csv")] == list(range(0, 12, 2))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert gz(short_clip, "--out", blocker / "sub", "--no-gaze") == 4
    assert "cannot write to output folder" in capsys.readouterr().err
    assert gz(short_clip, "--out", out, "--every", "0") == 2
    assert gz(short_clip, "--out", out, "--weights", tmp_path / "none.safetensors") == 3
    assert "gaze weights not found" in capsys.readouterr().err


def test_profile_fills_screen_columns(short_clip, tmp_path, weights, capsys):
    from gazezoom.calibration.profile import gaze_model_identity, new_profile, save_profile
    from gazezoom.calibration.regressors import create_regressor
    from gazezoom.calibration.simulate import SimulatedUser

    sim = SimulatedUser(seed=0)
    X, y, _ = sim.fixations([[200, 200], [1700, 200], [960, 540], [200, 900], [1700, 900]], dwell_s=0.8)
    model = create_regressor("ridge", sim.screen).fit(X, y)
    profiles = tmp_path / "profiles"
    save_profile(new_profile("tester", model, sim.screen, gaze_model_identity(weights)), profiles)
    out = tmp_path / "o"
    assert gz(short_clip, "--out", out, "--weights", weights, "--profile", "tester", "--profiles", profiles) == 0
    rows = read_table(out / "short.csv")
    usable = [r for r in rows if r["face"] == 1 and r["blink"] == 0]
    assert usable and all(r["screen_x_px"] is not None and math.isfinite(r["screen_y_px"]) for r in usable)
    assert meta(out / "short.csv")["profile"]["user"] == "tester"
    assert gz(short_clip, "--out", tmp_path / "o2", "--weights", weights, "--profile", "nobody", "--profiles", profiles) == 7
    assert "no calibration profile" in capsys.readouterr().err


def test_rotated_phone_video_and_4k(short_clip, tmp_path):
    frames = read_frames(short_clip)[:6]
    sideways = write_video(tmp_path / "sideways.mp4", [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in frames])
    phone = set_rotation(sideways, tmp_path / "phone.mp4", 90)  # stored sideways, displayed upright
    big = write_video(tmp_path / "uhd.mp4", [cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR) for f in frames[:3]])
    out = tmp_path / "o"
    assert gz(phone, big, "--out", out, "--no-gaze") == 0
    rows = read_table(out / "phone.csv")
    assert len(rows) == 6 and all(r["face"] == 1 for r in rows)
    m = meta(out / "phone.csv")["input"]
    assert (m["rotation_deg"], m["width"], m["height"]) == (90, 640, 360)  # as displayed
    rows = read_table(out / "uhd.csv")
    assert len(rows) == 3 and all(r["face"] == 1 for r in rows)
    assert meta(out / "uhd.csv")["camera"]["image_size"] == [3840, 2160]


def _run_until(args, table: Path, min_rows: int, sig) -> int:
    """Start ``gazezoom process`` in a subprocess and send ``sig`` once ``table`` holds ``min_rows`` rows."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    p = subprocess.Popen([sys.executable, "-m", "gazezoom", "process", "--quiet", *map(str, args)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    try:
        while time.time() - t0 < 120:
            if table.exists() and table.read_text().count("\n") > min_rows:
                break
            if p.poll() is not None:
                break
            time.sleep(0.02)
        if p.poll() is None:
            p.send_signal(sig)
        return p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()


@pytest.mark.slow
def test_interrupt_then_resume_gives_the_uninterrupted_table(media_dir, tmp_path, weights):
    video = media_dir / "single_face.mp4"
    ref = tmp_path / "ref.csv"
    assert gz(video, "--out", ref, "--weights", weights) == 0
    expected = ref.read_text()

    # Ctrl-C: the run stops after the current frame, the table is valid, the sidecar says interrupted
    part = tmp_path / "int.csv"
    rc = _run_until([video, "--out", part, "--weights", weights], part, 10, signal.SIGINT)
    assert rc == 130
    done = read_table(part)
    assert 10 <= len(done) < 72 and [r["frame"] for r in done] == list(range(len(done)))
    assert meta(part)["status"] == "interrupted"
    assert gz(video, "--out", part, "--weights", weights, "--resume") == 0
    assert part.read_text() == expected

    # a crash (SIGKILL), and the worst case of it: a row cut in the middle
    crash = tmp_path / "crash.csv"
    rc = _run_until([video, "--out", crash, "--weights", weights], crash, 10, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    with open(crash, "a") as fh:
        fh.write(expected.splitlines()[-1][:25])
    assert gz(video, "--out", crash, "--weights", weights, "--resume") == 0
    assert crash.read_text() == expected
    runs = meta(crash)["runs"]
    assert len(runs) == 2 and runs[1]["first_frame"] == runs[1]["resumed_after"] + 1 >= 10


def test_overlap_gives_the_serial_table(media_dir, tmp_path, weights):
    """The landmarker one frame ahead in a thread (--overlap) writes exactly what the one-thread loop writes."""
    clip = write_video(tmp_path / "c.mp4", read_frames(media_dir / "single_face.mp4")[:20])
    assert gz(clip, "--out", tmp_path / "a.csv", "--weights", weights, "--no-overlap") == 0  # the default is on
    assert gz(clip, "--out", tmp_path / "b.csv", "--weights", weights, "--overlap") == 0
    a = (tmp_path / "a.csv").read_text()
    assert a == (tmp_path / "b.csv").read_text() and a.count("\n") == 21


def test_process_tiles_option_is_checked_and_used(media_dir, tmp_path, capsys):
    """--tiles N finds the small faces of a group photo (the `faces` column); an out-of-range N is a typed error."""
    import csv

    from gazezoom.cli import main
    from gazezoom.errors import InputValueError

    assert main(["process", str(media_dir / "multi_face.jpg"), "--out", str(tmp_path / "bad"), "--tiles", "9",
                 "--no-gaze"]) == InputValueError.exit_code
    assert "--tiles" in capsys.readouterr().err
    assert main(["process", str(media_dir / "multi_face.jpg"), "--out", str(tmp_path / "t"), "--tiles", "2",
                 "--no-gaze"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "t" / "multi_face.csv")))  # one input image: named after it
    assert len(rows) == 1 and rows[0]["face"] == "1" and rows[0]["faces"] == "5"


def test_resume_knows_an_input_by_resolved_path_size_and_mtime(media_dir, tmp_path, monkeypatch, capsys):
    """The same file by a relative path resumes (here: is skipped as complete); a changed file is refused."""
    import os
    import shutil

    image = media_dir / "single_face.jpg"
    table = tmp_path / "t.csv"
    assert gz(image, "--out", table, "--no-gaze", "--quiet") == 0
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(image, tmp_path)
    assert relative != str(image)
    capsys.readouterr()
    assert gz(relative, "--out", table, "--no-gaze", "--quiet", "--resume") == 0
    assert "already complete" in capsys.readouterr().out
    # a copy we can change: same path, new modification time → not the input the table was written from
    copy = tmp_path / "copy.jpg"
    shutil.copy(image, copy)
    table2 = tmp_path / "copy.csv"
    assert gz(copy, "--out", table2, "--no-gaze", "--quiet") == 0
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    capsys.readouterr()
    assert gz("copy.jpg", "--out", table2, "--no-gaze", "--quiet", "--resume") == 2
    err = capsys.readouterr().err
    assert "copy.jpg changed since the table was written" in err and "--overwrite" in err


@pytest.mark.parametrize("overlap", [False, True])
def test_frame_loop_instrument_hears_every_written_frame(short_clip, tmp_path, overlap):
    """The frame loop's instrumentation callback (what `bench pipeline` reads): one call per written frame with
    the pipeline's timings (the landmarker's own time and the wait for it with --overlap), then the loop's wall and
    CPU time once."""
    from gazezoom.commands.process import LoopStats, Settings, process_job
    from gazezoom.io.readers import Job

    stats = LoopStats()
    out = process_job(Job("clip", "video", (str(short_clip),)), tmp_path / "t.csv",
                      Settings(gaze="geometric", model_identity="test", overwrite=True, overlap=overlap), instrument=stats)
    assert out.status == "complete" and out.new_frames == 12
    assert len(stats.decode_ms) == len(stats.pipeline_ms) == len(stats.write_ms) == 12
    assert all(t["total"] > 0 and t["landmarks"] > 0 for t in stats.pipeline_ms)
    gazed = [t["gaze"] for t in stats.pipeline_ms if "gaze" in t]  # a blink holds the gaze: no call, no time
    assert len(gazed) >= 8 and min(gazed) > 0
    assert all(("landmarks_wait" in t) == overlap for t in stats.pipeline_ms)
    assert stats.loop_s > 0 and stats.loop_cpu_s > 0 and min(stats.write_ms) >= 0


def test_bench_pipeline_runs_the_default_stage(short_clip, capsys):
    """`gazezoom bench pipeline` times the product's path: the default gaze stage with its shipped weights, on
    exactly the frames the landmarker-alone loop gets."""
    assert main(["bench", "pipeline", "--video", str(short_clip), "--frames", "6", "--rounds", "1",
                 "--sizes", "native", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "gaze stage fusion, weights pupil_sampler_P.safetensors (shipped)" in text
    rows = [ln.split() for ln in text.splitlines() if ln.strip().startswith("640x360")]
    assert [r[1] for r in rows] == ["6", "6"] and {r[5] for r in rows} == {"overlap", "serial"}
