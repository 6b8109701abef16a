"""The FOCUS cloud-bill importer: a FOCUS export (CSV or Parquet) to one expense transaction per invoice.

How a bill is booked (dates, routing, cents, corrections) is in
`focus_invoices`; how rows are read and checked in `focus_rows`; the
configuration in `focus_settings`. A file is imported whole or not at all:
every problem of every row is collected, then the file is refused with all of
them (`FeedRejected`), so one round of fixes is enough.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import ClassVar

from beancount.core import data

from .base import FeedImporter
from .config import ImportConfig
from .errors import FeedRejected
from .focus_invoices import FEED, build_invoices, last_day
from .focus_rows import is_focus_header, is_parquet, read_focus_header, read_lines
from .focus_settings import focus_settings


class FocusImporter(FeedImporter):
    """Imports FOCUS 1.0-1.2 cost and usage exports (CSV or Parquet) as invoices payable."""

    feed: ClassVar[str] = FEED

    def __init__(self, config: ImportConfig) -> None:
        super().__init__(config)
        self.settings = focus_settings(config)

    def identify(self, filepath: str) -> bool:
        """A CSV or Parquet file with FOCUS's billing columns (BilledCost, BillingCurrency, ...).

        Only the columns that make a file a FOCUS export at all: a FOCUS file that lacks
        another column the importer needs is identified, then refused with a located
        error, rather than silently left out of the run.
        """
        return is_focus_header(read_focus_header(Path(filepath)))

    def account(self, filepath: str) -> data.Account:
        # Where beangulp's archive files the bill: the (first) payable account.
        return next(iter(self.settings.payable.values()))

    def date(self, filepath: str) -> datetime.date | None:
        """The last day of the latest billing period in the file (None if the file has problems)."""
        try:
            lines, problems = read_lines(Path(filepath), self.settings)
        except FeedRejected:
            return None
        if problems or not lines:
            return None
        return max(last_day(line) for line in lines)

    def extract_entries(self, filepath: str) -> list[data.Directive]:
        path = Path(filepath)
        lines, problems = read_lines(path, self.settings)
        entries, invoice_problems = build_invoices(str(path), lines, self.settings)
        problems += invoice_problems
        if problems:
            if is_parquet(path):  # a Parquet row has no line: its position, said in the message
                problems = [p._replace(message=f"row {p.row}: {p.message}") if p.row else p for p in problems]
            raise FeedRejected(sorted(problems, key=lambda problem: (problem.row or 0, problem.message)))
        return list(entries)
