"""Generate the monthly depreciation of fixed assets from their purchase.

An asset account is depreciable when its ``open`` names where its depreciation
goes: the contra-asset that accumulates it and the expense it is charged to.
Each purchase is a posting to that account with the asset's useful life; the
plugin writes every month's charge, so the life is one number and a policy
view can change it (``ledger/views/gpu-life-4y.beancount``, docs/views.md).

Before (what finance writes; line 1 is the ``plugin`` line)::

    plugin "ailab_books.plugins.depreciate"

    2025-01-01 open Assets:Fixed:GPU:Cost             USD
      depreciation-account: "Assets:Fixed:GPU:Depreciation"
      depreciation-expense: "Expenses:Shared:GPUCluster"
    2025-01-01 open Assets:Fixed:GPU:Depreciation     USD
    2025-01-01 open Expenses:Shared:GPUCluster        USD
    2025-01-01 open Liabilities:AccountsPayable       USD

    2025-04-14 * "Silverline Systems" "Servers, delivered"
      Assets:Fixed:GPU:Cost          6000.00 USD
        batch: "h200-a"
        useful-life-months: 60
      Liabilities:AccountsPayable

After (what the plugin adds on the last day of each month, from the month
after the asset enters service through the month of the books' last
transaction)::

    2025-05-31 * "Depreciation of Assets:Fixed:GPU:Cost, 2025-05 (straight-line)" #depreciation
      asset-account: "Assets:Fixed:GPU:Cost"
      period: "2025-05"
      Expenses:Shared:GPUCluster       100.00 USD
      Assets:Fixed:GPU:Depreciation   -100.00 USD
        batch: "h200-a"
        purchase: "main.beancount:9"
        useful-life-months: 60

The method (the example's, docs/example-ledger.md): straight-line with no
salvage value, from the month after the ``in-service`` date (posting metadata;
the transaction's date if absent); each month's charge is cost / life rounded
to the cent (half-even) and the last month takes the remainder, so the asset
ends at exactly zero.

**Bought before the books start.** A purchase in the opening balances has an
``in-service`` date before its transaction and, in the same transaction, the
depreciation accumulated so far: a posting to the contra-asset with the same
``batch``. Those are facts. The plugin continues the schedule from the
transaction's month, and checks that the accumulated amount is what the
schedule charged before it (to the cent).

**Another useful life** (config ``life-months=48``): a change in accounting
estimate, applied prospectively (IAS 8.36, ASC 250-10-45-17): from the first
month the books cover for the asset, its remaining book value (cost less the
accumulated depreciation of the opening balances) is spread straight-line over
the remaining life (the new life less the months already depreciated; at
least one month, so a life already used up writes the rest off at once). An
asset bought within the books simply depreciates over the new life.

**What it refuses** (each a located error; nothing is generated for that asset):
a purchase without ``useful-life-months`` or ``batch`` or with a bad value,
one in another currency than the operating currency, a ``batch`` bought
twice, a credit to the asset account (disposals are not modelled), opening
accumulated depreciation missing or different from the schedule, a
depreciable account whose ``open`` names accounts that are not opened or of
the wrong kind, ``useful-life-months`` on an account that is not depreciable,
and a config that is not ``life-months=N`` (N a whole number of months, at
least 1; at the ``plugin`` line).

Generated entries carry the purchase's location in each posting's
``purchase`` metadata, and not as their own ``filename``/``lineno`` (Fava
edits and deletes an entry through those). Run this plugin before
``ailab_books.plugins.allocate``, which splits the pool the charges go to.
"""

from __future__ import annotations

import calendar
import datetime
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from beancount.core import data
from beancount.core.amount import Amount

from .source import SourceLines, relative_location

__plugins__ = ("depreciate",)

PLUGIN_NAME = "ailab_books.plugins.depreciate"
GENERATED_FILENAME = "<ailab_books.plugins.depreciate>"
GENERATED_LINENO_BASE = 10**9
TAG = "depreciation"

#: ``open`` metadata of a depreciable asset account.
CONTRA_KEY = "depreciation-account"
EXPENSE_KEY = "depreciation-expense"
#: Posting metadata of a purchase.
LIFE_KEY = "useful-life-months"
IN_SERVICE_KEY = "in-service"
ASSET_KEY = "batch"
#: The one config key.
CONFIG_LIFE = "life-months"

CENT = Decimal("0.01")
ZERO = Decimal(0)

_CONFIG_SPLIT = re.compile(r"[\s,]+")


class DepreciationError(NamedTuple):
    """An error from ailab_books.plugins.depreciate; ``source`` is the offending entry's meta."""

    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass(frozen=True)
