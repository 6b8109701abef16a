"""Tests for ailab_books.plugins.allocate: behaviour, hand-computed cases and every error path.

Each ledger is written in the test. Expected amounts are worked out by hand in
the comments next to them; error tests check the message and the line the
error points at (ledgers loaded from a string have the filename "<string>").
"""

from __future__ import annotations

import copy
import textwrap
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import parser, printer
from helpers import allocations, balance, line_of

from ailab_books.plugins import allocate as allocate_module

HEADER = """\
plugin "ailab_books.plugins.allocate"
2025-01-01 open Assets:Bank
2025-01-01 open Equity:Stats:Offset
"""


def load(*parts: str):
    text = HEADER + "".join(textwrap.dedent(part) for part in parts)
    entries, errors, options_map = loader.load_string(text)
    return text, entries, errors, options_map


def postings_of(entry: data.Transaction) -> dict[str, Decimal]:
    """Account -> amount (single currency), summing postings to the same account."""
    result: dict[str, Decimal] = {}
    for posting in entry.postings:
        result[posting.account] = result.get(posting.account, Decimal(0)) + posting.units.number
    return result


OPS = """\
2025-01-01 open Expenses:Shared:Ops
2025-01-01 open Expenses:COGS:Ops
2025-01-01 open Expenses:RnD:Ops
2025-01-01 open Equity:Stats:Hours:Ops:Serving
2025-01-01 open Equity:Stats:Hours:Ops:Training
2025-01-01 open Equity:Stats:Hours:Ops:Rollouts

2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
  serving:  Expenses:COGS:Ops
  training: Expenses:RnD:Ops
  rollouts: Expenses:RnD:Ops
"""


OPS_OPENS = OPS.split("\n2025-01-01 custom")[0] + "\n"

# 90.00 of pool cost in January 2025, the amount the error tests expect to stay put.
PAYROLL_90 = """
2025-01-15 * "Payroll"
  Expenses:Shared:Ops   90.00 USD
  Assets:Bank
"""


PAYROLL_AND_HOURS = """
2025-01-15 * "Payroll"
  Expenses:Shared:Ops   90.00 USD
  Assets:Bank
2025-01-31 * "Timesheets"
  Equity:Stats:Hours:Ops:Serving    1 HOUR
  Equity:Stats:Offset              -1 HOUR
"""


def test_splits_a_month_by_driver_hours_with_audit_metadata():
    text, entries, errors, _ = load(
        OPS,
        """
        2025-01-15 * "Payroll" "Ops staff"
          Expenses:Shared:Ops   1000.00 USD
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    130 HOUR
          Equity:Stats:Hours:Ops:Training    50 HOUR
          Equity:Stats:Hours:Ops:Rollouts    20 HOUR
          Equity:Stats:Offset              -200 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)
    # 130/200 = 65% of 1000.00 = 650.00; training 25% = 250.00; rollouts 10% = 100.00.
    assert [(p.account, p.units.number) for p in entry.postings] == [
        ("Expenses:COGS:Ops", Decimal("650.00")),
        ("Expenses:RnD:Ops", Decimal("250.00")),
        ("Expenses:RnD:Ops", Decimal("100.00")),
        ("Expenses:Shared:Ops", Decimal("-1000.00")),
    ]
    assert str(entry.date) == "2025-01-31"
    assert entry.tags == {"allocation"}
    assert entry.links == {"alloc-Expenses-Shared-Ops-2025-01"}
    rule_line = line_of(text, 'custom "allocate"')
    # A synthetic location (Fava will not edit or delete "the source"), after every real line.
    assert entry.meta["filename"] == "<ailab_books.plugins.allocate>"
    assert entry.meta["lineno"] > 10**9
    assert entry.meta["rule"] == f"<string>:{rule_line}"
    assert entry.meta["pool"] == "Expenses:Shared:Ops"
    assert entry.meta["driver"] == "Equity:Stats:Hours:Ops"
    assert entry.meta["basis"] == "period"
    assert entry.meta["period"] == "2025-01"
    serving = entry.postings[0].meta
    assert (serving["activity"], serving["quantity"], serving["unit"], serving["share"]) == (
        "Serving",
        Decimal("130"),
        "HOUR",
        "0.65",
    )
    assert balance(entries, "Expenses:Shared:Ops") == 0
    # The generated text parses back: auditors can paste it.
    (reparsed,), parse_errors, _ = parser.parse_string(printer.format_entry(entry))
    assert parse_errors == []
    assert [p.units for p in reparsed.postings] == [p.units for p in entry.postings]
    assert reparsed.postings[0].meta["share"] == "0.65"


def test_largest_remainder_keeps_every_cent():
    _, entries, errors, _ = load(
        OPS,
        """
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   100.00 USD
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Hours:Ops:Training   1 HOUR
          Equity:Stats:Hours:Ops:Rollouts   1 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)
    # 100.00 / 3 = 33.333...: floors 33.33 x 3 = 99.99, the one cent left goes to the
    # first of the tied remainders in the rule's order (serving).
    assert [p.units.number for p in entry.postings[:3]] == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    assert sum(p.units.number for p in entry.postings) == 0


