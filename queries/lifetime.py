"""Each model as a company: the life table, from the saved query ``model-lifetime``.

Per model, over the books: tokens, training cost attributed to it (allocation
step 2b; the same under every view), the pre-books training memo of its
``custom "model"`` record, revenue, cost of serving, gross margin, cumulative
contribution (gross margin minus training cost), the payback month (the first
month whose cumulative gross margin covers the training cost in the books; a
second column counts the memo too), and margin per million tokens: gross, and
after amortising training by each method (straight-line over the expected
serving life, units of production by tokens), computed by the same schedule as
``ailab_books.plugins.amortise`` (``ailab_books.plugins.schedule``).

BQL has no running sum, so the cumulative figures and the payback month are
computed here from ``model-lifetime``'s monthly rows; the per-model totals
equal the saved query ``model-payback`` (a test checks it). A model with
tokens but no record has no launch, so no amortisation: its after-training
cells are empty (None), never a guess.

Example::

    ledger = load_ledger("ledger/main.beancount", require_pipeline=True)
    table = life_table(ledger)
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from beancount.core import data

from ailab_books.plugins.models import ModelRecord, parse_models, trained_or_metered_models
from ailab_books.plugins.schedule import METHODS, Row, schedule

from .economics import CENT, ZERO, Month, per_mtok
from .runner import Ledger, QueryFailed, run_saved

QUERY = "model-lifetime"
MONEY = ("million_tokens", "revenue", "inference_cogs", "gross_margin", "training_cost", "amortised_training")

COLUMNS = [
    "model",
    "launch",
    "million_tokens",
    "training_cost",
    "training_before_books",
    "revenue",
    "inference_cogs",
    "gross_margin",
    "contribution",
    "payback_month",
    "payback_month_with_memo",
    "gross_margin_per_mtok",
    "after_training_per_mtok_straight_line",
    "after_training_per_mtok_units",
]


class BadModelRecords(QueryFailed):
    """The books' ``custom "model"`` records have errors (one ``file:line: message`` a line)."""


@dataclass(frozen=True)
class ModelMonth:
    """One model's figures in one month (a row of ``model-lifetime``)."""

    month: Month
    million_tokens: Decimal
    revenue: Decimal
    inference_cogs: Decimal
    gross_margin: Decimal
    training_cost: Decimal
    amortised_training: Decimal


@dataclass
class ModelLife:
    """One model's months, in order, and its record (None: the books have none)."""

    name: str
    record: ModelRecord | None
    months: list[ModelMonth] = field(default_factory=list)

    def total(self, figure: str) -> Decimal:
        return sum((getattr(month, figure) for month in self.months), ZERO)


def _decimal(value: object, where: str) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    raise QueryFailed(f"{where}: expected a number, got {value!r}")


def model_lives(ledger: Ledger) -> dict[str, ModelLife]:
    """Every model with tokens in the books, by name, with its monthly rows.

    A malformed model record is refused (:class:`BadModelRecords`, each error at its
    file and line), whichever view the books were loaded with: the accountant's
    view loads no plugin that reads the records, and a record left out would
    leave its model without amortisation, not with an error.
    """
    records, errors = parse_models(ledger.entries, ledger.options)
    if errors:
        raise BadModelRecords(
            "\n".join(f"{e.source.get('filename')}:{e.source.get('lineno')}: {e.message}" for e in errors)
        )
    by_name = {record.name: record for record in records}
    lives: dict[str, ModelLife] = {}
    for row in run_saved(ledger, QUERY, columns=["year", "month", "model", *MONEY]).to_dict("records"):
        name = str(row["model"])
        figures = [_decimal(row[column], f"{QUERY}, {name}, {column}") for column in MONEY]
        life = lives.setdefault(name, ModelLife(name, by_name.get(name)))
        life.months.append(ModelMonth(Month(int(row["year"]), int(row["month"])), *figures))
    for life in lives.values():
        life.months.sort(key=lambda month: (month.month.year, month.month.month))
    # A model has tokens, or a record, or training cost and a name the books meter or drive
    # training by (one still in training); another leaf (an unattributed COGS line, a sub-line
    # such as Expenses:RnD:Evals:Compute:Safety) is not a model, as --compare reads them.
    known = trained_or_metered_models(ledger.entries, ledger.options)
    return {
        name: life
        for name, life in sorted(lives.items())
        if life.total("million_tokens") > 0
        or name in by_name
        or (life.total("training_cost") != 0 and name in known)
    }


