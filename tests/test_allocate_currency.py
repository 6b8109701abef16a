"""Every currency counts, at its value in the operating currency.

Amounts worked out by hand in the comments; each test also checks that the pool
ends the month at zero in units and in value, and that the generated entry
balances (the load, which is what bean-check runs, reports no error).
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import convert, data, interpolate, prices, realization
from helpers import line_of

HEADER = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.allocate"
2025-01-01 open Assets:Bank
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Expenses:Shared:Ops
2025-01-01 open Expenses:COGS:Ops
2025-01-01 open Equity:Stats:Hours:Ops:Serving
2025-01-01 open Equity:Stats:Hours:Ops:Training

2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
  serving:  Expenses:COGS:Ops
  training: Expenses:RnD:Ops

2025-01-31 * "Timesheets"
  Equity:Stats:Hours:Ops:Serving    2 HOUR
  Equity:Stats:Hours:Ops:Training   1 HOUR
  Equity:Stats:Offset              -3 HOUR
"""
RND_OPEN = "2025-01-01 open Expenses:RnD:Ops\n"


def write(tmp_path: Path, *parts: str, rnd_open: str = RND_OPEN) -> Path:
    path = tmp_path / "books.beancount"
    path.write_text(HEADER + rnd_open + "".join(textwrap.dedent(part) for part in parts))
    return path


def the_allocation(entries) -> data.Transaction:
    (entry,) = [e for e in entries if isinstance(e, data.Transaction) and "allocation" in e.tags]
    return entry


def usd(entries, account: str) -> Decimal:
    node = realization.get(realization.realize(entries), account)
    return Decimal(0) if node is None else node.balance.get_currency_units("USD").number


def pool_units(entries) -> dict[str, Decimal]:
    node = realization.get(realization.realize(entries), "Expenses:Shared:Ops")
    return {pos.units.currency: pos.units.number for pos in node.balance if pos.units.number != 0}


def pool_value(entries) -> Decimal:
    """The pool's value in USD: each posting at its weight, a weight in another currency at
    the price of its date (generated credits carry the price they are valued at)."""
    price_map = prices.build_price_map(entries)
    total = Decimal(0)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if posting.account == "Expenses:Shared:Ops":
                    weight = convert.convert_amount(convert.get_weight(posting), "USD", price_map, entry.date)
                    assert weight.currency == "USD"
                    total += weight.number
    return total


def assert_emptied_and_balanced(entries, errors) -> data.Transaction:
    assert errors == []
    entry = the_allocation(entries)
    assert interpolate.compute_residual(entry.postings).is_empty()
    assert pool_units(entries) == {}
    assert pool_value(entries) == 0
    return entry


def test_a_priced_posting_is_allocated_at_its_weight(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-10 * "Invoice in euros"
          Expenses:Shared:Ops   500.00 EUR @ 1.08 USD
          Assets:Bank
        2025-01-12 * "Invoice in dollars"
          Expenses:Shared:Ops   100.00 USD
          Assets:Bank
        """,
    )
    entries, errors, _ = loader.load_file(str(path))
    entry = assert_emptied_and_balanced(entries, errors)
    # Value 500.00 x 1.08 + 100.00 = 640.00; 2:1 -> 426.666.. / 213.333..: 426.67 / 213.33.
    assert [(p.account, str(p.units), str(p.price) if p.price else None) for p in entry.postings] == [
        ("Expenses:COGS:Ops", "426.67 USD", None),
        ("Expenses:RnD:Ops", "213.33 USD", None),
        ("Expenses:Shared:Ops", "-100.00 USD", None),
        ("Expenses:Shared:Ops", "-500.00 EUR", "1.08 USD"),
    ]
    assert usd(entries, "Expenses:COGS:Ops") + usd(entries, "Expenses:RnD:Ops") == Decimal("640.00")


def test_an_unpriced_foreign_posting_is_valued_at_the_price_of_its_date(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 price EUR 1.05 USD
        2025-01-10 price EUR 1.10 USD
        2025-01-20 price EUR 1.20 USD
        2025-02-01 price EUR 1.50 USD
        2025-01-15 * "Invoice"
          Expenses:Shared:Ops   200.00 EUR
          Assets:Bank
        2025-01-25 * "Invoice"
          Expenses:Shared:Ops   100.00 EUR
          Assets:Bank
        """,
    )
    entries, errors, _ = loader.load_file(str(path))
    entry = assert_emptied_and_balanced(entries, errors)
    # 200.00 at 1.10 (the price of 10 Jan, latest on or before 15 Jan) = 220.00; 100.00 at 1.20 =
    # 120.00; value 340.00, 2:1 -> 226.67 / 113.33. The pool is credited at the same two rates.
    assert [(p.account, str(p.units), str(p.price) if p.price else None) for p in entry.postings] == [
        ("Expenses:COGS:Ops", "226.67 USD", None),
        ("Expenses:RnD:Ops", "113.33 USD", None),
        ("Expenses:Shared:Ops", "-200.00 EUR", "1.10 USD"),
        ("Expenses:Shared:Ops", "-100.00 EUR", "1.20 USD"),
    ]


