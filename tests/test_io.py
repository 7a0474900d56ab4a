"""gazezoom.io without the face pipeline: the table schema and writers, readers (timestamps, VFR, rotation, bad
files), inputs → jobs, annotated video writers, output folders.

Bad and special media are real files written here with OpenCV into tmp_path; variable frame rate and rotation are
made by editing the MP4 boxes of such a file (``stts`` durations, ``tkhd`` display matrix), exactly the fields a
phone or a VFR recorder writes. The helpers below are also used by ``test_process.py``.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import read_frames

from gazezoom.errors import InputValueError, MediaError, UnknownNameError
from gazezoom.results import EyeGaze, EyeRegion, Face, FrameResult, GazeResult, HeadPose, ScreenPoint

cv2 = pytest.importorskip("cv2")

# --------------------------------------------------------------------------------------------------- media helpers


def write_video(path, frames, fps=30.0, fourcc="mp4v") -> Path:
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert wr.isOpened(), f"OpenCV cannot write {path}"
    for f in frames:
        wr.write(f)
    wr.release()
    return Path(path)


def _box_chain(data, path, start=0, end=None):
    """Offsets and sizes of nested MP4 boxes ``path`` (e.g. [b"moov", b"trak", b"tkhd"]), outermost first."""
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size, typ = struct.unpack(">I4s", data[i : i + 8])
        if size < 8:
            return None
        if typ == path[0]:
            if len(path) == 1:
                return [(i, size)]
            sub = _box_chain(data, path[1:], i + 8, i + size)
            if sub:
                return [(i, size), *sub]
        i += size
    return None


def set_rotation(src, dst, degrees: int = 90) -> Path:
    """Copy of an MP4 whose video track's display matrix says "rotate by ``degrees``" (what phones write)."""
    data = bytearray(Path(src).read_bytes())
    off, _ = _box_chain(data, [b"moov", b"trak", b"tkhd"])[-1]
    version = data[off + 8]
    m_off = off + 8 + 4 + (32 if version == 1 else 20) + 8 + 8  # times/ids/duration, reserved, layer…volume
    c, s = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    fix = lambda v: (v * 65536) & 0xFFFFFFFF  # noqa: E731  16.16 fixed point
    matrix = [fix(c), fix(s), 0, fix(-s), fix(c), 0, 0, 0, 1 << 30]
    data[m_off : m_off + 36] = struct.pack(">9I", *matrix)
    Path(dst).write_bytes(data)
    return Path(dst)


def set_frame_durations(src, dst, deltas) -> Path:
    """Copy of an OpenCV MP4 (index at the end) whose frames last ``deltas`` media ticks each: a VFR file.
    Returns the path; the media timescale is in ``mdhd``."""
    data = bytearray(Path(src).read_bytes())
    chain = _box_chain(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    off, size = chain[-1]
    body = struct.pack(">II", 0, len(deltas)) + b"".join(struct.pack(">II", 1, int(d)) for d in deltas)
    new = struct.pack(">I4s", 8 + len(body), b"stts") + body
    grow = len(new) - size
    assert data.find(b"moov") > data.find(b"mdat"), "moov must follow mdat so chunk offsets stay valid"
    for o, s in chain[:-1]:
        struct.pack_into(">I", data, o, s + grow)
    data[off : off + size] = new
    Path(dst).write_bytes(data)
    return Path(dst)


def media_timescale(path) -> int:
    data = Path(path).read_bytes()
    off, _ = _box_chain(data, [b"moov", b"trak", b"mdia", b"mdhd"])[-1]
    version = data[off + 8]
    return struct.unpack(">I", data[off + 12 + (16 if version == 1 else 8) : off + 16 + (16 if version == 1 else 8)])[0]


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory) -> Path:
    """The first 24 frames of single_face.mp4 re-encoded by OpenCV (mp4v, 30 fps, index at the end)."""
    frames = read_frames(media_dir / "single_face.mp4")[:24]
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames)


# --------------------------------------------------------------------------------------------------- table


def _face(blink=False) -> Face:
    R = np.eye(3)
    eyes = []
    for side, x in (("left", 30.0), ("right", -30.0)):
        eyes.append(EyeRegion(side=side, region_to_frame=np.eye(3), R_norm=np.eye(3), center_mm=np.array([x, 0.0, 600.0]),
                              corners_px=np.zeros((2, 2)), iris_px=np.array([320.0 + x, 240.0]), openness=0.8,
                              blink=blink))
    head = HeadPose(R, np.array([1.0, -2.0, 600.0]), 5.0, -10.0, 2.5)
    return Face(track_id=1, bbox=np.array([0, 0, 10, 10.0]), confidence=float("nan"), landmarks_px=np.zeros((478, 3)),
                blendshapes={}, transform=np.eye(4), head=head, eyes=tuple(eyes), blink=blink)


