"""What a new user types wrong (issue 14): every case ends in one line that names the file and says what to do,
with the typed error's exit code — never a traceback. Real files; the unwritable place is a path under a plain file
(it cannot be written whoever runs the tests, root included)."""

from __future__ import annotations

import pytest

from gazezoom.cli import main
from gazezoom.errors import MediaError


@pytest.fixture
def blocked(tmp_path):
    """A plain file: any path below it cannot be created."""
    f = tmp_path / "plain_file"
    f.write_text("not a folder\n")
    return f


@pytest.fixture
def notes(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("my camera is the built-in one\n")
    return p


@pytest.mark.parametrize("command", ["process", "inspect"])
def test_camera_file_that_is_not_one(command, notes, tmp_path, media_dir, capsys):
    """cv2.FileStorage on a text file raised a bare SystemError through the whole stack."""
    out = tmp_path / ("o" if command == "process" else "o.png")
    extra = ["--no-gaze"] if command == "process" else []
    rc = main([command, str(media_dir / "obama.jpg"), "--camera-file", str(notes), "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert rc == MediaError.exit_code, err
    assert str(notes) in err and "not a camera calibration file" in err and "gazezoom camera calibrate" in err


def test_export_to_a_folder_that_cannot_be_written(blocked, repo_dir, capsys):
    rc = main(["export", "--weights", str(repo_dir / "weights"), "--out", str(blocked / "onnx")])
    err = capsys.readouterr().err
    assert rc == MediaError.exit_code, err
    assert f"cannot write to ONNX output folder {blocked / 'onnx'}" in err and "--out" in err


def test_eval_figures_to_a_folder_that_cannot_be_written(blocked, repo_dir, capsys):
    rc = main(["eval", "--synthetic", "8", "--weights", str(repo_dir / "weights"), "--variants", "sampler@P",
               "--threads", "1", "--figures", str(blocked / "figs")])
    err = capsys.readouterr().err
    assert rc == MediaError.exit_code, err
    assert str(blocked) in err and "cannot write" in err


# ---- misleading messages (issue 14, item 9)


def test_inspect_a_folder_says_it_is_a_folder(media_dir, tmp_path, capsys):
    assert main(["inspect", str(media_dir), "--out", str(tmp_path / "i.png")]) == MediaError.exit_code
    err = capsys.readouterr().err
    assert "is a folder" in err and "not found" not in err and "gazezoom process" in err


def test_app_source_folder_says_it_is_a_folder(media_dir):
    from gazezoom.live.sources import VideoSource, parse_source

    with pytest.raises(MediaError, match="is a folder; --source takes one video file or a camera index"):
        VideoSource(parse_source(str(media_dir)))


def test_inspect_out_errors_say_what_is_wrong(media_dir, blocked, tmp_path, capsys):
    image = str(media_dir / "obama.jpg")
    assert main(["inspect", image, "--out", str(blocked / "i.png")]) == MediaError.exit_code
    err = capsys.readouterr().err
    assert f"{blocked}: it is a file, not a folder" in err and "extension" not in err
    assert main(["inspect", image, "--out", str(tmp_path / "i.xyz")]) == MediaError.exit_code
    assert "no image format for the extension .xyz; use .png or .jpg" in capsys.readouterr().err


def test_profile_delete_of_nobody_says_so_before_asking(tmp_path, capsys):
    from gazezoom.errors import ProfileError

    assert main(["profile", "--profiles", str(tmp_path), "delete", "nobody"]) == ProfileError.exit_code
    err = capsys.readouterr().err
    assert "no profile for user 'nobody'" in err and "--yes" not in err


def test_failed_input_does_not_point_at_a_table(media_dir, tmp_path, capsys):
    missing = tmp_path / "missing.mp4"
    main(["process", str(missing), str(media_dir / "single_face.jpg"), "--out", str(tmp_path / "o"), "--no-gaze",
          "--quiet"])
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    failed = next(ln for ln in lines if ln.startswith("missing:"))
    assert "nothing written" in failed and "->" not in failed
    assert any(ln.startswith("single_face: complete") and "->" in ln for ln in lines)


@pytest.mark.slow
def test_library_log_noise_hidden_unless_verbose(media_dir, tmp_path, repo_dir):
    """MediaPipe's absl/TFLite start-up lines are gone by default and back with --verbose."""
    import os
    import subprocess
    import sys

    def stderr(*extra):
        return subprocess.run([sys.executable, "-m", "gazezoom", "inspect", str(media_dir / "obama.jpg"), "--out",
                               str(tmp_path / "i.png"), *extra], cwd=repo_dir, capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120).stderr

    quiet, loud = stderr(), stderr("--verbose")
    assert "W0000" not in quiet and "XNNPACK" not in quiet and "InitGoogle" not in quiet, quiet
    assert "XNNPACK" in loud
