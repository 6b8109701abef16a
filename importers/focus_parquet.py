"""Reading a FOCUS export kept as Parquet (the cloud providers' native export format) with DuckDB.

Every cell comes back as text, so the FOCUS reader checks Parquet rows exactly as
CSV rows, and amounts become `Decimal` from text, never through float arithmetic:

- DECIMAL columns are written exactly; DOUBLE columns as their shortest
  round-trip text (`0.30000000000000004`: the float the export holds, noise
  and all, which the invoice's rounding to cents absorbs);
- timestamps as FOCUS date-times in UTC (`2026-10-01T00:00:00Z`);
- a MAP or STRUCT `Tags` column (AWS writes a map) as the JSON object FOCUS
  specifies;
- NULL as an empty cell.

A Parquet file has no lines: a row is named by its 1-based position, and the
message says so (`row 3: ...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import FeedProblem, FeedRejected
from .rows import Row

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def read_parquet_header(path: Path) -> list[str] | None:
    """The Parquet file's column names, or None if it is not a Parquet file DuckDB can read."""
    try:
        return [name for name, _ in _schema(path)]
    except Exception:  # duckdb raises its own error classes for a file that is not Parquet
        return None


def read_parquet_rows(path: Path, required: tuple[str, ...]) -> list[Row]:
    """Every row of the Parquet file as text cells (Row.line = its 1-based position).

    A missing required column rejects the file (FeedRejected, no row), as for CSV.
    """
    filename = str(path)
    try:
        schema = _schema(path)
    except Exception as error:  # the file is not Parquet, or unreadable: say which, never a traceback
        raise FeedRejected([FeedProblem(filename, None, f"not a readable Parquet file: {error}")]) from None
    names = [name for name, _ in schema]
    missing = [name for name in required if name not in names]
    if missing:
        raise FeedRejected([FeedProblem(filename, None, f"missing column(s) {', '.join(missing)}")])
    import duckdb

    selects = ", ".join(_as_text(name, kind) for name, kind in schema)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        result: list[tuple[Any, ...]] = connection.execute(
            f"SELECT {selects} FROM read_parquet(?)", [str(path)]
        ).fetchall()
    return [
        Row(
            index,
            {name: "" if value is None else str(value) for name, value in zip(names, values, strict=True)},
        )
        for index, values in enumerate(result, start=1)
    ]


def _schema(path: Path) -> list[tuple[str, str]]:
    import duckdb

    with duckdb.connect() as connection:
        described = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    return [(str(row[0]), str(row[1])) for row in described]


def _as_text(name: str, kind: str) -> str:
    column = '"' + name.replace('"', '""') + '"'
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"strftime({column} AT TIME ZONE 'UTC', '{UTC_FORMAT}')"
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f"strftime(CAST({column} AS TIMESTAMP), '{UTC_FORMAT}')"
    if kind.startswith(("MAP", "STRUCT")):
        return f"CAST(to_json({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"
