"""The synthetic-ledger generator (``ailab_books.benchmarks.generate``).

What is checked here, and nothing more:

- a generated ledger's ``accounts.beancount`` and ``allocation.beancount`` are
  the example's (``ledger/``) byte for byte when its period starts on or after
  2025-01, and the same directives with every date moved back by whole months
  when it starts earlier;
- its ``main.beancount`` has the example's plugin lines and operating currency;
- generated ledgers load with the plugins without a single error (so every
  account posted to is opened, every driver activity has a target, every pool
  is emptied);
- the generator refuses, with a located message and without writing anything,
  a structure that does not open an account it posts to (or not for that
  currency), or that does not parse;
- the same arguments give the same files.

The example books' transactions (revenue, payroll, ...) are kept by hand and
are not compared with the generator's.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import parser

from ailab_books.benchmarks import generate

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "ledger"
STRUCTURE = ("accounts.beancount", "allocation.beancount")


def _structure_copy(tmp_path: Path) -> Path:
    """A copy of the example's two structure files, to break in a test."""
    directory = tmp_path / "structure"
    directory.mkdir()
    for name in STRUCTURE:
        shutil.copy(LEDGER / name, directory / name)
    return directory


def _replace_line(path: Path, old: str, new: str) -> int:
    """Replace the one line that starts with ``old``; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (index,) = [k for k, line in enumerate(lines) if line.startswith(old)]
    lines[index] = new
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


def _directives(text: str) -> list[tuple[Any, ...]]:
    """The directives of a text, without their location, as comparable tuples."""
    entries, errors, _ = parser.parse_string(text)
    assert errors == []
    out = []
    for entry in entries:
        meta = {key: value for key, value in entry.meta.items() if key not in ("filename", "lineno")}
        out.append((type(entry).__name__, entry.date, *entry[2:], sorted(meta.items())))
    return out


@pytest.mark.parametrize(
    ("start", "end", "scale", "daily"),
    [("2025-01", "2026-10", 1, False), ("2025-12", "2026-02", 2, True), ("2026-03", "2026-04", 1, False)],
)
def test_structure_is_the_examples_byte_for_byte(start: str, end: str, scale: int, daily: bool) -> None:
    files = generate.generate(start=start, end=end, scale=scale, daily=daily)
    for name in STRUCTURE:
        assert files[name] == (LEDGER / name).read_text(encoding="utf-8"), name


def test_earlier_period_gets_the_structure_moved_back_by_whole_months(tmp_path: Path) -> None:
    files = generate.generate(start="2024-07", end="2024-09")
    for name in STRUCTURE:
        expected = [
            (kind, _months_back(date, 6), *rest)
            for kind, date, *rest in _directives((LEDGER / name).read_text(encoding="utf-8"))
        ]
        assert _directives(files[name]) == expected, name
        assert files[name].startswith(f"; ledger/{name} with every date moved 6 months earlier,\n")
    # the policy change stays twelve months after the opening
    rule_dates = sorted({date for kind, date, *_ in _directives(files["allocation.beancount"])})
    assert rule_dates == [datetime.date(2024, 7, 1), datetime.date(2025, 7, 1)]

    generate.write_ledger(tmp_path, start="2024-07", end="2024-09")
    _, errors, _ = loader.load_file(str(tmp_path / "main.beancount"))
    assert [error.message for error in errors] == []


def _months_back(date: datetime.date, months: int) -> datetime.date:
    index = date.year * 12 + date.month - 1 - months
    return date.replace(year=index // 12, month=index % 12 + 1)


def test_main_has_the_examples_plugins_and_operating_currency() -> None:
    def lines(text: str) -> list[str]:
        return [
            line for line in text.splitlines() if line.startswith(("plugin ", 'option "operating_currency"'))
        ]

    example = lines((LEDGER / "main.beancount").read_text(encoding="utf-8"))
    assert len(example) == 5  # depreciate, allocate, classify, models and the operating currency
    assert (
        lines(generate.generate(scale=3, daily=True, start="2026-01", end="2026-01")["main.beancount"])
        == example
    )


@pytest.mark.parametrize(
    ("start", "end", "scale", "daily"),
    [("2025-12", "2026-02", 2, True), ("2024-11", "2025-02", 1, False), ("2026-09", "2026-10", 3, False)],
)
def test_generated_ledger_loads_with_the_plugins_without_errors(
    tmp_path: Path, start: str, end: str, scale: int, daily: bool
) -> None:
    generate.write_ledger(tmp_path, start=start, end=end, scale=scale, daily=daily)
    entries, errors, _ = loader.load_file(str(tmp_path / "main.beancount"))
    assert [error.message for error in errors] == []
    generated = [
        entry for entry in entries if isinstance(entry, data.Transaction) and "allocation" in entry.tags
    ]
    assert generated  # the plugins ran and split the pools


def test_daily_ledger_meters_every_day_and_pays_each_employee(tmp_path: Path) -> None:
    generate.write_ledger(tmp_path, start="2025-12", end="2026-02", scale=2, daily=True)
    entries, errors, _ = loader.load_file(str(tmp_path / "main.beancount"))
    assert [error.message for error in errors] == []
    transactions = [entry for entry in entries if isinstance(entry, data.Transaction)]
    payroll = [txn for txn in transactions if txn.payee == "Ledgerline Payroll"]
    assert any((posting.meta or {}).get("employee") for txn in payroll for posting in txn.postings)
    metering_days = {txn.date for txn in transactions if txn.payee == "Metering"}
    assert len(metering_days) == 31 + 31 + 28


def test_generator_is_deterministic() -> None:
    first = generate.generate(scale=2, daily=True, start="2025-12", end="2026-01")
    second = generate.generate(scale=2, daily=True, start="2025-12", end="2026-01")
    assert first == second
    assert generate.generate(seed=8) != generate.generate()


def test_unopened_account_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    structure = _structure_copy(tmp_path)
    _replace_line(structure / "accounts.beancount", "2025-01-01 open Expenses:SGA:Travel ", "")
    out = tmp_path / "out"
    with pytest.raises(generate.StructureError) as caught:
        generate.write_ledger(out, start="2025-01", end="2025-02", structure_dir=structure)
    accounts = structure / "accounts.beancount"
    assert str(caught.value).splitlines() == [
        "the books' structure does not fit the generated ledger (nothing written):",
        f"{accounts}: Expenses:SGA:Travel is not opened; the generator posts USD to it",
    ]
    assert not out.exists()


def test_account_opened_for_another_currency_is_refused_at_its_open_line(tmp_path: Path) -> None:
    structure = _structure_copy(tmp_path)
    accounts = structure / "accounts.beancount"
    lineno = _replace_line(
        accounts, "2025-01-01 open Expenses:SGA:Travel ", "2025-01-01 open Expenses:SGA:Travel EUR\n"
    )
    with pytest.raises(generate.StructureError) as caught:
        generate.generate(start="2025-01", end="2025-02", structure_dir=structure)
    assert str(caught.value).splitlines()[1:] == [
        f"{accounts}:{lineno}: Expenses:SGA:Travel is opened for EUR; the generator posts USD to it"
    ]


def test_structure_that_does_not_parse_is_refused_at_its_line(tmp_path: Path) -> None:
    structure = _structure_copy(tmp_path)
    allocation = structure / "allocation.beancount"
    lineno = _replace_line(
        allocation,
        '2025-01-01 custom "allocate" Expenses:Shared:DatacenterOps',
        "2025-01-01 custom allocate oops\n",
    )
    with pytest.raises(generate.StructureError, match=rf"^{re.escape(str(allocation))}:{lineno}: "):
        generate.generate(structure_dir=structure)


def test_missing_structure_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(generate.StructureError) as caught:
        generate.generate(structure_dir=tmp_path / "nowhere")
    assert str(caught.value).startswith(f"{tmp_path / 'nowhere' / 'accounts.beancount'}: cannot read")


def test_command_line_writes_the_files_or_reports_the_structure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert generate.main([str(out), "--months", "2025-01:2025-02", "--scale", "2"]) == 0
    printed = capsys.readouterr().out.split()
    written = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert sorted(str(Path(path).relative_to(out)) for path in printed) == written
    assert {"main.beancount", "books.beancount", "views/accountant.beancount"} <= set(written)
    assert len(printed) == 12 + len(list((LEDGER / "views").glob("*.beancount")))

    structure = _structure_copy(tmp_path)
    _replace_line(structure / "accounts.beancount", "2025-01-01 open Expenses:SGA:Travel ", "")
    assert generate.main([str(tmp_path / "refused"), "--structure", str(structure)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: the books' structure does not fit")
    assert not (tmp_path / "refused").exists()


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--months", "2026-01:2025-01"], "empty month range 2026-01..2025-01"),
        (["--scale", "0"], "scale must be at least 1"),
    ],
)
def test_command_line_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        generate.main([str(tmp_path / "out"), *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(reason)
    assert not (tmp_path / "out").exists()


def test_runs_as_a_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ailab_books.benchmarks.generate",
            str(tmp_path),
            "--months",
            "2025-01:2025-01",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "main.beancount").is_file()
