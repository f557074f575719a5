"""The code passes the project's ruff rules (pyproject.toml: pyflakes, line length, sorted imports)."""

import importlib.util
import subprocess
import sys

import pytest

from .helpers import REPOSITORY


@pytest.mark.skipif(
    importlib.util.find_spec("ruff") is None, reason="ruff not installed (the dev extra)"
)
def test_ruff_check_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         str(REPOSITORY)],
        capture_output=True, text=True, cwd=REPOSITORY, check=False,
    )
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
