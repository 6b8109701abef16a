"""Load a ledger, find its saved queries and run them into pandas DataFrames.

Saved queries are beancount ``query`` directives (``2025-01-01 query "name"
"SELECT ..."``) with an optional ``description:`` metadata line. The ledger's
own directives come first; the queries shipped in this package
(``queries/*.beancount``) fill in any name the ledger does not define, so the
report works on any ledger that follows ``docs/conventions.md`` even if it does
not include them.

Values keep their beanquery types: money and quantities stay
:class:`decimal.Decimal` (columns of dtype ``object``), a NULL cell (for example
a per-token figure in a month without tokens) is ``None``.

Example::

    ledger = load_ledger("ledger/main.beancount", require_pipeline=True)
    frame = run_saved(ledger, "gross-margin-per-mtok", columns=["year", "month", "million_tokens"])

``require_pipeline`` refuses books loaded without the plugins the reports need,
or with them in the wrong order (:mod:`ailab_books.plugins.pipeline`);
``columns`` refuses a saved query, perhaps redefined by the ledger, that lacks
a column the caller reads, naming the query's file and line.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import beanquery
import pandas as pd
from beancount import loader
from beancount.core import data
from beancount.parser import parser

from ailab_books.plugins.pipeline import PipelineError, PipelineProblem, books_problem

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class LedgerError:
    """One problem found while loading a ledger, as ``file:line: message``."""

    filename: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno}: {self.message}"


class LedgerErrors(Exception):
    """The ledger did not load cleanly; ``errors`` lists every problem."""

    def __init__(self, errors: list[LedgerError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


class PipelineRefused(Exception):
    """The books were loaded without the plugins the reports need, or in the wrong order."""

    def __init__(self, filename: str, problem: PipelineProblem, others: list[LedgerError]) -> None:
        super().__init__(str(problem))
        self.filename = filename
        self.problem = problem
        #: The ledger's other errors (the plugin's own report of the problem left out).
        self.others = others


class UnknownQuery(KeyError):
    """No saved query of that name; ``known`` are the names there are."""

    def __init__(self, name: str, known: Collection[str] = ()) -> None:
        super().__init__(name)
        self.name = name
        self.close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1)

    def __str__(self) -> str:
        hint = f'; did you mean "{self.close[0]}"?' if self.close else ""
        return f'no saved query named "{self.name}"{hint} (see --list)'


class QueryFailed(Exception):
    """beanquery could not compile or run a query."""


@dataclass(frozen=True)
class SavedQuery:
    """A ``query`` directive: its name, BQL text, description and location."""

    name: str
    query_string: str
    description: str
    filename: str
    lineno: int
    date: datetime.date


@dataclass(frozen=True)
class Ledger:
    """A loaded ledger: entries, options and the saved queries it can run."""

    filename: str
    entries: list[data.Directive]
    options: Mapping[str, Any]
    queries: Mapping[str, SavedQuery]
    #: Figures computed from ``entries`` once per load and kept for the next
    #: report (the monthly summary of :mod:`ailab_books.queries.monthly`); the
    #: entries of a loaded ledger are never changed, so they stay valid.
    cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)


def _to_ledger_error(error: Any) -> LedgerError:
    source = getattr(error, "source", None) or {}
    filename = str(source.get("filename", "<unknown>"))
    lineno = source.get("lineno", 0)
    try:
        lineno = int(lineno)
    except (TypeError, ValueError):
        lineno = 0
    text = str(getattr(error, "message", error))
    head, traceback, rest = text.partition("Traceback (most recent call last):")
    if traceback:
        # A plugin that failed to import or raised: its last line says why.
        last = [line for line in rest.splitlines() if line.strip()][-1:]
        text = head + " ".join(last)
    return LedgerError(filename, lineno, " ".join(text.split()))


def saved_queries(entries: Iterable[data.Directive]) -> dict[str, SavedQuery]:
    """Return the ``query`` directives among ``entries`` by name (first one wins)."""
    found: dict[str, SavedQuery] = {}
    for entry in entries:
        if isinstance(entry, data.Query) and entry.name not in found:
            meta = entry.meta or {}
            found[entry.name] = SavedQuery(
                name=entry.name,
                query_string=entry.query_string,
                description=str(meta.get("description", "")),
                filename=str(meta.get("filename", "")),
                lineno=int(meta.get("lineno", 0) or 0),
                date=entry.date,
            )
    return found


def duplicate_queries(entries: Iterable[data.Directive]) -> list[LedgerError]:
    """A saved query name defined twice: which one runs depends on dates and
    line numbers (Fava and the report take the first in the ledger's order), so
    the second definition is an error, located there."""
    first: dict[str, SavedQuery] = {}
    errors: list[LedgerError] = []
    for entry in entries:
        if not isinstance(entry, data.Query):
            continue
        (query,) = saved_queries([entry]).values()
        if entry.name not in first:
            first[entry.name] = query
            continue
        seen = first[entry.name]
        errors.append(
            LedgerError(
                query.filename,
                query.lineno,
                f'saved query "{entry.name}" is defined twice (first at {seen.filename}:{seen.lineno}); '
                "rename or remove one",
            )
        )
    return errors


def package_queries() -> dict[str, SavedQuery]:
    """The saved queries shipped in this package's ``*.beancount`` files."""
    found: dict[str, SavedQuery] = {}
    for path in sorted(PACKAGE_DIR.glob("*.beancount")):
        entries, _errors, _options = parser.parse_file(str(path))
        for name, query in saved_queries(entries).items():
            found.setdefault(name, query)
    return found


def has_transactions(entries: Iterable[data.Directive]) -> bool:
    """True if any entry is a transaction (an empty ledger has nothing to report)."""
    return any(isinstance(entry, data.Transaction) for entry in entries)


def load_ledger(filename: str | Path, *, require_pipeline: bool = False) -> Ledger:
    """Load and validate ``filename``; raise :class:`LedgerErrors` if it has errors.

    With ``require_pipeline``, books that have transactions and were loaded
    without the plugins (or with them in the wrong order) raise
    :class:`PipelineRefused` instead, which carries the other errors (the
    plugin's own report of the same problem left out).
    """
    path = Path(filename)
    if path.is_dir():
        raise LedgerErrors([LedgerError(str(path), 0, "is a folder; give the ledger's main file")])
    if not path.is_file():
        raise LedgerErrors([LedgerError(str(path), 0, "ledger file not found")])
    entries, errors, options = loader.load_file(str(path))
    if require_pipeline and has_transactions(entries):
        problem = books_problem(entries, options, main_file=str(path))
        if problem is not None:
            others = [_to_ledger_error(error) for error in errors if not isinstance(error, PipelineError)]
            raise PipelineRefused(str(path), problem, others)
    problems = [_to_ledger_error(error) for error in errors] + duplicate_queries(entries)
    if problems:
        raise LedgerErrors(problems)
    queries = package_queries()
    queries.update(saved_queries(entries))
    return Ledger(str(path), entries, options, dict(sorted(queries.items())))


def _connect(ledger: Ledger) -> beanquery.Connection:
    return beanquery.connect("beancount:", entries=ledger.entries, errors=[], options=ledger.options)


@functools.lru_cache(maxsize=256)
def parse_bql(query_string: str) -> beanquery.parser.ast.Node:
    """Parse BQL text into beanquery's statement tree, once per text and process.

    beanquery's TatSu parser costs 15 to 45 ms per expression (0.4 to 2.9 s for
    a saved query), whatever the ledger size; the tree does not depend on the
    ledger and compiling it does not change it, so a report that runs the same
    query twice, or on two ledgers, parses it once. Parse errors are not cached.
    """
    return beanquery.parser.parse(query_string)


def run_bql(ledger: Ledger, query_string: str) -> pd.DataFrame:
    """Run BQL text against ``ledger`` and return the rows as a DataFrame.

    Decimal columns stay Decimal (dtype ``object``); NULL becomes ``None``.
    The parsed text is cached (:func:`parse_bql`).
    """
    connection = _connect(ledger)
    try:
        cursor = connection.execute(parse_bql(query_string))
    except (beanquery.Error, beanquery.CompilationError, beanquery.ParseError) as exc:
        raise QueryFailed(" ".join(str(exc).split())) from exc
    names = [column.name for column in cursor.description]
    ints = [column.name for column in cursor.description if column.datatype is int]
    return result_frame(cursor.fetchall(), names, ints)


def result_frame(rows: Sequence[Sequence[Any]], names: Sequence[str], ints: Collection[str]) -> pd.DataFrame:
    """Query rows as a DataFrame: the ``ints`` columns without NULL as int64, every other
    column of dtype object (Decimal stays Decimal, NULL stays None)."""
    columns: dict[str, pd.Series] = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        if name in ints and None not in values:
            columns[name] = pd.Series(values, dtype="int64")
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns, columns=list(names))