def _gaze(py_deg=(10.0, -20.0)) -> GazeResult:
    from gazezoom.geometry import pitchyaw_to_vector

    py = np.radians(py_deg)
    v = pitchyaw_to_vector(py)
    eyes = tuple(EyeGaze(side=s, pitchyaw_norm=py, vector_cam=v * 2.0) for s in ("left", "right"))  # not unit on purpose
    return GazeResult(eyes=eyes, vector_cam=v, pitchyaw=py, origin_mm=np.zeros(3))


def test_row_without_face_is_empty_not_zero():
    from gazezoom.io.table import COLUMNS, result_to_row

    row = result_to_row(FrameResult(index=7, time_s=0.25, frame_size=(480, 640), face=None))
    assert list(row) == list(COLUMNS)
    assert (row["frame"], row["time_s"], row["face"], row["faces"]) == (7, 0.25, 0, 0)
    assert all(row[c] is None for c in COLUMNS if c not in ("frame", "time_s", "face", "faces"))


def test_row_with_face_gaze_and_screen():
    from gazezoom.io.table import COLUMNS, FIXED_COLUMNS, result_to_row

    r = FrameResult(index=3, time_s=0.1, frame_size=(480, 640), face=_face(blink=True), gaze=_gaze(),
                    screen=ScreenPoint(100.0, 200.0, 101.0, 202.0))
    row = result_to_row(r)
    assert tuple(COLUMNS[: len(FIXED_COLUMNS)]) == FIXED_COLUMNS and FIXED_COLUMNS[:3] == ("frame", "time_s", "face")
    assert row["face"] == 1 and row["blink"] == 1 and row["left_blink"] == 1 and row["gaze_held"] == 0
    assert row["confidence"] is None  # NaN (no score) is unknown, not 0
    assert (row["head_x_mm"], row["head_y_mm"], row["head_z_mm"]) == (1.0, -2.0, 600.0)
    assert (row["head_pitch_deg"], row["head_yaw_deg"], row["head_roll_deg"]) == (5.0, -10.0, 2.5)
    assert row["gaze_pitch_deg"] == pytest.approx(10.0, abs=1e-5) and row["gaze_yaw_deg"] == pytest.approx(-20.0, abs=1e-5)
    # the vector and the angles agree with g = (-cos p sin y, -sin p, -cos p cos y)
    p, y = math.radians(row["gaze_pitch_deg"]), math.radians(row["gaze_yaw_deg"])
    assert [row["gaze_x"], row["gaze_y"], row["gaze_z"]] == pytest.approx(
        [-math.cos(p) * math.sin(y), -math.sin(p), -math.cos(p) * math.cos(y)], abs=1e-5)
    assert row["gaze_y"] < 0  # pitch > 0 looks up: y points down
    # per-eye vectors are normalised
    assert np.linalg.norm([row["left_gaze_x"], row["left_gaze_y"], row["left_gaze_z"]]) == pytest.approx(1, abs=1e-5)
    assert row["left_center_x_mm"] == 30.0 and row["right_iris_x_px"] == 290.0
    assert (row["screen_x_px"], row["screen_y_px"], row["screen_raw_x_px"]) == (100.0, 200.0, 101.0)


def test_row_with_face_but_no_gaze_or_profile_leaves_those_empty():
    from gazezoom.io.table import result_to_row

    row = result_to_row(FrameResult(index=0, time_s=0.0, frame_size=(480, 640), face=_face()))
    assert row["face"] == 1 and row["head_z_mm"] == 600.0
    for c in ("gaze_x", "gaze_pitch_deg", "left_gaze_x", "right_gaze_yaw_deg", "gaze_held", "screen_x_px", "screen_y_px"):
        assert row[c] is None, c