def test_the_split_quantum_keeps_a_fine_value_exact(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-10 * "Invoice"
          Expenses:Shared:Ops   123.45 EUR @ 1.0837 USD
          Assets:Bank
        2025-01-11 * "Invoice"
          Expenses:Shared:Ops    10.00 USD
          Assets:Bank
        """,
    )
    entries, errors, _ = loader.load_file(str(path))
    entry = assert_emptied_and_balanced(entries, errors)
    # 123.45 x 1.0837 = 133.782765, + 10.00 = 143.782765, split 2:1 in millionths:
    # 95.8551766.. -> 95.855177 (the larger remainder), 47.9275883.. -> 47.927588.
    targets = [p.units.number for p in entry.postings[:2]]
    assert targets == [Decimal("95.855177"), Decimal("47.927588")]
    assert sum(targets) == Decimal("143.782765")


def posting_error(path: Path, marker: str, reason: str, amount: str, date: str) -> tuple[str, str, int]:
    return (
        f"Cannot allocate Expenses:Shared:Ops for 2025-01: its posting of {amount} on {date} cannot be "
        f"valued: {reason}; the month's amount stays in the pool",
        str(path),
        line_of(path, marker),
    )


@pytest.mark.parametrize(
    ("posting", "amount", "reason"),
    [
        (
            "Expenses:Shared:Ops   200.00 EUR",
            "200.00 EUR",
            "there is no price of EUR in USD on or before 2025-01-15 (add a price directive, or write the "
            "posting with @ its rate)",
        ),
        (
            "Expenses:Shared:Ops   2 GPU {100.00 USD}",
            "2 GPU",
            "it is held at cost; a pool takes plain amounts (book the purchase to an asset, and its "
            "expense to the pool)",
        ),
        (
            "Expenses:Shared:Ops   200.00 EUR @ 0.85 GBP",
            "200.00 EUR",
            "it is priced in GBP, not the operating currency USD",
        ),
    ],
    ids=["no-price", "at-cost", "priced-in-another-currency"],
)
def test_a_posting_that_cannot_be_valued_is_named_and_the_month_stays(tmp_path, posting, amount, reason):
    path = write(
        tmp_path,
        f"""
        2025-01-12 * "Invoice in dollars"
          Expenses:Shared:Ops   100.00 USD
          Assets:Bank
        2025-01-15 * "Foreign invoice"
          {posting}
          Assets:Bank
        """,
    )
    entries, errors, _ = loader.load_file(str(path))
    assert [(e.message, e.source["filename"], e.source["lineno"]) for e in errors] == [
        posting_error(path, '"Foreign invoice"', reason, amount, "2025-01-15")
    ]
    assert not [e for e in entries if isinstance(e, data.Transaction) and "allocation" in e.tags]
    assert usd(entries, "Expenses:Shared:Ops") == Decimal("100.00")


@pytest.mark.parametrize(
    ("extra", "rnd_open", "reason"),
    [
        (
            "",
            "2025-01-01 open Expenses:RnD:Ops  EUR\n",
            "target Expenses:RnD:Ops is opened for other currencies than USD",
        ),
        (
            "2025-01-20 close Expenses:RnD:Ops\n",
            RND_OPEN,
            "target Expenses:RnD:Ops is closed on 2025-01-20, before the month's end",
        ),
        (
            "2025-01-20 close Expenses:Shared:Ops\n",
            RND_OPEN,
            "the pool is closed on 2025-01-20, before the month's end",
        ),
        (
            "",
            "2025-02-01 open Expenses:RnD:Ops\n",
            "target Expenses:RnD:Ops is opened only on 2025-02-01, before the month's end",
        ),
    ],
    ids=["target-currency-constraint", "target-closed", "pool-closed", "target-opened-later"],
)
def test_what_beancount_would_refuse_in_the_generated_entry_is_an_error_at_the_rule(
    tmp_path, extra, rnd_open, reason
):
    path = write(
        tmp_path,
        extra,
        """
        2025-01-12 * "Invoice"
          Expenses:Shared:Ops   90.00 USD
          Assets:Bank
        """,
        rnd_open=rnd_open,
    )
    entries, errors, _ = loader.load_file(str(path))
    assert [(e.message, e.source["filename"], e.source["lineno"]) for e in errors] == [
        (
            f"Cannot allocate 90.00 USD of Expenses:Shared:Ops for 2025-01: {reason}; the amount stays in "
            "the pool",
            str(path),
            line_of(path, 'custom "allocate"'),
        )
    ]
    assert usd(entries, "Expenses:Shared:Ops") == Decimal("90.00")


def test_a_foreign_amount_reaches_a_downstream_pool_as_its_value(tmp_path):
    path = write(
        tmp_path,
        """
        2025-01-01 open Expenses:Shared:Upstream
        2025-01-01 custom "allocate" Expenses:Shared:Upstream Equity:Stats:Hours:Ops
          serving:  Expenses:Shared:Ops
          training: Expenses:RnD:Ops
        2025-01-10 * "Invoice in euros"
          Expenses:Shared:Upstream   300.00 EUR @ 1.10 USD
          Assets:Bank
        """,
    )
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    # Upstream 330.00 USD of value: 220.00 to Ops, 110.00 to R&D; Ops splits 220.00 2:1.
    assert usd(entries, "Expenses:COGS:Ops") == Decimal("146.67")
    assert usd(entries, "Expenses:RnD:Ops") == Decimal("110.00") + Decimal("73.33")
    assert pool_units(entries) == {}
