"""The example ledger in ledger/.

The example books must load cleanly with the plugins, leave every pool at zero
at every month end, and keep the total of expenses unchanged by allocation
(allocation moves cost, never makes or loses it). The synthetic ledgers that
share their accounts and rules are tested in tests/test_generate.py.
"""

from __future__ import annotations

import collections
import datetime
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "ledger"
MAIN = LEDGER / "main.beancount"
TIER_POOLS = ("Income:Subscription", "Income:Enterprise")


def _without_plugins(main: Path, out_dir: Path) -> Path:
    """Write a copy of `main` without the plugin lines that move cost (allocate,
    classify), its includes made absolute. The depreciation plugin stays: it
    writes the depreciation expense itself, as hand-written entries did before."""
    lines: list[str] = []
    for line in main.read_text(encoding="utf-8").splitlines():
        if line.startswith("plugin ") and "ailab_books.plugins.depreciate" not in line:
            continue
        match = re.match(r'include "(.*)"', line)
        if match and not Path(match.group(1)).is_absolute():
            line = f'include "{(main.parent / match.group(1)).resolve()}"'
        lines.append(line)
    out = out_dir / "main-without-plugins.beancount"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


Loaded = tuple[list[data.Directive], list[Any], dict[str, Any]]


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return loader.load_file(str(MAIN))


@pytest.fixture(scope="module")
def loaded_plain(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    path = _without_plugins(MAIN, tmp_path_factory.mktemp("plain"))
    return loader.load_file(str(path))


def _transactions(entries: list[data.Directive]) -> list[data.Transaction]:
    return [entry for entry in entries if isinstance(entry, data.Transaction)]


def _month(date: datetime.date) -> str:
    return date.strftime("%Y-%m")


def _monthly(entries: list[data.Directive]) -> dict[str, dict[tuple[str, str], Decimal]]:
    """Net change per month, per (account, currency)."""
    out: dict[str, dict[tuple[str, str], Decimal]] = collections.defaultdict(
        lambda: collections.defaultdict(Decimal)
    )
    for txn in _transactions(entries):
        for posting in txn.postings:
            units = posting.units
            assert units is not None and units.number is not None  # booked entries have units
            out[_month(txn.date)][(posting.account, units.currency)] += units.number
    return out


def test_loads_without_errors(loaded: Loaded) -> None:
    _, errors, _ = loaded
    assert [error.message for error in errors] == []


def test_main_runs_depreciate_then_allocate_then_classify_and_checks_the_models() -> None:
    plugins = [
        line.split('"')[1]
        for line in MAIN.read_text(encoding="utf-8").splitlines()
        if line.startswith("plugin ")
    ]
    assert plugins == [
        "ailab_books.plugins.depreciate",
        "ailab_books.plugins.allocate",
        "ailab_books.plugins.classify",
        "ailab_books.plugins.models",
    ]


def test_every_pool_is_zero_at_every_month_end(loaded: Loaded) -> None:
    entries, _, _ = loaded
    pools = {
        entry.account
        for entry in entries
        if isinstance(entry, data.Open)
        and (entry.account.startswith("Expenses:Shared:") or entry.account in TIER_POOLS)
    }
    assert len(pools) == 13
    running: dict[tuple[str, str], Decimal] = collections.defaultdict(Decimal)
    monthly = _monthly(entries)
    assert monthly
    for month in sorted(monthly):
        for (account, currency), change in monthly[month].items():
            if account in pools:
                running[(account, currency)] += change
        nonzero = {key: value for key, value in running.items() if value != 0}
        assert nonzero == {}, month


def test_pools_had_costs_to_allocate(loaded_plain: Loaded) -> None:
    """Without the plugins the pools hold the costs: the test above is not vacuous."""
    entries, errors, _ = loaded_plain
    assert errors == []
    monthly = _monthly(entries)
    for month, changes in monthly.items():
        for pool in (
            "Expenses:Shared:GPUCluster",
            "Expenses:Shared:Power",
            "Expenses:Shared:DatacenterOps",
            "Expenses:Shared:Storage",
            "Expenses:Shared:PaymentFees",
            "Expenses:Shared:Serving:Staff",
            "Income:Subscription",
            "Income:Enterprise",
        ):
            assert changes[(pool, "USD")] != 0, (month, pool)


def test_expense_total_unchanged_by_plugins(loaded: Loaded, loaded_plain: Loaded) -> None:
    def total(entries: list[data.Directive]) -> Decimal:
        usd = _monthly(entries)
        return sum(
            (
                value
                for changes in usd.values()
                for (account, currency), value in changes.items()
                if account.startswith("Expenses:") and currency == "USD"
            ),
            Decimal(0),
        )

    with_plugins = total(loaded[0])
    assert with_plugins == total(loaded_plain[0])
    assert with_plugins > 0


def test_money_is_in_cents(loaded: Loaded) -> None:
    for txn in _transactions(loaded[0]):
        for posting in txn.postings:
            units = posting.units
            assert units is not None and units.number is not None
            if units.currency == "USD":
                assert units.number.as_tuple().exponent == -2, (txn.date, posting)


def test_at_least_18_consecutive_months(loaded: Loaded) -> None:
    months = sorted(_monthly(loaded[0]))
    assert len(months) >= 18
    assert months[0] == "2025-01" and months[-1] == "2026-10"
    assert len(months) == 22  # 2025-01..2026-10, none missing


def test_free_tier_has_tokens_costs_and_no_revenue(loaded: Loaded) -> None:
    entries, _, _ = loaded
    monthly = _monthly(entries)
    for month, changes in monthly.items():
        free_tokens = sum(
            value
            for (account, currency), value in changes.items()
            if account.startswith("Equity:Stats:Tokens:Free:") and currency == "MTOK"
        )
        free_cost = sum(
            value
            for (account, currency), value in changes.items()
            if account.startswith("Expenses:COGS:") and ":Free:" in account + ":"
        )
        assert free_tokens > 0, month
        assert free_cost > 0, month
    accounts = {entry.account for entry in entries if isinstance(entry, data.Open)}
    assert not [
        account for account in accounts if account.startswith("Income:") and "Free" in account.split(":")
    ]


def test_superseded_idle_rule_is_effective_dated(loaded: Loaded) -> None:
    """Idle GPU time goes to R&D until 2025-12 and to cost of revenue from 2026-01."""
    monthly = _monthly(loaded[0])
    for month, changes in monthly.items():
        to_rnd = changes[("Expenses:RnD:Training:IdleCapacity", "USD")]
        to_cogs = sum(
            value
            for (account, _), value in changes.items()
            if account.startswith("Expenses:COGS:Inference:IdleCapacity:")
        )
        if month < "2026-01":
            assert to_rnd > 0 and to_cogs == 0, month
        else:
            assert to_rnd == 0 and to_cogs > 0, month


def test_token_sold_at_gross_profit_and_net_loss(loaded: Loaded) -> None:
    """The example lab's story: positive gross margin, negative net margin, every month."""
    for month, changes in _monthly(loaded[0]).items():
        usd = {account: value for (account, currency), value in changes.items() if currency == "USD"}
        revenue = -sum(v for a, v in usd.items() if a.startswith("Income:"))
        cogs = sum(v for a, v in usd.items() if a.startswith("Expenses:COGS:"))
        costs = sum(v for a, v in usd.items() if a.startswith("Expenses:"))
        assert Decimal("0.40") < (revenue - cogs) / revenue < Decimal("0.65"), month
        assert revenue - costs < 0, month
