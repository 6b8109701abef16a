"""Allocate shared cost pools to activities by driver quantities recorded in the ledger.

For each pool, each calendar month in which the pool's balance changed and each
currency, the plugin takes the pool's net change in that month, splits it in
proportion to the driver quantities of the rule in effect at the month's end,
rounds the parts to the precision of the pool's amounts by the largest-remainder
method (so the parts add up exactly), and emits one transaction on the month's
last day that empties the pool into the targets.

Before (what finance writes)::

    plugin "ailab_books.plugins.allocate"

    2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
      serving:  Expenses:COGS:Inference:Ops
      training: Expenses:RnD:Training:Ops

    2025-01-31 * "Payroll" "Datacentre operations staff, January"
      Expenses:Shared:Ops      100.00 USD
      Assets:Bank:Operating

    2025-01-31 * "Timesheets" "Datacentre operations hours, January"
      Equity:Stats:Hours:Ops:Serving   2 HOUR
      Equity:Stats:Hours:Ops:Training  1 HOUR
      Equity:Stats:Offset                       -3 HOUR

After (what the plugin adds, dated the month's last day)::

    2025-01-31 * "Allocate Expenses:Shared:Ops, 2025-01" #allocation ^alloc-Expenses-Shared-Ops-2025-01
      rule: "main.beancount:3"
      pool: "Expenses:Shared:Ops"
      driver: "Equity:Stats:Hours:Ops"
      basis: "period"
      period: "2025-01"
      Expenses:COGS:Inference:Ops     66.67 USD
        activity: "Serving"
        quantity: 2
        unit: "HOUR"
        share: "0.666667"
      Expenses:RnD:Training:Ops       33.33 USD
        activity: "Training"
        quantity: 1
        unit: "HOUR"
        share: "0.333333"
      Expenses:Shared:Ops           -100.00 USD

Rules are effective from their date until a later rule for the same pool
replaces them; the rule in effect on a month's last day governs that month.
Pools are processed in dependency order, so a pool that allocates into another
pool (step-down) is emptied first and the downstream pool splits what it
received in the same month; a cycle among pools is an error.

A pool is exactly the account named in its rule: postings to its sub-accounts
are not part of it (a sub-account may be a pool of its own).

Bad input never raises: it becomes an `AllocationError` pointing at the rule (or
at the driver posting at fault), and the month's amount stays in its pool, where
a balance sheet shows it. Nothing depends on the date the ledger is loaded.
"""

from __future__ import annotations

import bisect
import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from beancount.core import data
from beancount.core.amount import Amount

from ailab_books.plugins.rounding import split_largest_remainder
from ailab_books.plugins.rules import BASIS_LATEST, AllocationRule, parse_rules

__plugins__ = ("allocate",)

TAG = "allocation"
Month = tuple[int, int]


class AllocationError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


def month_end(month: Month) -> datetime.date:
    year, number = month
    return datetime.date(year, number, calendar.monthrange(year, number)[1])


def month_label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


ZERO = Decimal(0)


@dataclass
class _PoolMonth:
    """A pool's net change in one month, per currency.

    Decimal addition keeps the finest exponent of its operands (1.10 + 2.90 is
    4.00, 10.005 - 10.005 is 0.000), so the total also carries the precision of
    the pool's amounts that month.
    """

    totals: dict[str, Decimal] = field(default_factory=dict)

    def add(self, currency: str, number: Decimal) -> None:
        self.totals[currency] = self.totals.get(currency, ZERO) + number

    def places(self, currency: str) -> int:
        return _places(self.totals[currency])


@dataclass
class _DriverLog:
    """Quantities posted under one driver account, by date and activity."""

    # date -> (activity key in lower case, unit) -> quantity; key "" is the driver itself.
    by_date: dict[datetime.date, dict[tuple[str, str], Decimal]] = field(default_factory=dict)
    # Activity key -> the sub-account name as written, for messages and metadata.
    names: dict[str, str] = field(default_factory=dict)
    # (date, activity key) -> the first transaction that posted there, and the first
    # that posted a negative quantity there: where an error about that date points.
    sources: dict[tuple[datetime.date, str], data.Transaction] = field(default_factory=dict)
    negative_sources: dict[tuple[datetime.date, str], data.Transaction] = field(default_factory=dict)
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


