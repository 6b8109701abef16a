"""Ordinary bookkeeping mistakes in allocation rules: each is a located error, and nothing moves.

Every ledger is written to a real file in tmp_path (the repeated-key check reads
the rule's source back), and every test checks the message, the file and the
line the error points at, and that the amount stayed in its pool.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from helpers import allocations, balance, line_of, located

HEADER = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.allocate"
2025-01-01 open Assets:Bank
2025-01-01 open Equity:Opening
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Expenses:Shared:Ops
2025-01-01 open Expenses:COGS:Ops
2025-01-01 open Expenses:RnD:Ops
2025-01-01 open Income:Seats
2025-01-01 open Income:Seats:Orion
2025-01-01 open Equity:Stats:Hours:Ops:Serving
2025-01-01 open Equity:Stats:Hours:Ops:Training
"""

RULE = """
2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
  serving:  Expenses:COGS:Ops
  training: Expenses:RnD:Ops
"""


def month(number: int, amount: str = "90.00") -> str:
    return f"""
2025-{number:02d}-15 * "Payroll"
  Expenses:Shared:Ops   {amount} USD
  Assets:Bank
2025-{number:02d}-28 * "Timesheets"
  Equity:Stats:Hours:Ops:Serving    2 HOUR
  Equity:Stats:Hours:Ops:Training   1 HOUR
  Equity:Stats:Offset              -3 HOUR
"""


def write(tmp_path: Path, *parts: str, name: str = "books.beancount") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(textwrap.dedent(part) for part in parts))
    return path


def load(path: Path):
    entries, errors, options_map = loader.load_file(str(path))
    return entries, errors, options_map


def stays(path: Path, rule_line: int, label: str, amount: str = "90.00 USD") -> tuple[str, str, int]:
    return (
        f"Cannot allocate {amount} of Expenses:Shared:Ops for {label}: the rule at {path}:{rule_line} is "
        "invalid (see the error there); the amount stays in the pool",
        str(path),
        rule_line,
    )


# 1. A rule that fails validation still governs its months.


def test_a_broken_replacement_rule_keeps_its_months_in_the_pool_never_the_old_split(tmp_path):
    path = write(
        tmp_path,
        RULE,
        """
        2025-03-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
          serving:  Expenses:COGS:Ops
          training: Expenses:RnD:Opps
        """,
        *(month(m) for m in (1, 2, 3, 4)),
    )
    entries, errors, _ = load(path)
    new_rule = line_of(path, 'custom "allocate"', 2)
    assert located(errors) == [
        (
            "Allocate rule for Expenses:Shared:Ops sends 'training' to Expenses:RnD:Opps, which is not "
            "opened (did you mean Expenses:RnD:Ops?)",
            str(path),
            new_rule,
        ),
        stays(path, new_rule, "2025-03"),
        stays(path, new_rule, "2025-04"),
    ]
    # January and February under the old rule (60.00 / 30.00 each); March and April stay whole.
    assert [e.meta["period"] for e in allocations(entries)] == ["2025-01", "2025-02"]
    assert balance(entries, "Expenses:COGS:Ops") == Decimal("120.00")
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("180.00")


