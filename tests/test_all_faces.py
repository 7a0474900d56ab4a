"""``gazezoom process --all-faces`` on ../shared/media: one row per face per frame, each face with its own gaze.

Real MediaPipe and the shipped gaze weights, real files. The group photo is multi_face.jpg, where ``--tiles 2`` finds
5 faces. The video with several faces is made here (OpenCV mp4v): multi_face.jpg panned 3 px a frame to the left,
in which MediaPipe's whole-frame video detector follows three faces, for 3 frames, then 17 empty frames (longer than
the tracker keeps a lost face: every track ends), then 26 more panned frames (new faces, new track ids).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from gazezoom.cli import main
from gazezoom.io.table import COLUMNS, FACE_COLUMNS, primary_rows, read_table

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

from test_io import write_video  # noqa: E402  (helper shared with test_io.py)

GAZE = ("gaze_x", "gaze_y", "gaze_z", "left_gaze_x", "right_gaze_x")
PAN_PX = 3


def gz(*args) -> int:
    return main(["process", "--quiet", *map(str, args)])


def meta(table: Path) -> dict:
    return json.loads(table.with_name(table.name + ".meta.json").read_text())


def by_frame(rows: list[dict]) -> dict[int, list[dict]]:
    out = defaultdict(list)
    for r in rows:
        out[r["frame"]].append(r)
    return out


@pytest.fixture(scope="module")
def pan_video(media_dir, tmp_path_factory) -> Path:
    """multi_face.jpg panned ``PAN_PX`` px a frame (900x600) in frames 0-2 and 20-45, empty (gray) in 3-19."""
    image = cv2.imread(str(media_dir / "multi_face.jpg"))
    pan = [np.ascontiguousarray(image[20:620, PAN_PX * i : PAN_PX * i + 900]) for i in range(26)]
    return write_video(tmp_path_factory.mktemp("pan") / "pan.mp4", pan[:3] + [np.full_like(pan[0], 90)] * 17 + pan)


def test_group_photo_gives_a_row_per_face_left_to_right(media_dir, tmp_path):
    image = media_dir / "multi_face.jpg"
    table = tmp_path / "all.csv"
    assert gz(image, "--out", table, "--tiles", "2", "--all-faces") == 0
    rows = read_table(table)
    n = len(rows)
    assert n >= 4 and tuple(rows[0]) == FACE_COLUMNS
    assert [r["face_id"] for r in rows] == list(range(1, n + 1))  # a still: 1, 2, ... from left to right
    iris_x = [(r["left_iris_x_px"] + r["right_iris_x_px"]) / 2 for r in rows]
    assert iris_x == sorted(iris_x)
    assert all(r["frame"] == 0 and r["face"] == 1 and r["faces"] == n for r in rows)
    assert sum(r["face_primary"] for r in rows) == 1
    # every face has its own gaze, but the leftmost, who wears sunglasses: MediaPipe still reports his eyes open and
    # puts both irises ~12 px above the corners of 17 px wide eyes, outside any eyeball's silhouette, so no gaze can
    # be read there (UnreadableEyesError) and the row has the face without a gaze (it read pitch +66°, yaw −128°,
    # pointing away from the camera, before)
    sunglasses, seen = rows[0], rows[1:]
    assert sunglasses["face"] == 1 and all(sunglasses[c] is None for c in GAZE)
    assert all(r[c] is not None and math.isfinite(r[c]) for r in seen for c in GAZE)
    assert len({r["gaze_yaw_deg"] for r in seen}) == n - 1
    m = meta(table)
    assert m["settings"]["all_faces"] is True and m["columns"] == list(FACE_COLUMNS)
    assert m["summary"]["faces_without_gaze"] == 1  # and the run's line says why (below, --no-gaze: none counted)
    assert gz(image, "--out", tmp_path / "ng.csv", "--tiles", "2", "--all-faces", "--no-gaze") == 0
    assert meta(tmp_path / "ng.csv")["summary"]["faces_without_gaze"] == 0

    # JSONL holds the same rows
    assert gz(image, "--out", tmp_path / "all.jsonl", "--format", "jsonl", "--tiles", "2", "--all-faces") == 0
    assert read_table(tmp_path / "all.jsonl") == rows

    # without the flag: one row per frame, today's columns, and it is the primary face's row
    one = tmp_path / "one.csv"
    assert gz(image, "--out", one, "--tiles", "2") == 0
    assert one.read_text().splitlines()[0] == ",".join(COLUMNS)
    (row,) = read_table(one)
    primary = next(r for r in rows if r["face_primary"] == 1)
    assert row == {c: primary[c] for c in COLUMNS}
    assert meta(one)["settings"]["all_faces"] is False


def test_pipeline_gazes_and_draws_every_face(media_dir):
    from gazezoom.build import build_pipeline
    from gazezoom.draw import draw_result

    image = cv2.imread(str(media_dir / "multi_face.jpg"))
    with build_pipeline(mode="image", tiles=2, all_faces=True) as pipe:
        result = pipe.process(image)
    with build_pipeline(mode="image", tiles=2) as pipe:
        primary_only = pipe.process(image)
    assert primary_only.others_gaze == () and len(primary_only.others) == len(result.others) >= 3
    assert len(result.others_gaze) == len(result.others)
    # every face gazed but the one in sunglasses, whose eyes cannot be read (test above): no gaze, nothing drawn
    unread = [f for f, g in zip(result.others, result.others_gaze) if g is None]
    assert len(unread) == 1 and unread[0].bbox[0] == min(f.bbox[0] for f in (result.face, *result.others))
    assert all(np.isfinite(g.vector_cam).all() for g in result.others_gaze if g is not None)
    assert np.allclose(result.gaze.vector_cam, primary_only.gaze.vector_cam)
    K = pipe.frontend.camera_for(image.shape[1], image.shape[0]).K
    drawn = draw_result(image.copy(), result, K)
    plain = draw_result(image.copy(), primary_only, K)
    for face, g in zip(result.others, result.others_gaze):  # each other face's gaze ray is drawn from its eyes
        x0, y0, x1, y1 = face.bbox.astype(int)
        assert (drawn[y0:y1, x0:x1] != plain[y0:y1, x0:x1]).any() == (g is not None)


@pytest.mark.slow
def test_video_face_ids_are_stable_and_resume_keeps_every_face(pan_video, tmp_path):
    ref = tmp_path / "ref.csv"
    assert gz(pan_video, "--out", ref, "--all-faces") == 0
    expected = ref.read_text()
    rows = read_table(ref)
    frames = by_frame(rows)
    assert sorted(frames) == list(range(46)) and all(frames[i][0]["face"] == 0 for i in range(3, 20))
    assert all(len(fr) == max(fr[0]["faces"], 1) and [r["face_id"] for r in fr] == sorted(r["face_id"] for r in fr)
               for fr in frames.values())
    tracks = defaultdict(list)  # face_id -> (frame, iris x)
    faced = [r for r in rows if r["face"] == 1]
    for r in faced:
        tracks[r["face_id"]].append((r["frame"], (r["left_iris_x_px"] + r["right_iris_x_px"]) / 2))
    long = {k: v for k, v in tracks.items() if len(v) >= 15}
    assert len(long) >= 2 and min(long) > max(r["face_id"] for i in range(3) for r in frames[i] if r["face"])
    for track in long.values():  # the same face all along: it moves PAN_PX a frame, never jumps to another face
        f, x = np.array(track).T  # (faces are >= 90 px apart; a face's first landmarks may be off by ~30 px)
        assert (np.diff(f) == 1).all() and abs(np.median(np.diff(x)) + PAN_PX) < 0.5 and np.abs(np.diff(x)).max() < 45
    # every face row has a gaze but a few of the man in sunglasses (the leftmost face), whose hallucinated irises
    # land outside any eyeball in some frames (UnreadableEyesError: the face without a gaze; 3 rows when written)
    unread = [r for r in faced if r["gaze_pitch_deg"] is None]
    iris = lambda r: (r["left_iris_x_px"] + r["right_iris_x_px"]) / 2  # noqa: E731
    assert len(unread) <= 6 and all(iris(r) == min(iris(q) for q in frames[r["frame"]]) for r in unread)
    assert all(all(r[c] is None for c in GAZE) for r in unread)
    assert all(r[c] is not None and math.isfinite(r[c]) for r in faced if r not in unread for c in GAZE)

    # a run killed between two faces of frame 44, the second one's row cut in the middle; resumed, the video is
    # replayed from frame 0 (not from a short warm-up, which would restart the track ids at 1)
    part = tmp_path / "part.csv"
    lines = expected.splitlines(keepends=True)
    start = 1 + next(i for i, r in enumerate(rows) if r["frame"] == 44)
    assert len(frames[44]) >= 2
    part.write_text("".join(lines[: start + 1]) + lines[start + 1][:30])
    m = meta(ref)
    m["status"] = "running"
    part.with_name(part.name + ".meta.json").write_text(json.dumps(m))
    assert gz(pan_video, "--out", part, "--all-faces", "--resume") == 0
    assert part.read_text() == expected
    run = meta(part)["runs"][-1]
    assert (run["resumed_after"], run["first_frame"]) == (43, 44)

    # the table is refused by a run with other settings (one row per frame)
    part.write_text("".join(lines[: start + 1]))
    assert gz(pan_video, "--out", part, "--resume") == 2


@pytest.mark.slow
def test_video_without_a_face_at_times_and_events_of_the_primary(media_dir, tmp_path):
    """face_noface.mov: one tracked face (face_id 1) then frames without one (a no-face row each); the events of an
    --all-faces table are those of the one-row-per-frame table (the primary face's rows)."""
    video = media_dir / "face_noface.mov"
    out_all, out_one = tmp_path / "all", tmp_path / "one"
    assert gz(video, "--out", out_all, "--all-faces", "--events") == 0
    assert gz(video, "--out", out_one, "--events") == 0
    rows, one = read_table(out_all / "face_noface.csv"), read_table(out_one / "face_noface.csv")
    assert len(rows) == len(one) == len(by_frame(rows))
    with_face = [r for r in rows if r["face"] == 1]
    assert len(with_face) >= 60 and {r["face_id"] for r in with_face} == {1}
    assert all(r["face_id"] is None and r["face_primary"] is None for r in rows if r["face"] == 0)
    assert [{c: r[c] for c in COLUMNS} for r in primary_rows(rows)] == one
    events = (out_all / "face_noface.events.csv").read_text()
    assert events.count("\n") > 2 and events == (out_one / "face_noface.events.csv").read_text()


def test_screen_points_are_the_primary_faces_only(media_dir, tmp_path):
    from gazezoom.calibration.profile import new_profile, save_profile
    from gazezoom.calibration.regressors import create_regressor
    from gazezoom.calibration.simulate import SimulatedUser
    from gazezoom.fileio import WEIGHTS_DIR
    from gazezoom.models.stages import resolve_stage, stage_identity

    sim = SimulatedUser(seed=0)
    X, y, _ = sim.fixations([[200, 200], [1700, 200], [960, 540], [200, 900], [1700, 900]], dwell_s=0.8)
    model = create_regressor("ridge", sim.screen).fit(X, y)
    identity = stage_identity(resolve_stage(None, WEIGHTS_DIR), WEIGHTS_DIR, "sampler")
    save_profile(new_profile("tester", model, sim.screen, identity), tmp_path / "profiles")
    table = tmp_path / "t.csv"
    assert gz(media_dir / "multi_face.jpg", "--out", table, "--tiles", "2", "--all-faces", "--profile", "tester",
              "--profiles", tmp_path / "profiles") == 0
    rows = read_table(table)
    assert len(rows) >= 4
    for r in rows:
        assert (r["screen_x_px"] is not None) == (r["face_primary"] == 1) == (r["screen_raw_y_px"] is not None)
