"""The two engines that run usage_sql's text: DuckDB (embedded, the default) and Spark.

An engine does three things: read the files into the view `usage_source`
(usage_sql's contract: the file as given, the row as a person finds it, the
log's columns renamed `raw_*`), run a statement, and return a query's rows as
tuples. Everything between is the shared SQL.

- DuckDB reads Parquet with `read_parquet(..., filename, file_row_number)` and
  streams it: the aggregation holds one small group per file, month, tier and
  model, so memory stays bounded (`memory_limit`, spilling beyond it). A CSV
  file is loaded into a temporary table first, in file order, because DuckDB's
  CSV reader gives no row number: the table's `rowid` is then the row.
- Spark (local mode here; a cluster's session when one is running) reads each
  file with its name as a literal column; Parquet rows are numbered by Spark's
  `_metadata.row_index`, CSV rows by reading each file whole (`multiLine`, so a
  file is one partition in order) and numbering in that order.

Both sessions run in UTC, so a timestamp's month is the same on any machine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Protocol

import duckdb

from .usage_sql import COUNT_COLUMNS, DUCKDB, LABEL_COLUMNS, SOURCE_VIEW, SPARK, TIMESTAMP, Dialect

COLUMNS = (TIMESTAMP, *LABEL_COLUMNS, *COUNT_COLUMNS)


@dataclass(frozen=True)
class SourceFile:
    """One file of the log: its path as the user gave it, and its format (`parquet` or `csv`)."""

    path: str
    format: str
    # A CSV file's header, as Python's csv module reads it (DuckDB is told it rather than guessing).
    header: tuple[str, ...] = ()
    # The line each CSV record starts on, when a quoted field holds a line break
    # (otherwise record n is on line n + 1).
    lines: tuple[int, ...] = ()

    def line(self, row: int) -> int:
        """The line a person finds an engine's `source_row` on (the same number but for such files)."""
        return self.lines[row - 2] if self.lines and 2 <= row < len(self.lines) + 2 else row


class EngineError(Exception):
    """An engine could not read a file (a malformed CSV line, a corrupt Parquet file)."""

    def __init__(self, filename: str, row: int | None, message: str) -> None:
        self.filename = filename
        self.row = row
        self.message = message
        super().__init__(message)


class Engine(Protocol):
    dialect: Dialect

    def load(self, files: Sequence[SourceFile], text_columns: frozenset[str]) -> None:
        """Create the view `usage_source`; `text_columns` are read as text in every file.

        (When one file types a column as numbers and another as text, a union
        would cast the text to numbers, and a bad value would stop the query
        instead of being reported at its row.)
        """

    def execute(self, sql: str) -> None: ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


def literal(text: str) -> str:
    """A DuckDB string literal (a path may hold a quote)."""
    return "'" + text.replace("'", "''") + "'"


def raw_columns(quote: str, text_columns: frozenset[str] = frozenset(), text: str = "VARCHAR") -> str:
    return ", ".join(
        f"CAST({quote}{column}{quote} AS {text}) AS raw_{column}"
        if column in text_columns
        else f"{quote}{column}{quote} AS raw_{column}"
        for column in COLUMNS
    )


def csv_options(header: Sequence[str]) -> str:
    """read_csv's options for a comma-separated file with this header: nothing guessed, every field text.

    DuckDB's sniffer, left to itself, may take a file with one malformed line for a
    one-column file; told the dialect and the columns, it reports the line instead.
    """
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header)
    return (
        "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
        f"strict_mode = true, null_padding = false, columns = {{{columns}}}"
    )


# DuckDB's CSV errors say which line: "CSV Error on Line: 7".
CSV_LINE = re.compile(r"on Line:\s*(\d+)", re.IGNORECASE)


