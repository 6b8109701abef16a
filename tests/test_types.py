"""`mypy --strict` over the installed packages (the configuration is pyproject.toml's [tool.mypy]).

The folders plugins/, queries/, benchmarks/ and dashboard/ install as ``ailab_books.plugins``,
``ailab_books.queries``, ``ailab_books.benchmarks`` and ``ailab_books.dashboard`` through setuptools'
``package-dir`` (an import hook in an editable install). mypy follows no import
hooks, so the test lays out the package as mypy would find it installed: a
folder ``ailab_books/`` of symbolic links to the real folders, on MYPYPATH.
Errors are reported against those paths (``ailab_books/plugins/allocate.py``
is ``plugins/allocate.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Import package name -> folder in this checkout.
PACKAGES = {
    "plugins": "plugins",
    "queries": "queries",
    "benchmarks": "benchmarks",
    "dashboard": "dashboard",
    "importers": "importers",
}


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    package = tmp_path / "ailab_books"
    package.mkdir()
    for name, folder in PACKAGES.items():
        (package / name).symlink_to(ROOT / folder, target_is_directory=True)
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    command += ["--cache-dir", str(tmp_path / ".mypy_cache")]
    for name in PACKAGES:
        command += ["-p", f"ailab_books.{name}"]
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
