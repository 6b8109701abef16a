"""Training cost per model (allocation step 2b) moves cost between accounts, never changes a total.

The step splits each R&D training line (``Expenses:RnD:Training:<Line>``) across the models
by the scheduler's training GPU-hours per model. The example books are loaded twice, as they
are and with the step's rules taken out of a copy of ``allocation.beancount``: every month's
tokens, revenue, COGS, all costs and net margin per million tokens are the same, and each
model's training cost is the line's total split by its GPU-hours.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from beancount.core import data

from ailab_books.queries.economics import summary
from ailab_books.queries.runner import Ledger, load_ledger

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "ledger"
TRAINING_LINES = ("Compute", "Power", "DatacenterOps", "Storage")
# One step-2b rule: its directive line, its metadata lines, and the blank line after it.
STEP_2B_RULE = re.compile(r'^\S+ custom "allocate" Expenses:RnD:Training:\S+ .*\n(?:[ \t]+.*\n)*\n?', re.M)


def _books_without_step_2b(tmp_path: Path) -> Path:
    """A copy of the example's books whose allocation rules lack step 2b."""
    copy = tmp_path / "ledger"
    # without beancount's load cache, which would hand back the original books
    no_cache = shutil.ignore_patterns("*.picklecache")
    shutil.copytree(LEDGER, copy, ignore=no_cache)
    shutil.copytree(ROOT / "queries", tmp_path / "queries", ignore=no_cache)
    shutil.copytree(ROOT / "dashboard", tmp_path / "dashboard", ignore=no_cache)
    rules = copy / "allocation.beancount"
    text, removed = STEP_2B_RULE.subn("", rules.read_text(encoding="utf-8"))
    assert removed == len(TRAINING_LINES)
    rules.write_text(text, encoding="utf-8")
    main = copy / "main.beancount"
    assert not list(copy.glob(".*picklecache"))
    return main


@pytest.fixture(scope="module")
def books() -> Ledger:
    return load_ledger(LEDGER / "main.beancount", require_pipeline=True)


@pytest.fixture(scope="module")
def books_before(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return load_ledger(_books_without_step_2b(tmp_path_factory.mktemp("before")), require_pipeline=True)


def test_every_monthly_figure_is_unchanged_by_the_step(books: Ledger, books_before: Ledger) -> None:
    after = summary(books)
    before = summary(books_before)
    pd.testing.assert_frame_equal(after, before)
    # the test compares something: months, costs and a per-Mtok figure
    assert len(after) > 12
    assert after["all_costs"].iloc[-1] > 0
    assert after["net_margin_per_mtok"].iloc[0] is not None


def _balances(ledger: Ledger, prefix: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for entry in ledger.entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            if posting.account.startswith(prefix) and posting.units is not None:
                number = posting.units.number or Decimal(0)
                totals[posting.account] = totals.get(posting.account, Decimal(0)) + number
    return totals


def test_each_model_gets_the_lines_cost_by_training_gpu_hours(books: Ledger, books_before: Ledger) -> None:
    after = _balances(books, "Expenses:RnD:Training:")
    before = _balances(books_before, "Expenses:RnD:Training:")
    # the books without the step really lack it: no training account per model has a posting
    assert [account for account in before if account.count(":") > 3] == []
    for line in TRAINING_LINES:
        parent = f"Expenses:RnD:Training:{line}"
        children = {account: amount for account, amount in after.items() if account.startswith(parent + ":")}
        assert set(children) == {f"{parent}:{model}" for model in ("Orion", "Wren", "Kestrel")}
        # the line's account itself ends at zero: the step moved all of it to the models
        assert after.get(parent, Decimal(0)) == 0
        assert sum(children.values()) == before[parent] > 0
    assert after["Expenses:RnD:Training:IdleCapacity"] == before["Expenses:RnD:Training:IdleCapacity"]


def test_the_split_follows_the_schedulers_training_hours(books: Ledger) -> None:
    # October 2026: Orion's share of training GPU-hours is its share of the month's training compute.
    hours: dict[str, Decimal] = {}
    cost: dict[str, Decimal] = {}
    for entry in books.entries:
        if not isinstance(entry, data.Transaction) or entry.date.strftime("%Y-%m") != "2026-10":
            continue
        for posting in entry.postings:
            assert posting.units is not None and posting.units.number is not None
            model = posting.account.rsplit(":", 1)[-1]
            if posting.account.startswith("Equity:Stats:GPUH:Training:"):
                hours[model] = hours.get(model, Decimal(0)) + posting.units.number
            if posting.account.startswith("Expenses:RnD:Training:Compute:"):
                cost[model] = cost.get(model, Decimal(0)) + posting.units.number
    assert set(hours) == set(cost) and len(cost) >= 2
    total_cost = sum(cost.values())
    total_hours = sum(hours.values())
    for model in cost:
        assert abs(cost[model] - total_cost * hours[model] / total_hours) <= Decimal("0.01")
