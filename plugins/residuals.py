"""Nothing unallocated goes unnoticed: every account under the pool root is empty at month end.

The pool root (`Expenses:Shared` by default, with the ledger's own name for
Expenses) holds cost that still has to be split. After the allocation, an
account under it that holds money at a month end is an error naming the
account, the month and the amount, whether or not a rule names it.

To avoid a flood, an account is reported when its month-end balance changes to
a nonzero residual (a residual carried unchanged into the next month is not
reported again), and not for a pool-month that already has an allocation error
(that error says why the amount stayed).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from beancount.core import data

from .drivers import Month, month_label
from .pool_month import PoolMonth

ZERO = Decimal(0)
DEFAULT_POOL_ROOT_LEAF = "Shared"


class UnallocatedError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass
class PoolRootBalances:
    """Monthly net changes, per currency, of every account at or under the pool root."""

    root: str
    # account -> month -> currency -> net change
    changes: dict[str, dict[Month, dict[str, Decimal]]] = field(default_factory=dict)
    # account -> the first transaction that posted to it (where an error points if it has no open)
    first_entries: dict[str, data.Transaction] = field(default_factory=dict)
    _under: dict[str, bool] = field(default_factory=dict)

    def is_under_root(self, account: str) -> bool:
        under = self._under.get(account)
        if under is None:
            under = self._under[account] = account == self.root or account.startswith(self.root + ":")
        return under

    def add(self, entry: data.Transaction, account: str, currency: str, number: Decimal) -> None:
        month = (entry.date.year, entry.date.month)
        per_month = self.changes.setdefault(account, {})
        per_currency = per_month.setdefault(month, {})
        per_currency[currency] = per_currency.get(currency, ZERO) + number
        self.first_entries.setdefault(account, entry)

    def add_pool_months(self, pool: str, months: Mapping[Month, PoolMonth]) -> None:
        """A pool's changes, from its months (its postings and what upstream pools sent it)."""
        if not self.is_under_root(pool):
            return
        per_month = self.changes.setdefault(pool, {})
        for month, pool_month in months.items():
            per_currency = per_month.setdefault(month, {})
            for (currency, _), number in pool_month.groups.items():
                per_currency[currency] = per_currency.get(currency, ZERO) + number
            for problem in pool_month.problems:
                units = problem.posting.units
                if units is not None and units.number is not None:
                    per_currency[units.currency] = per_currency.get(units.currency, ZERO) + units.number

    def add_entries(self, entries: Iterable[data.Transaction], pools: Container[str]) -> None:
        """The generated entries' postings not already in a pool's months: each pool's own
        credit, and what they send to accounts under the root that are not pools."""
        for entry in entries:
            own_pool = entry.meta.get("pool")
            for posting in entry.postings:
                account = posting.account
                units = posting.units
                if units is None or units.number is None or not self.is_under_root(account):
                    continue
                if account == own_pool or account not in pools:
                    self.add(entry, account, units.currency, units.number)

    def errors(
        self,
        opens: Mapping[str, data.Open],
        pools: Container[str],
        explained: Container[tuple[str, Month]],
    ) -> list[UnallocatedError]:
        """One error per account and month whose month-end balance changed to a nonzero residual.

        Args:
          opens: the accounts' open directives (where the errors point).
          pools: the accounts an allocate rule names as pool.
          explained: the (pool, month) pairs that already have an allocation error.
        """
        errors: list[UnallocatedError] = []
        for account in sorted(self.changes):
            balance: dict[str, Decimal] = {}
            for month in sorted(self.changes[account]):
                changed = False
                for currency, number in self.changes[account][month].items():
                    if number != 0:
                        changed = True
                        balance[currency] = balance.get(currency, ZERO) + number
                held = {currency: number for currency, number in balance.items() if number != 0}
                if not changed or not held or (account, month) in explained:
                    continue
                amounts = ", ".join(f"{number} {currency}" for currency, number in sorted(held.items()))
                why = (
                    "its allocation left it"
                    if account in pools
                    else f"no allocate rule names it as a pool; add a rule, or book it outside {self.root}"
                )
                source = opens.get(account)
                first = self.first_entries.get(account)
                meta = (
                    source.meta
                    if source is not None
                    else first.meta
                    if first is not None
                    else data.new_metadata("<unknown>", 0)
                )
                errors.append(
                    UnallocatedError(
                        meta,
                        f"{account} holds {amounts} at the end of {month_label(month)} after allocation: "
                        f"every account under {self.root} is empty at month end, and {why}",
                        source,
                    )
                )
        return errors