def test_rounds_to_the_pools_own_precision():
    _, entries, errors, _ = load(
        OPS,
        """
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   10.005 USD
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    2 HOUR
          Equity:Stats:Hours:Ops:Training   1 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)
    # Three decimals in the pool: 10.005 x 2/3 = 6.670, x 1/3 = 3.335.
    assert [p.units.number for p in entry.postings] == [
        Decimal("6.670"),
        Decimal("3.335"),
        Decimal("-10.005"),
    ]


def test_every_currency_is_split_at_its_value_in_one_transaction():
    # No operating_currency option: the books are valued in USD, the saved queries'
    # currency (valuation.operating_currency), never split in their own units.
    _, entries, errors, _ = load(
        OPS,
        """
        2025-01-01 price JPY 0.0070 USD
        2025-01-01 price EUR 1.10 USD
        2025-01-10 * "Payroll US"
          Expenses:Shared:Ops   100.00 USD
          Assets:Bank
        2025-01-12 * "Payroll JP"
          Expenses:Shared:Ops   1000 JPY
          Assets:Bank
        2025-01-20 * "Payroll EU"
          Expenses:Shared:Ops   0.10 EUR
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Hours:Ops:Training   2 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)
    got = [
        (p.account, p.units.number, p.units.currency, p.price and (p.price.number, p.price.currency))
        for p in entry.postings
    ]
    # Value: 100.00 + 1000 x 0.0070 + 0.10 x 1.10 = 107.11 USD, split 1:2 in cents:
    # 35.7033 -> 35.70, 71.4066 -> 71.40, the leftover cent to the larger remainder
    # (training, .66 > .33): 35.70 / 71.41. The pool gives back each currency at the
    # price it was valued at, so it ends the month at zero in units and in value.
    assert got == [
        ("Expenses:COGS:Ops", Decimal("35.70"), "USD", None),
        ("Expenses:RnD:Ops", Decimal("71.41"), "USD", None),
        ("Expenses:Shared:Ops", Decimal("-100.00"), "USD", None),
        ("Expenses:Shared:Ops", Decimal("-0.10"), "EUR", (Decimal("1.10"), "USD")),
        ("Expenses:Shared:Ops", Decimal("-1000"), "JPY", (Decimal("0.0070"), "USD")),
    ]
    for currency in ("USD", "EUR", "JPY"):
        assert balance(entries, "Expenses:Shared:Ops", currency) == 0


def test_a_foreign_amount_with_no_price_stays_in_the_pool_with_an_error_at_its_posting():
    text, entries, errors, _ = load(
        OPS,
        """
        2025-01-12 * "Payroll JP"
          Expenses:Shared:Ops   1000 JPY
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Hours:Ops:Training   2 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    assert allocations(entries) == []
    assert [(e.source["lineno"], e.message) for e in errors] == [
        (
            line_of(text, '"Payroll JP"'),
            "Cannot allocate Expenses:Shared:Ops for 2025-01: its posting of 1000 JPY on 2025-01-12 "
            "cannot be valued: there is no price of JPY in USD on or before 2025-01-12 (add a price "
            "directive, or write the posting with @ its rate); the month's amount stays in the pool",
        )
    ]
    assert balance(entries, "Expenses:Shared:Ops", "JPY") == Decimal(1000)


def test_a_refund_month_allocates_a_credit_and_a_net_zero_month_nothing():
    _, entries, errors, _ = load(
        OPS,
        """
        2025-01-10 * "Vendor refund"
          Expenses:Shared:Ops   -90.00 USD
          Assets:Bank
        2025-02-10 * "Booked"
          Expenses:Shared:Ops   50.00 USD
          Assets:Bank
        2025-02-11 * "Reversed"
          Expenses:Shared:Ops   -50.00 USD
          Assets:Bank

        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    2 HOUR
          Equity:Stats:Hours:Ops:Training   1 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)  # February nets to zero: no entry, no driver needed.
    assert postings_of(entry) == {
        "Expenses:COGS:Ops": Decimal("-60.00"),
        "Expenses:RnD:Ops": Decimal("-30.00"),
        "Expenses:Shared:Ops": Decimal("90.00"),
    }


