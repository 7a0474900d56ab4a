"""``gazezoom doctor`` on this machine, for real: models, MediaPipe, Qt's xcb libraries (``ldd``), display, camera."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gazezoom.cli import main
from gazezoom.commands.doctor import APT_LINE, debian_package, missing_qt_libraries


def _ldd_missing() -> list[str]:
    """The test's own reading of ``ldd`` on Qt's xcb plugin (independent of the doctor's code)."""
    PyQt5 = pytest.importorskip("PyQt5")
    plugin = Path(PyQt5.__file__).parent / "Qt5" / "plugins" / "platforms" / "libqxcb.so"
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return list(dict.fromkeys(ln.split("=>")[0].strip() for ln in out.splitlines() if "not found" in ln))


def test_doctor_reports_each_part_and_how_to_fix_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    rc = main(["doctor", "--camera", "99", "--weights", str(Path(__file__).parents[1] / "weights")])
    out = capsys.readouterr().out
    assert "ok    face landmarker model" in out and "MediaPipe" in out
    assert "no camera at index 99" in out and "gazezoom process" in out  # a warning with a way forward
    assert "no DISPLAY" in out and "xvfb-run" in out
    missing = _ldd_missing()
    assert set(missing_qt_libraries()) == set(missing)
    if missing:  # this machine (no X libraries): the exact apt line for what is missing, and a failing exit code
        assert rc == 1
        assert f"sudo apt-get install -y {' '.join(debian_package(m) for m in missing)}" in out
    else:
        assert rc == 0 and "all needed parts found" in out


def test_doctor_flags_missing_models(tmp_path, capsys):
    assert main(["doctor", "--camera", "99", "--weights", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  face landmarker model" in out and "warn  gaze weights" in out and "gazezoom train" in out


def test_readme_names_the_system_packages_and_doctor(repo_dir):
    readme = (repo_dir / "README.md").read_text()
    assert APT_LINE in readme and "gazezoom doctor" in readme
    for so in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-xinerama.so.0"):
        assert debian_package(so) in APT_LINE