class Depreciable:
    """A depreciable asset account and where its depreciation goes (from its ``open``)."""

    account: str
    contra: str
    expense: str


@dataclass(frozen=True)
class Asset:
    """One purchase: its cost, life and the months of its schedule (:func:`month_number`)."""

    account: Depreciable
    batch: str
    cost: Decimal
    currency: str
    life: int
    first_month: int  # the first month of depreciation: the month after it entered service
    start_month: int  # the first month these books charge: its transaction's month, or later
    accumulated: Decimal  # depreciation charged before start_month (opening balances)
    location: str  # the purchase's "file:line", relative to the main file


def month_number(date: datetime.date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return date.year * 12 + date.month - 1


def month_end(number: int) -> datetime.date:
    """The last day of month ``number``."""
    year, month = divmod(number, 12)
    return datetime.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def month_label(number: int) -> str:
    """``YYYY-MM`` of month ``number``."""
    year, month = divmod(number, 12)
    return f"{year:04d}-{month + 1:02d}"


def straight_line(amount: Decimal, months: int) -> list[Decimal]:
    """``amount`` over ``months`` months: amount / months to the cent (half-even),
    the last month taking the remainder, so the parts add up to ``amount`` exactly
    and none is negative (for an amount of a few cents over many months, rounding
    half-even up would make the remainder negative; then the monthly charge is
    rounded down instead).

    >>> straight_line(Decimal("100.00"), 3)
    [Decimal('33.33'), Decimal('33.33'), Decimal('33.34')]
    """
    if months < 1:
        raise ValueError("a schedule needs at least one month")
    monthly = (amount / months).quantize(CENT, rounding=ROUND_HALF_EVEN)
    if monthly * (months - 1) > amount:
        # A few cents over many months: rounding up would leave the last month negative.
        monthly = (amount / months).quantize(CENT, rounding=ROUND_DOWN)
    return [monthly] * (months - 1) + [amount - monthly * (months - 1)]


class ScheduleMismatch(ValueError):
    """The opening accumulated depreciation is not what the asset's own schedule charged."""


def schedule(asset: Asset, life: int | None = None) -> list[tuple[int, Decimal]]:
    """The charges (month number, amount) from the asset's first month in the books.

    With no ``life`` (or the asset's own), the asset's own schedule continues; the
    opening accumulated depreciation must equal what it charged before
    (:class:`ScheduleMismatch` otherwise). With another ``life``, the change of
    estimate is prospective: the remaining book value over the remaining life.
    """
    elapsed = asset.start_month - asset.first_month
    if life is None or life == asset.life:
        own = straight_line(asset.cost, asset.life)
        before = sum(own[:elapsed], ZERO)
        if before != asset.accumulated:
            raise ScheduleMismatch(
                f"the opening accumulated depreciation of batch {asset.batch} is {asset.accumulated}, "
                f"and its schedule ({asset.cost} over {asset.life} months from "
                f"{month_label(asset.first_month)}) charged {before} before {month_label(asset.start_month)}"
            )
        return [(asset.start_month + k, amount) for k, amount in enumerate(own[elapsed:])]
    remaining = asset.cost - asset.accumulated
    if remaining == 0:
        return []
    months = max(life - elapsed, 1)
    return [(asset.start_month + k, amount) for k, amount in enumerate(straight_line(remaining, months))]


# --------------------------------------------------------------------------- reading the books


def _config_meta(options_map: Mapping[str, Any]) -> data.Meta:
    filename = str(options_map.get("filename") or GENERATED_FILENAME)
    return data.new_metadata(filename, SourceLines().find_line(filename, f'"{PLUGIN_NAME}"'))


def parse_config(config: str | None, where: data.Meta) -> tuple[int | None, list[DepreciationError]]:
    """The useful life the config sets for every asset (None: each asset's own), strictly:
    with any bad item the config is ignored as a whole (each asset keeps its own life)."""
    if not config or not config.strip():
        return None, []
    life: int | None = None
    errors: list[DepreciationError] = []
    for item in _CONFIG_SPLIT.split(config.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        prefix = f"Bad {PLUGIN_NAME} config item '{item}'"
        if not sep or key != CONFIG_LIFE:
            errors.append(DepreciationError(where, f"{prefix}: expected {CONFIG_LIFE}=N (months)", None))
        elif life is not None:
            errors.append(DepreciationError(where, f"{prefix}: {CONFIG_LIFE} is given twice", None))
        elif not value.isdigit() or int(value) < 1:
            errors.append(
                DepreciationError(
                    where, f"{prefix}: {CONFIG_LIFE} must be a whole number of months, at least 1", None
                )
            )
        else:
            life = int(value)
    return (None, errors) if errors else (life, errors)


def _depreciable_accounts(
    entries: Sequence[data.Directive], options_map: Mapping[str, Any]
) -> tuple[dict[str, Depreciable], list[DepreciationError]]:
    """The accounts whose ``open`` names a contra-asset and an expense, checked."""
    opens = {entry.account: entry for entry in entries if isinstance(entry, data.Open)}
    assets_root = str(options_map.get("name_assets") or "Assets")
    expenses_root = str(options_map.get("name_expenses") or "Expenses")
    accounts: dict[str, Depreciable] = {}
    errors: list[DepreciationError] = []
    for name, entry in opens.items():
        meta = entry.meta or {}
        if CONTRA_KEY not in meta and EXPENSE_KEY not in meta:
            continue
        contra, expense = meta.get(CONTRA_KEY), meta.get(EXPENSE_KEY)
        problems = []
        for key, value, root in ((CONTRA_KEY, contra, assets_root), (EXPENSE_KEY, expense, expenses_root)):
            if not isinstance(value, str) or not value:
                problems.append(f'{key} is missing (write {key}: "{root}:...")')
            elif value not in opens:
                problems.append(f"{key} {value} is not opened")
            elif not value.startswith(root + ":"):
                problems.append(f"{key} {value} is not an account under {root}")
        if problems:
            message = f"Depreciable account {name}: " + "; ".join(problems) + "; nothing is depreciated on it"
            errors.append(DepreciationError(entry.meta, message, entry))
            continue
        accounts[name] = Depreciable(name, str(contra), str(expense))
    return accounts, errors


@dataclass
class _Reader:
    """Reads the purchases of the depreciable accounts, collecting errors."""

    accounts: Mapping[str, Depreciable]
    operating_currency: str
    main_dir: str | None
    errors: list[DepreciationError]

    def fail(self, entry: data.Transaction, posting: data.Posting, problem: str) -> None:
        self.errors.append(
            DepreciationError(entry.meta, f"Asset purchase on {posting.account}: {problem}", entry)
        )

    def asset(self, entry: data.Transaction, posting: data.Posting) -> Asset | None:
        account = self.accounts[posting.account]
        units = posting.units
        meta = posting.meta or {}
        if units is None or units.number is None:
            self.fail(entry, posting, "the amount is missing; write the cost")
            return None
        if units.number < 0:
            self.fail(entry, posting, f"a credit of {units} (a disposal or write-off) is not modelled")
            return None
        if units.currency != self.operating_currency:
            self.fail(entry, posting, f"{units} is not in the operating currency {self.operating_currency}")
            return None
        life = meta.get(LIFE_KEY)
        batch = meta.get(ASSET_KEY)
        in_service = meta.get(IN_SERVICE_KEY, entry.date)
        if life is None:
            self.fail(entry, posting, f"no {LIFE_KEY} (write e.g. {LIFE_KEY}: 60 under the posting)")
            return None
        if isinstance(life, bool) or not isinstance(life, Decimal | int) or life != int(life) or life < 1:
            self.fail(entry, posting, f"{LIFE_KEY} {life} is not a whole number of months, at least 1")
            return None
        if not isinstance(batch, str) or not batch:
            self.fail(entry, posting, f'no {ASSET_KEY} naming the asset (write e.g. {ASSET_KEY}: "h100-a")')
            return None
        if not isinstance(in_service, datetime.date):
            self.fail(entry, posting, f"{IN_SERVICE_KEY} {in_service!r} is not a date (YYYY-MM-DD)")
            return None
        if in_service > entry.date:
            self.fail(entry, posting, f"{IN_SERVICE_KEY} {in_service} is after the purchase ({entry.date})")
            return None
        first = month_number(in_service) + 1
        start = max(first, month_number(entry.date))
        accumulated = -sum(
            (
                other.units.number
                for other in entry.postings
                if other.account == account.contra
                and (other.meta or {}).get(ASSET_KEY) == batch
                and other.units is not None
                and other.units.number is not None
            ),
            ZERO,
        )
        if start > first and accumulated == 0:
            self.fail(
                entry,
                posting,
                f"batch {batch} entered service on {in_service}, before this entry; write the "
                f"depreciation accumulated so far on {account.contra} in the same transaction "
                f'(with {ASSET_KEY}: "{batch}")',
            )
            return None
        return Asset(
            account,
            batch,
            units.number,
            units.currency,
            int(life),
            first,
            start,
            accumulated,
            relative_location(entry.meta, self.main_dir),
        )


def read_assets(
    entries: Sequence[data.Directive], options_map: Mapping[str, Any]
) -> tuple[list[tuple[Asset, data.Transaction]], list[DepreciationError]]:
    """Every purchase on a depreciable account (with its transaction), and the errors."""
    accounts, errors = _depreciable_accounts(entries, options_map)
    operating = (options_map.get("operating_currency") or ["USD"])[0]
    filename = options_map.get("filename")
    main_dir = os.path.dirname(os.path.abspath(filename)) if isinstance(filename, str) else None
    reader = _Reader(accounts, operating, main_dir, errors)
    assets: list[tuple[Asset, data.Transaction]] = []
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.meta.get("filename") == GENERATED_FILENAME:
            continue  # a second run meets the first's entries: the pipeline check reports the repeat
        for posting in entry.postings:
            if posting.account not in accounts:
                if LIFE_KEY in (posting.meta or {}):
                    errors.append(
                        DepreciationError(
                            entry.meta,
                            f"{LIFE_KEY} on {posting.account}, which is not depreciable: its open names no "
                            f"{CONTRA_KEY} and {EXPENSE_KEY}, so nothing is depreciated",
                            entry,
                        )
                    )
                continue
            asset = reader.asset(entry, posting)
            if asset is None:
                continue
            key = (posting.account, asset.batch)
            if key in seen:
                reader.fail(entry, posting, f"batch {asset.batch} was already bought at {seen[key]}")
                continue
            seen[key] = asset.location
            assets.append((asset, entry))
    return assets, errors


# --------------------------------------------------------------------------- the plugin


def _last_month(entries: Sequence[data.Directive]) -> int | None:
    dates = [entry.date for entry in entries if isinstance(entry, data.Transaction)]
    return month_number(max(dates)) if dates else None


def depreciate(
    entries: list[data.Directive], options_map: dict[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[DepreciationError]]:
    """Beancount plugin: add each month's depreciation of every purchase on a depreciable account.

    Args:
      entries: the ledger's directives.
      options_map: the parser's options (operating currency, root names, main file).
      config: optional ``life-months=N``, a useful life for every asset (a change of estimate).
    Returns:
      The entries with one transaction per month and asset account added (through
      the month of the books' last transaction), and the errors.
    """
    life, errors = parse_config(config, _config_meta(options_map))
    assets, asset_errors = read_assets(entries, options_map)
    errors.extend(asset_errors)
    last = _last_month(entries)
    if last is None:
        return entries, errors
    # (month, asset account) -> the month's postings, in purchase order.
    charges: dict[tuple[int, str], list[tuple[Asset, Decimal]]] = {}
    for asset, entry in assets:
        try:
            plan = schedule(asset, life)
        except ScheduleMismatch as mismatch:
            errors.append(
                DepreciationError(entry.meta, f"Asset purchase on {asset.account.account}: {mismatch}", entry)
            )
            continue
        for month, amount in plan:
            if month <= last and amount != 0:
                charges.setdefault((month, asset.account.account), []).append((asset, amount))
    generated: list[data.Directive] = []
    for sequence, ((month, account), parts) in enumerate(sorted(charges.items()), start=1):
        generated.append(_entry(month, account, parts, life, sequence))
    return data.sorted([*entries, *generated]) if generated else entries, errors


def _entry(
    month: int, account: str, parts: list[tuple[Asset, Decimal]], life: int | None, sequence: int
) -> data.Transaction:
    location = {"filename": GENERATED_FILENAME, "lineno": GENERATED_LINENO_BASE + sequence}
    currency = parts[0][0].currency
    by_expense: dict[str, Decimal] = {}
    for asset, amount in parts:
        by_expense[asset.account.expense] = by_expense.get(asset.account.expense, ZERO) + amount
    postings = [
        data.Posting(expense, Amount(total, currency), None, None, None, dict(location))
        for expense, total in by_expense.items()
    ]
    for asset, amount in parts:
        meta = dict(location)
        meta[ASSET_KEY] = asset.batch
        meta["purchase"] = asset.location
        # A Decimal, as beancount's parser gives numbers: its printer cannot show an int.
        meta[LIFE_KEY] = Decimal(life if life is not None else asset.life)
        postings.append(data.Posting(asset.account.contra, Amount(-amount, currency), None, None, None, meta))
    label = month_label(month)
    meta = dict(location)
    meta["asset-account"] = account
    meta["period"] = label
    return data.Transaction(
        meta,
        month_end(month),
        "*",
        None,
        f"Depreciation of {account}, {label} (straight-line)",
        frozenset({TAG}),
        data.EMPTY_SET,
        postings,
    )
