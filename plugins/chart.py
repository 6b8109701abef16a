"""The chart of accounts as the allocation sees it: what is opened, closed, of which kind.

Built once per load from the `open` and `close` directives and the parser's
options (the root names, which a ledger may rename with `name_expenses` and
friends, and the operating currencies). Every question a rule check asks about
an account is answered here: is it opened on a date, is it a profit-and-loss
account, does its `open` admit a currency, what opened account was probably
meant by a misspelt name.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from beancount.core import account, data
from beancount.core.account_types import DEFAULT_ACCOUNT_TYPES, AccountTypes

from .valuation import operating_currency


@dataclass(frozen=True)
class Chart:
    """The opened accounts of a ledger and the names of its root accounts."""

    opens: Mapping[str, data.Open]
    closes: Mapping[str, datetime.date]
    roots: AccountTypes
    # Every operating currency the ledger declares, in order; the first is the one
    # amounts are valued in (valuation.operating_currency: USD when it declares none).
    operating_currencies: tuple[str, ...]

    @classmethod
    def build(
        cls, opens: Iterable[data.Open], closes: Iterable[data.Close], options_map: Mapping[str, Any]
    ) -> Chart:
        open_map: dict[str, data.Open] = {}
        for entry in opens:
            open_map.setdefault(entry.account, entry)
        close_map: dict[str, datetime.date] = {}
        for close in closes:
            close_map.setdefault(close.account, close.date)
        # The ledger's own root names (option "name_expenses" and friends), read as
        # beancount.parser.options.get_account_types does.
        names = [
            options_map.get(f"name_{kind}")
            for kind in ("assets", "liabilities", "equity", "income", "expenses")
        ]
        roots = AccountTypes(*(str(name) for name in names)) if all(names) else DEFAULT_ACCOUNT_TYPES
        return cls(
            opens=open_map,
            closes=close_map,
            roots=roots,
            operating_currencies=tuple(options_map.get("operating_currency") or ())
            or (operating_currency(options_map),),
        )

    @property
    def operating_currency(self) -> str:
        return self.operating_currencies[0]

    def is_opened(self, name: str) -> bool:
        return name in self.opens

    def root(self, name: str) -> str:
        return account.root(1, name)

    def is_profit_and_loss(self, name: str) -> bool:
        return self.root(name) in (self.roots.expenses, self.roots.income)

    def subtree(self, name: str) -> list[str]:
        """The opened accounts at or under `name`."""
        prefix = name + ":"
        return [opened for opened in self.opens if opened == name or opened.startswith(prefix)]

    def parents(self) -> set[str]:
        """Every account that has an opened sub-account (the shape of a driver)."""
        names: set[str] = set()
        for name in self.opens:
            parts = name.split(":")
            names.update(":".join(parts[:n]) for n in range(2, len(parts)))
        return names

    def admitted_operating_currency(self, name: str) -> str | None:
        """An operating currency the account's `open` lists among its currencies, if any.

        An `open` without currencies admits any; that case is caught posting by
        posting instead (a driver with no constraint is the common, harmless case).
        """
        entry = self.opens.get(name)
        if entry is None or not entry.currencies:
            return None
        for currency in self.operating_currencies:
            if currency in entry.currencies:
                return currency
        return None

    def excludes(self, name: str, currency: str) -> bool:
        """True when the account's `open` restricts its currencies and `currency` is not one."""
        entry = self.opens.get(name)
        return entry is not None and bool(entry.currencies) and currency not in entry.currencies

    def inactive_on(self, name: str, date: datetime.date) -> str | None:
        """Why a posting to the account dated `date` would be refused, or None."""
        entry = self.opens.get(name)
        if entry is not None and entry.date > date:
            return f"opened only on {entry.date}"
        closed = self.closes.get(name)
        # A close sorts after the transactions of its own day: posting on that day is fine.
        if closed is not None and closed < date:
            return f"closed on {closed}"
        return None

    def closest(self, name: str, candidates: Iterable[str]) -> str | None:
        """The candidate most like `name` (a likely misspelling), if one is close enough."""
        matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def suggestion(self, name: str, candidates: Iterable[str]) -> str:
        """' (did you mean X?)' for the closest candidate, or ''."""
        match = self.closest(name, candidates)
        return f" (did you mean {match}?)" if match else ""