def test_table_module_is_light():
    import subprocess
    import sys

    code = "import sys, gazezoom.io.table; bad = [m for m in ('PyQt5', 'mediapipe', 'torch', 'cv2') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_writer_round_trip_types_and_partial_line_recovery(tmp_path, fmt):
    from gazezoom.io.table import COLUMNS, INT_COLUMNS, open_writer, read_table, recover_table, result_to_row

    rows = [result_to_row(FrameResult(index=i, time_s=i / 30, frame_size=(480, 640), face=_face() if i % 2 else None,
                                      gaze=_gaze() if i % 2 else None), source="a,b.jpg" if i == 1 else None)
            for i in range(4)]
    path = tmp_path / f"t.{fmt}"
    with open_writer(path, fmt) as w:
        for r in rows[:3]:
            w.write(r)
        # every row is on disk before close (flush per row): another reader sees it now
        assert len(read_table(path)) == 3
    back = read_table(path)
    assert back == rows[:3]
    assert all(isinstance(back[1][c], int) for c in INT_COLUMNS if back[1][c] is not None)
    assert isinstance(back[1]["gaze_x"], float) and back[0]["gaze_x"] is None and back[1]["source"] == "a,b.jpg"
    # a process killed while writing leaves a cut last line: recovery drops it and appending continues cleanly
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("3,0.1,1,,0.5" if fmt == "csv" else '{"frame":3,"time_s"')
    kept = recover_table(path, fmt)
    assert [r["frame"] for r in kept] == [0, 1, 2]
    with open_writer(path, fmt, append=True) as w:
        w.write(rows[3])
    assert read_table(path) == rows
    if fmt == "csv":
        assert path.read_text().splitlines()[0] == ",".join(COLUMNS)


def test_writer_refuses_to_overwrite_and_reports_bad_lines(tmp_path):
    from gazezoom.io.table import open_writer, read_table

    p = tmp_path / "t.csv"
    open_writer(p).close()
    with pytest.raises(MediaError, match="exists; pass --resume"):
        open_writer(p)
    p.write_text("a,b\n1,2\n")
    with pytest.raises(MediaError, match="not a gazezoom table"):
        read_table(p)
    with pytest.raises(UnknownNameError, match="csv, jsonl"):
        open_writer(tmp_path / "t.xml", "xml")


# --------------------------------------------------------------------------------------------------- readers


def test_video_reader_times_and_info(clip):
    from gazezoom.io.readers import VideoReader

    with VideoReader(clip) as r:
        assert (r.info.width, r.info.height, r.info.frame_count, r.info.rotation_deg) == (640, 360, 24, 0)
        frames = list(r.frames(lambda i: i % 5 == 0))
    assert [f.index for f in frames] == list(range(24))
    assert [f.image is not None for f in frames] == [i % 5 == 0 for i in range(24)]
    assert np.allclose([f.time_s for f in frames], np.arange(24) / 30.0, atol=1e-9)


def test_variable_frame_rate_times_come_from_the_container(clip, tmp_path):
    from gazezoom.io.readers import VideoReader

    deltas = [(256, 640, 768, 384)[i % 4] for i in range(24)]  # same total duration as 24 x 512
    vfr = set_frame_durations(clip, tmp_path / "vfr.mp4", deltas)
    ts = media_timescale(vfr)
    expected = np.concatenate([[0], np.cumsum(deltas)[:-1]]) / ts
    with VideoReader(vfr) as r:
        times = [f.time_s for f in r.frames()]
    assert len(times) == 24
    assert np.allclose(times, expected, atol=1e-6)
    assert not np.allclose(np.diff(times), np.diff(times)[0])  # really variable


def test_real_vfr_recording_has_increasing_irregular_times(media_dir):
    from gazezoom.io.readers import VideoReader

    with VideoReader(media_dir / "noface_face.mov") as r:
        times = np.array([f.time_s for f in r.frames(lambda i: False)])
        assert r.backward_times == 0
    assert len(times) == 169 and np.all(np.diff(times) > 0)
    assert np.ptp(np.diff(times)) > 0.01  # the recorder's frame intervals vary by more than 10 ms


@pytest.mark.parametrize("degrees,rotate", [(90, cv2.ROTATE_90_CLOCKWISE), (270, cv2.ROTATE_90_COUNTERCLOCKWISE)])
def test_rotation_metadata_is_applied(clip, tmp_path, degrees, rotate):
    from gazezoom.io.readers import VideoReader

    rot = set_rotation(clip, tmp_path / f"rot{degrees}.mp4", degrees)
    plain = read_frames(clip)[0]
    with VideoReader(rot) as r:
        assert r.info.rotation_deg == degrees and (r.info.width, r.info.height) == (360, 640)
        first = next(iter(r.frames())).image
    assert first.shape == (640, 360, 3)
    assert np.abs(first.astype(int) - cv2.rotate(plain, rotate)).mean() < 1.0


