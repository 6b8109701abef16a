"""Smoke test of benchmarks/run.py: it runs end to end and reports every row.

Runs the smallest size (scale 1, monthly metering: the example lab's volume)
once. Checks the shape of the report only; nothing here asserts on timings,
which depend on the machine and its load.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from ailab_books.benchmarks import run as bench_run
from ailab_books.queries.runner import package_queries

ROOT = Path(__file__).resolve().parent.parent


def _load_run() -> ModuleType:
    return bench_run


def test_run_reports_every_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _load_run()
    json_path = tmp_path / "bench.json"
    argv = ["--scale", "1", "--no-daily", "--repeat", "1", "--quiet"]
    argv += ["--out", str(tmp_path / "out"), "--json", str(json_path)]
    assert run.main(argv) == 0
    table = capsys.readouterr().out

    ledger = tmp_path / "out" / "scale1-monthly"
    assert (ledger / "main.beancount").is_file()
    plain = (ledger / "plain.beancount").read_text(encoding="utf-8")
    assert "plugin " not in plain and "include " in plain

    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")}
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
