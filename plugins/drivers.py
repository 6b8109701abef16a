"""Driver quantities: what weighs a pool's month, and every reason it cannot.

A driver is an account under which quantities (hours, GPU-hours, tokens) are
posted; its direct sub-accounts are the activities it measures, and deeper
sub-accounts add up into their activity. `DriverLog` collects one driver's
quantities by date in the plugin's single pass over the postings; `weights`
turns them into the (activity, target, quantity) triples of one pool-month, or
raises `AllocationFailure` with the reason and where it points.
"""

from __future__ import annotations

import bisect
import calendar
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from beancount.core import data

from .rules import BASIS_LATEST, AllocationRule

Month = tuple[int, int]
ZERO = Decimal(0)


def month_end(month: Month) -> datetime.date:
    year, number = month
    return datetime.date(year, number, calendar.monthrange(year, number)[1])


def month_label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


class AllocationFailure(Exception):
    """One pool-month that cannot be allocated; carries the reason and where it points."""

    def __init__(self, message: str, source: data.Meta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


@dataclass
class DriverLog:
    """Quantities posted under one driver account, by date and activity."""

    # date -> (activity key in lower case, unit) -> quantity; key "" is the driver itself.
    by_date: dict[datetime.date, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    # Activity key -> the sub-account name as written, for messages and metadata.
    names: dict[str, str] = field(default_factory=dict)
    # (date, activity key) -> the first transaction that posted there, and the first
    # that posted a negative quantity there: where an error about that date points.
    sources: dict[tuple[datetime.date, str], data.Transaction] = field(default_factory=dict)
    negative_sources: dict[tuple[datetime.date, str], data.Transaction] = field(default_factory=dict)
    # Postings of money (an operating currency) under the driver: each is an error,
    # and a driver that holds money weighs nothing.
    money_postings: list[tuple[data.Transaction, data.Posting]] = field(default_factory=list)
    _dates: list[datetime.date] | None = None

    def add(self, entry: data.Transaction, key: str, unit: str, qty: Decimal) -> None:
        date = entry.date
        day = self.by_date.get(date)
        if day is None:
            day = self.by_date[date] = {}
            self._dates = None
        slot = (key, unit)
        day[slot] = day.get(slot, ZERO) + qty
        place = (date, key)
        if place not in self.sources:
            self.sources[place] = entry
        if qty < 0 and place not in self.negative_sources:
            self.negative_sources[place] = entry

    @property
    def dates(self) -> list[datetime.date]:
        if self._dates is None:
            self._dates = sorted(self.by_date)
        return self._dates

    def window(self, month: Month, basis: str) -> list[datetime.date]:
        """The dates whose quantities weigh the given month."""
        dates = self.dates
        end = bisect.bisect_right(dates, month_end(month))
        if basis == BASIS_LATEST:
            return dates[end - 1 : end]
        start = bisect.bisect_left(dates, datetime.date(month[0], month[1], 1))
        return dates[start:end]

    def source(self, dates: list[datetime.date], key: str) -> data.Meta | None:
        """The metadata of the latest transaction in `dates` that posted to `key`,
        preferring one that posted a negative quantity."""
        for sources in (self.negative_sources, self.sources):
            for date in reversed(dates):
                entry = sources.get((date, key))
                if entry is not None:
                    return entry.meta
        return None

    def quantities(self, dates: Iterable[datetime.date]) -> dict[str, dict[str, Decimal]]:
        """Activity key -> unit -> total quantity over the given dates."""
        totals: dict[str, dict[str, Decimal]] = {}
        for date in dates:
            for (key, unit), qty in self.by_date[date].items():
                per_unit = totals.setdefault(key, {})
                per_unit[unit] = per_unit.get(unit, ZERO) + qty
        return totals


def driver_keys(account: str, logs: dict[str, DriverLog]) -> list[tuple[DriverLog, str]]:
    """The (driver log, activity key) pairs a posting to `account` counts towards.

    Worked out once per account; the activity's name as written is recorded in
    the log on the way. Key "" means the driver account itself.
    """
    keys: list[tuple[DriverLog, str]] = []
    for driver, log in logs.items():
        if account == driver:
            keys.append((log, ""))
        elif account.startswith(driver) and account[len(driver)] == ":":
            name = account[len(driver) + 1 :].split(":", 1)[0]
            key = name.lower()
            log.names.setdefault(key, name)
            keys.append((log, key))
    return keys


Weight = tuple[str, str, Decimal]  # (activity name as written, target account, quantity)


def weights(rule: AllocationRule, log: DriverLog, month: Month) -> tuple[list[Weight], str]:
    """The (activity name, target, quantity) triples and the unit weighing a month.

    Raises AllocationFailure for every reason the month cannot be split.
    """
    label = month_label(month)
    where = "dated in " + label if rule.basis != BASIS_LATEST else f"dated on or before {label}"
    dates = log.window(month, rule.basis)
    quantities = log.quantities(dates)

    direct = quantities.pop("", None)
    if direct and any(qty != 0 for qty in direct.values()):
        raise AllocationFailure(
            f"quantities posted on the driver account {rule.driver} itself, not on one of its "
            f"activities (sub-accounts), {where}",
            log.source(dates, ""),
        )
    units = {unit for per_unit in quantities.values() for unit, qty in per_unit.items() if qty}
    if not units and quantities:
        raise AllocationFailure(f"driver quantities on {rule.driver} {where} add up to zero")
    if not units:
        raise AllocationFailure(f"no driver quantities on {rule.driver} {where}")
    if len(units) > 1:
        raise AllocationFailure(f"driver {rule.driver} mixes units {', '.join(sorted(units))} {where}")
    (unit,) = units

    def name(key: str) -> str:
        return log.names.get(key, key)

    for key, per_unit in sorted(quantities.items()):
        qty = per_unit.get(unit, ZERO)
        if qty < 0:
            raise AllocationFailure(
                f"negative driver quantity {qty} {unit} for activity {name(key)} of {rule.driver} {where}",
                log.source(dates, key),
            )
        if qty > 0 and rule.target_for(key) is None:
            raise AllocationFailure(
                f"driver activity {name(key)} ({rule.driver}:{name(key)}, {qty} {unit} {where}) "
                f"has no target in the rule; add '{key}: <account>' to it"
            )
    # In the order the rule lists its activities, which also breaks rounding ties.
    result: list[Weight] = []
    for key, target in rule.targets:
        qty = quantities.get(key, {}).get(unit, ZERO)
        if qty > 0:
            result.append((name(key), target, qty))
    # Non-empty: a unit was found, so some activity has a positive quantity and a target.
    return result, unit