def test_a_broken_upstream_pool_passes_nothing_downstream(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 open Expenses:Shared:GPU
        2025-01-01 open Expenses:Shared:Serving
        2025-01-01 open Equity:Stats:GPUH:Serving:API
        2025-01-01 open Equity:Stats:GPUH:Training

        2025-01-01 custom "allocate" Expenses:Shared:Serving Equity:Stats:GPUH:Serving
          api: Expenses:COGS:Ops

        2025-01-01 custom "allocate" Expenses:Shared:GPU Equity:Stats:GPUH
          serving:  Expenses:Shared:Serving
          training: Expenses:RnD:Ops
          basis: "lastest"

        2025-01-20 * "Lease"
          Expenses:Shared:GPU       1000.00 USD
          Expenses:Shared:Serving     10.00 USD
          Assets:Bank
        2025-01-31 * "Scheduler"
          Equity:Stats:GPUH:Serving:API    300 GPUH
          Equity:Stats:GPUH:Training       700 GPUH
          Equity:Stats:Offset            -1000 GPUH
        """,
    )
    entries, errors, _ = load(path)
    gpu_rule = line_of(path, 'custom "allocate" Expenses:Shared:GPU')
    assert located(errors) == [
        (
            'Invalid basis \'lastest\' in allocate rule for Expenses:Shared:GPU: use "period" or "latest"',
            str(path),
            gpu_rule,
        ),
        (
            f"Cannot allocate 1000.00 USD of Expenses:Shared:GPU for 2025-01: the rule at {path}:{gpu_rule} "
            "is invalid (see the error there); the amount stays in the pool",
            str(path),
            gpu_rule,
        ),
    ]
    # Serving allocates only its own 10.00; the 1000.00 stays in GPU.
    (entry,) = allocations(entries)
    assert entry.meta["pool"] == "Expenses:Shared:Serving"
    assert balance(entries, "Expenses:Shared:GPU") == Decimal("1000.00")
    assert balance(entries, "Expenses:COGS:Ops") == Decimal("10.00")


# 2. Money only moves between profit-and-loss accounts.

TARGETS_OK = "  serving: Expenses:COGS:Ops\n  training: Expenses:RnD:Ops\n"


@pytest.mark.parametrize(
    ("rule", "extra_opens", "message"),
    [
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Equity:Opening\n  training: Expenses:RnD:Ops\n",
            "",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' to Equity:Opening, which is under "
            "Equity: the targets of a pool under Expenses are Expenses accounts (money only moves between "
            "profit-and-loss accounts of the same kind)",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Equity:Stats:Offset\n  training: Expenses:RnD:Ops\n",
            "",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' to Equity:Stats:Offset, which is under "
            "Equity: the targets of a pool under Expenses are Expenses accounts (money only moves between "
            "profit-and-loss accounts of the same kind)",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Income:Seats:Orion\n  training: Expenses:RnD:Ops\n",
            "",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' to Income:Seats:Orion, which is under "
            "Income: the targets of a pool under Expenses are Expenses accounts (money only moves between "
            "profit-and-loss accounts of the same kind)",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Equity:Stats:Hours:Ops:Serving\n  training: Expenses:RnD:Ops\n",
            "",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' to Equity:Stats:Hours:Ops:Serving, "
            "inside its driver Equity:Stats:Hours:Ops: a driver holds quantities, not money",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Income:Seats\n' + TARGETS_OK,
            "",
            "Allocate rule names driver account Income:Seats, which is under Income: a driver holds "
            "quantities (hours, GPU-hours, tokens), never a profit-and-loss account",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Cash\n' + TARGETS_OK,
            "2025-01-01 open Equity:Stats:Cash  USD,HOUR\n",
            "Allocate rule names driver account Equity:Stats:Cash, whose open admits the operating "
            "currency USD: a driver holds quantities, not money",
        ),
        (
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n' + TARGETS_OK,
            "2025-01-01 open Equity:Stats:Hours:Ops:Rollouts  USD\n",
            "Allocate rule names driver account Equity:Stats:Hours:Ops, whose open (its sub-account "
            "Equity:Stats:Hours:Ops:Rollouts) admits the operating currency USD: a driver holds "
            "quantities, not money",
        ),
    ],
    ids=[
        "target-equity",
        "target-stats-offset",
        "expenses-pool-income-target",
        "target-inside-driver",
        "driver-is-pnl",
        "driver-admits-usd",
        "driver-sub-account-admits-usd",
    ],
)
def test_money_only_moves_between_pnl_accounts(tmp_path, rule, extra_opens, message):
    path = write(tmp_path, extra_opens, "\n2025-01-01 " + rule, month(1))
    entries, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    assert located(errors) == [(message, str(path), rule_line), stays(path, rule_line, "2025-01")]
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (
            "Assets:Bank",
            "Allocate rule names pool account Assets:Bank, which is under Assets: a pool is an Expenses or "
            "Income account (money only moves between profit-and-loss accounts)",
        ),
        (
            "Equity:Opening",
            "Allocate rule names pool account Equity:Opening, which is under Equity: a pool is an Expenses "
            "or Income account (money only moves between profit-and-loss accounts)",
        ),
    ],
)
def test_a_balance_sheet_pool_is_refused_and_keeps_its_money(tmp_path, pool, message):
    path = write(
        tmp_path,
        f"""
        2025-01-01 custom "allocate" {pool} Equity:Stats:Hours:Ops
          serving:  Expenses:COGS:Ops
          training: Expenses:RnD:Ops
        2025-01-10 * "Funding"
          Assets:Bank       500.00 USD
          Equity:Opening
        2025-01-28 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    2 HOUR
          Equity:Stats:Offset              -2 HOUR
        """,
    )
    entries, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    amount = "500.00 USD" if pool == "Assets:Bank" else "-500.00 USD"
    assert located(errors) == [
        (message, str(path), rule_line),
        (
            f"Cannot allocate {amount} of {pool} for 2025-01: the rule at {path}:{rule_line} is invalid "
            "(see the error there); the amount stays in the pool",
            str(path),
            rule_line,
        ),
    ]
    assert allocations(entries) == []
    assert balance(entries, "Expenses:COGS:Ops") == 0


def test_an_income_pool_with_expense_targets_is_refused(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 custom "allocate" Income:Seats Equity:Stats:Hours:Ops
          serving:  Expenses:COGS:Ops
          training: Income:Seats:Orion
        2025-01-10 * "Seats"
          Income:Seats   -300.00 USD
          Assets:Bank
        """,
        month(1),
    )
    entries, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    assert located(errors)[:2] == [
        (
            "Allocate rule for Income:Seats sends 'serving' to Expenses:COGS:Ops, which is under Expenses: "
            "the targets of a pool under Income are Income accounts (money only moves between "
            "profit-and-loss accounts of the same kind)",
            str(path),
            rule_line,
        ),
        (
            f"Cannot allocate -300.00 USD of Income:Seats for 2025-01: the rule at {path}:{rule_line} is "
            "invalid (see the error there); the amount stays in the pool",
            str(path),
            rule_line,
        ),
    ]
    assert balance(entries, "Income:Seats") == Decimal("-300.00")
    assert balance(entries, "Expenses:COGS:Ops") == 0