def run_saved(ledger: Ledger, name: str, *, columns: Collection[str] = ()) -> pd.DataFrame:
    """Run the saved query ``name``; raise :class:`UnknownQuery` if there is none,
    and :class:`QueryFailed` (at the query's file and line) if it fails or lacks
    any of ``columns``."""
    query = ledger.queries.get(name)
    if query is None:
        raise UnknownQuery(name, ledger.queries)
    try:
        frame = run_bql(ledger, query.query_string)
    except QueryFailed as exc:
        raise QueryFailed(f"{query.filename}:{query.lineno}: query {name}: {exc}") from exc
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise QueryFailed(
            f"{query.filename}:{query.lineno}: saved query {name} lacks the column(s) "
            f"{', '.join(missing)} that this report reads (it has: {', '.join(map(str, frame.columns))})"
        )
    return frame


def query_location(ledger: Ledger, name: str) -> str:
    """``file:line`` of the saved query ``name``, for messages."""
    query = ledger.queries.get(name)
    return f"{query.filename}:{query.lineno}" if query is not None else name


def books_files(ledger: Ledger) -> list[Path]:
    """Every file of the loaded books: the main file, the files it includes, and the
    saved queries shipped with this package (which fill in missing names)."""
    files = [Path(ledger.filename), *(Path(name) for name in ledger.options.get("include") or [])]
    files.extend(PACKAGE_DIR.glob("*.beancount"))
    return files


def is_books_file(ledger: Ledger, target: str | Path) -> Path | None:
    """The file of the books that ``target`` would overwrite, if any (same path
    once resolved, or the same file through a link)."""
    target_path = Path(target)
    resolved = target_path.resolve()
    for path in books_files(ledger):
        if path.resolve() == resolved:
            return path
        try:
            if target_path.exists() and path.exists() and os.path.samefile(path, target_path):
                return path
        except OSError:
            continue
    return None


def is_decimal_column(frame: pd.DataFrame, column: str) -> bool:
    """True if every non-null value of ``column`` is a Decimal (and there is one)."""
    values = [value for value in frame[column] if value is not None]
    return bool(values) and all(isinstance(value, Decimal) for value in values)
