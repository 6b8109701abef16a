"""Usage metering: a request log (Parquet or CSV, files or globs) to monthly token drivers.

The log has one row per request (or per batch of requests): `timestamp`,
`model`, `tier`, `input_tokens`, `cached_input_tokens`, `output_tokens`,
`requests` (other columns, such as `customer` or `plan`, are ignored). The
importer sums it per month, tier and model and writes one transaction per
month, tier and model, in the books' driver convention (docs/conventions.md):

```beancount
2026-11-30 * "Metering" "Tokens served, API Orion, November 2026"
  import-id: "usage/2026-11/API/Orion"
  Equity:Stats:Tokens:API:Orion    1.234567 MTOK
    tokens: "input + output"
    input-tokens: 1000000
    cached-input-tokens: 200000
    output-tokens: 234567
    requests: 310
    rows: 310
  Equity:Stats:Offset             -1.234567 MTOK
```

A MTOK is exactly the weighted token count divided by 10^6 (Decimal, never a
float), and the posting says what it counts (`tokens:`, from `[usage.weights]`).

The aggregation is one SQL text (usage_sql.py) run by DuckDB by default or by
Spark (`engine = "spark"`), with byte-identical entries. A file with any bad
row (an unknown model or tier, an empty or unparsable field, a count that is
negative or not a whole number) is refused whole: every bad row counts, the
first ones are listed with their file and row, nothing is extracted.

    python -m ailab_books.importers.usage --config imports.toml 'lake/usage/2026-11/*.parquet'

runs the same over globs (a data lake's files), printing the entries.
"""

from __future__ import annotations

import argparse
import csv
import glob
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

import duckdb
from beancount.core import data
from beancount.core.amount import Amount
from beancount.parser import printer

from .base import FeedImporter, entry_meta, last_day, source_meta
from .config import ConfigError, ImportConfig, load_config
from .errors import SHOWN_PROBLEMS, FeedProblem, FeedRejected
from .keys import import_id
from .usage_engines import Engine, EngineError, SourceFile, literal, make_engine
from .usage_settings import TOKEN_KINDS, UsageSettings, usage_settings
from .usage_sql import (
    AGGREGATE,
    COUNT_COLUMNS,
    NAIVE,
    NAIVE_NANOSECONDS,
    REQUIRED_COLUMNS,
    TEXT,
    TIMESTAMP,
    ZONED,
    problems_query,
    rows_view,
)

FEED = "usage"
UNIT = "MTOK"
PARQUET_MAGIC = b"PAR1"
# How many of the request log's columns identify a file as one (see UsageImporter.identify).
IDENTIFYING_COLUMNS = 4
# Column types read as they are; any other count column is text and must read back as an integer.
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"})
TEXT_TYPES = frozenset({"VARCHAR"})
# Integers wider than BIGINT (a uint64 column is common in Parquet): read as text, so a value past
# BIGINT is a bad row, never wrapped or rounded.
WIDE_INTEGER_TYPES = frozenset({"UBIGINT", "HUGEINT", "UHUGEINT"})
# Timestamps without a zone: read as UTC, as they are.
NAIVE_TIME_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"})
TIME_TYPES = frozenset(
    {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"}
)


def file_format(path: str) -> str:
    """`parquet` when the file starts with Parquet's magic bytes, else `csv` (its content, not its name)."""
    with open(path, "rb") as file:
        return "parquet" if file.read(4) == PARQUET_MAGIC else "csv"


def expand(sources: Sequence[str]) -> tuple[list[str], list[FeedProblem]]:
    """Files and globs to files, in the order given (each glob sorted); an empty glob is a problem."""
    paths: list[str] = []
    problems: list[FeedProblem] = []
    for source in sources:
        if glob.has_magic(source):
            matched = sorted(glob.glob(source))
            if not matched:
                problems.append(FeedProblem(source, None, "no file matches this pattern"))
            paths.extend(matched)
        else:
            paths.append(source)
    return list(dict.fromkeys(paths)), problems


def schema(path: str, kind: str) -> dict[str, str]:
    """The file's columns and their DuckDB types (a CSV file's header, every column text).

    Names are lower-cased (`Input_Tokens` is `input_tokens`): both engines resolve a column's name
    without regard to case, so an export with capitalised names reads the same.
    """
    if kind == "csv":
        return dict.fromkeys((name.strip().lower() for name in csv_header(path) or []), "VARCHAR")
    with duckdb.connect(":memory:") as connection:
        described = connection.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(path)})").fetchall()
    return {str(row[0]).lower(): str(row[1]) for row in described}