def test_standing_estimate_uses_the_latest_quantities_on_or_before_month_end():
    _, entries, errors, _ = load(
        """\
        2025-01-01 open Expenses:Shared:Ops
        2025-01-01 open Expenses:COGS:Ops
        2025-01-01 open Expenses:RnD:Ops
        2025-01-01 open Equity:Stats:Study:Serving
        2025-01-01 open Equity:Stats:Study:Training

        2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Study
          serving:  Expenses:COGS:Ops
          training: Expenses:RnD:Ops
          basis: "latest"

        2025-01-02 * "Time study"
          Equity:Stats:Study:Serving    65 HOUR
          Equity:Stats:Study:Training   35 HOUR
          Equity:Stats:Offset         -100 HOUR

        2025-03-20 * "New time study"
          Equity:Stats:Study:Serving    40 HOUR
          Equity:Stats:Study:Training   60 HOUR
          Equity:Stats:Offset         -100 HOUR

        2025-01-15 * "Ops"
          Expenses:Shared:Ops   200.00 USD
          Assets:Bank
        2025-02-15 * "Ops"
          Expenses:Shared:Ops   200.00 USD
          Assets:Bank
        2025-03-15 * "Ops"
          Expenses:Shared:Ops   200.00 USD
          Assets:Bank
        """
    )
    assert errors == []
    got = {e.meta["period"]: postings_of(e)["Expenses:COGS:Ops"] for e in allocations(entries)}
    # January and February: the study of 2025-01-02 (65%): 130.00. March: the study of
    # 2025-03-20 is on or before 31 March (40%): 80.00.
    assert got == {"2025-01": Decimal("130.00"), "2025-02": Decimal("130.00"), "2025-03": Decimal("80.00")}
    assert {e.meta["basis"] for e in allocations(entries)} == {"latest"}


def test_period_basis_ignores_quantities_outside_the_month():
    text, entries, errors, _ = load(
        OPS,
        """
        2025-01-31 * "Timesheets January"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Offset              -1 HOUR
        2025-02-10 * "Ops"
          Expenses:Shared:Ops   10.00 USD
          Assets:Bank
        """,
    )
    (error,) = errors
    assert error.message == (
        "Cannot allocate 10.00 USD of Expenses:Shared:Ops for 2025-02: no driver quantities on "
        "Equity:Stats:Hours:Ops dated in 2025-02; the amount stays in the pool"
    )
    assert error.source["lineno"] == line_of(text, 'custom "allocate"')
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("10.00")


def test_a_later_rule_replaces_an_earlier_one_from_the_month_it_governs():
    _, entries, errors, _ = load(
        """\
        2025-01-01 open Expenses:Shared:Ops
        2025-01-01 open Expenses:COGS:Ops
        2025-01-01 open Expenses:COGS:Idle
        2025-01-01 open Expenses:RnD:Ops
        2025-01-01 open Equity:Stats:H:Serving
        2025-01-01 open Equity:Stats:H:Idle

        2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:H
          serving: Expenses:COGS:Ops
          idle:    Expenses:COGS:Ops

        2025-03-15 custom "allocate" Expenses:Shared:Ops Equity:Stats:H
          serving: Expenses:COGS:Ops
          idle:    Expenses:RnD:Ops
        """,
        "".join(
            f"""
        2025-{m:02d}-10 * "Ops"
          Expenses:Shared:Ops   100.00 USD
          Assets:Bank
        2025-{m:02d}-20 * "Hours"
          Equity:Stats:H:Serving   3 HOUR
          Equity:Stats:H:Idle      1 HOUR
          Equity:Stats:Offset     -4 HOUR
        """
            for m in (1, 2, 3, 4)
        ),
    )
    assert errors == []
    got = {e.meta["period"]: postings_of(e) for e in allocations(entries)}
    # Jan, Feb: idle to COGS (all 100.00). March onwards: the 2025-03-15 rule is in
    # effect on 31 March, so idle (25.00) goes to R&D.
    assert got["2025-02"] == {
        "Expenses:COGS:Ops": Decimal("100.00"),
        "Expenses:Shared:Ops": Decimal("-100.00"),
    }
    for month in ("2025-03", "2025-04"):
        assert got[month] == {
            "Expenses:COGS:Ops": Decimal("75.00"),
            "Expenses:RnD:Ops": Decimal("25.00"),
            "Expenses:Shared:Ops": Decimal("-100.00"),
        }


