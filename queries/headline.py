"""The unit-economics page's figures for a range of whole months, from the report's own code.

Every per-token figure the dashboard shows comes from here, and everything here
comes from :func:`ailab_books.queries.economics.summary` and
:func:`~ailab_books.queries.economics.by_segment` (what ``lab-report`` prints),
run on the whole books over whole months: a figure on the page is one
``lab-report --from M --to N`` prints. This module adds no figure of its own
but a price and a cost per million tokens, each ``economics.per_mtok`` of two
amounts the report prints on the same row.

Before/after, for Fava's part-month time filter ``2026-09-15 - 2026-10-15``::

    months_covering(2026-09-15, 2026-10-16)  ->  Window(2026-09, 2026-10)
    unit_economics(ledger, that window)      ->  {"months": ["2026-09", "2026-10"],
                                                  "headline": {"month": {...}, "period": {...}}, ...}

Policy changes (:func:`policy_changes`) are the months where an ``allocate``
rule replaces an earlier one for the same pool, labelled with the pools and
the first line of the comment written above the rule (or its ``note``).
"""

from __future__ import annotations

import datetime
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from beancount.core import data

from ailab_books.queries.economics import (
    TOTAL,
    Month,
    NothingToReport,
    Window,
    by_segment,
    filter_months,
    parse_period,
    per_mtok,
    summary,
)
from ailab_books.queries.monthly import run_report_query
from ailab_books.queries.runner import Ledger

#: The saved query of the cost-per-line chart (run on the whole books, cut to the months).
COST_STACK = "cost-stack"
SEGMENTS = ("tier", "model")

JSON = dict[str, Any]
#: Between the first and last month of a range, as the page prints it.
DASH = "\N{EN DASH}"


def month_of(day: datetime.date) -> Month:
    """The month holding ``day``."""
    return Month(day.year, day.month)