def test_money_posted_under_a_driver_is_an_error_at_the_posting_and_nothing_moves(tmp_path):
    path = write(
        tmp_path,
        RULE,
        month(1),
        """
        2025-01-20 * "Misbooked invoice"
          Equity:Stats:Hours:Ops:Serving   40.00 USD
          Assets:Bank
        """,
    )
    entries, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    assert located(errors) == [
        (
            "Posting of 40.00 USD to Equity:Stats:Hours:Ops:Serving, under the allocation driver "
            "Equity:Stats:Hours:Ops: a driver holds quantities, never the operating currency; the pools "
            "it weighs are not allocated until this is moved",
            str(path),
            line_of(path, '"Misbooked invoice"'),
        ),
        stays(path, rule_line, "2025-01"),
    ]
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


# 3. A duplicated activity key is an error at the rule.


def test_an_activity_written_twice_is_an_error_at_the_rule(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
          serving:  Expenses:COGS:Ops
          training: Expenses:RnD:Ops
          serving:  Expenses:RnD:Ops
        """,
        month(1),
    )
    entries, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    first, second = line_of(path, "  serving:"), line_of(path, "  serving:", 2)
    assert located(errors) == [
        (
            f"Activity 'serving' is written 2 times in allocate rule for Expenses:Shared:Ops (lines {first}, "
            f"{second}); beancount keeps only the last, so write it once",
            str(path),
            rule_line,
        ),
        stays(path, rule_line, "2025-01"),
    ]
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")
    assert balance(entries, "Expenses:RnD:Ops") == 0


def test_a_repeated_key_differing_in_case_is_reported_once(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
          serving:  Expenses:COGS:Ops
          training: Expenses:RnD:Ops
          serVing:  Expenses:RnD:Ops
        """,
        month(1),
    )
    _, errors, _ = load(path)
    rule_line = line_of(path, 'custom "allocate"')
    assert [e.message.split(" (lines")[0] for e in errors] == [
        "Activity 'serving' is written 2 times in allocate rule for Expenses:Shared:Ops",
        stays(path, rule_line, "2025-01")[0],
    ]