def csv_header(path: str) -> list[str] | None:
    """The first line of a file, split as CSV; None when it is not UTF-8 text.

    A byte-order mark is not part of the first column's name.
    """
    with open(path, "rb") as file:
        first = file.readline(1 << 16)
    try:
        return next(csv.reader([first.decode("utf-8-sig")]), None)
    except (UnicodeDecodeError, csv.Error):
        return None


def decoded_lines(path: str, problems: list[FeedProblem]) -> Iterator[str]:
    """The file's lines as text, each decoded alone, so a byte that is not UTF-8 is named at its line."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                bad = raw[error.start : error.end]
                problems.append(FeedProblem(path, number, f"not UTF-8 text (the byte {bad!r})"))
                yield raw.decode("utf-8", errors="replace")


def csv_records(path: str, width: int) -> tuple[list[FeedProblem], tuple[int, ...]]:
    """Every line of a CSV file that is not a record of the header's width, and where records start.

    Read with Python's csv module, which knows where a quoted line break is, so the
    lines are the editor's. The start lines are returned only when a record spans
    lines (otherwise record n is line n + 1 and nothing needs translating).
    """
    problems: list[FeedProblem] = []
    starts: list[int] = []
    spans = False
    # Empty lines are held back until a record follows them: at the end of the file (an editor's or an
    # exporter's last line break) they are no records, and the engines skip them.
    empty: list[FeedProblem] = []
    reader = csv.reader(decoded_lines(path, problems), strict=True)
    next(reader, None)
    line = reader.line_num + 1
    try:
        for record in reader:
            if not record:
                empty.append(FeedProblem(path, line, f"an empty line, but the header has {width} columns"))
                line = reader.line_num + 1
                continue
            problems += empty
            empty = []
            starts.append(line)
            spans = spans or reader.line_num != line
            if len(record) != width:
                found = f"{len(record)} field{'s' * (len(record) != 1)}"
                problems.append(FeedProblem(path, line, f"{found}, but the header has {width} columns"))
            line = reader.line_num + 1
    except csv.Error as error:
        problems.append(FeedProblem(path, reader.line_num, f"malformed CSV: {error}"))
    return problems, tuple(starts) if spans else ()


def check_schema(path: str, kind: str, columns: Mapping[str, str]) -> list[FeedProblem]:
    """A problem per missing column or per column of a type that cannot hold what it must."""
    problems = [
        FeedProblem(path, None, f"missing column {column!r} (the columns are: {', '.join(columns)})")
        for column in REQUIRED_COLUMNS
        if column not in columns
    ]
    for column in COUNT_COLUMNS:
        kind_of = columns.get(column)
        if kind_of is not None and not (
            kind_of in INTEGER_TYPES
            or kind_of in WIDE_INTEGER_TYPES
            or kind_of in TEXT_TYPES
            or kind_of.startswith("DECIMAL")
        ):
            problems.append(
                FeedProblem(
                    path, None, f"column {column!r} is {kind_of}: token and request counts are integers"
                )
            )
    stamp = columns.get(TIMESTAMP)
    if stamp is not None and stamp not in TIME_TYPES and stamp not in TEXT_TYPES:
        problems.append(
            FeedProblem(path, None, f"column 'timestamp' is {stamp}: a timestamp or ISO 8601 text is needed")
        )
    return problems


@dataclass
class Group:
    """The sums of one month, tier and model, and the first row behind them."""

    first: tuple[int, int, str]  # (file's position, row, file) of the first row
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    rows: int = 0


def aggregate(
    sources: Sequence[str], settings: UsageSettings, engine_name: str | None = None
) -> list[data.Directive]:
    """The log's token drivers, one transaction per month, tier and model. Raises FeedRejected."""
    paths, problems = expand(sources)
    files: list[SourceFile] = []
    integer_columns = set(COUNT_COLUMNS)
    time_types: set[str] = set()
    for path in paths:
        try:
            kind = file_format(path)
            columns = schema(path, kind)
        except OSError as error:
            problems.append(FeedProblem(path, None, f"cannot read the file: {error.strerror}"))
            continue
        except duckdb.Error as error:
            problems.append(FeedProblem(path, None, f"cannot read the file: {str(error).splitlines()[0]}"))
            continue
        if not columns:
            problems.append(
                FeedProblem(path, None, "neither a Parquet file nor a UTF-8 CSV file with a header")
            )
            continue
        problems += check_schema(path, kind, columns)
        integer_columns &= {column for column in COUNT_COLUMNS if columns.get(column) in INTEGER_TYPES}
        time_types.add(columns.get(TIMESTAMP, ""))
        if kind == "csv":
            malformed, lines = csv_records(path, len(columns))
            problems += malformed
            files.append(SourceFile(path, kind, tuple(columns), lines))
        else:
            files.append(SourceFile(path, kind))
    if problems:
        raise FeedRejected(problems)
    if not files:
        raise FeedRejected([FeedProblem(", ".join(sources) or "(no files)", None, "no usage files given")])
    engine = make_engine(engine_name or settings.engine, settings.memory_limit)
    try:
        # Columns typed differently by different files are read as text in all of them.
        text_columns = (set(COUNT_COLUMNS) - integer_columns) | (
            {TIMESTAMP} if len(time_types) > 1 else set()
        )
        if len(time_types) > 1 or not time_types <= TIME_TYPES:
            timestamps = TEXT  # text in some file, or typed differently by different files: read as text
        elif time_types == {"TIMESTAMP_NS"}:
            timestamps = NAIVE_NANOSECONDS
        elif time_types <= NAIVE_TIME_TYPES:
            timestamps = NAIVE
        else:
            timestamps = ZONED
        return run(engine, files, frozenset(integer_columns), frozenset(text_columns), timestamps, settings)
    except EngineError as error:
        raise FeedRejected([FeedProblem(error.filename or files[0].path, error.row, error.message)]) from None
    finally:
        engine.close()