def payback_month(months: Sequence[ModelMonth], training: Decimal) -> Month | None:
    """The first month whose cumulative gross margin is at least ``training``; None if none is.

    >>> nil = Decimal(0)
    >>> gross = ((1, -5), (2, 40), (3, 60))
    >>> m = [ModelMonth(Month(2026, k), nil, nil, nil, Decimal(g), nil, nil) for k, g in gross]
    >>> payback_month(m, Decimal(90)), payback_month(m, Decimal(35)), payback_month(m, Decimal(96))
    (Month(year=2026, month=3), Month(year=2026, month=2), None)
    """
    cumulative = ZERO
    for month in months:
        cumulative += month.gross_margin
        if cumulative >= training:
            return month.month
    return None


def _first_day(month: Month) -> datetime.date:
    return datetime.date(month.year, month.month, 1)


def books_last_month(ledger: Ledger) -> datetime.date | None:
    """The first day of the books' last month with a transaction: where the model-as-company
    view's schedules stop (``ailab_books.plugins.amortise``), whatever the model's own last row."""
    dates = [entry.date for entry in ledger.entries if isinstance(entry, data.Transaction)]
    return max(dates).replace(day=1) if dates else None


def amortisation_rows(life: ModelLife, method: str, through: datetime.date | None = None) -> list[Row] | None:
    """The model-as-company schedule of ``life`` by ``method``, month by month; None without a record.

    ``through`` is the books' last month (:func:`books_last_month`); without it, the model's
    own last month. A model still in service but no longer metered (nor charged) in the books'
    last months is amortised through them too, as the plugin does. The one schedule behind
    ``lab-report --lifetime`` and the Model P&L page."""
    record = life.record
    if record is None or not life.months:
        return None
    costs: Mapping[datetime.date, Decimal] = {
        _first_day(month.month): month.training_cost for month in life.months
    }
    tokens = {_first_day(month.month): month.million_tokens for month in life.months}
    return schedule(
        costs,
        tokens,
        record.launch_month,
        record.end_of_life,
        record.lifetime_mtok,
        method,
        max(through or _first_day(life.months[-1].month), _first_day(life.months[-1].month)),
        record.retirement_month,
    )


def amortised(life: ModelLife, method: str, through: datetime.date | None = None) -> Decimal | None:
    """Training amortised over the books' months by ``method``; None without a record."""
    rows = amortisation_rows(life, method, through)
    return None if rows is None else sum((row.amortised for row in rows), ZERO)


def _after(gross: Decimal, charge: Decimal | None, tokens: Decimal) -> Decimal | None:
    return None if charge is None else per_mtok(gross - charge, tokens)


def life_row(life: ModelLife, through: datetime.date | None = None) -> dict[str, object]:
    tokens = life.total("million_tokens")
    training = life.total("training_cost")
    gross = life.total("gross_margin")
    memo = life.record.training_before_books if life.record else None
    payback = payback_month(life.months, training)
    with_memo = payback_month(life.months, training + (memo or ZERO))
    charges = {method: amortised(life, method, through) for method in METHODS}
    return {
        "model": life.name,
        "launch": life.record.launch.isoformat() if life.record else None,
        "million_tokens": tokens,
        "training_cost": training.quantize(CENT),
        "training_before_books": memo,
        "revenue": life.total("revenue").quantize(CENT),
        "inference_cogs": life.total("inference_cogs").quantize(CENT),
        "gross_margin": gross.quantize(CENT),
        "contribution": (gross - training).quantize(CENT),
        "payback_month": str(payback) if payback else None,
        "payback_month_with_memo": str(with_memo) if with_memo else None,
        "gross_margin_per_mtok": per_mtok(gross, tokens),
        "after_training_per_mtok_straight_line": _after(gross, charges["straight-line"], tokens),
        "after_training_per_mtok_units": _after(gross, charges["units"], tokens),
    }


def life_table(ledger: Ledger) -> pd.DataFrame:
    """One row per model over the whole books (the life table)."""
    through = books_last_month(ledger)
    rows = [life_row(life, through) for life in model_lives(ledger).values()]
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def payback_curve(ledger: Ledger) -> pd.DataFrame:
    """Per model and month: cumulative gross margin against training cost to date (the payback curve)."""
    rows: list[dict[str, object]] = []
    for life in model_lives(ledger).values():
        gross = training = ZERO
        for month in life.months:
            gross += month.gross_margin
            training += month.training_cost
            rows.append(
                {
                    "month": str(month.month),
                    "model": life.name,
                    "cumulative_gross_margin": gross.quantize(CENT),
                    "cumulative_training_cost": training.quantize(CENT),
                    "cumulative_contribution": (gross - training).quantize(CENT),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "month",
            "model",
            "cumulative_gross_margin",
            "cumulative_training_cost",
            "cumulative_contribution",
        ],
        dtype=object,
    )