STEP_DOWN = """\
2025-01-01 open Expenses:Shared:GPU
2025-01-01 open Expenses:Shared:Serving
2025-01-01 open Expenses:RnD:Training
2025-01-01 open Expenses:COGS:API:Orion
2025-01-01 open Expenses:COGS:Free:Wren
2025-01-01 open Equity:Stats:GPUH:Serving:API-Orion
2025-01-01 open Equity:Stats:GPUH:Serving:Free-Wren
2025-01-01 open Equity:Stats:GPUH:Training:Orion
2025-01-01 open Equity:Stats:GPUH:Training:Wren

2025-01-01 custom "allocate" Expenses:Shared:Serving Equity:Stats:GPUH:Serving
  api-orion: Expenses:COGS:API:Orion
  free-wren: Expenses:COGS:Free:Wren

2025-01-01 custom "allocate" Expenses:Shared:GPU Equity:Stats:GPUH
  serving:  Expenses:Shared:Serving
  training: Expenses:RnD:Training

2025-01-20 * "Cluster lease"
  Expenses:Shared:GPU       1000.00 USD
  Assets:Bank
2025-01-21 * "Serving-only cost"
  Expenses:Shared:Serving     10.00 USD
  Assets:Bank
2025-01-31 * "Scheduler"
  Equity:Stats:GPUH:Serving:API-Orion    300 GPUH
  Equity:Stats:GPUH:Serving:Free-Wren    100 GPUH
  Equity:Stats:GPUH:Training:Orion       500 GPUH
  Equity:Stats:GPUH:Training:Wren        100 GPUH
  Equity:Stats:Offset                  -1000 GPUH
"""


def test_step_down_in_dependency_order_with_deeper_driver_sub_accounts():
    _, entries, errors, _ = load(STEP_DOWN)
    assert errors == []
    by_pool = {e.meta["pool"]: e for e in allocations(entries)}
    gpu, serving = by_pool["Expenses:Shared:GPU"], by_pool["Expenses:Shared:Serving"]
    # GPU: serving = 300 + 100 = 400 of 1000 GPU-hours -> 400.00; training 600 -> 600.00.
    assert postings_of(gpu) == {
        "Expenses:Shared:Serving": Decimal("400.00"),
        "Expenses:RnD:Training": Decimal("600.00"),
        "Expenses:Shared:GPU": Decimal("-1000.00"),
    }
    assert gpu.postings[0].meta["quantity"] == Decimal("400")
    # Serving: 10.00 booked + 400.00 received = 410.00, split 3:1 -> 307.50 / 102.50.
    assert postings_of(serving) == {
        "Expenses:COGS:API:Orion": Decimal("307.50"),
        "Expenses:COGS:Free:Wren": Decimal("102.50"),
        "Expenses:Shared:Serving": Decimal("-410.00"),
    }
    assert balance(entries, "Expenses:Shared:GPU") == 0
    assert balance(entries, "Expenses:Shared:Serving") == 0


def test_input_entries_are_not_mutated():
    entries, errors, options_map = loader.load_string(
        HEADER.replace('plugin "ailab_books.plugins.allocate"\n', "") + STEP_DOWN
    )
    assert errors == []
    before = copy.deepcopy(entries)
    new_entries, new_errors = allocate_module.allocate(entries, options_map)
    assert new_errors == []
    assert entries == before
    assert len(new_entries) == len(entries) + 2