def run(
    engine: Engine,
    files: Sequence[SourceFile],
    integer_columns: frozenset[str],
    text_columns: frozenset[str],
    timestamps: str,
    settings: UsageSettings,
) -> list[data.Directive]:
    """The shared SQL on one engine: the rows view, one aggregating pass, the bad rows if any."""
    engine.load(files, text_columns)
    engine.execute(rows_view(engine.dialect, integer_columns, timestamps, settings.models, settings.tiers))
    position = {file.path: index for index, file in enumerate(files)}
    groups: dict[tuple[int, str, str], Group] = {}
    bad_rows = 0
    for source_file, month, tier, model, problem, row_count, first_row, *sums in engine.rows(AGGREGATE):
        if problem is not None:
            bad_rows += int(row_count)
            continue
        key = (int(month), settings.tiers[tier], settings.models[model])
        first = (position[source_file], files[position[source_file]].line(int(first_row)), source_file)
        group = groups.setdefault(key, Group(first))
        group.first = min(group.first, first)
        group.rows += int(row_count)
        for column, total in zip(COUNT_COLUMNS, sums, strict=True):
            group.counts[column] += int(total)
    if bad_rows:
        raise FeedRejected(row_problems(engine, files, bad_rows))
    if not groups:
        raise FeedRejected([FeedProblem(file.path, None, "the export has no rows") for file in files])
    return [
        transaction(key, group, settings)
        for key, group in sorted(groups.items())
        if settings.period in (None, month_text(key[0]))
    ]


def month_text(month: int) -> str:
    """`202611` as `2026-11`."""
    year, number = divmod(month, 100)
    return f"{year:04d}-{number:02d}"


def row_problems(engine: Engine, files: Sequence[SourceFile], bad_rows: int) -> list[FeedProblem]:
    """The first bad rows, located, and how many more there are."""
    by_path = {file.path: file for file in files}
    problems: list[FeedProblem] = []
    for source_file, source_row, problem, value in engine.rows(
        problems_query(engine.dialect, SHOWN_PROBLEMS)
    ):
        file = by_path[source_file]
        row = file.line(int(source_row))
        prefix = f"row {row}: " if file.format == "parquet" else ""
        problems.append(FeedProblem(source_file, row, prefix + describe(problem, value)))
    hidden = bad_rows - len(problems)
    if hidden > 0:
        where = files[0].path if len(files) == 1 else f"{len(files)} files"
        problems.append(
            FeedProblem(where, None, f"and {hidden} more bad rows ({bad_rows} in all); nothing imported")
        )
    return problems