class DuckDBEngine:
    """The embedded engine: out of core, memory bounded by `memory_limit`."""

    dialect = DUCKDB

    def __init__(self, memory_limit: str = "1GB") -> None:
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.execute(f"SET memory_limit = {literal(memory_limit)}")
        # DuckDB draws its bar on stdout, which is where `lab-import extract` writes the entries.
        self.connection.execute("SET enable_progress_bar = false")

    def load(self, files: Sequence[SourceFile], text_columns: frozenset[str]) -> None:
        parts: list[str] = []
        parquet = [file.path for file in files if file.format == "parquet"]
        if parquet:
            # Order within the log does not matter to a sum; not keeping it saves memory.
            self.connection.execute("SET preserve_insertion_order = false")
            paths = ", ".join(literal(path) for path in parquet)
            parts.append(
                "SELECT filename AS source_file, file_row_number + 1 AS source_row, "
                f"{raw_columns(chr(34), text_columns)} "
                f"FROM read_parquet([{paths}], filename = true, file_row_number = true, union_by_name = true)"
            )
        for number, file in enumerate(file for file in files if file.format == "csv"):
            table = f"usage_csv_{number}"
            self.connection.execute("SET preserve_insertion_order = true")
            try:
                self.connection.execute(
                    f"CREATE TEMPORARY TABLE {table} AS SELECT {raw_columns(chr(34))} "
                    f"FROM read_csv({literal(file.path)}, {csv_options(file.header)})"
                )
            except duckdb.Error as error:
                line = CSV_LINE.search(str(error))
                raise EngineError(
                    file.path,
                    int(line.group(1)) if line else None,
                    "malformed CSV: " + first_line(str(error)),
                ) from None
            # The header is line 1, so the table's first row (rowid 0) is line 2.
            parts.append(
                f"SELECT {literal(file.path)} AS source_file, rowid + 2 AS source_row, "
                f"{', '.join(f'raw_{column}' for column in COLUMNS)} FROM {table}"
            )
        self.connection.execute(
            f"CREATE OR REPLACE TEMPORARY VIEW {SOURCE_VIEW} AS " + " UNION ALL ".join(parts)
        )

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql).fetchall()
        except duckdb.Error as error:
            raise EngineError("", None, first_line(str(error))) from None

    def close(self) -> None:
        self.connection.close()


def first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


class SparkEngine:
    """The same SQL on Apache Spark: the running session, or a local one (`local[*]`)."""

    dialect = SPARK

    def __init__(self) -> None:
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master("local[*]")
            .appName("lab-import usage")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        # Settings of a session that was already running (a notebook's, a test's) are set here too.
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark.conf.set("spark.sql.ansi.enabled", "true")
        # Spark cannot read a Parquet TIMESTAMP(NANOS) (pandas and pyarrow write them by default) and
        # refuses the file; read as a count of nanoseconds, it is made a timestamp in _load.
        self.spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")

    def _load(self, files: Sequence[SourceFile], text_columns: frozenset[str]) -> None:
        from pyspark.sql import DataFrame, Window
        from pyspark.sql import functions as F

        frames: list[DataFrame] = []
        for file in files:
            raws = [
                (
                    F.col(f"`{column}`").cast("string") if column in text_columns else F.col(f"`{column}`")
                ).alias(f"raw_{column}")
                for column in COLUMNS
            ]
            if file.format == "parquet":
                frame = self.spark.read.parquet(file.path)
                row = F.col("_metadata.row_index") + 1
                frame = _nanoseconds_to_timestamp(frame)
            else:
                frame = (
                    self.spark.read.option("header", "true")
                    .option("inferSchema", "false")
                    .option("mode", "FAILFAST")
                    .option("multiLine", "true")
                    .option("escape", '"')  # RFC 4180's doubled quote, as DuckDB and Python read it
                    .csv(file.path)
                )
                # The header's names as DuckDB is given them (stripped, lower-cased: `schema`), by position.
                frame = frame.toDF(*file.header)
                order = Window.orderBy(F.monotonically_increasing_id())
                row = F.row_number().over(order) + 1
            frames.append(frame.select(F.lit(file.path).alias("source_file"), row.alias("source_row"), *raws))
        union = reduce(lambda left, right: left.unionByName(right), frames)
        union.createOrReplaceTempView(SOURCE_VIEW)

    def load(self, files: Sequence[SourceFile], text_columns: frozenset[str]) -> None:
        from pyspark.errors import PySparkException

        try:
            self._load(files, text_columns)
        except PySparkException as error:
            raise EngineError("", None, first_line(str(error))) from None

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        from pyspark.errors import PySparkException

        try:
            return [tuple(row) for row in self.spark.sql(sql).collect()]
        except PySparkException as error:
            raise EngineError("", None, first_line(str(error))) from None

    def close(self) -> None:
        """Leave the session running: starting a JVM costs seconds, and the process ends it."""


def _nanoseconds_to_timestamp(frame: Any) -> Any:
    """A Parquet timestamp read as nanoseconds (a `long`, by `nanosAsLong`) as a timestamp again.

    Integer division (`div`) to microseconds, Spark's precision: exact, where a division in floating
    point would round an instant near midnight into the next month. A count column is never touched:
    only the timestamp column, which a schema check has already required to be a timestamp or text.
    """
    from pyspark.sql import functions as F

    for name, kind in frame.dtypes:
        if name.lower() == TIMESTAMP and kind == "bigint":
            return frame.withColumn(name, F.expr(f"timestamp_micros(`{name}` div 1000)"))
    return frame


def make_engine(name: str, memory_limit: str) -> Engine:
    if name == "spark":
        return SparkEngine()
    return DuckDBEngine(memory_limit)