def shift(month: Month, months: int) -> Month:
    """``month`` moved by ``months`` (negative: earlier).

    >>> str(shift(Month(2026, 1), -1)), str(shift(Month(2025, 11), 3))
    ('2025-12', '2026-02')
    """
    index = month.year * 12 + month.month - 1 + months
    return Month(index // 12, index % 12 + 1)


def months_between(start: Month, stop: Month) -> list[Month]:
    """Every month from ``start`` to ``stop``, inclusive."""
    out = []
    month = start
    while month <= stop:
        out.append(month)
        month = shift(month, 1)
    return out


def months_covering(begin: datetime.date, end: datetime.date) -> Window:
    """The whole months containing the days ``begin`` to ``end`` (exclusive, as Fava's
    date ranges are): a part month counts as the whole month that holds it.

    >>> w = months_covering(datetime.date(2026, 9, 15), datetime.date(2026, 10, 16))
    >>> str(w.start), str(w.stop)
    ('2026-09', '2026-10')
    """
    last = end - datetime.timedelta(days=1)
    if last < begin:
        last = begin
    return Window(month_of(begin), month_of(last))


def is_whole_months(begin: datetime.date, end: datetime.date) -> bool:
    """True if ``begin`` is a month's first day and ``end`` (exclusive) another's."""
    return begin.day == 1 and end.day == 1


def _text(value: object) -> str | None:
    """A Decimal as exact text for JSON (the page reads it with ``Number``); None stays None."""
    if value is None:
        return None
    return str(value)


@dataclass(frozen=True)
class PerMtok:
    """One period's headline: tokens and the per-million-token figures of lab-report."""

    label: str
    million_tokens: Decimal
    price: Decimal | None
    cost_of_serving: Decimal | None
    gross_margin: Decimal | None
    full_cost: Decimal | None
    net_margin: Decimal | None

    @classmethod
    def from_row(cls, label: str, row: Mapping[Hashable, Any]) -> PerMtok:
        """From one row of :func:`economics.summary` (a month or its Total row)."""
        tokens = Decimal(row["million_tokens"])
        return cls(
            label=label,
            million_tokens=tokens,
            price=per_mtok(Decimal(row["revenue"]), tokens),
            cost_of_serving=per_mtok(Decimal(row["inference_cogs"]), tokens),
            gross_margin=row["gross_margin_per_mtok"],
            full_cost=per_mtok(Decimal(row["all_costs"]), tokens),
            net_margin=row["net_margin_per_mtok"],
        )

    def as_json(self) -> JSON:
        return {
            "label": self.label,
            "million_tokens": _text(self.million_tokens),
            "price": _text(self.price),
            "cost_of_serving": _text(self.cost_of_serving),
            "gross_margin": _text(self.gross_margin),
            "full_cost": _text(self.full_cost),
            "net_margin": _text(self.net_margin),
        }


def _label(window: Window) -> str:
    if window.start == window.stop:
        return str(window.start)
    return f"{window.start} {DASH} {window.stop}"


def period_figures(ledger: Ledger, window: Window) -> PerMtok | None:
    """The Total row of ``lab-report --from START --to STOP`` as per-Mtok figures, or
    None when those months have nothing to report.

    Labelled with the months the books have in ``window``: the five months before
    2025-01 in books that start in 2024-10 are 2024-10 to 2024-12, not "2024-08 - 2024-12"."""
    try:
        frame = summary(ledger, window)
    except NothingToReport:
        return None
    total = frame[frame["month"] == TOTAL].to_dict("records")[0]
    months = sorted(str(month) for month in frame["month"] if month != TOTAL)
    label = _label(window)
    if months:
        label = _label(Window(parse_period(months[0], end=False), parse_period(months[-1], end=True)))
    return PerMtok.from_row(label, total)


def _rows(frame: pd.DataFrame) -> list[JSON]:
    return [{str(key): _jsonable(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _segment_rows(frame: pd.DataFrame) -> list[JSON]:
    """``by_segment``'s rows, each with its price and cost of serving per million tokens:
    ``per_mtok`` of the row's revenue and COGS, as the headline's (None without tokens), so the
    page divides nothing itself."""
    rows = _rows(frame)
    for row, record in zip(rows, frame.to_dict("records"), strict=True):
        tokens = Decimal(record["million_tokens"])
        for column, amount in (("price_per_mtok", "revenue"), ("cogs_per_mtok", "inference_cogs")):
            row[column] = _jsonable(per_mtok(Decimal(record[amount]), tokens))
    return rows


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars from integer columns
        return value.item()
    return value


def _headline(ledger: Ledger, window: Window, monthly: pd.DataFrame) -> JSON:
    """Latest month with tokens in ``window`` and the whole window, each beside the
    period before it (the previous month; the same number of months before)."""
    rows = {row["month"]: row for row in monthly.to_dict("records") if row["month"] != TOTAL}
    served = [month for month, row in rows.items() if Decimal(row["million_tokens"]) > 0]
    result: JSON = {"month": None, "previous_month": None, "period": None, "previous_period": None}
    if served:
        latest = max(served)
        result["month"] = PerMtok.from_row(latest, rows[latest]).as_json()
        year, number = (int(part) for part in latest.split("-"))
        before = shift(Month(year, number), -1)
        previous = period_figures(ledger, Window(before, before))
        result["previous_month"] = previous.as_json() if previous is not None else None
    assert window.start is not None and window.stop is not None
    total = monthly[monthly["month"] == TOTAL].to_dict("records")[0]
    result["period"] = PerMtok.from_row(_label(window), total).as_json()
    length = len(months_between(window.start, window.stop))
    earlier = Window(shift(window.start, -length), shift(window.start, -1))
    previous = period_figures(ledger, earlier)
    result["previous_period"] = previous.as_json() if previous is not None else None
    return result


@dataclass(frozen=True)
class PolicyChange:
    """A month from which ``allocate`` rules replace earlier ones for the same pools."""

    month: Month
    pools: tuple[str, ...]
    note: str
    filename: str
    lineno: int

    def as_json(self) -> JSON:
        return {
            "month": str(self.month),
            "pools": list(self.pools),
            "note": self.note,
            "where": f"{self.filename}:{self.lineno}",
        }


def _first_comment_line(filename: str, lineno: int) -> str:
    """The first line of the ``;`` comment block written right above line ``lineno``."""
    try:
        lines = Path(filename).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    block: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith(";"):
        block.insert(0, lines[index].lstrip().lstrip(";").strip())
        index -= 1
    return next((line for line in block if line), "")


def policy_changes(entries: Sequence[data.Directive]) -> list[PolicyChange]:
    """Months where an ``allocate`` rule replaces an earlier rule for the same pool."""
    seen: set[str] = set()
    found: dict[Month, list[data.Custom]] = {}
    for entry in entries:
        if not (isinstance(entry, data.Custom) and entry.type == "allocate" and entry.values):
            continue
        pool = str(entry.values[0].value)
        if pool in seen:
            found.setdefault(month_of(entry.date), []).append(entry)
        seen.add(pool)
    changes = []
    for month, rules in sorted(found.items()):
        pools = tuple(sorted({str(rule.values[0].value) for rule in rules}))
        first = min(rules, key=lambda rule: int((rule.meta or {}).get("lineno", 0) or 0))
        meta = first.meta or {}
        filename = str(meta.get("filename", ""))
        lineno = int(meta.get("lineno", 0) or 0)
        note = str(meta.get("note", "") or "") or _first_comment_line(filename, lineno)
        changes.append(PolicyChange(month, pools, note, filename, lineno))
    return changes


def unit_economics(ledger: Ledger, window: Window) -> JSON:
    """Everything the page plots for the whole months of ``window`` (both ends set).

    Raises :class:`NothingToReport` when no month of the window has revenue,
    costs or tokens."""
    if window.start is None or window.stop is None:
        raise ValueError("unit_economics needs a window with both ends")
    monthly = summary(ledger, window)
    segments = {by: _segment_rows(by_segment(ledger, by, window)) for by in SEGMENTS}
    where = f"saved query {COST_STACK}"
    cost_stack = filter_months(run_report_query(ledger, COST_STACK), window, where)
    return {
        "months": [str(month) for month in months_between(window.start, window.stop)],
        "summary": _rows(monthly),
        "headline": _headline(ledger, window, monthly),
        "segments": segments,
        "cost_stack": {"columns": [str(c) for c in cost_stack.columns], "rows": _rows(cost_stack)},
        "policy_changes": [
            change.as_json()
            for change in policy_changes(ledger.entries)
            if window.start <= change.month <= window.stop
        ],
    }


def data_window(ledger: Ledger) -> Window:
    """The months from the first transaction to the last (the page's unfiltered range)."""
    dates = [entry.date for entry in ledger.entries if isinstance(entry, data.Transaction)]
    if not dates:
        raise NothingToReport("no transactions: nothing to report")
    return Window(month_of(min(dates)), month_of(max(dates)))