def test_results_do_not_depend_on_the_load_date():
    # Costs dated far in the future are allocated like any other: no cut-off at today.
    _, entries, errors, _ = load(
        OPS,
        """
        2099-06-15 * "Payroll"
          Expenses:Shared:Ops   10.00 USD
          Assets:Bank
        2099-06-30 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Offset              -1 HOUR
        """,
    )
    assert errors == []
    assert [str(e.date) for e in allocations(entries)] == ["2099-06-30"]


# Error paths: each names the problem, points at a line and keeps the amount in its pool.


def test_activity_without_target_is_an_error_and_the_amount_stays():
    text, entries, errors, _ = load(
        OPS.replace("  rollouts: Expenses:RnD:Ops\n", ""),
        """
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   90.00 USD
          Assets:Bank
        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Hours:Ops:Rollouts   2 HOUR
          Equity:Stats:Offset              -3 HOUR
        """,
    )
    (error,) = errors
    assert error.message == (
        "Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: driver activity Rollouts "
        "(Equity:Stats:Hours:Ops:Rollouts, 2 HOUR dated in 2025-01) has no target in the rule; "
        "add 'rollouts: <account>' to it; the amount stays in the pool"
    )
    assert (error.source["filename"], error.source["lineno"]) == ("<string>", line_of(text, "custom"))
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")
    assert allocations(entries) == []


def test_negative_quantity_points_at_the_driver_posting():
    text, entries, errors, _ = load(
        OPS,
        PAYROLL_90,
        """
        2025-01-20 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    5 HOUR
          Equity:Stats:Offset              -5 HOUR
        2025-01-31 * "Timesheet correction"
          Equity:Stats:Hours:Ops:Training  -4 HOUR
          Equity:Stats:Offset               4 HOUR
        """,
    )
    (error,) = errors
    assert error.message == (
        "Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: negative driver quantity -4 "
        "HOUR for activity Training of Equity:Stats:Hours:Ops dated in 2025-01; the amount stays "
        "in the pool"
    )
    assert error.source["lineno"] == line_of(text, '"Timesheet correction"')
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_quantities_adding_up_to_zero_are_an_error():
    text, entries, errors, _ = load(
        OPS,
        PAYROLL_90,
        """
        2025-01-20 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    5 HOUR
          Equity:Stats:Offset              -5 HOUR
        2025-01-31 * "Timesheets voided"
          Equity:Stats:Hours:Ops:Serving   -5 HOUR
          Equity:Stats:Offset               5 HOUR
        """,
    )
    (error,) = errors
    assert error.message == (
        "Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: driver quantities on "
        "Equity:Stats:Hours:Ops dated in 2025-01 add up to zero; the amount stays in the pool"
    )
    assert error.source["lineno"] == line_of(text, 'custom "allocate"')
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_quantities_on_the_driver_account_itself_are_an_error():
    text, entries, errors, _ = load(
        OPS,
        """
        2025-01-01 open Equity:Stats:Hours:Ops
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   90.00 USD
          Assets:Bank
        2025-01-20 * "Timesheets without activity"
          Equity:Stats:Hours:Ops    5 HOUR
          Equity:Stats:Offset      -5 HOUR
        """,
    )
    (error,) = errors
    assert "quantities posted on the driver account Equity:Stats:Hours:Ops itself" in error.message
    assert error.message.endswith("the amount stays in the pool")
    assert error.source["lineno"] == line_of(text, '"Timesheets without activity"')
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_mixed_driver_units_are_an_error():
    text, entries, errors, _ = load(
        OPS,
        PAYROLL_90,
        """
        2025-01-20 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    5 HOUR
          Equity:Stats:Hours:Ops:Training   1 DAY
          Equity:Stats:Offset              -5 HOUR
          Equity:Stats:Offset              -1 DAY
        """,
    )
    (error,) = errors
    assert error.message == (
        "Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: driver Equity:Stats:Hours:Ops "
        "mixes units DAY, HOUR dated in 2025-01; the amount stays in the pool"
    )
    assert error.source["lineno"] == line_of(text, 'custom "allocate"')
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_costs_before_the_first_rule_stay_in_the_pool():
    text, entries, errors, _ = load(
        OPS.replace('2025-01-01 custom "allocate"', '2025-02-01 custom "allocate"'),
        """
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   90.00 USD
          Assets:Bank
        """,
    )
    (error,) = errors
    assert error.message == (
        "Expenses:Shared:Ops changed by 90.00 USD in 2025-01, before its first allocate rule "
        "(2025-02-01); the amount stays in the pool"
    )
    assert error.source["lineno"] == line_of(text, 'custom "allocate"')
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


