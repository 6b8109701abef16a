"""The sample feeds of importers/samples/ against their golden outputs, and the goldens against the books.

Each sample `importers/samples/<feed>/<name>.<ext>` has `<name>.<ext>.beancount`
beside it (beangulp's convention: `;; Account/Date/Name` then the entries).
Regenerate after a deliberate change, and review the diff by eye:

    LAB_IMPORT_GOLDEN=update .venv/bin/pytest -q tests/test_import_golden.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from beancount import loader
from beangulp import extract as beangulp_extract
from beangulp.testing import write_expected
from helpers import books_plus

from ailab_books.importers import cli
from ailab_books.importers.config import load_config
from ailab_books.importers.registry import build_importers

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "importers" / "samples"
CONFIG = SAMPLES / "imports.toml"
FEEDS = sorted(
    path.relative_to(ROOT)
    for path in SAMPLES.glob("*/*")
    if path.suffix != ".beancount" and not path.name.startswith(".")
)


def golden_text(feed_file: Path) -> str:
    """What the importer that identifies the file extracts from it, in the golden format."""
    importers = [
        importer for importer in build_importers(load_config(CONFIG)) if importer.identify(str(feed_file))
    ]
    assert len(importers) == 1, f"{feed_file}: identified by {len(importers)} importers"
    importer = importers[0]
    entries = beangulp_extract.extract_from_file(importer, str(feed_file), [])
    buffer = io.StringIO()
    write_expected(buffer, importer.account(str(feed_file)), importer.date(str(feed_file)), None, entries)
    return buffer.getvalue()


def test_every_feed_has_samples() -> None:
    assert {path.parent.name for path in FEEDS} >= {"timesheets", "slurm", "opencost"}


@pytest.mark.parametrize("feed_file", FEEDS, ids=str)
def test_sample_matches_golden(feed_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    golden = feed_file.with_name(feed_file.name + ".beancount")
    text = golden_text(feed_file)
    if os.environ.get("LAB_IMPORT_GOLDEN") == "update":
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden beside {feed_file}"
    assert text == golden.read_text(encoding="utf-8")


def test_books_and_goldens_pass_bean_check(tmp_path: Path) -> None:
    goldens = sorted(SAMPLES.glob("*/*.beancount"))
    together = books_plus(tmp_path, *goldens)  # the books' plugins must run on the goldens too
    bean_check = Path(sys.executable).with_name("bean-check")
    result = subprocess.run([str(bean_check), str(together)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert len(goldens) >= 4


def test_the_monthly_close_of_docs_importers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/importers.md's close on the samples: extract, check with the books, extract again: nothing new."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "imports-2026-11.beancount"
    args = ["--config", str(CONFIG), "extract", "importers/samples/", "--period", "2026-11", "-o", str(out)]
    assert cli.main(args) == 0
    text = out.read_text()
    # 5 scheduler and timesheet entries and 8 of usage (4 tiers x 2 models; the December log adds none),
    # dated at November's end; and October's two cloud bills, which arrive at November's close.
    assert text.count("\n2026-11-30 *") == 5 + 8
    assert text.count("\n2026-10-31 *") == 2
    entries = "\n".join(line for line in text.splitlines() if not line.startswith("****"))  # not file names
    assert "2026-12" not in entries.replace("2026-12-01T06:00:00", "")  # --period keeps November only
    together = books_plus(tmp_path, out)
    _, errors, _ = loader.load_file(str(together))
    assert errors == []
    again = tmp_path / "again.beancount"
    assert cli.main([*args[:-1], str(again), "-e", str(together)]) == 0
    repeated = again.read_text()
    assert repeated.count("; duplicate of ") == 5 + 8 + 2
    assert [line for line in repeated.splitlines() if line and not line.startswith((";", "****"))] == []
    assert capsys.readouterr() == ("", "")  # quiet: no bar off a terminal, no file skipped
