"""The "Model P&L" page's figures: ``v2_model_pnl`` (each model as a company).

Two kinds of figure, both computed by ``lab-report``'s code on the whole books
Fava loaded (``ledger.all_entries``, never Fava's filtered entries):

- **over each model's life** (they follow no filter): the payback curve
  (:func:`ailab_books.queries.lifetime.payback_curve`: cumulative gross margin
  against cumulative training cost, per model and month) and the life table
  (:func:`~ailab_books.queries.lifetime.life_table`, what ``lab-report
  --lifetime`` prints);
- **per million tokens over the whole months of the time filter**, per model:
  gross margin, after-training margin (training amortised straight-line and by
  units of production) and net margin (``by_segment --by model``'s Total rows).

``life_table`` has no window: it amortises and divides over the whole books. The
windowed after-training margin is computed here from the same pieces
(:func:`model_lives` and ``lifetime.amortisation_rows``, the one schedule
``life_table`` uses, through the books' last month): the
gross margin of the window's months minus the amortisation the schedule charges
in those months, over the window's tokens. Over the whole books it is
``life_table``'s figure (a test checks it).

The filter is read as :mod:`figures` reads it (:func:`figures.respond`: the same
window of whole months and the same notices, nothing evaluated); answers are
cached per load of the books and filter text.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ailab_books.plugins.schedule import METHODS
from ailab_books.queries.economics import TOTAL, ZERO, Month, Window, by_segment, per_mtok
from ailab_books.queries.lifetime import (
    ModelLife,
    amortisation_rows,
    books_last_month,
    life_table,
    model_lives,
    payback_curve,
)
from ailab_books.queries.runner import Ledger, QueryFailed

from .figures import JSON, DateParser, FiguresCache, Filters, Loader, remember, respond

#: The columns of a per-model row of the windowed figures.
PER_MTOK_COLUMNS = (
    "model",
    "million_tokens",
    "gross_margin_per_mtok",
    "after_training_per_mtok_straight_line",
    "after_training_per_mtok_units",
    "net_margin_per_mtok",
)


def amortised_in(
    life: ModelLife, method: str, window: Window, through: datetime.date | None = None
) -> Decimal | None:
    """Training amortised by ``method`` in the months of ``window``; None without a record.

    The schedule is ``lab-report --lifetime``'s (``lifetime.amortisation_rows``, through the
    books' last month ``through``): the book value of a month depends on every month before
    it, so it runs over the model's whole life and only the window's months are summed.
    """
    rows = amortisation_rows(life, method, through)
    if rows is None:
        return None
    return sum(
        (row.amortised for row in rows if Month(row.month.year, row.month.month) in window),
        ZERO,
    )


def windowed_rows(ledger: Ledger, window: Window) -> list[dict[str, Decimal | str | None]]:
    """Per model, the three per-Mtok figures over the whole months of ``window``."""
    net: dict[str, object] = {
        str(row["model"]): row["net_margin_per_mtok"]
        for row in by_segment(ledger, "model", window).to_dict("records")
        if row["month"] == TOTAL
    }
    rows: list[dict[str, Decimal | str | None]] = []
    through = books_last_month(ledger)
    for name, life in model_lives(ledger).items():
        months = [month for month in life.months if month.month in window]
        tokens = sum((month.million_tokens for month in months), ZERO)
        gross = sum((month.gross_margin for month in months), ZERO)
        row: dict[str, Decimal | str | None] = {
            "model": name,
            "million_tokens": tokens,
            "gross_margin_per_mtok": per_mtok(gross, tokens),
        }
        for method in METHODS:
            charge = amortised_in(life, method, window, through)
            key = f"after_training_per_mtok_{method.replace('-', '_')}"
            row[key] = None if charge is None else per_mtok(gross - charge, tokens)
        value = net.get(name)
        row["net_margin_per_mtok"] = value if isinstance(value, Decimal) else None
        rows.append(row)
    return rows


def window_figures(ledger: Ledger, window: Window) -> JSON:
    """The per-Mtok figures of the window's whole months (``respond``'s ``figures``)."""
    return {"per_mtok": [_json_row(row) for row in windowed_rows(ledger, window)]}


def lifetime_figures(ledger: Ledger) -> JSON:
    """The payback curve and the life table over the whole books, or the reason there are none."""
    try:
        curve = payback_curve(ledger)
        table = life_table(ledger)
    except QueryFailed as error:
        return {"error": str(error)}
    return {
        "payback_curve": [_json_row(row) for row in curve.to_dict("records")],
        "life_table": [_json_row(row) for row in table.to_dict("records")],
    }


def _json_row(row: Mapping[Any, object]) -> JSON:
    """Decimals as exact text (as ``v2_unit_economics`` sends them), None as null."""
    return {str(key): (None if value is None else str(value)) for key, value in row.items()}


class ModelPnlCache:
    """Answers per load of the books and filter text; the lifetime figures and each
    window's figures once per load. The load's key and report ledger are ``figures``'
    (:meth:`FiguresCache.ledger_of`): the Unit economics page's cache, shared, so a load's
    ledger and monthly summary are built once for both pages."""

    def __init__(self, figures: FiguresCache | None = None, size: int = 64) -> None:
        self._figures = figures if figures is not None else FiguresCache()
        self._size = size
        self._lock = threading.Lock()
        self._load: tuple[int, int] | None = None
        self._ledger: Ledger | None = None
        self._lifetime: JSON | None = None
        self._answers: OrderedDict[Filters, JSON] = OrderedDict()
        self._windows: OrderedDict[Window, JSON] = OrderedDict()

    def answer(self, load: Loader, filters: Filters, parse_date: DateParser) -> JSON:
        key, ledger = self._figures.ledger_of(load)
        with self._lock:
            if self._load != key or self._ledger is not ledger:
                self._load, self._ledger = key, ledger
                self._lifetime = None
                self._answers.clear()
                self._windows.clear()
            cached = self._answers.get(filters)
            if cached is not None:
                return cached
            if self._lifetime is None:
                self._lifetime = lifetime_figures(ledger)
            result = respond(ledger, filters, parse_date, self._window_figures)
            result["lifetime"] = self._lifetime
            return remember(self._answers, filters, result, self._size)

    def _window_figures(self, ledger: Ledger, window: Window) -> JSON:
        cached = self._windows.get(window)
        if cached is None:
            cached = remember(self._windows, window, window_figures(ledger, window), self._size)
        return cached


__all__ = [
    "ModelPnlCache",
    "amortised_in",
    "lifetime_figures",
    "window_figures",
    "windowed_rows",
]
