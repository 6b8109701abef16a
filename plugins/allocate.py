"""Allocate shared cost pools to activities by driver quantities recorded in the ledger.

For each pool and each calendar month in which the pool's balance changed, the
plugin takes the pool's net change in that month, valued in the operating
currency, splits it in proportion to the driver quantities of the rule in
effect at the month's end, rounds the parts by the largest-remainder method (so
they add up exactly), and emits one transaction on the month's last day that
empties the pool into the targets.

Before (what finance writes, in ``main.beancount``)::

    option "operating_currency" "USD"
    plugin "ailab_books.plugins.allocate"

    2025-01-01 open Assets:Bank:Operating
    2025-01-01 open Expenses:Shared:Ops
    2025-01-01 open Expenses:COGS:Inference:Ops
    2025-01-01 open Expenses:RnD:Training:Ops
    2025-01-01 open Equity:Stats:Hours:Ops:Serving    HOUR
    2025-01-01 open Equity:Stats:Hours:Ops:Training   HOUR
    2025-01-01 open Equity:Stats:Offset               HOUR

    2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
      serving:  Expenses:COGS:Inference:Ops
      training: Expenses:RnD:Training:Ops

    2025-01-31 * "Payroll" "Datacentre operations staff, January"
      Expenses:Shared:Ops      100.00 USD
      Assets:Bank:Operating

    2025-01-31 * "Timesheets" "Datacentre operations hours, January"
      Equity:Stats:Hours:Ops:Serving    2 HOUR
      Equity:Stats:Hours:Ops:Training   1 HOUR
      Equity:Stats:Offset              -3 HOUR

After (what the plugin adds, dated the month's last day, after that day's postings)::

    2025-01-31 * "Allocate Expenses:Shared:Ops, 2025-01" #allocation ^alloc-Expenses-Shared-Ops-2025-01
      rule: "main.beancount:12"
      pool: "Expenses:Shared:Ops"
      driver: "Equity:Stats:Hours:Ops"
      basis: "period"
      period: "2025-01"
      Expenses:COGS:Inference:Ops    66.67 USD
        activity: "Serving"
        quantity: 2
        unit: "HOUR"
        share: "0.666667"
      Expenses:RnD:Training:Ops      33.33 USD
        activity: "Training"
        quantity: 1
        unit: "HOUR"
        share: "0.333333"
      Expenses:Shared:Ops          -100.00 USD

Rules are effective from their date until a later rule for the same pool
replaces them; the rule in effect on a month's last day governs that month. A
rule that fails a check still governs its months: their amounts stay in the
pool, with an error per month pointing at the rule (never a fall-back to an
earlier rule). Pools are processed in dependency order, so a pool that
allocates into another pool (step-down) is emptied first and the downstream
pool splits what it received in the same month; a cycle among pools is an
error.

A pool is exactly the account named in its rule: postings to its sub-accounts
are not part of it (a sub-account may be a pool of its own). A foreign amount
counts at its value (`pool_month`): the targets receive the value in the
operating currency and the pool is credited the same units at the same price,
so it is zero at month end in units and in value. After the allocation, every
account under the pool root (`Expenses:Shared`, or the plugin's setting
`pool-root=...`) must be empty at each month end (`residuals`).

The generated entries carry the synthetic filename `<ailab_books.plugins.allocate>`
(so Fava never edits or deletes the rule as if it were their source) and the
rule's location, relative to the main file, in `rule:`; errors point at the
rule's real file and line. Bad input never raises: it becomes an error pointing
at the rule (or at the posting at fault), and the month's amount stays in its
pool, where a balance sheet shows it. Nothing depends on the date the ledger is
loaded.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data
from beancount.core.amount import Amount

from .chart import Chart
from .config import parse_config
from .drivers import (
    AllocationFailure,
    DriverLog,
    Month,
    Weight,
    driver_keys,
    month_end,
    month_label,
    weights,
)
from .pool_month import PoolMonth, Problem, Valuer, quantum, split_value
from .residuals import DEFAULT_POOL_ROOT_LEAF, PoolRootBalances
from .rules import AllocationRule, BrokenRule, Rule, parse_rules, rule_in_effect, rule_order
from .source import SourceLines, relative_location

__plugins__ = ("allocate",)

TAG = "allocation"
# Generated entries carry a synthetic filename, as beancount's own generated entries
# do: Fava will not offer to edit or delete "the source" of an entry whose filename
# starts with "<". Their line numbers start above any real file's, so that on a
# month's last day they sort after that day's postings (beancount sorts by date,
# directive type, line number), numbered in processing order so that a step-down
# chain on the same day stays in order.
GENERATED_FILENAME = "<ailab_books.plugins.allocate>"
GENERATED_LINENO_BASE = 10**9
ZERO = Decimal(0)

__all__ = ["GENERATED_FILENAME", "TAG", "AllocationError", "allocate", "month_end", "month_label"]


class AllocationError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass
class _Ledger:
    """What the allocation reads from the directives, gathered in one pass."""

    opens: list[data.Open] = field(default_factory=list)
    closes: list[data.Close] = field(default_factory=list)
    customs: list[data.Custom] = field(default_factory=list)


def _scan_directives(entries: Iterable[data.Directive]) -> _Ledger:
    ledger = _Ledger()
    for entry in entries:
        if isinstance(entry, data.Open):
            ledger.opens.append(entry)
        elif isinstance(entry, data.Close):
            ledger.closes.append(entry)
        elif isinstance(entry, data.Custom):
            ledger.customs.append(entry)
    return ledger


@dataclass
class _Postings:
    """The pools' monthly changes and the drivers' quantities, from one pass over the postings."""

    pool_months: dict[str, dict[Month, PoolMonth]]
    logs: dict[str, DriverLog]
    balances: PoolRootBalances


def _scan_postings(
    entries: Iterable[data.Directive],
    pools: Iterable[str],
    drivers: Iterable[str],
    valuer: Valuer,
    pool_root: str,
    money: frozenset[str],
) -> _Postings:
    pool_months: dict[str, dict[Month, PoolMonth]] = {pool: {} for pool in pools}
    logs = {driver: DriverLog() for driver in drivers}
    balances = PoolRootBalances(pool_root)
    # Per account, worked out once: the driver activities it counts towards, its
    # months if it is a pool, and whether it is another account under the pool root
    # (a pool's own balance is read from its months afterwards). Most accounts are
    # none of these, and cost one dictionary look-up per posting.
    accounts: dict[str, _AccountRole | None] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            account = posting.account
            role = accounts.get(account, _UNSEEN)
            if role is _UNSEEN:
                role = accounts[account] = _account_role(account, logs, pool_months, balances)
            if role is None:
                continue
            units = posting.units
            if units is None or units.number is None:
                continue
            keys, months, other_under_root = role
            if other_under_root:
                balances.add(entry, account, units.currency, units.number)
            if months is not None:
                month = (entry.date.year, entry.date.month)
                pool_month = months.get(month)
                if pool_month is None:
                    pool_month = months[month] = PoolMonth()
                group = valuer.group(posting, entry.date)
                if isinstance(group, str):
                    pool_month.problems.append(Problem(entry, posting, group))
                else:
                    pool_month.add(group, units.number)
            for log, key in keys:
                log.add(entry, key, units.currency, units.number)
                if units.currency in money:
                    log.money_postings.append((entry, posting))
    return _Postings(pool_months, logs, balances)


_AccountRole = tuple[list[tuple[DriverLog, str]], dict[Month, PoolMonth] | None, bool]
_UNSEEN: Any = object()


def _account_role(
    account: str,
    logs: dict[str, DriverLog],
    pool_months: dict[str, dict[Month, PoolMonth]],
    balances: PoolRootBalances,
) -> _AccountRole | None:
    keys = driver_keys(account, logs)
    months = pool_months.get(account)
    other_under_root = months is None and balances.is_under_root(account)
    if not keys and months is None and not other_under_root:
        return None
    return keys, months, other_under_root


def _pool_root(chart: Chart, configured: str | None) -> str:
    return configured or f"{chart.roots.expenses}:{DEFAULT_POOL_ROOT_LEAF}"


def _dependency_order(
    rules_by_pool: Mapping[str, list[Rule]],
) -> tuple[list[str], dict[str, list[str]]]:
    """Order pools so that every pool comes before the pools it allocates into.

    Returns the order of the pools outside any cycle and, for each pool inside a
    cycle, the cycle's members (Tarjan's strongly connected components). A broken
    rule passes nothing on, so it adds no edge.
    """
    graph = {
        pool: sorted(
            {
                target
                for rule in rules
                if isinstance(rule, AllocationRule)
                for target in rule.target_accounts
                if target in rules_by_pool and target != pool
            }
        )
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


def _share(qty: Decimal, total: Decimal) -> str:
    return format((qty / total).quantize(Decimal("0.000001")).normalize(), "f")


@dataclass
class _Emitter:
    """Builds the generated entries, numbered in processing order."""

    operating_currency: str
    dcontext: Any
    main_dir: str | None
    sequence: int = 0
    # Rule location ("file:line" as written in the books) -> its form relative to the main file.
    _relative: dict[str, str] = field(default_factory=dict)

    def relative_location(self, rule: AllocationRule) -> str:
        relative = self._relative.get(rule.location)
        if relative is None:
            relative = self._relative[rule.location] = relative_location(rule.meta, self.main_dir)
        return relative

    def _location(self) -> dict[str, Any]:
        return {"filename": GENERATED_FILENAME, "lineno": GENERATED_LINENO_BASE + self.sequence}

    def _parts(self, pool_month: PoolMonth, weights: list[Weight]) -> list[Decimal]:
        """Each target's part of the month's value in the operating currency."""
        quantities = [qty for _, _, qty in weights]
        unit = quantum(pool_month, self.operating_currency, self.dcontext)
        return split_value(pool_month, quantities, unit)

    def entry(
        self, rule: AllocationRule, month: Month, pool_month: PoolMonth, weights: list[Weight], unit: str
    ) -> data.Transaction:
        self.sequence += 1
        location = self._location()
        total_qty = sum((qty for _, _, qty in weights), ZERO)
        postings: list[data.Posting] = []

        for (name, target, qty), part in zip(weights, self._parts(pool_month, weights), strict=True):
            if part != 0:
                meta = dict(location, activity=name, quantity=qty, unit=unit, share=_share(qty, total_qty))
                postings.append(
                    data.Posting(target, Amount(part, self.operating_currency), None, None, None, meta)
                )
        # The pool gives back the same units at the same price, so it ends the month
        # at zero in units and in value, and the entry balances in weight.
        for (currency, price), number in sorted(pool_month.groups.items(), key=_credit_order):
            if number != 0:
                at = Amount(price, self.operating_currency) if price is not None else None
                postings.append(
                    data.Posting(rule.pool, Amount(-number, currency), None, at, None, dict(location))
                )
        label = month_label(month)
        meta = dict(
            location,
            rule=self.relative_location(rule),
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


def _credit_order(item: tuple[tuple[str, Decimal | None], Decimal]) -> tuple[int, str, Decimal]:
    (currency, price), _ = item
    return (price is not None, currency, price if price is not None else ZERO)


def _prevalidate(rule: AllocationRule, month: Month, currency: str, chart: Chart) -> None:
    """Raise AllocationFailure for what beancount would refuse in the generated entry,
    where its error would point at no line of the books."""
    end = month_end(month)
    why = chart.inactive_on(rule.pool, end)
    if why:
        raise AllocationFailure(f"the pool is {why}, before the month's end")
    for _, target in rule.targets:
        why = chart.inactive_on(target, end)
        if why:
            raise AllocationFailure(f"target {target} is {why}, before the month's end")
        if chart.excludes(target, currency):
            raise AllocationFailure(f"target {target} is opened for other currencies than {currency}")


@dataclass
class _Run:
    """One allocation run: the state shared by its steps."""

    chart: Chart
    rules_by_pool: dict[str, list[Rule]]
    postings: _Postings
    emitter: _Emitter
    errors: list[Any] = field(default_factory=list)
    generated: list[data.Transaction] = field(default_factory=list)
    # (pool, month) pairs with an allocation error: their amount stays, already explained.
    explained: set[tuple[str, Month]] = field(default_factory=set)

    def fail(
        self, pool: str, month: Month, source: data.Meta, message: str, entry: data.Directive | None
    ) -> None:
        self.errors.append(AllocationError(source, message, entry))
        self.explained.add((pool, month))

    def allocate_pool(self, pool: str) -> None:
        describe = self.emitter.operating_currency
        rules = self.rules_by_pool[pool]
        months = self.postings.pool_months[pool]
        for month in sorted(months):
            pool_month = months[month]
            if pool_month.is_zero():
                continue
            label = month_label(month)
            amounts = pool_month.describe(describe)
            for problem in pool_month.problems:
                units = problem.posting.units
                self.fail(
                    pool,
                    month,
                    problem.entry.meta,
                    f"Cannot allocate {pool} for {label}: its posting of {units} on {problem.entry.date} "
                    f"cannot be valued: {problem.reason}; the month's amount stays in the pool",
                    problem.entry,
                )
            if pool_month.problems:
                continue
            rule = rule_in_effect(rules, month_end(month))
            if rule is None:
                first = rules[0]
                self.fail(
                    pool,
                    month,
                    first.meta,
                    f"{pool} changed by {amounts} in {label}, before its first allocate rule "
                    f"({first.date}); the amount stays in the pool",
                    first.entry,
                )
                continue
            if isinstance(rule, BrokenRule):
                self.fail(
                    pool,
                    month,
                    rule.meta,
                    f"Cannot allocate {amounts} of {pool} for {label}: the rule at {rule.location} is "
                    "invalid (see the error there); the amount stays in the pool",
                    rule.entry,
                )
                continue
            try:
                _prevalidate(rule, month, self.emitter.operating_currency, self.chart)
                month_weights, unit = weights(rule, self.postings.logs[rule.driver], month)
            except AllocationFailure as failure:
                self.fail(
                    pool,
                    month,
                    failure.source or rule.meta,
                    f"Cannot allocate {amounts} of {pool} for {label}: {failure.message}; "
                    "the amount stays in the pool",
                    rule.entry,
                )
                continue
            entry = self.emitter.entry(rule, month, pool_month, month_weights, unit)
            self.generated.append(entry)
            self._step_down(pool, month, entry)

    def _step_down(self, pool: str, month: Month, entry: data.Transaction) -> None:
        """What lands in a downstream pool is part of its change this month."""
        for posting in entry.postings:
            downstream = self.postings.pool_months.get(posting.account)
            units = posting.units
            if downstream is None or posting.account == pool or units is None or units.number is None:
                continue
            target_month = downstream.get(month)
            if target_month is None:
                target_month = downstream[month] = PoolMonth()
            target_month.add((units.currency, None), units.number)


def _break_money_drivers(rules: list[Rule], logs: Mapping[str, DriverLog], errors: list[Any]) -> list[Rule]:
    """A driver with money posted under it is no quantity: each such posting is an error,
    and every rule weighed by that driver governs its months as a broken rule."""
    money_drivers: set[str] = set()
    for driver, log in sorted(logs.items()):
        for entry, posting in log.money_postings:
            money_drivers.add(driver)
            errors.append(
                AllocationError(
                    entry.meta,
                    f"Posting of {posting.units} to {posting.account}, under the allocation driver "
                    f"{driver}: a driver holds quantities, never the operating currency; the pools it "
                    "weighs are not allocated until this is moved",
                    entry,
                )
            )
    return [
        BrokenRule(rule.date, rule.pool, rule.entry)
        if isinstance(rule, AllocationRule) and rule.driver in money_drivers
        else rule
        for rule in rules
    ]


def _config_errors(options_map: Mapping[str, Any], problems: list[str], source: SourceLines) -> list[Any]:
    filename = str(options_map.get("filename") or "<unknown>")
    meta = data.new_metadata(filename, source.find_line(filename, '"ailab_books.plugins.allocate"'))
    return [
        AllocationError(meta, f"Invalid allocate plugin setting: {problem}", None) for problem in problems
    ]


def allocate(
    entries: list[data.Directive], options_map: Mapping[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[Any]]:
    """Beancount plugin: emit the allocation transactions for every pool and month.

    Args:
      entries: the ledger's directives.
      options_map: the parser's options (root names, operating currency, main file).
      config: optional settings, e.g. "pool-root=Expenses:Overhead" (see config.py).
    Returns:
      The entries plus one generated transaction per pool and month, sorted, and
      the errors found.
    """
    # Scan: the accounts, the rules, the settings.
    ledger = _scan_directives(entries)
    chart = Chart.build(ledger.opens, ledger.closes, options_map)
    source = SourceLines()
    settings, problems = parse_config(config)
    errors: list[Any] = _config_errors(options_map, problems, source)
    pool_root = _pool_root(chart, settings.pool_root)
    rules, rule_errors = parse_rules(ledger.customs, chart, source, pool_root)
    errors.extend(rule_errors)

    pools = sorted({rule.pool for rule in rules})
    drivers = sorted({rule.driver for rule in rules if isinstance(rule, AllocationRule)})
    valuer = Valuer(entries, chart.operating_currency)
    postings = _scan_postings(
        entries, pools, drivers, valuer, pool_root, frozenset(chart.operating_currencies)
    )
    # Grouped once the money-holding drivers have broken their rules.
    rules = _break_money_drivers(rules, postings.logs, errors)
    rules_by_pool: dict[str, list[Rule]] = defaultdict(list)
    for rule in rules:
        rules_by_pool[rule.pool].append(rule)
    for pool_rules in rules_by_pool.values():
        pool_rules.sort(key=rule_order)

    # Order: upstream pools first; a cycle keeps every member's amounts where they are.
    order, cycles = _dependency_order(rules_by_pool)
    main_file = options_map.get("filename")
    main_dir = (
        os.path.dirname(os.path.abspath(main_file))
        if isinstance(main_file, str) and not main_file.startswith("<")
        else None
    )
    run = _Run(
        chart,
        rules_by_pool,
        postings,
        _Emitter(chart.operating_currency, options_map.get("dcontext"), main_dir),
        errors,
    )
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
        run.explained.update((pool, month) for month in postings.pool_months[pool])

    # Emit: one entry per pool and month, in dependency order.
    for pool in order:
        run.allocate_pool(pool)

    # Check: nothing left under the pool root.
    for pool, months in postings.pool_months.items():
        postings.balances.add_pool_months(pool, months)
    postings.balances.add_entries(run.generated, postings.pool_months)
    errors.extend(postings.balances.errors(chart.opens, rules_by_pool, run.explained))

    if not run.generated:
        return entries, errors
    return sorted([*entries, *run.generated], key=data.entry_sortkey), errors


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
    printer.print_errors(errors, file=sys.stderr)  # type: ignore[no-untyped-call]
    for entry in entries:
        if (
            isinstance(entry, data.Transaction)
            and TAG in entry.tags
            and (args.pool is None or entry.meta.get("pool") == args.pool)
        ):
            printer.print_entry(entry, file=sys.stdout)  # type: ignore[no-untyped-call]
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