def test_a_ledger_without_a_readable_source_skips_the_repeated_key_check():
    # Loaded from a string there is no file to read back: the parser kept the last value.
    text = HEADER + RULE.replace(
        "  training: Expenses:RnD:Ops\n", "  training: Expenses:RnD:Ops\n  serving: Expenses:RnD:Ops\n"
    )
    entries, errors, _ = loader.load_string(text + month(1))
    assert errors == []
    assert balance(entries, "Expenses:RnD:Ops") == Decimal("90.00")


# 6. Nothing unallocated goes unnoticed.


def test_an_account_under_the_pool_root_that_no_rule_names_is_reported_when_its_balance_changes(tmp_path):
    path = write(
        tmp_path,
        RULE,
        "2025-01-01 open Expenses:Shared:Misc\n",
        month(1),
        month(2),
        month(3),
        """
        2025-01-05 * "Office"
          Expenses:Shared:Misc   12.50 USD
          Assets:Bank
        2025-03-05 * "Office"
          Expenses:Shared:Misc    7.50 USD
          Assets:Bank
        """,
    )
    entries, errors, _ = load(path)
    open_line = line_of(path, "open Expenses:Shared:Misc")

    def held(amount: str, label: str) -> tuple[str, str, int]:
        return (
            f"Expenses:Shared:Misc holds {amount} USD at the end of {label} after allocation: every account "
            "under Expenses:Shared is empty at month end, and no allocate rule names it as a pool; add a "
            "rule, or book it outside Expenses:Shared",
            str(path),
            open_line,
        )

    # February carries January's residual unchanged: not reported again.
    assert located(errors) == [held("12.50", "2025-01"), held("20.00", "2025-03")]
    assert len(allocations(entries)) == 3


def test_the_pool_root_is_configurable_and_a_bad_setting_is_located(tmp_path):
    path = write(
        tmp_path,
        RULE,
        "2025-01-01 open Expenses:Overhead:Rent\n",
        month(1),
        """
        2025-01-05 * "Rent"
          Expenses:Overhead:Rent   30.00 USD
          Assets:Bank
        """,
    )
    text = path.read_text()
    path.write_text(
        text.replace(
            'plugin "ailab_books.plugins.allocate"',
            'plugin "ailab_books.plugins.allocate" "pool-root=Expenses:Overhead"',
        )
    )
    _, errors, _ = load(path)
    assert located(errors) == [
        (
            "Expenses:Overhead:Rent holds 30.00 USD at the end of 2025-01 after allocation: every account "
            "under Expenses:Overhead is empty at month end, and no allocate rule names it as a pool; add a "
            "rule, or book it outside Expenses:Overhead",
            str(path),
            line_of(path, "open Expenses:Overhead:Rent"),
        )
    ]
    path.write_text(
        text.replace(
            'plugin "ailab_books.plugins.allocate"', 'plugin "ailab_books.plugins.allocate" "root=Overhead"'
        )
    )
    _, errors, _ = load(path)
    assert located(errors) == [
        (
            "Invalid allocate plugin setting: unknown setting 'root=Overhead'; the plugin takes "
            "pool-root=<account>",
            str(path),
            line_of(path, 'plugin "ailab_books.plugins.allocate"'),
        )
    ]
