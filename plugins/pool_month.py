"""What a pool holds in a month, valued in the operating currency.

The ledger's first operating currency (`option "operating_currency"`) is the
one every figure is in. A pool's postings count:

- in the operating currency, as they are;
- with a price in the operating currency (`500.00 EUR @ 1.08 USD`), at their
  weight (540.00 USD);
- in another currency without a price, at the ledger's price of their date
  (the latest `price` directive on or before it): IAS 21 records a
  foreign-currency transaction at the spot rate of its date.

A posting held at cost, priced in another currency than the operating one, or
with no price to value it by, cannot be counted: it is a problem, named with
its transaction, and the pool's month stays whole.

The units are kept by (currency, price) group, so that the allocation can credit
the pool with the same units at the same price (`-500.00 EUR @ 1.08 USD`): the
pool ends the month at zero in units and in value, and the entry balances.

A ledger that declares no operating currency is valued in USD, the currency
of the saved queries (``valuation.operating_currency``, the one definition).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from beancount.core import data
from beancount.core.display_context import DisplayContext, Precision

from .rounding import split_largest_remainder
from .valuation import Rates

ZERO = Decimal(0)

# (currency, price in the operating currency); price None: the amount counts in its own units.
GroupKey = tuple[str, Decimal | None]


def places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@dataclass(frozen=True)
class Problem:
    """A pool posting that cannot be counted, and why."""

    entry: data.Transaction
    posting: data.Posting
    reason: str


@dataclass
class PoolMonth:
    """A pool's net change in one month, by (currency, price) group.

    Decimal addition keeps the finest exponent of its operands (1.10 + 2.90 is
    4.00, 10.005 - 10.005 is 0.000), so each total also carries the precision of
    the pool's amounts that month.
    """

    groups: dict[GroupKey, Decimal] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, key: GroupKey, number: Decimal) -> None:
        self.groups[key] = self.groups.get(key, ZERO) + number

    def is_zero(self) -> bool:
        return not self.problems and all(number == 0 for number in self.groups.values())

    def describe(self, operating_currency: str | None) -> str:
        """The month's amounts as text, e.g. '100.00 USD, 500.00 EUR @ 1.08 USD'."""
        parts = []
        for (currency, price), number in sorted(self.groups.items(), key=_group_order):
            if number != 0 or len(self.groups) == 1:
                at = f" @ {price} {operating_currency}" if price is not None else ""
                parts.append(f"{number} {currency}{at}")
        return ", ".join(parts) or "0"


def _group_order(item: tuple[GroupKey, Decimal]) -> tuple[str, int, Decimal]:
    (currency, price), _ = item
    return (currency, price is not None, price if price is not None else ZERO)


class Valuer:
    """Sorts pool postings into groups, valuing plain foreign amounts at the ledger's rates."""

    def __init__(self, entries: Sequence[data.Directive], operating_currency: str) -> None:
        self.operating_currency = operating_currency
        self._rates = Rates(entries)

    def group(self, posting: data.Posting, date: datetime.date) -> GroupKey | str:
        """The posting's group, or the reason it cannot be counted."""
        units = posting.units
        assert units is not None and units.number is not None  # booked postings are complete
        if posting.cost is not None:
            return (
                "it is held at cost; a pool takes plain amounts (book the purchase to an asset, "
                "and its expense to the pool)"
            )
        operating = self.operating_currency
        if units.currency == operating:
            return (units.currency, None)
        price = posting.price
        if price is not None:
            if price.currency != operating or price.number is None:
                return f"it is priced in {price.currency}, not the operating currency {operating}"
            return (units.currency, price.number)
        rate = self._rates.rate(units.currency, operating, date)
        if rate is None:
            return (
                f"there is no price of {units.currency} in {operating} on or before {date} "
                f"(add a price directive, or write the posting with @ its rate)"
            )
        return (units.currency, rate)


def value(pool_month: PoolMonth) -> Decimal:
    """The operating-currency value of a pool-month (priced groups at units x price)."""
    total = ZERO
    for (_, price), number in pool_month.groups.items():
        total += number if price is None else number * price
    return total


#: A value with more decimal places than this may come from a division rather
#: than from amounts written in the books: beancount stores a total price
#: (`3.00 EUR @@ 10.00 USD`) as a 28-digit unit price, whose value is 9.99...9.
#: If rounding it to the ledger's usual precision for the operating currency
#: moves it by less than ARTIFACT, it is that rounded amount (10.00) and is split
#: in cents, not in units of 1E-27. A real fraction (an inverted price, 1000.00
#: USD at 1/1.10 EUR) is kept exact.
MAX_VALUE_PLACES = 9
ARTIFACT = Decimal("1E-20")


def quantum(pool_month: PoolMonth, operating_currency: str, dcontext: DisplayContext | None) -> Decimal:
    """The unit the value is split in, fine enough that the parts add up to it exactly.

    The finest precision among the month's operating-currency amounts and the
    foreign groups' values (normalised, 540.0000 counts as 540); with foreign
    groups, no coarser than the ledger's usual precision for the operating
    currency, so a 540 EUR-valued month is not split in whole dollars; a value
    that differs from a cent amount only by a division's last digits (see
    MAX_VALUE_PLACES) counts as that cent amount (``split_value`` rounds it).
    """
    digits = 0
    foreign = False
    common = 2
    if dcontext is not None:
        common = dcontext.ccontexts[operating_currency].get_fractional(Precision.MOST_COMMON) or common
    for (_, price), number in pool_month.groups.items():
        if price is None:
            digits = max(digits, places(number))
        elif number != 0:
            foreign = True
            group_value = (number * price).normalize()
            value_places = places(group_value)
            if value_places > MAX_VALUE_PLACES:
                rounded = group_value.quantize(Decimal(1).scaleb(-common))
                if abs(group_value - rounded) < ARTIFACT:
                    value_places = common
            digits = max(digits, value_places)
    if foreign:
        digits = max(digits, common)
    return Decimal(1).scaleb(-digits)


def split_value(pool_month: PoolMonth, weights: Sequence[Decimal], unit: Decimal) -> list[Decimal]:
    """The month's value split in proportion to ``weights``, in multiples of ``unit``.

    A value finer than ``unit`` is one that ``quantum`` found to be a cent
    amount but for a division's last digits (see MAX_VALUE_PLACES): it is
    rounded to ``unit``, which moves it by less than ARTIFACT.
    """
    total = value(pool_month)
    if places(total) > places(unit):
        total = total.quantize(unit)
    return split_largest_remainder(total, weights, unit)