def test_truncated_video_yields_what_decodes_then_says_truncated(clip, tmp_path):
    from gazezoom.io.readers import VideoReader

    avi = write_video(tmp_path / "a.avi", read_frames(clip), fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    got = []
    with VideoReader(cut) as r:
        with pytest.raises(MediaError, match=r"ended after \d+ of the 24 frames .* truncated"):
            for f in r.frames():
                got.append(f.index)
    assert 5 < len(got) < 20 and got == list(range(len(got)))


def test_real_container_listing_a_few_more_frames_is_not_truncated(media_dir):
    from gazezoom.io.readers import VideoReader

    with VideoReader(media_dir / "no_face.mp4") as r:  # lists 98 frames, plays 95 (edit list)
        n = sum(1 for _ in r.frames(lambda i: False))
    assert n == 95


@pytest.mark.parametrize("case", ["truncated_mp4", "text_as_mp4", "empty_file", "zero_frames", "missing", "folder"])
def test_unreadable_videos_raise_media_error(clip, tmp_path, case):
    from gazezoom.io.readers import VideoReader

    p = tmp_path / f"{case}.mp4"
    if case == "truncated_mp4":
        p.write_bytes(clip.read_bytes()[:5000])
        match = "cannot open .* truncated or corrupt"
    elif case == "text_as_mp4":
        p.write_text("this is not a video\n" * 50)
        match = "cannot open .* not a video"
    elif case == "empty_file":
        p.write_bytes(b"")
        match = "is empty"
    elif case == "zero_frames":
        w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (64, 48))
        w.release()
        match = "cannot open|zero frames|is empty"
    elif case == "missing":
        match = "not found"
    else:
        p.mkdir()
        match = "is a folder"
    with pytest.raises(MediaError, match=match):
        with VideoReader(p) as r:
            list(r.frames())


def test_zero_frame_avi_opens_but_has_no_frames(tmp_path):
    from gazezoom.io.readers import VideoReader

    p = tmp_path / "zero.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    w.release()
    with pytest.raises(MediaError, match="zero frames|cannot open|is empty"):
        with VideoReader(p) as r:
            list(r.frames())


def test_image_set_reader_skips_and_reports_bad_images(media_dir, tmp_path):
    from gazezoom.io.readers import ImageSetReader

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    r = ImageSetReader([media_dir / "obama.jpg", bad, media_dir / "astronaut.png"])
    got = []
    with pytest.raises(MediaError, match="1 of 3 images could not be read: cannot read .*bad.jpg"):
        for f in r.frames():
            got.append((f.index, f.source, f.image.shape[2], f.time_s))
    assert got == [(0, "obama.jpg", 3, None), (2, "astronaut.png", 3, None)]


