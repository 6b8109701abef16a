"""The usage benchmark's generator is deterministic, and the benchmark runs (no timings asserted)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ailab_books.benchmarks.usage import run
from ailab_books.benchmarks.usage.generate import generate
from ailab_books.importers.config import load_config
from ailab_books.importers.usage import aggregate
from ailab_books.importers.usage_settings import usage_settings

ROOT = Path(__file__).resolve().parent.parent


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_seed_gives_the_same_log_and_another_seed_another(tmp_path: Path) -> None:
    first = generate(2000, 5, "2026-11", tmp_path / "a.csv", "csv")
    again = generate(2000, 5, "2026-11", tmp_path / "b.csv", "csv")
    other = generate(2000, 6, "2026-11", tmp_path / "c.csv", "csv")
    assert digest(first) == digest(again) != digest(other)
    assert first.read_text().count("\n") == 2001
    assert not list(tmp_path.glob("*.partial"))


def test_a_generated_log_imports_into_every_tier_and_model_of_the_books(tmp_path: Path) -> None:
    log = generate(5000, 1, "2026-11", tmp_path / "log.parquet")
    usage = usage_settings(load_config(ROOT / "importers" / "samples" / "imports.toml"))
    entries = aggregate([str(log)], usage)
    assert [entry.meta["import-id"] for entry in entries] == [
        f"usage/2026-11/{tier}/{model}"
        for tier in ("API", "Enterprise", "Free", "Subscription")
        for model in ("Orion", "Wren")
    ]
    assert sum(entry.postings[0].meta["rows"] for entry in entries) == 5000


def test_the_benchmark_reports_a_row_per_size_and_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--rows", "1000", "3000", "--engines", "duckdb", "--out", str(tmp_path)]) == 0
    rows = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| 1,000 ") or line.startswith("| 3,000 ")
    ]
    assert [row.split("|")[2].strip() for row in rows] == ["duckdb", "duckdb"]
    assert all(row.split("|")[5].strip() not in ("?", "") for row in rows)  # a peak RSS for each