STAYS_90 = (
    "Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: the rule at <string>:{line} is invalid "
    "(see the error there); the amount stays in the pool"
)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops\n  serving: Expenses:COGS:Ops\n',
            "Malformed allocate rule: expected two accounts, the pool then the driver, as in "
            "'custom \"allocate\" Expenses:Shared:Power Equity:Stats:GPUH'",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops 42\n  serving: Expenses:COGS:Ops\n',
            "Malformed allocate rule: expected two accounts, the pool then the driver, as in "
            "'custom \"allocate\" Expenses:Shared:Power Equity:Stats:GPUH'",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            '  serving: Expenses:COGS:Ops\n  basis: "ytd"\n',
            'Invalid basis \'ytd\' in allocate rule for Expenses:Shared:Ops: use "period" or "latest"',
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n  serving: "COGS"\n',
            "Invalid target for activity 'serving' in allocate rule for Expenses:Shared:Ops: "
            "expected an account name, got 'COGS'",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n',
            "Allocate rule for Expenses:Shared:Ops maps no activity to a target account",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Opz\n'
            "  serving: Expenses:COGS:Ops\n",
            "Allocate rule names driver account Equity:Stats:Hours:Opz, which is not opened "
            "(did you mean Equity:Stats:Hours:Ops?)",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Expenses:COGS:Nope\n",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' to Expenses:COGS:Nope, "
            "which is not opened (did you mean Expenses:COGS:Ops?)",
        ),
        (
            '2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
            "  serving: Expenses:Shared:Ops\n",
            "Allocate rule for Expenses:Shared:Ops sends 'serving' back to the pool itself",
        ),
    ],
    ids=[
        "one-value",
        "driver-is-a-number",
        "bad-basis",
        "target-not-an-account",
        "no-activities",
        "unopened-driver",
        "unopened-target",
        "target-is-pool",
    ],
)
def test_malformed_rules_are_reported_at_their_line_and_costs_stay(rule, message):
    text, entries, errors, _ = load(OPS_OPENS + rule + PAYROLL_AND_HOURS)
    rule_line = line_of(text, 'custom "allocate"')
    # The broken rule still governs January: one error at the rule, one for the month it holds.
    assert [e.message for e in errors] == [message, STAYS_90.format(line=rule_line)]
    assert [(e.source["filename"], e.source["lineno"]) for e in errors] == [("<string>", rule_line)] * 2
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_an_unopened_pool_suggests_the_closest_pool_and_its_money_is_reported():
    text, entries, errors, _ = load(
        OPS_OPENS,
        '2025-01-01 custom "allocate" Expenses:Shared:Opps Equity:Stats:Hours:Ops\n'
        "  serving: Expenses:COGS:Ops\n",
        PAYROLL_AND_HOURS,
    )
    rule_line = line_of(text, 'custom "allocate"')
    assert [(e.message, e.source["lineno"]) for e in errors] == [
        (
            "Allocate rule names pool account Expenses:Shared:Opps, which is not opened "
            "(did you mean Expenses:Shared:Ops?)",
            rule_line,
        ),
        (
            "Expenses:Shared:Ops holds 90.00 USD at the end of 2025-01 after allocation: every account "
            "under Expenses:Shared is empty at month end, and no allocate rule names it as a pool; add a "
            "rule, or book it outside Expenses:Shared",
            line_of(text, "open Expenses:Shared:Ops"),
        ),
    ]
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_quoted_account_names_in_a_rule_are_accepted():
    _, entries, errors, _ = load(
        OPS.replace(
            'custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops',
            'custom "allocate" "Expenses:Shared:Ops" "Equity:Stats:Hours:Ops"',
        ),
        """
        2025-01-15 * "Payroll"
          Expenses:Shared:Ops   10.00 USD
          Assets:Bank
        2025-01-31 * "Timesheets"
          Equity:Stats:Hours:Ops:Serving    1 HOUR
          Equity:Stats:Offset              -1 HOUR
        """,
    )
    assert errors == []
    (entry,) = allocations(entries)
    assert postings_of(entry)["Expenses:COGS:Ops"] == Decimal("10.00")


