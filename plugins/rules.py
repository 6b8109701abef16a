"""Read `custom "allocate"` directives into validated allocation rules.

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

Each malformed rule becomes an `AllocationRuleError` pointing at the directive,
and the rule is left out: its pool then keeps its costs, visibly.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from beancount.core import account, data

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


@dataclass(frozen=True)
class AllocationRule:
    """One validated `custom "allocate"` directive."""

    date: datetime.date
    pool: str
    driver: str
    # Activity name (lower case) -> target account, in the order written.
    targets: tuple[tuple[str, str], ...]
    basis: str
    entry: data.Custom = field(compare=False, repr=False)

    @property
    def meta(self) -> data.Meta:
        return self.entry.meta

    @property
    def location(self) -> str:
        return f"{self.meta.get('filename', '<unknown>')}:{self.meta.get('lineno', 0)}"

    def target_for(self, activity: str) -> str | None:
        wanted = activity.lower()
        for name, target in self.targets:
            if name == wanted:
                return target
        return None

    @property
    def target_accounts(self) -> frozenset[str]:
        return frozenset(target for _, target in self.targets)


def _account_value(value: object) -> str | None:
    return value if isinstance(value, str) and account.is_valid(value) else None


def parse_rule(
    entry: data.Custom, opened: set[str]
) -> tuple[AllocationRule | None, list[AllocationRuleError]]:
    """Validate one `custom "allocate"` entry.

    Args:
      entry: a Custom directive whose type is "allocate".
      opened: the accounts that have an Open directive.
    Returns:
      The rule, or None when it is malformed, and the errors found.
    """
    errors: list[AllocationRuleError] = []

    def error(message: str) -> None:
        errors.append(AllocationRuleError(entry.meta, message, entry))

    values = entry.values or []
    # Accounts are written bare; a quoted account name is accepted too, since it is
    # unambiguous and a common slip.
    accounts = [_account_value(v.value) if v.dtype in (account.TYPE, str) else None for v in values]
    if len(values) != 2 or None in accounts:
        error(
            "Malformed allocate rule: expected two accounts, the pool then the driver, as in "
            "'custom \"allocate\" Expenses:Shared:Power Equity:Stats:GPUH'"
        )
        return None, errors
    pool, driver = accounts
    assert pool is not None and driver is not None

    basis = entry.meta.get("basis", BASIS_PERIOD)
    if basis not in BASES:
        error(f'Invalid basis {basis!r} in allocate rule for {pool}: use "period" or "latest"')

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
            error(f"Activity '{key}' is mapped twice in allocate rule for {pool}")
            continue
        seen.add(key.lower())
        targets.append((key.lower(), target))
    if not targets and not errors:
        error(f"Allocate rule for {pool} maps no activity to a target account")

    if pool not in opened:
        error(f"Allocate rule names pool account {pool}, which is not opened")
    if driver not in opened and not any(name.startswith(driver + ":") for name in opened):
        error(f"Allocate rule names driver account {driver}, which is not opened")
    for activity, target in targets:
        if target not in opened:
            error(f"Allocate rule for {pool} sends '{activity}' to {target}, which is not opened")
        if target == pool:
            error(f"Allocate rule for {pool} sends '{activity}' back to the pool itself")

    if errors:
        return None, errors
    return (
        AllocationRule(
            date=entry.date,
            pool=pool,
            driver=driver,
            targets=tuple(targets),
            basis=basis,
            entry=entry,
        ),
        errors,
    )


def parse_rules(
    customs: Iterable[data.Custom], opened: set[str]
) -> tuple[list[AllocationRule], list[AllocationRuleError]]:
    """Validate every `custom "allocate"` entry among `customs`.

    Two rules for the same pool on the same date are ambiguous: the first one
    written is kept and the second reported.
    """
    rules: list[AllocationRule] = []
    errors: list[AllocationRuleError] = []
    seen: dict[tuple[str, datetime.date], AllocationRule] = {}
    for entry in customs:
        if entry.type != RULE_TYPE:
            continue
        rule, rule_errors = parse_rule(entry, opened)
        errors.extend(rule_errors)
        if rule is None:
            continue
        first = seen.get((rule.pool, rule.date))
        if first is not None:
            errors.append(
                AllocationRuleError(
                    entry.meta,
                    f"A second allocate rule for {rule.pool} dated {rule.date} "
                    f"(the first is at {first.location}); this one is ignored",
                    entry,
                )
            )
            continue
        seen[(rule.pool, rule.date)] = rule
        rules.append(rule)
    return rules, errors
