"""A model's training cost capitalised month by month and amortised over its life, to the cent.

The arithmetic of ``ailab_books.plugins.amortise``, apart from the books so that
it can be tested on its own. Months are the first day of the month.

- Capitalised: each month's training cost, from the first month with any, up to
  and including the model's last month of service. Cost after that stays an
  expense (there is no life left to spread it over).
- Amortised, from the launch month to the last month, of the book value left
  (what was capitalised so far, less what was amortised):

  * ``straight-line``: book value / months left, the month included;
  * ``units``: book value x tokens of the month / lifetime tokens not yet served
    (all of it once the month's tokens reach the tokens left).

  Both take the whole book value in the last month. Cost capitalised after the
  launch (post-training) therefore spreads over the life that is left, as a
  change of estimate is treated (prospectively), and the charges add up to the
  capitalised cost exactly by the last month. A charge is rounded half-even to
  the cent and is never more than the book value, nor below zero, so the book
  value never goes below zero; a book value at or below zero (a refund larger
  than the cost) is not amortised, and :attr:`Row.negative` says so.

    >>> from datetime import date
    >>> rows = schedule({date(2026, 1, 1): Decimal("100.00")}, {}, date(2026, 1, 1),
    ...                 date(2026, 3, 1), Decimal(1), "straight-line", date(2026, 12, 1))
    >>> [(str(r.month), r.amortised, r.book_value) for r in rows]
    [('2026-01-01', Decimal('33.33'), Decimal('66.67')), ('2026-02-01', Decimal('33.34'), Decimal('33.33')), \
('2026-03-01', Decimal('33.33'), Decimal('0.00'))]
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

METHODS = ("straight-line", "units")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def month_index(month: datetime.date) -> int:
    return month.year * 12 + month.month - 1


def month_at(index: int) -> datetime.date:
    return datetime.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Row:
    """One month of a model's schedule."""

    month: datetime.date
    capitalised: Decimal  # training cost moved to the asset this month
    amortised: Decimal  # charged to expense this month
    book_value: Decimal  # after both
    months_left: int  # straight-line: months of life left, this one included (0 before launch)
    tokens: Decimal  # tokens served this month (units)
    tokens_left: Decimal  # units: lifetime tokens not yet served at the start of the month
    negative: bool = False  # the book value was below zero: not amortised


def schedule(
    costs: Mapping[datetime.date, Decimal],
    tokens: Mapping[datetime.date, Decimal],
    launch_month: datetime.date,
    end_of_life: datetime.date,
    lifetime_mtok: Decimal,
    method: str,
    through: datetime.date,
    retired: datetime.date | None = None,
) -> list[Row]:
    """The schedule's rows, from the first month with cost (or the launch) to the last month
    of service or ``through`` (the books' last month), whichever is first.

    ``end_of_life`` is the last month of the expected serving life; ``retired`` the month of
    an earlier retirement, which takes whatever is left then (the straight-line charges
    before it are those of the expected life: the retirement is not foreseen). ``costs``
    and ``tokens`` are per month (first day); ``costs`` in cents.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    launch, expected_last = month_index(launch_month), month_index(end_of_life)
    last = min(expected_last, month_index(retired)) if retired is not None else expected_last
    cost_months = [month_index(month) for month, amount in costs.items() if amount]
    first = min([*cost_months, launch])
    end = min(last, month_index(through))
    rows: list[Row] = []
    book_value = ZERO
    served = Decimal(0)
    for index in range(first, end + 1):
        month = month_at(index)
        capitalised = costs.get(month, ZERO) if index <= last else ZERO
        book_value += capitalised
        used = tokens.get(month, Decimal(0)) if index >= launch else Decimal(0)
        tokens_left = lifetime_mtok - served
        months_left = expected_last - index + 1 if index >= launch else 0
        charge = ZERO
        negative = book_value < 0
        if index >= launch and book_value > 0:
            if index == last:
                charge = book_value
            elif method == "straight-line":
                charge = _cents(book_value / months_left)
            elif used >= tokens_left:
                charge = book_value
            else:
                charge = _cents(book_value * used / tokens_left)
            charge = min(max(charge, ZERO), book_value)
        book_value -= charge
        served += used
        rows.append(Row(month, capitalised, charge, book_value, months_left, used, tokens_left, negative))
    return rows


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
