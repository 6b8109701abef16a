"""Smoke tests of benchmarks/run.py: it runs end to end and reports every row.

The first runs the smallest generated size (scale 1, monthly metering: the
example lab's volume) once; the second measures an existing ledger
(``--ledger``) and dumps every saved query's output (``--dump``). They check
the shape of the report and the dump's content only; nothing here asserts on
timings, which depend on the machine and its load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from beancount import loader
from beanquery.query import run_query

from ailab_books.benchmarks import generate, run
from ailab_books.queries.runner import package_queries


def _report_rows(table: str) -> set[str]:
    return {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")}


def test_run_reports_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    json_path = tmp_path / "bench.json"
    argv = ["--scale", "1", "--no-daily", "--repeat", "1", "--quiet"]
    argv += ["--out", str(tmp_path / "out"), "--json", str(json_path)]
    assert run.main(argv) == 0
    table = capsys.readouterr().out

    ledger = tmp_path / "out" / "scale1-monthly"
    assert (ledger / "main.beancount").is_file()
    plain = (ledger / "plain.beancount").read_text(encoding="utf-8")
    assert "plugin " not in plain and "include " in plain

    rows = _report_rows(table)
    assert "scale1-monthly" in rows
    measurements = [run.PLAIN, run.ALLOCATE, run.CLASSIFY, run.PLUGINS, run.FULL, run.FULL_MINUS_PLAIN]
    queries = sorted(package_queries())
    assert queries
    for name in measurements + [run.QUERY_PREFIX + query for query in queries] + queries:
        assert name in rows, f"no row {name!r} in the report:\n{table}"

    result = json.loads(json_path.read_text(encoding="utf-8"))
    (size,) = result["sizes"]
    assert size["postings"] > 0 and size["entries"] > 0
    assert size["generated_entries"] > 0  # the allocation transactions
    for name, values in size["samples"].items():
        assert len(values) == 1, name


def test_existing_ledger_is_measured_and_every_query_dumped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    books = tmp_path / "books"
    generate.write_ledger(books, start="2025-01", end="2025-02", includes=())
    argv = ["--ledger", str(books / "main.beancount"), "--repeat", "1", "--quiet"]
    argv += ["--out", str(tmp_path / "out"), "--dump", str(tmp_path / "dump")]
    assert run.main(argv) == 0
    rows = _report_rows(capsys.readouterr().out)
    assert "books" in rows and run.PLAIN in rows  # measured under its folder's name, and only it
    assert not [row for row in rows if row.startswith("scale")]

    plain = (tmp_path / "out" / "books" / "plain.beancount").read_text(encoding="utf-8")
    assert "plugin " not in plain
    assert f'include "{books / "books.beancount"}"' in plain  # loads the same files from elsewhere

    dump = (tmp_path / "dump" / "books.txt").read_text(encoding="utf-8")
    names = [line[3:] for line in dump.splitlines() if line.startswith("== ")]
    assert names == sorted(package_queries())
    # one section, against beanquery run directly on the same books
    entries, errors, options = loader.load_file(str(books / "main.beancount"))
    assert errors == []
    columns, result = run_query(entries, options, package_queries()["gross-margin-total"].query_string)
    assert result
    expected = ["== gross-margin-total", repr([column.name for column in columns])]
    expected += [repr(tuple(row)) for row in result]
    section = dump.split("== gross-margin-total\n")[1].split("\n== ")[0].splitlines()
    assert ["== gross-margin-total", *section] == expected