def test_collect_jobs_groups_names_and_keeps_bad_inputs(media_dir, tmp_path):
    from gazezoom.io.readers import collect_jobs

    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("b.jpg", "a.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    (folder / "single_face.mp4").write_bytes(b"x")
    empty = tmp_path / "empty"
    empty.mkdir()
    jobs = collect_jobs([media_dir / "single_face.mp4", folder, media_dir / "obama.jpg", media_dir / "obama2.jpg",
                         tmp_path / "missing.mov", empty])
    assert [(j.name, j.kind, j.error is None) for j in jobs] == [
        ("single_face", "video", True), ("single_face-2", "video", True), ("shots", "images", True),
        ("images", "images", True), ("missing", "video", False), ("empty", "video", False)]
    assert [Path(p).name for p in jobs[2].paths] == ["a.png", "b.jpg"]
    assert "input not found" in jobs[4].error and "holds no videos or images" in jobs[5].error


# --------------------------------------------------------------------------------------------------- outputs


def test_output_paths(tmp_path):
    from gazezoom.commands.process import output_paths
    from gazezoom.io.readers import Job

    one, two = [Job("a", "video", ("a.mp4",))], [Job("a", "video", ("a.mp4",)), Job("b", "video", ("b.mp4",))]
    assert output_paths(two, tmp_path / "o", "jsonl") == [tmp_path / "o" / "a.jsonl", tmp_path / "o" / "b.jsonl"]
    assert output_paths(one, tmp_path / "x.csv", "csv") == [tmp_path / "x.csv"]
    with pytest.raises(InputValueError, match="names one table file, but there are 2 inputs"):
        output_paths(two, tmp_path / "x.csv", "csv")
    with pytest.raises(InputValueError, match="suffix .csv but --format is jsonl"):
        output_paths(one, tmp_path / "x.csv", "jsonl")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(MediaError, match="cannot write to output folder"):
        output_paths(one, blocker / "sub", "csv")


def test_annotated_writer_mp4v_renames_part_file(tmp_path, clip):
    from gazezoom.io.annotate import create_video_writer, part_path

    frames = read_frames(clip)[:5]
    w = create_video_writer(tmp_path / "v.mp4", 30.0, (640, 360), "mp4v")
    for f in frames:
        w.write(f)
    assert part_path(tmp_path / "v.mp4").exists() and not (tmp_path / "v.mp4").exists()
    assert w.close() == tmp_path / "v.mp4"
    assert len(read_frames(tmp_path / "v.mp4")) == 5 and not part_path(tmp_path / "v.mp4").exists()


def test_reuse_annotated_copies_only_a_video_of_exactly_the_table_rows(clip, tmp_path):
    from gazezoom.commands.process import _reuse_annotated

    class Sink:
        def __init__(self):
            self.frames = []

        def write(self, image):
            self.frames.append(image)

    ok = Sink()
    assert _reuse_annotated(clip, 24, ok) and len(ok.frames) == 24
    assert np.array_equal(ok.frames[3], read_frames(clip)[3])
    for rows in (23, 25, 0):  # a video longer or shorter than the table, or no rows: nothing is written
        sink = Sink()
        assert not _reuse_annotated(clip, rows, sink) and sink.frames == []
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    sink = Sink()
    assert not _reuse_annotated(tmp_path / "bad.mp4", 24, sink) and sink.frames == []


def test_h264_codec_needs_pyav():
    from gazezoom.io.annotate import pick_codec

    try:
        import av  # noqa: F401
    except ImportError:
        with pytest.raises(MediaError, match="needs PyAV"):
            pick_codec("h264")
        assert pick_codec("auto") == "mp4v"
    else:
        assert pick_codec("auto") == "h264"
    with pytest.raises(UnknownNameError, match="h264, mp4v"):
        pick_codec("divx")


def test_sidecar_json_is_written_atomically(tmp_path):
    from gazezoom.commands.process import _write_json_atomic

    p = tmp_path / "m.json"
    _write_json_atomic(p, {"a": 1})
    _write_json_atomic(p, {"a": 2})
    assert json.loads(p.read_text()) == {"a": 2} and [q.name for q in tmp_path.iterdir()] == ["m.json"]


def test_lookahead_landmarker_order_and_misuse():
    from gazezoom.errors import StateError
    from gazezoom.io.overlap import LookaheadLandmarker, lookahead
    from gazezoom.io.readers import Frame

    class Fake:  # records what the real backend would see
        mode = "video"

        def __init__(self):
            self.seen, self.closed = [], False

        def detect(self, rgb, ts):
            self.seen.append((int(rgb[0, 0, 0]), ts))
            return [ts]

        def close(self):
            self.closed = True

    inner = Fake()
    la = LookaheadLandmarker(inner, "rgb")
    frames = [Frame(i, i / 10, np.full((2, 2, 3), i, np.uint8) if i != 2 else None) for i in range(5)]
    got = []
    for f in lookahead(frames, la):
        if f.image is not None:
            got.append(la.detect(None, int(round(f.time_s * 1e3))))
    assert got == [[0], [100], [300], [400]] and inner.seen == [(0, 0), (1, 100), (3, 300), (4, 400)]

    def broken():  # a truncated video: the frames before the error still come out
        yield from frames[:2]
        raise MediaError("cut")

    seen = []
    with pytest.raises(MediaError, match="cut"):
        for f in lookahead(broken(), la):
            seen.append(f.index)
            la.detect(None, int(round(f.time_s * 1e3)))
    assert seen == [0, 1]
    with pytest.raises(StateError, match="not submitted"):
        la.detect(None, 500)
    la.submit(np.zeros((2, 2, 3), np.uint8), 0.6)
    with pytest.raises(StateError, match="timestamp 600 ms but detect asked for 700"):
        la.detect(None, 700)
    la.close()
    assert inner.closed


def test_h264_writer_with_pyav(tmp_path, clip):
    pytest.importorskip("av")
    from gazezoom.io.annotate import create_video_writer
    from gazezoom.io.readers import VideoReader

    frames = read_frames(clip)[:8]
    w = create_video_writer(tmp_path / "h.mp4", 30.0, (640, 360), "h264")
    for f in frames:
        w.write(f)
    w.close()
    with VideoReader(tmp_path / "h.mp4") as r:
        got = [f.image for f in r.frames()]
        assert r.info.codec == "h264"
    assert len(got) == 8 and np.abs(got[4].astype(int) - frames[4]).mean() < 6
