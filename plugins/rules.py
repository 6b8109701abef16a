"""Read `custom "allocate"` directives into allocation rules, and check them.

A rule names a cost pool and a driver account, and maps each activity of the
driver (a direct sub-account of it, compared case-insensitively) to a target
account::

    2025-01-01 custom "allocate" Expenses:Shared:DatacenterOps Equity:Stats:Hours:DatacenterOps
      serving:  Expenses:COGS:Inference:DatacenterOps
      training: Expenses:RnD:Training:DatacenterOps
      basis: "latest"

`basis` is optional: "period" (the default) weighs by the driver quantities
dated inside the month; "latest" by those of the most recent date on or before
the month's end (a standing time-study estimate).

Each problem becomes an `AllocationRuleError` pointing at the directive. A rule
with a problem is not dropped: as long as its pool can be read (its first value
is an account name) it becomes a `BrokenRule`, which governs its pool from its
date like any rule, and under which nothing moves. Dropping it would hand its
months back to an earlier rule for the same pool, a different figure with an
error that reads as if only the new rule had been refused.

What a rule may name (money only moves between profit-and-loss accounts):

- the pool is an opened Expenses or Income account (the ledger's root names);
- every target is an opened account of the pool's own root, not the pool
  itself, not inside the driver's subtree, open on the months it receives;
- the driver is a quantity account: not a profit-and-loss account, and no
  `open` at or under it lists an operating currency;
- no metadata key is written twice (read back from the source file).
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from beancount.core import account, data

from .chart import Chart
from .source import SourceLines, repeated_keys

RULE_TYPE = "allocate"
BASIS_PERIOD = "period"
BASIS_LATEST = "latest"
BASES = (BASIS_PERIOD, BASIS_LATEST)

# Metadata keys of a rule that are not activities.
_RESERVED_KEYS = frozenset({"filename", "lineno", "basis"})


class AllocationRuleError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


def _location(meta: data.Meta) -> str:
    return f"{meta.get('filename', '<unknown>')}:{meta.get('lineno', 0)}"


@dataclass(frozen=True)
class _RuleDirective:
    """What every `custom "allocate"` directive whose pool can be read has: the
    date it governs from, the pool, and the directive (for errors' locations)."""

    date: datetime.date
    pool: str
    entry: data.Custom = field(compare=False, repr=False)

    @property
    def meta(self) -> data.Meta:
        return self.entry.meta

    @property
    def location(self) -> str:
        return _location(self.meta)


@dataclass(frozen=True, kw_only=True)
class AllocationRule(_RuleDirective):
    """One valid `custom "allocate"` directive."""

    driver: str
    # Activity name (lower case) -> target account, in the order written.
    targets: tuple[tuple[str, str], ...]
    basis: str

    def target_for(self, activity: str) -> str | None:
        wanted = activity.lower()
        for name, target in self.targets:
            if name == wanted:
                return target
        return None

    @property
    def target_accounts(self) -> frozenset[str]:
        return frozenset(target for _, target in self.targets)


@dataclass(frozen=True)
class BrokenRule(_RuleDirective):
    """A rule that failed a check: it governs its pool from its date, and nothing moves."""


Rule = AllocationRule | BrokenRule


def _account_value(value: object) -> str | None:
    return value if isinstance(value, str) and account.is_valid(value) else None


def _read_accounts(entry: data.Custom) -> tuple[str | None, str | None, bool]:
    """The pool and driver a rule names, and whether the values are well-formed.

    Accounts are written bare; a quoted account name is accepted too, since it is
    unambiguous and a common slip.
    """
    values = entry.values or []
    accounts = [_account_value(v.value) if v.dtype in (account.TYPE, str) else None for v in values]
    pool = accounts[0] if accounts else None
    driver = accounts[1] if len(accounts) > 1 else None
    return pool, driver, len(values) == 2 and pool is not None and driver is not None


def _read_targets(
    entry: data.Custom, pool: str, error: _Report, report_repeats: bool
) -> list[tuple[str, str]]:
    targets: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in entry.meta.items():
        if key in _RESERVED_KEYS or key.startswith("__"):
            continue
        target = _account_value(value)
        if target is None:
            error(
                f"Invalid target for activity '{key}' in allocate rule for {pool}: "
                f"expected an account name, got {value!r}"
            )
            continue
        if key.lower() in seen:
            if report_repeats:
                error(f"Activity '{key}' is mapped twice in allocate rule for {pool}")
            continue
        seen.add(key.lower())
        targets.append((key.lower(), target))
    return targets


def _check_repeated_keys(
    entry: data.Custom, pool: str, keys: list[tuple[str, int]] | None, error: _Report
) -> None:
    if keys is None:  # source not readable (e.g. a ledger loaded from a string): skip
        return
    for key, lines in sorted(repeated_keys(keys).items()):
        what = "Key" if key in _RESERVED_KEYS else "Activity"
        error(
            f"{what} '{key}' is written {len(lines)} times in allocate rule for {pool} (lines "
            f"{', '.join(str(n) for n in lines)}); beancount keeps only the last, so write it once"
        )


class _Report:
    """Collects the errors of one rule, all pointing at the rule."""

    def __init__(self, entry: data.Custom) -> None:
        self.entry = entry
        self.errors: list[AllocationRuleError] = []

    def __call__(self, message: str) -> None:
        self.errors.append(AllocationRuleError(self.entry.meta, message, self.entry))


def _check_pool(pool: str, chart: Chart, pool_candidates: Iterable[str], error: _Report) -> None:
    if not chart.is_opened(pool):
        error(
            f"Allocate rule names pool account {pool}, which is not opened"
            + chart.suggestion(pool, pool_candidates)
        )
    if not chart.is_profit_and_loss(pool):
        error(
            f"Allocate rule names pool account {pool}, which is under {chart.root(pool)}: a pool is an "
            f"{chart.roots.expenses} or {chart.roots.income} account (money only moves between "
            "profit-and-loss accounts)"
        )


def _check_driver(driver: str, chart: Chart, error: _Report) -> None:
    subtree = chart.subtree(driver)
    if not subtree:
        error(
            f"Allocate rule names driver account {driver}, which is not opened"
            + chart.suggestion(driver, chart.parents())
        )
    if chart.is_profit_and_loss(driver):
        error(
            f"Allocate rule names driver account {driver}, which is under {chart.root(driver)}: a "
            "driver holds quantities (hours, GPU-hours, tokens), never a profit-and-loss account"
        )
    for name in subtree:
        currency = chart.admitted_operating_currency(name)
        if currency is not None:
            where = "" if name == driver else f" (its sub-account {name})"
            error(
                f"Allocate rule names driver account {driver}, whose open{where} admits the operating "
                f"currency {currency}: a driver holds quantities, not money"
            )
            break


def _check_targets(
    pool: str, driver: str, targets: list[tuple[str, str]], chart: Chart, error: _Report
) -> None:
    pool_root = chart.root(pool)
    for activity, target in targets:
        if not chart.is_opened(target):
            error(
                f"Allocate rule for {pool} sends '{activity}' to {target}, which is not opened"
                + chart.suggestion(target, chart.opens)
            )
        if target == pool:
            error(f"Allocate rule for {pool} sends '{activity}' back to the pool itself")
        elif target == driver or target.startswith(driver + ":"):
            error(
                f"Allocate rule for {pool} sends '{activity}' to {target}, inside its driver "
                f"{driver}: a driver holds quantities, not money"
            )
        elif chart.root(target) != pool_root and chart.is_profit_and_loss(pool):
            error(
                f"Allocate rule for {pool} sends '{activity}' to {target}, which is under "
                f"{chart.root(target)}: the targets of a pool under {pool_root} are {pool_root} accounts "
                "(money only moves between profit-and-loss accounts of the same kind)"
            )


def parse_rule(
    entry: data.Custom, chart: Chart, source: SourceLines, pool_candidates: Iterable[str] = ()
) -> tuple[Rule | None, list[AllocationRuleError]]:
    """Read and check one `custom "allocate"` entry.

    Args:
      entry: a Custom directive whose type is "allocate".
      chart: the ledger's accounts.
      source: the ledger's source lines (to find metadata keys written twice).
      pool_candidates: the accounts to suggest when the pool is not opened.
    Returns:
      The rule (a BrokenRule when any check fails, None when not even its pool can
      be read) and the errors found, each pointing at the entry.
    """
    error = _Report(entry)
    pool, driver, well_formed = _read_accounts(entry)
    if not well_formed:
        error(
            "Malformed allocate rule: expected two accounts, the pool then the driver, as in "
            "'custom \"allocate\" Expenses:Shared:Power Equity:Stats:GPUH'"
        )
        return (BrokenRule(entry.date, pool, entry) if pool else None), error.errors
    assert pool is not None and driver is not None

    basis = entry.meta.get("basis", BASIS_PERIOD)
    if basis not in BASES:
        error(f'Invalid basis {basis!r} in allocate rule for {pool}: use "period" or "latest"')
    # The parser keeps the last value of a key written twice; the source shows both.
    keys = source.metadata_keys(entry.meta)
    targets = _read_targets(entry, pool, error, report_repeats=keys is None)
    _check_repeated_keys(entry, pool, keys, error)
    if not targets and not error.errors:
        error(f"Allocate rule for {pool} maps no activity to a target account")
    _check_pool(pool, chart, pool_candidates, error)
    _check_driver(driver, chart, error)
    _check_targets(pool, driver, targets, chart, error)

    if error.errors:
        return BrokenRule(entry.date, pool, entry), error.errors
    rule = AllocationRule(
        date=entry.date, pool=pool, driver=driver, targets=tuple(targets), basis=str(basis), entry=entry
    )
    return rule, []


def parse_rules(
    customs: Iterable[data.Custom], chart: Chart, source: SourceLines, pool_root: str
) -> tuple[list[Rule], list[AllocationRuleError]]:
    """Read and check every `custom "allocate"` entry among `customs`.

    Two rules for the same pool on the same date are ambiguous: the second one
    written is reported and, broken, governs from that date (nothing moves until
    one of them is removed).
    """
    entries = [entry for entry in customs if entry.type == RULE_TYPE]
    named_pools = {pool for entry in entries if (pool := _read_accounts(entry)[0]) and chart.is_opened(pool)}
    pool_candidates = named_pools | {name for name in chart.opens if name.startswith(pool_root + ":")}
    rules: list[Rule] = []
    errors: list[AllocationRuleError] = []
    seen: dict[tuple[str, datetime.date], Rule] = {}
    for entry in entries:
        rule, rule_errors = parse_rule(entry, chart, source, pool_candidates)
        errors.extend(rule_errors)
        if rule is None:
            continue
        rule = _hold_likely_pool(rule, chart, named_pools)
        first = seen.get((rule.pool, rule.date))
        if first is not None:
            errors.append(
                AllocationRuleError(
                    entry.meta,
                    f"A second allocate rule for {rule.pool} dated {rule.date} (the first is at "
                    f"{first.location}); neither applies, and the pool keeps its amounts from "
                    f"{rule.date} until one of the two is removed",
                    entry,
                )
            )
            rule = BrokenRule(rule.date, rule.pool, entry)
        seen.setdefault((rule.pool, rule.date), rule)
        rules.append(rule)
    return rules, errors


#: How alike a misspelt pool and a pool that has rules must be for the broken rule
#: to hold that pool's months (difflib's ratio; "GPUClustr" / "GPUCluster" is 0.97).
LIKELY_POOL_CUTOFF = 0.85


def _hold_likely_pool(rule: Rule, chart: Chart, named_pools: set[str]) -> Rule:
    """A broken rule whose pool is not opened most likely misspells a pool that has
    rules (a replacement rule with a typo in its pool): it then governs that pool
    from its date, so the earlier rule never silently takes the months it was meant
    to replace; they stay in the pool, with an error per month, until it is fixed."""
    if not isinstance(rule, BrokenRule) or chart.is_opened(rule.pool):
        return rule
    likely = difflib.get_close_matches(rule.pool, sorted(named_pools), n=1, cutoff=LIKELY_POOL_CUTOFF)
    return BrokenRule(rule.date, likely[0], rule.entry) if likely else rule


def rule_in_effect(rules: list[Rule], date: datetime.date) -> Rule | None:
    """The rule governing `date`: the latest dated on or before it, a broken one first on a tie.

    `rules` must be sorted by `rule_order`.
    """
    in_effect = None
    for rule in rules:
        if rule.date <= date:
            in_effect = rule
        else:
            break
    return in_effect


def rule_order(rule: Rule) -> tuple[datetime.date, int]:
    """Sort key: by date, and on one date a broken rule after (so in effect over) a valid one."""
    return rule.date, isinstance(rule, BrokenRule)
