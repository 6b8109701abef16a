"""A synthetic request log, deterministic for a seed, written by DuckDB (`COPY ... TO`).

    python -m ailab_books.benchmarks.usage.generate --rows 100000000 -o benchmarks/out/usage/100m.parquet
    python -m ailab_books.benchmarks.usage.generate --rows 300 --month 2026-12 --format csv \\
        -o importers/samples/usage/requests-2026-12.csv

Rows come from DuckDB's `range()`: every value is a function of the row number
and the seed (`hash(i, seed, k)`), so making 100M rows takes no Python loop, no
pandas and bounded memory, and the same arguments give the same file (with the
same DuckDB version). Timestamps spread over the month (UTC, no offset); models
and tiers are the example books' (`orion-4` and `wren-3`; `api`,
`subscription`, `enterprise`, `free`), in skewed proportions; token counts are
positive integers, cached input at most half the input.
"""

from __future__ import annotations

import argparse
import datetime
import os
from collections.abc import Sequence
from pathlib import Path

import duckdb

MODELS = ("orion-4", "orion-4", "wren-3")
TIERS = ("api", "api", "api", "subscription", "subscription", "enterprise", "free", "free")


def pick(options: Sequence[str], draw: str) -> str:
    """A SQL expression choosing one of `options` by a hash draw (repeats weigh an option more)."""
    cases = " ".join(f"WHEN {index} THEN '{option}'" for index, option in enumerate(options))
    return f"CASE {draw} % {len(options)} {cases} END"


def query(rows: int, seed: int, month: str) -> str:
    start = datetime.date.fromisoformat(f"{month}-01")
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    seconds = int((end - start).total_seconds())

    def draw(k: int) -> str:
        return f"hash(i, {int(seed)}, {k})"

    return f"""
SELECT TIMESTAMP '{start} 00:00:00' + to_seconds(CAST({draw(1)} % {seconds} AS BIGINT)) AS timestamp,
       {pick(MODELS, draw(2))} AS model,
       {pick(TIERS, draw(3))} AS tier,
       'cust-' || CAST({draw(4)} % 5000 AS VARCHAR) AS customer,
       CAST(input AS BIGINT) AS input_tokens,
       CAST({draw(5)} % (input // 2 + 1) AS BIGINT) AS cached_input_tokens,
       CAST({draw(6)} % 2000 + 1 AS BIGINT) AS output_tokens,
       CAST(CASE WHEN i % 7 = 0 THEN 2 ELSE 1 END AS BIGINT) AS requests
FROM (SELECT i, {draw(7)} % 8000 + 16 AS input FROM range({int(rows)}) AS t(i))
"""


def generate(rows: int, seed: int, month: str, output: Path, file_format: str = "parquet") -> Path:
    """Write `rows` synthetic requests of `month` (YYYY-MM) to `output` (parquet or csv)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    options = (
        "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000"
        if file_format == "parquet"
        else "FORMAT csv, HEADER"
    )
    with duckdb.connect(":memory:") as connection:
        connection.execute("SET TimeZone = 'UTC'")
        # CSV rows in row order (a person reads them); Parquet's order does not matter to a sum.
        connection.execute(f"SET preserve_insertion_order = {'true' if file_format == 'csv' else 'false'}")
        connection.execute("SET memory_limit = '1GB'")
        connection.execute("SET enable_progress_bar = false")
        order = " ORDER BY timestamp" if file_format == "csv" else ""
        # Written beside, then renamed: an interrupted run leaves no half file to be reused.
        partial = output.with_name(output.name + ".partial")
        connection.execute(f"COPY ({query(rows, seed, month)}{order}) TO '{partial}' ({options})")
    os.replace(partial, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ailab_books.benchmarks.usage.generate", description=__doc__
    )
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--month", default="2026-11", help="YYYY-MM (default 2026-11)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("-o", "--output", type=Path, required=True)
    arguments = parser.parse_args(argv)
    generate(arguments.rows, arguments.seed, arguments.month, arguments.output, arguments.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
