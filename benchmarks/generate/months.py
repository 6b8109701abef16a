"""The calendar of a generated ledger: its months, their days and labels."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

# English month names, independent of the locale (calendar.month_name is not).
MONTH_NAMES: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Month:
    """One calendar month of the generated period; ``index`` counts from 0."""

    index: int
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def hours(self) -> int:
        return self.days * 24

    def day(self, number: int) -> datetime.date:
        """The given day of the month, clamped to the month; 0 is the last day."""
        if number <= 0 or number > self.days:
            number = self.days
        return datetime.date(self.year, self.month, number)

    @property
    def first(self) -> datetime.date:
        return self.day(1)

    @property
    def last(self) -> datetime.date:
        return self.day(0)

    @property
    def last_business_day(self) -> datetime.date:
        date = self.last
        while date.weekday() >= 5:
            date -= datetime.timedelta(days=1)
        return date


def parse_month(text: str) -> tuple[int, int]:
    """``"2025-01"`` -> ``(2025, 1)``."""
    year, month = text.split("-")
    return int(year), int(month)


def month_range(start: str, end: str) -> list[Month]:
    """Every month from ``start`` to ``end`` inclusive (``YYYY-MM``)."""
    year, month = parse_month(start)
    end_key = parse_month(end)
    months: list[Month] = []
    while (year, month) <= end_key:
        months.append(Month(len(months), year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:
        raise ValueError(f"empty month range {start}..{end}")
    return months


def in_range(date: datetime.date, months: list[Month]) -> bool:
    """Whether ``date`` falls before the end of the generated period."""
    return date <= months[-1].last
