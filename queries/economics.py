"""Unit economics built from the saved queries: the monthly summary and the
per-model / per-tier view with net figures.

BQL cannot put a month's firm-wide overhead (every cost outside
``Expenses:COGS``) on a per-model row, so the net figures per model or tier are
computed here: each month's overhead (saved query ``overhead-per-mtok``) is
spread over the month's segments by their share of the month's tokens (Free
tier included), rounded to cents by the largest-remainder method, so the
segments add up to the whole-lab figures to the cent. Amounts a segment query
cannot see (revenue or cost left on a tier account, overhead of a month with no
tokens) go to a ``(unattributed)`` row instead of being lost.

The saved queries' rows come from :func:`ailab_books.queries.monthly.run_report_query`:
computed from the ledger's monthly summary (one pass over the postings, once
per loaded ledger) when the ledger runs the shipped query text, identical to
beanquery's rows to the digit; run by beanquery when the ledger redefines the
query.

Before/after, for a month with 50 Mtok (Orion 15, Wren 35) and 160.00 overhead::

    overhead-per-mtok  2025-01  50  160.00
    --by model         2025-01  Orion  15  overhead 48.00
                       2025-01  Wren   35  overhead 112.00
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral

import pandas as pd

from ailab_books.plugins.rounding import split_largest_remainder
from ailab_books.queries.monthly import run_report_query
from ailab_books.queries.runner import Ledger, QueryFailed, query_location

CENT = Decimal("0.01")
PER_MTOK_PLACES = 6
UNATTRIBUTED = "(unattributed)"
TOTAL = "Total"
ALL = "(all)"
ZERO = Decimal(0)


class BadPeriod(ValueError):
    """A period that is neither YYYY-MM nor YYYY-Qn."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_period(text: str, *, end: bool) -> Month:
    """Parse ``YYYY-MM`` or ``YYYY-Qn``; a quarter means its first month, or its
    last if ``end`` (so ``--from``/``--to`` are inclusive)."""
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|[Qq]([1-4]))", text.strip())
    if match is None:
        raise BadPeriod(f"bad period {text!r}: use YYYY-MM or YYYY-Qn (e.g. 2025-03 or 2025-Q1)")
    year = int(match.group(1))
    if match.group(2) is not None:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise BadPeriod(f"bad period {text!r}: month must be 01 to 12")
        return Month(year, month)
    quarter = int(match.group(3))
    return Month(year, quarter * 3 if end else quarter * 3 - 2)


@dataclass(frozen=True)
class Window:
    """An inclusive range of months; either end may be open."""

    start: Month | None = None
    stop: Month | None = None

    def __contains__(self, month: object) -> bool:
        if not isinstance(month, Month):
            return False
        if self.start is not None and month < self.start:
            return False
        return not (self.stop is not None and month > self.stop)


