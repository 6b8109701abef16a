"""The importer every feed derives from: beangulp's Importer plus the lab's rules.

A feed importer implements `identify` (strictly: the header or schema, not the
file name), `account`, `date` and `extract_entries`, which returns the file's
entries or raises `FeedRejected` with every problem of the file. The framework
adds, in `extract`, the check that the books open every account an entry names
(with the unit it posts), and, in `deduplicate`, the keying of
`keys.mark_duplicates` and the refusal of a month a hand-written driver entry
already holds (`exclusive_accounts`).

Each entry's `meta` holds `filename` (the feed file) and `lineno` (the first
source row behind the entry, 0 for an aggregate with none), `import-id`, and the
feed's own keys. A posting may carry `filename`/`lineno` of the first row that
needed its account (beancount's printer does not write them); a problem about the
account is then located at that row.
"""

from __future__ import annotations

import abc
import calendar
import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import beangulp
from beancount.core import amount, data
from beangulp.extract import DUPLICATE

from .config import ImportConfig
from .errors import FeedProblem, FeedRejected
from .keys import IMPORT_ID, entry_import_id, mark_duplicates, where


def entry_meta(filename: str, lineno: int, key: str, **extra: Any) -> data.Meta:
    """An extracted entry's metadata: its source, its import-id, then the feed's keys in order."""
    return {"filename": filename, "lineno": lineno, IMPORT_ID: key, **extra}


def source_meta(filename: str, lineno: int) -> data.Meta:
    """A posting's metadata naming the row that needed its account (not printed)."""
    return {"filename": filename, "lineno": lineno}


