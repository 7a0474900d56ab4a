"""The linters are part of the suite: ruff's rules and import-linter's layer contracts (both in pyproject.toml).

Run through the suite so CI's one test command checks them too (docs/architecture.md, "Layer rules").
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


def _run(args, repo_dir):
    return subprocess.run(args, cwd=repo_dir, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing(repo_dir):
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -r requirements-test.txt")
    r = _run([ruff, "check", "gazezoom", "tests", "scripts", "app.py"], repo_dir)
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_layer_contracts_are_kept(repo_dir):
    r = _run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
             repo_dir)
    assert r.returncode == 0 and "0 broken" in r.stdout, r.stdout + r.stderr