def spread(amount: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights``, rounded to ``quantum`` by the
    largest-remainder method: the parts add up to ``amount`` exactly. The same rule
    as the allocation plugin's (``ailab_books.plugins.rounding``).

    >>> spread(Decimal("100.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')]
    """
    return split_largest_remainder(amount, weights, quantum)


def per_mtok(amount: Decimal, tokens: Decimal) -> Decimal | None:
    """``amount / tokens`` to six decimal places, or None without tokens."""
    if tokens == 0:
        return None
    return round(amount / tokens, PER_MTOK_PLACES)


def _dec(value: object) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


class NothingToReport(ValueError):
    """No month to report: the books (or the chosen period) have no transactions."""


def _where(ledger: Ledger, name: str) -> str:
    return f"{query_location(ledger, name)}: saved query {name}"


def _month_of(ledger: Ledger, name: str, row: Mapping[Hashable, object]) -> Month:
    year, month = row["year"], row["month"]
    if not (isinstance(year, Integral) and isinstance(month, Integral)):
        raise QueryFailed(
            f"{_where(ledger, name)}: year and month must be whole numbers, not {year!r} and {month!r}"
        )
    return Month(int(year), int(month))


def _number(ledger: Ledger, name: str, column: str, value: object) -> Decimal:
    # Only exact numbers: an amount, an inventory or a text in a money column is
    # a redefined query this report cannot read, not something to guess at.
    if isinstance(value, bool) or not (value is None or isinstance(value, Decimal | Integral)):
        raise QueryFailed(f"{_where(ledger, name)}: column {column} holds {value!r}, not a number")
    return _dec(value)


def _by_month(ledger: Ledger, name: str, columns: Sequence[str]) -> dict[Month, dict[str, Decimal]]:
    """The saved query ``name`` as one row of ``columns`` per month (it must give
    year, month and ``columns``, and at most one row per month)."""
    frame = run_report_query(ledger, name, columns=["year", "month", *columns])
    result: dict[Month, dict[str, Decimal]] = {}
    for row in frame.to_dict("records"):
        month = _month_of(ledger, name, row)
        if month in result:
            raise QueryFailed(f"{_where(ledger, name)}: two rows for {month}; the report needs one per month")
        result[month] = {column: _number(ledger, name, column, row[column]) for column in columns}
    return result


SUMMARY_COLUMNS = [
    "month",
    "million_tokens",
    "revenue",
    "inference_cogs",
    "gross_margin",
    "gross_margin_per_mtok",
    "all_costs",
    "net_margin",
    "net_margin_per_mtok",
]


def _summary_row(
    label: str, tokens: Decimal, revenue: Decimal, cogs: Decimal, costs: Decimal
) -> dict[str, object]:
    gross = revenue - cogs
    net = revenue - costs
    return {
        "month": label,
        "million_tokens": tokens,
        "revenue": revenue.quantize(CENT),
        "inference_cogs": cogs.quantize(CENT),
        "gross_margin": gross.quantize(CENT),
        "gross_margin_per_mtok": per_mtok(gross, tokens),
        "all_costs": costs.quantize(CENT),
        "net_margin": net.quantize(CENT),
        "net_margin_per_mtok": per_mtok(net, tokens),
    }


def summary(ledger: Ledger, window: Window = Window()) -> pd.DataFrame:
    """One row per month (tokens, revenue, COGS, gross and net margin and their
    per-Mtok figures) and a Total row, from ``gross-margin-per-mtok`` and
    ``net-margin-per-mtok``."""
    gross = _by_month(ledger, "gross-margin-per-mtok", ["million_tokens", "inference_cogs"])
    net = _by_month(ledger, "net-margin-per-mtok", ["million_tokens", "revenue", "all_costs"])
    rows = []
    totals = [ZERO, ZERO, ZERO, ZERO]
    for month in sorted(set(gross) | set(net)):
        if month not in window:
            continue
        g = gross.get(month, {})
        n = net.get(month, {})
        values = [
            n.get("million_tokens", g.get("million_tokens", ZERO)),
            n.get("revenue", ZERO),
            g.get("inference_cogs", ZERO),
            n.get("all_costs", ZERO),
        ]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        rows.append(_summary_row(str(month), *values))
    if not rows:
        raise NothingToReport(_no_months(window))
    rows.append(_summary_row(TOTAL, *totals))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS, dtype=object)


@dataclass(frozen=True)
class SegmentFigures:
    """One segment's money and tokens in one month (or a total)."""

    tokens: Decimal = ZERO
    revenue: Decimal = ZERO
    cogs: Decimal = ZERO
    overhead: Decimal = ZERO

    def __add__(self, other: SegmentFigures) -> SegmentFigures:
        return SegmentFigures(
            self.tokens + other.tokens,
            self.revenue + other.revenue,
            self.cogs + other.cogs,
            self.overhead + other.overhead,
        )

    def row(self, month: str, segment_column: str, segment: str) -> dict[str, object]:
        gross = self.revenue - self.cogs
        net = gross - self.overhead
        return {
            "month": month,
            segment_column: segment,
            "million_tokens": self.tokens,
            "revenue": self.revenue.quantize(CENT),
            "inference_cogs": self.cogs.quantize(CENT),
            "gross_margin": gross.quantize(CENT),
            "gross_margin_per_mtok": per_mtok(gross, self.tokens),
            "overhead": self.overhead.quantize(CENT),
            "net_margin": net.quantize(CENT),
            "net_margin_per_mtok": per_mtok(net, self.tokens),
        }


SEGMENT_QUERIES = {"model": "margin-by-model", "tier": "margin-by-tier"}


def segment_columns(by: str) -> list[str]:
    """Column names of :func:`by_segment` for ``by`` = model or tier."""
    return [
        "month",
        by,
        "million_tokens",
        "revenue",
        "inference_cogs",
        "gross_margin",
        "gross_margin_per_mtok",
        "overhead",
        "net_margin",
        "net_margin_per_mtok",
    ]


def segment_figures(
    ledger: Ledger, by: str, window: Window = Window()
) -> dict[Month, dict[str, SegmentFigures]]:
    """Per month and segment: tokens, revenue, COGS and spread overhead.

    The segments of a month add up exactly to the whole lab's month."""
    if by not in SEGMENT_QUERIES:
        raise ValueError(f"--by must be one of {', '.join(SEGMENT_QUERIES)}")
    name = SEGMENT_QUERIES[by]
    money = ["million_tokens", "revenue", "inference_cogs"]
    segments: dict[Month, dict[str, SegmentFigures]] = {}
    frame = run_report_query(ledger, name, columns=["year", "month", by, *money])
    for row in frame.to_dict("records"):
        month = _month_of(ledger, name, row)
        segment = str(row[by])
        if segment in segments.get(month, {}):
            raise QueryFailed(f"{_where(ledger, name)}: two rows for {month} and {by} {segment}")
        segments.setdefault(month, {})[segment] = SegmentFigures(
            *(_number(ledger, name, column, row[column]) for column in money)
        )
    lab_gross = _by_month(ledger, "gross-margin-per-mtok", money)
    overhead = _by_month(ledger, "overhead-per-mtok", ["million_tokens", "overhead"])
    result: dict[Month, dict[str, SegmentFigures]] = {}
    for month in sorted(set(segments) | set(lab_gross) | set(overhead)):
        if month not in window:
            continue
        parts = dict(sorted(segments.get(month, {}).items()))
        lab = lab_gross.get(month, {})
        seen = sum(parts.values(), SegmentFigures())
        rest = SegmentFigures(
            lab.get("million_tokens", ZERO) - seen.tokens,
            lab.get("revenue", ZERO) - seen.revenue,
            lab.get("inference_cogs", ZERO) - seen.cogs,
        )
        if rest != SegmentFigures():
            parts[UNATTRIBUTED] = rest
        month_overhead = overhead.get(month, {}).get("overhead", ZERO)
        names = list(parts)
        tokens = [parts[name].tokens for name in names]
        if month_overhead != 0:
            if sum(tokens, ZERO) > 0:
                shares = spread(month_overhead, tokens)
            else:
                parts.setdefault(UNATTRIBUTED, SegmentFigures())
                names = list(parts)
                shares = [month_overhead if name == UNATTRIBUTED else ZERO for name in names]
            parts = {
                name: parts[name] + SegmentFigures(overhead=share)
                for name, share in zip(names, shares, strict=True)
            }
        result[month] = parts
    return result


def by_segment(ledger: Ledger, by: str, window: Window = Window()) -> pd.DataFrame:
    """Rows per month and model (or tier) with gross and net figures, then a
    Total row per segment and a Total row for all segments."""
    figures = segment_figures(ledger, by, window)
    if not figures:
        raise NothingToReport(_no_months(window))
    rows = []
    totals: dict[str, SegmentFigures] = {}
    for month, parts in figures.items():
        for name, values in parts.items():
            rows.append(values.row(str(month), by, name))
            totals[name] = totals.get(name, SegmentFigures()) + values
    for name in sorted(totals, key=lambda n: (n == UNATTRIBUTED, n)):
        rows.append(totals[name].row(TOTAL, by, name))
    rows.append(sum(totals.values(), SegmentFigures()).row(TOTAL, by, ALL))
    return pd.DataFrame(rows, columns=segment_columns(by), dtype=object)


def _no_months(window: Window) -> str:
    if window == Window():
        return "no month with revenue, costs or tokens: nothing to report"
    first = str(window.start) if window.start else "the start"
    last = str(window.stop) if window.stop else "the end"
    return f"no month with revenue, costs or tokens from {first} to {last}: nothing to report"


def filter_months(frame: pd.DataFrame, window: Window, where: str = "the query") -> pd.DataFrame:
    """Keep the rows of a saved query's result whose (year, month) is in ``window``.

    Without a window the result is returned unchanged; with one, a result
    without whole-number year and month columns is an error (:class:`QueryFailed`)
    that begins with ``where`` (the query's ``file:line: saved query NAME``)."""
    if window == Window():
        return frame
    if not {"year", "month"} <= set(frame.columns):
        # Printing every row as if it were the period's would be a silent lie.
        raise QueryFailed(
            f"{where}: --from/--to need year and month columns, and it has only "
            f"{', '.join(map(str, frame.columns))} (for a period's totals, leave out --query: "
            "the report's Total row)"
        )
    keep = []
    for year, month in zip(frame["year"], frame["month"], strict=True):
        if not (isinstance(year, Integral) and isinstance(month, Integral)):
            raise QueryFailed(
                f"{where}: --from/--to need whole-number year and month columns, not {year!r} and {month!r}"
            )
        keep.append(Month(int(year), int(month)) in window)
    return frame[keep].reset_index(drop=True)
