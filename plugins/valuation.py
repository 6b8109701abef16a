"""Find the profit-and-loss postings that cannot be valued in the operating currency.

Every figure the books report is in the operating currency (USD). The saved
queries count a posting at its weight (units at the posting's cost or `@`
price, or the units themselves) converted at the ledger's price for the
posting's date (beanquery's ``convert(weight, 'USD', date)``): a weight already
in USD is counted as it is, ``500.00 EUR @ 1.08 USD`` counts 540.00, and a plain
``50.00 EUR`` counts at the latest ``price EUR ... USD`` dated on or before the
posting (never a later one). This is IAS 21's rule for a foreign-currency
transaction: record it in the functional currency at the spot rate of its date.

A posting that no price can value would be left out of every USD figure, so
:func:`unvalued_postings` reports each one on an ``Income`` or ``Expenses``
account as an error at its transaction, naming the account, the amount, the
date and the missing price pair. It looks prices up exactly as the queries
convert (beancount's price map, which also inverts ``price USD ... EUR``), so a
posting the check passes is one the queries count, and one it reports is one
they leave out.

For example, in a ledger whose operating currency is USD::

    2026-01-15 price EUR 1.10 USD

    2026-01-10 * "Berlin meetup"
      Expenses:SGA:Events   50.00 EUR
      Assets:Bank:EUR

is an error at the transaction's line, because the only EUR price is dated
after it::

    Cannot value 50.00 EUR on Expenses:SGA:Events at 2026-01-10 in USD:
    no price EUR/USD on or before that date (...)

The price map is built once per load, and only if some posting needs it.
``ailab_books.plugins.classify`` runs this check, so books need no plugin line of
their own for it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data, prices

#: The currency the saved queries report in, when the ledger declares none.
DEFAULT_CURRENCY = "USD"


class ValuationError(NamedTuple):
    """A posting that cannot be valued; ``source`` is its transaction's meta."""

    source: data.Meta
    message: str
    entry: data.Directive | None


def operating_currency(options_map: Mapping[str, Any]) -> str:
    """The ledger's first ``operating_currency``, or USD if it declares none."""
    declared: Sequence[str] = options_map.get("operating_currency") or ()
    return declared[0] if declared else DEFAULT_CURRENCY


def weight_currency(posting: data.Posting) -> str | None:
    """The currency of the posting's weight (cost, else price, else units)."""
    if posting.cost is not None and posting.cost.currency:
        return str(posting.cost.currency)
    if posting.price is not None:
        return posting.price.currency
    units = posting.units
    return None if units is None else units.currency


def _message(posting: data.Posting, date: Any, currency: str, weight: str) -> str:
    units = posting.units
    amount = "?" if units is None else units.to_string()
    via = "" if units is None or units.currency == weight else f" (its weight is in {weight})"
    return (
        f"Cannot value {amount}{via} on {posting.account} at {date} in {currency}: "
        f"no price {weight}/{currency} on or before that date (add a `price` directive "
        f"or an `@` price); without one it is in no {currency} figure"
    )


class Rates:
    """The ledger's price of a currency on a date, as the queries' ``convert()``
    finds it (beancount's price map, which also inverts a price written the other
    way round; the latest price on or before the date, never a later one). The
    map is built on the first question, so books in one currency never build it."""

    def __init__(self, entries: Sequence[data.Directive]) -> None:
        self._entries = entries
        self._price_map: Any = None

    def rate(self, currency: str, quote: str, date: datetime.date) -> Decimal | None:
        if self._price_map is None:
            self._price_map = prices.build_price_map(self._entries)  # type: ignore[no-untyped-call]
        _, rate = prices.get_price(self._price_map, (currency, quote), date)  # type: ignore[no-untyped-call]
        return rate  # type: ignore[no-any-return]


class ValuationCheck:
    """Collects the P&L postings whose weight is not in the operating currency, as
    classify's one pass over the postings shows them (``watches`` an account once,
    then ``see`` each of its postings), and values them at the end (``errors``)."""

    def __init__(self, options_map: Mapping[str, Any]) -> None:
        self.currency = operating_currency(options_map)
        self._roots = (
            (options_map.get("name_income") or "Income") + ":",
            (options_map.get("name_expenses") or "Expenses") + ":",
        )
        self._foreign: list[tuple[data.Transaction, data.Posting, str]] = []

    def watches(self, account: str) -> bool:
        """Whether postings to ``account`` count in the figures (Income, Expenses)."""
        return account.startswith(self._roots)

    def see(self, entry: data.Transaction, posting: data.Posting) -> None:
        # Fast path first: nearly every posting is plain units in the operating currency.
        if posting.cost is None and posting.price is None:
            units = posting.units
            if units is None or units.currency == self.currency:
                return
            weight: str | None = units.currency
        else:
            weight = weight_currency(posting)
        if weight is not None and weight != self.currency:
            self._foreign.append((entry, posting, weight))

    def errors(self, entries: data.Entries) -> list[ValuationError]:
        """One error per foreign posting that no price values at its date."""
        rates = Rates(entries)
        errors: list[ValuationError] = []
        for entry, posting, weight in self._foreign:
            if rates.rate(weight, self.currency, entry.date) is None:
                message = _message(posting, entry.date, self.currency, weight)
                errors.append(ValuationError(entry.meta, message, entry))
        return errors


def unvalued_postings(entries: data.Entries, options_map: Mapping[str, Any]) -> list[ValuationError]:
    """One error per ``Income``/``Expenses`` posting whose weight is not in the
    operating currency and that the ledger's prices cannot value at its date
    (:class:`ValuationCheck` over every posting, on its own)."""
    check = ValuationCheck(options_map)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if check.watches(posting.account):
                    check.see(entry, posting)
    return check.errors(entries)