class _Failure(Exception):
    """One pool-month that cannot be allocated; carries the error to report."""

    def __init__(self, message: str, source: data.Meta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


def _dependency_order(
    rules_by_pool: dict[str, list[AllocationRule]],
) -> tuple[list[str], dict[str, list[str]]]:
    """Order pools so that every pool comes before the pools it allocates into.

    Returns the order of the pools outside any cycle and, for each pool inside a
    cycle, the cycle's members (Tarjan's strongly connected components).
    """
    graph = {
        pool: sorted({t for rule in rules for t in rule.target_accounts if t in rules_by_pool and t != pool})
        for pool, rules in rules_by_pool.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    # Tarjan emits components in reverse topological order.
    order: list[str] = []
    cycles: dict[str, list[str]] = {}
    for component in reversed(components):
        if len(component) > 1:
            for member in component:
                cycles[member] = component
        else:
            order.extend(component)
    return order, cycles


def _rule_in_effect(rules: list[AllocationRule], month: Month) -> AllocationRule | None:
    """The latest rule dated on or before the month's last day (rules sorted by date)."""
    end = month_end(month)
    in_effect = None
    for rule in rules:
        if rule.date <= end:
            in_effect = rule
        else:
            break
    return in_effect


def _weights(
    rule: AllocationRule, log: _DriverLog, month: Month
) -> tuple[list[tuple[str, str, Decimal]], str]:
    """The (activity name, target, quantity) triples and the unit weighing a month.

    Raises _Failure for every reason the month cannot be split.
    """
    label = month_label(month)
    where = "dated in " + label if rule.basis != BASIS_LATEST else f"dated on or before {label}"
    dates = log.window(month, rule.basis)
    quantities = log.quantities(dates)

    direct = quantities.pop("", None)
    if direct and any(qty != 0 for qty in direct.values()):
        raise _Failure(
            f"quantities posted on the driver account {rule.driver} itself, not on one of its "
            f"activities (sub-accounts), {where}",
            log.source(dates, ""),
        )
    units = {unit for per_unit in quantities.values() for unit, qty in per_unit.items() if qty}
    if not units and quantities:
        raise _Failure(f"driver quantities on {rule.driver} {where} add up to zero")
    if not units:
        raise _Failure(f"no driver quantities on {rule.driver} {where}")
    if len(units) > 1:
        raise _Failure(f"driver {rule.driver} mixes units {', '.join(sorted(units))} {where}")
    (unit,) = units

    def name(key: str) -> str:
        return log.names.get(key, key)

    for key, per_unit in sorted(quantities.items()):
        qty = per_unit.get(unit, ZERO)
        if qty < 0:
            raise _Failure(
                f"negative driver quantity {qty} {unit} for activity {name(key)} of {rule.driver} {where}",
                log.source(dates, key),
            )
        if qty > 0 and rule.target_for(key) is None:
            raise _Failure(
                f"driver activity {name(key)} ({rule.driver}:{name(key)}, {qty} {unit} {where}) "
                f"has no target in the rule; add '{key}: <account>' to it"
            )
    # In the order the rule lists its activities, which also breaks rounding ties.
    weights = []
    for key, target in rule.targets:
        qty = quantities.get(key, {}).get(unit, ZERO)
        if qty > 0:
            weights.append((name(key), target, qty))
    # Non-empty: a unit was found, so some activity has a positive quantity and a target.
    return weights, unit


def _share(qty: Decimal, total: Decimal) -> str:
    return format((qty / total).quantize(Decimal("0.000001")).normalize(), "f")


def _allocation_entry(
    rule: AllocationRule,
    month: Month,
    pool_month: _PoolMonth,
    weights: list[tuple[str, str, Decimal]],
    unit: str,
) -> data.Transaction:
    label = month_label(month)
    total_qty = sum((qty for _, _, qty in weights), ZERO)
    location = {
        "filename": rule.meta.get("filename", "<allocate>"),
        "lineno": rule.meta.get("lineno", 0),
    }
    postings = []
    for currency in sorted(pool_month.totals):
        amount = pool_month.totals[currency]
        if amount == 0:
            continue
        quantum = Decimal(1).scaleb(-pool_month.places(currency))
        parts = split_largest_remainder(amount, [qty for _, _, qty in weights], quantum)
        for (name, target, qty), part in zip(weights, parts, strict=True):
            if part == 0:
                continue
            meta = dict(location, activity=name, quantity=qty, unit=unit, share=_share(qty, total_qty))
            postings.append(data.Posting(target, Amount(part, currency), None, None, None, meta))
        postings.append(data.Posting(rule.pool, Amount(-amount, currency), None, None, None, dict(location)))
    meta = dict(
        location,
        rule=rule.location,
        pool=rule.pool,
        driver=rule.driver,
        basis=rule.basis,
        period=label,
    )
    return data.Transaction(
        meta,
        month_end(month),
        "*",
        None,
        f"Allocate {rule.pool}, {label}",
        frozenset({TAG}),
        frozenset({f"alloc-{rule.pool.replace(':', '-')}-{label}"}),
        postings,
    )


def _driver_keys(account: str, logs: dict[str, _DriverLog]) -> list[tuple[_DriverLog, str]]:
    """The (driver log, activity key) pairs a posting to `account` counts towards.

    Worked out once per account; the activity's name as written is recorded in
    the log on the way. Key "" means the driver account itself.
    """
    keys: list[tuple[_DriverLog, str]] = []
    for driver, log in logs.items():
        if account == driver:
            keys.append((log, ""))
        elif account.startswith(driver) and account[len(driver)] == ":":
            name = account[len(driver) + 1 :].split(":", 1)[0]
            key = name.lower()
            log.names.setdefault(key, name)
            keys.append((log, key))
    return keys


def allocate(
    entries: list[data.Directive], options_map: dict, config: str | None = None
) -> tuple[list[data.Directive], list]:
    """Beancount plugin: emit the allocation transactions for every pool and month.

    Args:
      entries: the ledger's directives.
      options_map: the parser's options (unused).
      config: unused; rules live in the ledger as `custom "allocate"` directives.
    Returns:
      The entries plus one generated transaction per pool and month, sorted, and
      the errors found.
    """
    del options_map, config
    opened: set[str] = set()
    customs: list[data.Custom] = []
    for entry in entries:
        if isinstance(entry, data.Open):
            opened.add(entry.account)
        elif isinstance(entry, data.Custom):
            customs.append(entry)
    rules, rule_errors = parse_rules(customs, opened)
    errors: list = list(rule_errors)
    if not rules:
        return entries, errors

    rules_by_pool: dict[str, list[AllocationRule]] = defaultdict(list)
    for rule in rules:
        rules_by_pool[rule.pool].append(rule)
    for pool_rules in rules_by_pool.values():
        pool_rules.sort(key=lambda r: r.date)
    drivers = sorted({rule.driver for rule in rules})

    # One pass over the postings: the pools' monthly changes and the drivers' quantities.
    pool_months: dict[str, dict[Month, _PoolMonth]] = {pool: {} for pool in rules_by_pool}
    logs: dict[str, _DriverLog] = {driver: _DriverLog() for driver in drivers}
    driver_keys_cache: dict[str, list[tuple[_DriverLog, str]]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            account = posting.account
            units = posting.units
            if account in pool_months:
                month = (entry.date.year, entry.date.month)
                pool_month = pool_months[account].get(month)
                if pool_month is None:
                    pool_month = pool_months[account][month] = _PoolMonth()
                pool_month.add(units.currency, units.number)
            keys = driver_keys_cache.get(account)
            if keys is None:
                keys = driver_keys_cache[account] = _driver_keys(account, logs)
            for log, key in keys:
                log.add(entry, key, units.currency, units.number)

    order, cycles = _dependency_order(rules_by_pool)
    for pool in sorted(cycles):
        first = rules_by_pool[pool][0]
        errors.append(
            AllocationError(
                first.meta,
                f"Allocation cycle among pools {' -> '.join(cycles[pool])}: {pool} is not "
                "allocated and its costs stay in it",
                first.entry,
            )
        )

    generated: list[data.Directive] = []
    for pool in order:
        pool_rules = rules_by_pool[pool]
        for month in sorted(pool_months[pool]):
            pool_month = pool_months[pool][month]
            if all(amount == 0 for amount in pool_month.totals.values()):
                continue
            rule = _rule_in_effect(pool_rules, month)
            amounts = ", ".join(
                f"{amount} {currency}" for currency, amount in sorted(pool_month.totals.items())
            )
            if rule is None:
                first = pool_rules[0]
                errors.append(
                    AllocationError(
                        first.meta,
                        f"{pool} changed by {amounts} in {month_label(month)}, before its first "
                        f"allocate rule ({first.date}); the amount stays in the pool",
                        first.entry,
                    )
                )
                continue
            try:
                weights, unit = _weights(rule, logs[rule.driver], month)
            except _Failure as failure:
                errors.append(
                    AllocationError(
                        failure.source or rule.meta,
                        f"Cannot allocate {amounts} of {pool} for {month_label(month)}: "
                        f"{failure.message}; the amount stays in the pool",
                        rule.entry,
                    )
                )
                continue
            entry = _allocation_entry(rule, month, pool_month, weights, unit)
            generated.append(entry)
            # Step-down: what lands in a downstream pool is part of its change this month.
            for posting in entry.postings:
                downstream = pool_months.get(posting.account)
                if downstream is not None and posting.account != pool:
                    target_month = downstream.get(month)
                    if target_month is None:
                        target_month = downstream[month] = _PoolMonth()
                    target_month.add(posting.units.currency, posting.units.number)

    if not generated:
        return entries, errors
    return sorted([*entries, *generated], key=data.entry_sortkey), errors


def main(argv: list[str] | None = None) -> int:
    """Print the allocation transactions a ledger generates, as beancount text.

    The plugin derives them at every load; this shows auditors exactly what the
    books contain: `python -m ailab_books.plugins.allocate ledger/main.beancount`.
    """
    import argparse
    import sys

    from beancount import loader
    from beancount.parser import printer

    parser = argparse.ArgumentParser(prog="python -m ailab_books.plugins.allocate", description=main.__doc__)
    parser.add_argument("ledger", help="the beancount file to load")
    parser.add_argument("--pool", help="only the allocations of this pool account")
    args = parser.parse_args(argv)
    entries, errors, _ = loader.load_file(args.ledger)
    printer.print_errors(errors, file=sys.stderr)
    for entry in entries:
        if (
            isinstance(entry, data.Transaction)
            and TAG in entry.tags
            and (args.pool is None or entry.meta.get("pool") == args.pool)
        ):
            printer.print_entry(entry, file=sys.stdout)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
