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
    rc = main([command, str(media_dir / "obama.jpg"), "--camera-file", str(notes), "--out", str(out)])
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