def last_day(period: str) -> datetime.date:
    """The last day of a ``YYYY-MM`` period: the date of a month's driver entries."""
    year, month = (int(part) for part in period.split("-"))
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def driver_postings(
    filename: str, quantities: Iterable[tuple[str, Decimal, int]], unit: str, offset: str
) -> list[data.Posting]:
    """A driver entry's postings: each account's summed quantity (``(account, quantity, row)``
    triples, in account order, each posting naming the first row behind it), then the offset
    that balances them. Shared by the timesheet and GPU-hour feeds."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    first_row: dict[str, int] = {}
    for account, quantity, row in quantities:
        totals[account] += quantity
        first_row.setdefault(account, row)
    postings = [
        data.Posting(
            account, amount.Amount(totals[account], unit), None, None, None, source_meta(filename, row)
        )
        for account, row in sorted(first_row.items())
    ]
    total = sum(totals.values(), Decimal(0))
    postings.append(data.Posting(offset, amount.Amount(-total, unit), None, None, None, None))
    return postings


class FeedImporter(beangulp.Importer, abc.ABC):  # type: ignore[misc]  # beangulp ships no type information
    """One feed of the lab (a TOML table of `lab-import`'s configuration)."""

    feed: ClassVar[str]

    def __init__(self, config: ImportConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return f"ailab_books.importers.{self.feed}"

    @abc.abstractmethod
    def identify(self, filepath: str) -> bool:
        """True when the file's content is this feed's (its header or schema), whatever its name."""

    @abc.abstractmethod
    def account(self, filepath: str) -> data.Account:
        """The account the file is archived under."""

    def date(self, filepath: str) -> datetime.date | None:
        """The file's date for archiving; None lets beangulp use the modification time."""
        return None

    @abc.abstractmethod
    def extract_entries(self, filepath: str) -> list[data.Directive]:
        """Every entry of the file, or FeedRejected with every problem found in it."""

    def extract(self, filepath: str, existing: Sequence[data.Directive]) -> list[data.Directive]:
        """The file's entries, checked against the books' `open`s when there are books."""
        entries = self.extract_entries(filepath)
        problems = unopened_accounts(entries, existing)
        if problems:
            raise FeedRejected(problems)
        return entries

    def deduplicate(self, entries: list[data.Directive], existing: Sequence[data.Directive]) -> None:
        """beangulp's hook (in place on the list, by its protocol): mark entries already imported.

        The entries themselves are replaced, not mutated (keys.mark_duplicates).
        Raises FeedRejected when the books hold an id with different figures.
        """
        marked = mark_duplicates(entries, existing)
        problems = overlapping_periods(marked, existing, self.exclusive_accounts)
        if problems:
            raise FeedRejected(problems)
        entries[:] = marked

    def exclusive_accounts(self, entry: data.Transaction) -> set[str]:
        """Accounts this entry's month must not already have by hand (a driver's activities).

        A driver feed names them: a hand-written posting there in the same month (the
        books' own driver entries have no import-id) would count the month twice.
        Default: none (a bill's expense accounts take many invoices a month).
        """
        return set()


def unopened_accounts(
    entries: Sequence[data.Directive], existing: Sequence[data.Directive]
) -> list[FeedProblem]:
    """A problem per account that the books (if any) do not open on the entry's date or for its unit.

    Located at the posting's source row when it has one, else the entry's. One
    problem per account and reason, so a month of rows does not repeat it.
    """
    opens: dict[str, data.Open] = {}
    closes: dict[str, datetime.date] = {}
    for entry in existing:
        if isinstance(entry, data.Open):
            opens.setdefault(entry.account, entry)
        elif isinstance(entry, data.Close):
            closes[entry.account] = entry.date
    if not opens:
        return []  # no books configured: bean-check on books + output is the user's check
    problems: list[FeedProblem] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            meta = posting.meta if posting.meta and "lineno" in posting.meta else entry.meta
            opened = opens.get(posting.account)
            unit = posting.units.currency if posting.units is not None else None
            reason: str | None = None
            if opened is None:
                reason = "is not opened in the books; add an `open` (or map the label to an opened account)"
            elif opened.date > entry.date:
                reason = f"is opened only on {opened.date}, after {entry.date}"
            elif posting.account in closes and closes[posting.account] < entry.date:  # the close day is open
                reason = f"is closed on {closes[posting.account]}"
            elif opened.currencies and unit is not None and unit not in opened.currencies:
                reason = f"is opened for {', '.join(opened.currencies)}, not {unit}"
            if reason is None or (posting.account, reason) in seen:
                continue
            seen.add((posting.account, reason))
            problems.append(FeedProblem.at(meta, f"account {posting.account} {reason}"))
    return problems


def overlapping_periods(
    new: Sequence[data.Directive],
    existing: Sequence[data.Directive],
    exclusive: Callable[[data.Transaction], set[str]],
) -> list[FeedProblem]:
    """A problem per new entry posting to an exclusive account that a hand-written entry posts to that month.

    Entries with an import-id are told apart by their ids (keys.mark_duplicates:
    same figures, a duplicate; other figures, an error), and several imported
    entries may share an account in a month (one per cluster, say). A hand-written
    driver entry of the same month and account is the overlap no id can see.
    """
    held: dict[tuple[str, str], data.Transaction] = {}
    for entry in existing:
        if isinstance(entry, data.Transaction) and DUPLICATE not in entry.meta:
            for posting in entry.postings:
                held.setdefault((posting.account, f"{entry.date:%Y-%m}"), entry)
    problems: list[FeedProblem] = []
    for entry in new:
        if not isinstance(entry, data.Transaction) or DUPLICATE in entry.meta:
            continue
        key = entry_import_id(entry)
        for account in sorted(exclusive(entry)):
            previous = held.get((account, f"{entry.date:%Y-%m}"))
            if previous is None or entry_import_id(previous) is not None:
                continue  # imported entries are told apart by their ids (keys.mark_duplicates)
            posting_meta = next(
                (p.meta for p in entry.postings if p.account == account and p.meta and "lineno" in p.meta),
                entry.meta,
            )
            problems.append(
                FeedProblem.at(
                    posting_meta,
                    f"the books already post to {account} in {entry.date:%Y-%m} at {where(previous)} "
                    f"(written by hand, no import-id); importing {key!r} would count the month twice",
                )
            )
    return problems