def test_a_second_rule_for_the_same_pool_and_date_is_reported_and_nothing_moves():
    text, entries, errors, _ = load(
        OPS,
        """
        2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
          serving:  Expenses:RnD:Ops
        """,
        PAYROLL_AND_HOURS,
    )
    first = line_of(text, 'custom "allocate"')
    second = line_of(text, 'custom "allocate"', 2)
    assert [(e.message, e.source["lineno"]) for e in errors] == [
        (
            f"A second allocate rule for Expenses:Shared:Ops dated 2025-01-01 (the first is at "
            f"<string>:{first}); neither applies, and the pool keeps its amounts from 2025-01-01 until "
            "one of the two is removed",
            second,
        ),
        (STAYS_90.format(line=second), second),
    ]
    assert allocations(entries) == []
    assert balance(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_a_cycle_among_pools_is_an_error_and_both_pools_keep_their_costs():
    text, entries, errors, _ = load(
        """\
        2025-01-01 open Expenses:Shared:A
        2025-01-01 open Expenses:Shared:B
        2025-01-01 open Expenses:Shared:C
        2025-01-01 open Expenses:COGS:X
        2025-01-01 open Equity:Stats:H:One
        2025-01-01 open Equity:Stats:H:Two

        2025-01-01 custom "allocate" Expenses:Shared:A Equity:Stats:H
          one: Expenses:Shared:B
          two: Expenses:COGS:X

        2025-01-01 custom "allocate" Expenses:Shared:B Equity:Stats:H
          one: Expenses:Shared:A
          two: Expenses:COGS:X

        2025-01-01 custom "allocate" Expenses:Shared:C Equity:Stats:H
          one: Expenses:Shared:A
          two: Expenses:COGS:X

        2025-01-10 * "Costs"
          Expenses:Shared:A   10.00 USD
          Expenses:Shared:B   20.00 USD
          Expenses:Shared:C   30.00 USD
          Assets:Bank
        2025-01-31 * "Hours"
          Equity:Stats:H:One    1 HOUR
          Equity:Stats:H:Two    1 HOUR
          Equity:Stats:Offset  -2 HOUR
        """
    )
    assert [(e.message, e.source["lineno"]) for e in errors] == [
        (
            "Allocation cycle among pools Expenses:Shared:A -> Expenses:Shared:B: Expenses:Shared:A "
            "is not allocated and its costs stay in it",
            line_of(text, 'custom "allocate" Expenses:Shared:A'),
        ),
        (
            "Allocation cycle among pools Expenses:Shared:A -> Expenses:Shared:B: Expenses:Shared:B "
            "is not allocated and its costs stay in it",
            line_of(text, 'custom "allocate" Expenses:Shared:B'),
        ),
    ]
    # C is outside the cycle: it is still allocated (15.00 of it into A, where it stays).
    (entry,) = allocations(entries)
    assert entry.meta["pool"] == "Expenses:Shared:C"
    assert balance(entries, "Expenses:Shared:A") == Decimal("25.00")
    assert balance(entries, "Expenses:Shared:B") == Decimal("20.00")


def test_errors_are_printed_by_bean_check_with_file_and_line(tmp_path):
    ledger = tmp_path / "books.beancount"
    ledger.write_text(
        HEADER
        + OPS
        + """
2025-01-15 * "Payroll"
  Expenses:Shared:Ops   90.00 USD
  Assets:Bank
"""
    )
    _, errors, _ = loader.load_file(str(ledger))
    text = printer.format_error(errors[0])
    rule_line = line_of(ledger.read_text(), 'custom "allocate"')
    assert text.startswith(f"{ledger}:{rule_line}: Cannot allocate 90.00 USD of Expenses:Shared:Ops")


def test_main_prints_the_generated_entries(tmp_path, capsys):
    ledger = tmp_path / "books.beancount"
    ledger.write_text(HEADER + STEP_DOWN)
    assert allocate_module.main([str(ledger), "--pool", "Expenses:Shared:Serving"]) == 0
    out = capsys.readouterr().out
    assert out.count("#allocation") == 1
    assert "Expenses:COGS:API:Orion" in out and "307.50 USD" in out