def describe(problem: str, value: Any) -> str:
    """A problem code of usage_sql (`kind:column`) as a sentence."""
    kind, column = problem.split(":", 1)
    if kind == "empty":
        return f"{column} is empty"
    if kind == "unparsable":
        return f"timestamp {value!r} is not a date and time (ISO 8601, e.g. 2026-11-03T14:05:00Z)"
    if kind == "unknown":
        return f"unknown {column} {value!r}: map it to the books' {column} in [usage.{column}s]"
    if kind == "integer":
        return f"{column} {value!r} is not a whole number"
    return f"{column} is negative ({value})"


def transaction(key: tuple[int, str, str], group: Group, settings: UsageSettings) -> data.Transaction:
    """The month's driver transaction for one tier and model."""
    month, tier, model = key
    year, number = divmod(month, 100)
    date = last_day(f"{year:04d}-{number:02d}")
    with localcontext() as context:
        context.prec = 60  # exact: a weight's digits plus a count's, far below this
        weighted = sum(
            (settings.weights[kind] * group.counts[column] for kind, column in TOKEN_KINDS), Decimal(0)
        )
        # Shifting the exponent divides by 10^6 exactly, keeping every digit (1 token = 0.000001 MTOK).
        mtok = weighted.scaleb(-6)
    period = f"{year:04d}-{number:02d}"
    _, row, filename = group.first
    posting_meta: dict[str, Any] = {
        **source_meta(filename, row),
        "tokens": settings.formula(),
        "input-tokens": Decimal(group.counts["input_tokens"]),
        "cached-input-tokens": Decimal(group.counts["cached_input_tokens"]),
        "output-tokens": Decimal(group.counts["output_tokens"]),
        "requests": Decimal(group.counts["requests"]),
        "rows": Decimal(group.rows),
    }
    return data.Transaction(
        meta=entry_meta(filename, 0, import_id(FEED, period, tier, model)),
        date=date,
        flag="*",
        payee="Metering",
        narration=f"Tokens served, {tier} {model}, {date:%B %Y}",
        tags=data.EMPTY_SET,
        links=data.EMPTY_SET,
        postings=[
            data.Posting(
                f"{settings.root}:{tier}:{model}", Amount(mtok, UNIT), None, None, None, posting_meta
            ),
            data.Posting(settings.offset, Amount(-mtok, UNIT), None, None, None, None),
        ],
    )


class UsageImporter(FeedImporter):
    """lab-import's `[usage]` feed: one request-log file (Parquet or CSV) at a time."""

    feed = FEED

    def __init__(self, config: ImportConfig) -> None:
        super().__init__(config)
        self.settings = usage_settings(config)

    def identify(self, filepath: str) -> bool:
        """A Parquet file whose schema, or a CSV file whose header, is a request log's.

        Four of the seven columns, a token count among them, make a request log: so a
        log that lost a column is identified and refused (`missing column ...`)
        rather than skipped as some other file.
        """
        try:
            columns: Sequence[str] = list(schema(filepath, file_format(filepath)))
        except (OSError, duckdb.Error):
            return False
        present = set(columns) & set(REQUIRED_COLUMNS)
        return len(present) >= IDENTIFYING_COLUMNS and bool(present & {"input_tokens", "output_tokens"})

    def account(self, filepath: str) -> data.Account:
        return self.settings.root

    def exclusive_accounts(self, entry: data.Transaction) -> set[str]:
        """The tier and model's token account: a month of it typed by hand would count twice."""
        return {posting.account for posting in entry.postings if posting.account != self.settings.offset}

    def extract_entries(self, filepath: str) -> list[data.Directive]:
        return aggregate([filepath], self.settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Aggregate files or globs with the configured (or given) engine and print the entries."""
    parser = argparse.ArgumentParser(prog="python -m ailab_books.importers.usage", description=main.__doc__)
    parser.add_argument("--config", required=True, help="lab-import's TOML file (its [usage] table)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), help="override [usage] engine")
    parser.add_argument("sources", nargs="+", help="Parquet or CSV files, or globs (quote them)")
    arguments = parser.parse_args(argv)
    try:
        settings = usage_settings(load_config(arguments.config))
        entries = aggregate(arguments.sources, settings, arguments.engine)
    except (ConfigError, FeedRejected) as error:
        print(error, file=sys.stderr)
        return 1
    printer.print_entries(entries, file=sys.stdout)  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    sys.exit(main())
