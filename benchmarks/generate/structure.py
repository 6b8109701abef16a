"""The books' structure, copied from the example books: accounts and allocation rules.

A generated ledger follows the same chart of accounts and the same allocation
rules as the example lab's books, because it copies them:
``ledger/accounts.beancount`` and ``ledger/allocation.beancount`` are written
into every generated ledger unchanged, byte for byte, when the generated
period starts on or after their first date (2025-01-01). A period that starts
earlier gets the same two files with every directive's date moved back by the
same whole number of months (and a comment saying so), so that the
accounts open, and the rules apply, from its first month; the rules keep their
order and their distance from one another (the idle-capacity policy change
stays twelve months after the opening).

The generator posts to accounts by name (``lab.py`` and the books); before it
writes anything it checks that the structure opens every account it posts to,
for that currency (:func:`check_postings`), so an account renamed in ledger/
is a located error here, not a ledger that fails ``bean-check`` later.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from beancount.core import data
from beancount.parser import parser

#: The example books, next to the benchmarks/ folder in the project checkout.
EXAMPLE_LEDGER = Path(__file__).resolve().parents[2] / "ledger"

#: The files copied into every generated ledger, in the order main.beancount includes them.
STRUCTURE_FILES: tuple[str, ...] = ("accounts.beancount", "allocation.beancount")

# The date that starts a directive: at the start of a line, then a space.
_DIRECTIVE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?=[ \t])", re.MULTILINE)


class StructureError(Exception):
    """The structure files cannot be read, or do not fit what the generator posts."""


@dataclass(frozen=True)
class Structure:
    """The structure files' text, the accounts they open, and their first date."""

    directory: Path
    texts: dict[str, str]  # file name -> text, in STRUCTURE_FILES order
    opens: dict[str, data.Open]  # opened account -> its open directive (with filename and line)
    first_date: datetime.date


def read_structure(directory: Path = EXAMPLE_LEDGER) -> Structure:
    """Read and parse the structure files of ``directory`` (the example's ledger/ by default)."""
    texts: dict[str, str] = {}
    entries: list[data.Directive] = []
    for name in STRUCTURE_FILES:
        path = directory / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except OSError as error:
            raise StructureError(
                f"{path}: cannot read the books' structure ({error.strerror}); the generator copies "
                f"{' and '.join(STRUCTURE_FILES)} from the example books (ledger/ of the project checkout)"
            ) from error
        parsed, errors, _ = parser.parse_string(texts[name], report_filename=str(path))
        if errors:
            first = errors[0]
            raise StructureError(f"{first.source['filename']}:{first.source['lineno']}: {first.message}")
        entries.extend(parsed)
    if not entries:
        raise StructureError(f"{directory}: {' and '.join(STRUCTURE_FILES)} hold no directives")
    opens = {entry.account: entry for entry in entries if isinstance(entry, data.Open)}
    return Structure(directory, texts, opens, min(entry.date for entry in entries))


def texts_for(structure: Structure, first_day: datetime.date) -> dict[str, str]:
    """The structure files for a ledger whose first day is ``first_day``.

    Unchanged if the structure starts on or before that day; otherwise every
    directive's date moves back by the fewest whole months that bring the
    structure's first date on or before ``first_day``.
    """
    months_back = 0
    while _months_earlier(structure.first_date, months_back) > first_day:
        months_back += 1
    if months_back == 0:
        return dict(structure.texts)
    return {name: _moved(structure, name, months_back, first_day) for name in structure.texts}


def check_postings(structure: Structure, postings: Iterable[tuple[str, str]]) -> None:
    """Raise :class:`StructureError` unless the structure opens every (account, currency) posted.

    The message has one line per problem: an account that is not opened points
    at the accounts file, a currency the account is not opened for at its
    ``open`` line.
    """
    accounts_file = structure.directory / STRUCTURE_FILES[0]
    problems: list[str] = []
    for account, currency in sorted(set(postings)):
        entry = structure.opens.get(account)
        if entry is None:
            problems.append(f"{accounts_file}: {account} is not opened; the generator posts {currency} to it")
        elif entry.currencies and currency not in entry.currencies:
            problems.append(
                f"{entry.meta['filename']}:{entry.meta['lineno']}: {account} is opened for "
                f"{', '.join(entry.currencies)}; the generator posts {currency} to it"
            )
    if problems:
        raise StructureError(
            "the books' structure does not fit the generated ledger (nothing written):\n"
            + "\n".join(problems)
        )


def _months_earlier(date: datetime.date, months: int) -> datetime.date:
    """``date`` moved back by whole months, its day clamped to the month's length."""
    index = date.year * 12 + date.month - 1 - months
    year, month = divmod(index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return datetime.date(year, month + 1, day)


def _moved(structure: Structure, name: str, months_back: int, first_day: datetime.date) -> str:
    """The file ``name`` with every directive's date moved back by ``months_back`` months.

    Checked by parsing both texts: every directive's date must have moved by as much.
    """

    def move(match: re.Match[str]) -> str:
        year, month, day = (int(part) for part in match.groups())
        return _months_earlier(datetime.date(year, month, day), months_back).isoformat()

    text = structure.texts[name]
    note = (
        f"; {structure.directory.name}/{name} with every date moved {months_back} months earlier,\n"
        f"; so that it applies from this ledger's first month ({first_day:%Y-%m}).\n\n"
    )
    moved = note + _DIRECTIVE_DATE.sub(move, text)
    before = [_months_earlier(entry.date, months_back) for entry in parser.parse_string(text)[0]]
    after = [entry.date for entry in parser.parse_string(moved)[0]]
    if after != before:
        raise StructureError(
            f"{structure.directory / name}: could not move every directive's date back {months_back} months "
            "(each directive must start its line with its date, YYYY-MM-DD)"
        )
    return moved
