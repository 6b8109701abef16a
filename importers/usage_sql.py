"""The one definition of the usage aggregation: SQL text that DuckDB and Spark both run.

Each engine (usage_engines.py) only reads the files into a view `usage_source`:

    source_file, source_row,            -- the file as given, the row as a person finds it
    raw_timestamp, raw_model, raw_tier, -- the log's columns, as the file types them
    raw_input_tokens, raw_cached_input_tokens, raw_output_tokens, raw_requests

Everything else is here, written in the SQL the two engines share (TRY_CAST,
CASE, TRIM, NULLIF, year/month, SUM, COUNT, MIN): the row checks, the month,
and the grouping. The only differences between the engines are two type names
(`Dialect`), and how a count column is read depends only on the file's column
type (an integer column is taken as it is; a text column must hold a plain
integer, which is checked by reading it back), never on the engine.

Labels (models, tiers) are compared with the configured names; the settings
allow no quote or backslash in a label, so none can change the SQL's meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SOURCE_VIEW = "usage_source"
ROWS_VIEW = "usage_rows"

# The log's columns, in the order problems are looked for in a row.
TIMESTAMP = "timestamp"
LABEL_COLUMNS = ("model", "tier")
COUNT_COLUMNS = ("input_tokens", "cached_input_tokens", "output_tokens", "requests")
REQUIRED_COLUMNS = (TIMESTAMP, *LABEL_COLUMNS, *COUNT_COLUMNS)


@dataclass(frozen=True)
class Dialect:
    """The type names that differ between the engines."""

    string: str
    instant: str  # a point in time (read in the session's time zone, UTC)


DUCKDB = Dialect(string="VARCHAR", instant="TIMESTAMPTZ")
SPARK = Dialect(string="STRING", instant="TIMESTAMP")


def count_expression(column: str, integer_typed: bool, dialect: Dialect) -> str:
    """The column as a BIGINT, or NULL when it does not hold a plain integer."""
    raw = f"raw_{column}"
    if integer_typed:
        return f"CAST({raw} AS BIGINT)"
    text = f"TRIM(CAST({raw} AS {dialect.string}))"
    # Read back: '1.5', '1e3', '12abc' or ' ' do not survive the round trip, so they are never rounded.
    return (
        f"CASE WHEN CAST(TRY_CAST({text} AS BIGINT) AS {dialect.string}) = {text} "
        f"THEN TRY_CAST({text} AS BIGINT) END"
    )


# How the timestamp column is typed, in every file of a run: as a timestamp without
# zone (read as UTC), as a point in time (with zone, or a date), or as text.
NAIVE = "naive"
# Without zone, in nanoseconds (pandas and pyarrow write these): truncated to microseconds, the
# engines' precision, never rounded (DuckDB's cast rounds 23:59:59.9999999 on the 30th into the 1st).
NAIVE_NANOSECONDS = "naive-ns"
ZONED = "zoned"
TEXT = "text"


def timestamp_expression(kind: str, dialect: Dialect) -> str:
    """The timestamp as a point in time, or NULL when it is not one.

    A column typed as a timestamp without zone is read as UTC as it is (DuckDB's
    zone-aware arithmetic costs three times the whole aggregation); text and
    zone-aware columns are cast to the zone-aware type, so an offset counts.
    """
    if kind == NAIVE_NANOSECONDS and dialect is DUCKDB:
        return "make_timestamp(epoch_ns(raw_timestamp) // 1000)"
    if kind in (NAIVE, NAIVE_NANOSECONDS):  # Spark: the engine made nanoseconds microseconds already
        return "CAST(raw_timestamp AS TIMESTAMP)"
    if kind == ZONED:
        return f"TRY_CAST(raw_timestamp AS {dialect.instant})"
    # At least a full date: Spark would read '2026-11' as the 1st of November, DuckDB not at all.
    text = f"TRIM(CAST(raw_timestamp AS {dialect.string}))"
    return f"CASE WHEN LENGTH({text}) >= 10 THEN TRY_CAST({text} AS {dialect.instant}) END"


def in_list(labels: Iterable[str]) -> str:
    return ", ".join(f"'{label}'" for label in sorted(labels))


def rows_view(
    dialect: Dialect,
    integer_columns: frozenset[str],
    timestamps: str,
    models: Iterable[str],
    tiers: Iterable[str],
) -> str:
    """The view `usage_rows`: one row per log row, typed, with its first problem (NULL when fine)."""
    counts = ",\n       ".join(
        f"{count_expression(column, column in integer_columns, dialect)} AS {column}"
        for column in COUNT_COLUMNS
    )
    raw_counts = ", ".join(f"raw_{column}" for column in COUNT_COLUMNS)
    checks = [
        "WHEN raw_timestamp IS NULL THEN 'empty:timestamp'",
        "WHEN ts IS NULL THEN 'unparsable:timestamp'",
        "WHEN model IS NULL THEN 'empty:model'",
        f"WHEN model NOT IN ({in_list(models)}) THEN 'unknown:model'",
        "WHEN tier IS NULL THEN 'empty:tier'",
        f"WHEN tier NOT IN ({in_list(tiers)}) THEN 'unknown:tier'",
    ]
    for column in COUNT_COLUMNS:
        checks += [
            f"WHEN raw_{column} IS NULL THEN 'empty:{column}'",
            f"WHEN {column} IS NULL THEN 'integer:{column}'",
            f"WHEN {column} < 0 THEN 'negative:{column}'",
        ]
    problem = "\n         ".join(checks)
    return f"""
CREATE OR REPLACE TEMPORARY VIEW {ROWS_VIEW} AS
SELECT source_file, source_row, raw_timestamp, raw_model, raw_tier, {raw_counts},
       model, tier, year(ts) * 100 + month(ts) AS month,
       {", ".join(COUNT_COLUMNS)},
       CASE
         {problem}
       END AS problem
FROM (
  SELECT source_file, source_row, raw_timestamp, raw_model, raw_tier, {raw_counts},
       {timestamp_expression(timestamps, dialect)} AS ts,
       NULLIF(TRIM(CAST(raw_model AS {dialect.string})), '') AS model,
       NULLIF(TRIM(CAST(raw_tier AS {dialect.string})), '') AS tier,
       {counts}
  FROM {SOURCE_VIEW}
) AS typed
"""


# One pass over the log: good rows grouped by file, month, tier and model; bad rows by their problem.
AGGREGATE = f"""
SELECT source_file, month, tier, model, problem,
       COUNT(*) AS row_count, MIN(source_row) AS first_row,
       {", ".join(f"SUM({column}) AS {column}" for column in COUNT_COLUMNS)}
FROM {ROWS_VIEW}
GROUP BY source_file, month, tier, model, problem
"""


def problems_query(dialect: Dialect, limit: int) -> str:
    """The first `limit` bad rows, in file and row order, with the offending value as text."""
    values = "\n       ".join(
        f"WHEN problem LIKE '%:{column}' THEN CAST(raw_{column} AS {dialect.string})"
        for column in (TIMESTAMP, *LABEL_COLUMNS, *COUNT_COLUMNS)
    )
    return f"""
SELECT source_file, source_row, problem,
       CASE
       {values}
       END AS value
FROM {ROWS_VIEW}
WHERE problem IS NOT NULL
ORDER BY source_file, source_row
LIMIT {int(limit)}
"""
