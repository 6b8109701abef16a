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

    ledger = load_ledger("ledger/main.beancount")
    frame = run_saved(ledger, "gross-margin-per-mtok")
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import beanquery
import pandas as pd
from beancount import loader
from beancount.core import data
from beancount.parser import parser

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


class UnknownQuery(KeyError):
    """No saved query of that name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f'no saved query named "{self.name}" (see --list)'


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


def _to_ledger_error(error: Any) -> LedgerError:
    source = getattr(error, "source", None) or {}
    filename = str(source.get("filename", "<unknown>"))
    lineno = source.get("lineno", 0)
    try:
        lineno = int(lineno)
    except (TypeError, ValueError):
        lineno = 0
    message = " ".join(str(getattr(error, "message", error)).split())
    return LedgerError(filename, lineno, message)


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


def package_queries() -> dict[str, SavedQuery]:
    """The saved queries shipped in this package's ``*.beancount`` files."""
    found: dict[str, SavedQuery] = {}
    for path in sorted(PACKAGE_DIR.glob("*.beancount")):
        entries, _errors, _options = parser.parse_file(str(path))
        for name, query in saved_queries(entries).items():
            found.setdefault(name, query)
    return found


def load_ledger(filename: str | Path) -> Ledger:
    """Load and validate ``filename``; raise :class:`LedgerErrors` if it has errors."""
    path = Path(filename)
    if not path.is_file():
        raise LedgerErrors([LedgerError(str(path), 0, "ledger file not found")])
    entries, errors, options = loader.load_file(str(path))
    if errors:
        raise LedgerErrors([_to_ledger_error(error) for error in errors])
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
    types = [column.datatype for column in cursor.description]
    rows = cursor.fetchall()
    columns: dict[str, pd.Series] = {}
    for index, (name, datatype) in enumerate(zip(names, types, strict=True)):
        values = [row[index] for row in rows]
        if datatype is int and None not in values:
            columns[name] = pd.Series(values, dtype="int64")
        else:
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns, columns=names)


def run_saved(ledger: Ledger, name: str) -> pd.DataFrame:
    """Run the saved query ``name``; raise :class:`UnknownQuery` if there is none."""
    query = ledger.queries.get(name)
    if query is None:
        raise UnknownQuery(name)
    try:
        return run_bql(ledger, query.query_string)
    except QueryFailed as exc:
        raise QueryFailed(f"{query.filename}:{query.lineno}: query {name}: {exc}") from exc


def is_decimal_column(frame: pd.DataFrame, column: str) -> bool:
    """True if every non-null value of ``column`` is a Decimal (and there is one)."""
    values = [value for value in frame[column] if value is not None]
    return bool(values) and all(isinstance(value, Decimal) for value in values)
