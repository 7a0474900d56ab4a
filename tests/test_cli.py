"""The `gazezoom` command line: every command and benchmark answers --help; errors become exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gazezoom.cli import COMMANDS, main
from gazezoom.commands.bench import BENCHMARKS, median_ms
from gazezoom.errors import InputValueError


def test_top_level_help_lists_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: gazezoom {name}")


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_every_benchmark_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", name, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: gazezoom bench {name}")


def test_import_gazezoom_stays_light():
    code = "import sys, gazezoom, gazezoom.cli, gazezoom.pipeline; print(sorted(m for m in ('torch', 'mediapipe', 'PyQt5', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_typed_errors_become_exit_codes(tmp_path, capsys):
    # a missing profile is a ProfileError: its message says what to run, the exit code is ProfileError.exit_code
    rc = main(["profile", "--profiles", str(tmp_path), "show", "nobody"])
    assert rc == 7  # ProfileError.exit_code
    assert "gazezoom calibrate --user nobody" in capsys.readouterr().err


def test_median_ms_checks_its_arguments():
    assert median_ms(lambda: None, repeat=2, warmup=0) >= 0
    with pytest.raises(InputValueError, match="repeat >= 1"):
        median_ms(lambda: None, repeat=0)


def test_bench_sampler_reports_medians_and_ratios(capsys):
    import json

    assert main(["bench", "sampler", "--repeat", "2", "--threads", "1", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["patch"] == [24, 40] and all(v > 0 for v in rep["median_ms"].values())
    ms = rep["median_ms"]
    assert rep["ratios"]["dense/separable attraction"] == pytest.approx(ms["attraction_dense_ms"] / ms["attraction_separable_ms"])


def test_camera_intrinsics_are_camera_file_everywhere():
    """Every command that reads intrinsics takes --camera-file; process and inspect keep --camera as an alias."""
    import argparse
    import importlib

    from gazezoom.cli import COMMANDS

    def parse(argv):
        p = argparse.ArgumentParser()
        importlib.import_module(COMMANDS[argv[0]][0]).add_arguments(p)
        return p.parse_args(argv[1:])

    for argv in (["process", "in.mp4", "--out", "o"], ["inspect", "in.jpg", "--out", "o.png"]):
        for flag in ("--camera-file", "--camera"):
            assert str(parse([*argv, flag, "cam.json"]).camera) == "cam.json"
    assert parse(["demo", "--camera-file", "cam.json"]).camera_file == "cam.json"


def test_benchmarks_warn_when_the_machine_is_busy():
    """Load average before the run, or a wide spread of the repeats, gives a warning that recommends --threads 1."""
    import time

    from gazezoom.commands.bench import BUSY_SPREAD, SPREADS, busy_warning

    assert busy_warning(0.2, 2, [0.1, 0.2]) is None
    note = busy_warning(2.8, 2, [])
    assert "load average 2.8 on 2 cores" in note and "--threads 1" in note
    # a measurement whose repeats really swing (as under contention) is caught by its spread
    SPREADS.clear()
    calls = iter(range(1000))
    median_ms(lambda: time.sleep(0.001 if next(calls) % 2 else 0.02), repeat=20, warmup=0)
    assert SPREADS and SPREADS[-1] > BUSY_SPREAD
    assert "repeats spread up to" in busy_warning(0.0, 2, SPREADS)
