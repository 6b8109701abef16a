"""Conservation: the allocation moves value between accounts of one kind, never in or out of one.

For every mistake the books refuse (and for correct books), the operating-currency
value of all postings per account root (Assets, Liabilities, Equity, Income,
Expenses) is identical with and without the plugin. Amounts in other units
(driver quantities) are compared in their own units.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import convert, data, prices

PLUGIN = 'plugin "ailab_books.plugins.allocate"\n'
BASE = """\
option "operating_currency" "USD"
2025-01-01 open Assets:Bank
2025-01-01 open Equity:Opening
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Expenses:Shared:Ops
2025-01-01 open Expenses:Shared:GPU
2025-01-01 open Expenses:COGS:Ops
2025-01-01 open Expenses:RnD:Ops
2025-01-01 open Income:Seats
2025-01-01 open Income:Seats:Orion
2025-01-01 open Equity:Stats:Hours:Ops:Serving
2025-01-01 open Equity:Stats:Hours:Ops:Training
2025-01-01 price EUR 1.10 USD

2025-01-01 custom "allocate" Expenses:Shared:GPU Equity:Stats:Hours:Ops
  serving:  Expenses:Shared:Ops
  training: Expenses:RnD:Ops
"""
RULE = """
2025-01-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops
  serving:  Expenses:COGS:Ops
  training: Expenses:RnD:Ops
"""
ACTIVITY = """
2025-01-15 * "Payroll"
  Expenses:Shared:Ops   90.00 USD
  Expenses:Shared:GPU   33.33 USD
  Assets:Bank
2025-02-15 * "Payroll"
  Expenses:Shared:Ops   70.01 USD
  Assets:Bank
2025-01-20 * "Seats"
  Income:Seats   -300.00 USD
  Assets:Bank
"""
HOURS = "".join(
    f"""
2025-{m:02d}-28 * "Timesheets"
  Equity:Stats:Hours:Ops:Serving    2 HOUR
  Equity:Stats:Hours:Ops:Training   1 HOUR
  Equity:Stats:Offset              -3 HOUR
"""
    for m in (1, 2)
)


def rule(pool: str = "Expenses:Shared:Ops", driver: str = "Equity:Stats:Hours:Ops", targets: str = "") -> str:
    targets = targets or "  serving:  Expenses:COGS:Ops\n  training: Expenses:RnD:Ops\n"
    return f'\n2025-01-01 custom "allocate" {pool} {driver}\n{targets}'


def invoice(posting: str) -> str:
    return f'\n2025-01-16 * "Invoice"\n  {posting}\n  Assets:Bank\n'


MISTAKES = {
    "correct-books": RULE,
    "broken-replacement-rule": RULE
    + '\n2025-02-01 custom "allocate" Expenses:Shared:Ops Equity:Stats:Hours:Ops\n'
    "  serving:  Expenses:COGS:Opps\n  training: Expenses:RnD:Ops\n",
    "unopened-pool": rule(pool="Expenses:Shared:Opz"),
    "repeated-activity": RULE + "  serving:  Expenses:RnD:Ops\n",
    "balance-sheet-pool": rule(pool="Assets:Bank"),
    "equity-target": rule(targets="  serving: Equity:Opening\n  training: Expenses:RnD:Ops\n"),
    "income-pool-expense-targets": rule(
        pool="Income:Seats", targets="  serving: Expenses:COGS:Ops\n  training: Income:Seats:Orion\n"
    ),
    "expense-pool-income-target": rule(
        targets="  serving: Income:Seats:Orion\n  training: Expenses:RnD:Ops\n"
    ),
    "pnl-driver": rule(driver="Income:Seats"),
    "driver-admits-usd": RULE + "2025-01-01 open Equity:Stats:Hours:Ops:Cash  USD\n",
    "money-under-driver": RULE + invoice("Equity:Stats:Hours:Ops:Serving   40.00 USD"),
    "priced-foreign-posting": RULE + invoice("Expenses:Shared:Ops   500.00 EUR @ 1.08 USD"),
    "unpriced-foreign-posting": RULE + invoice("Expenses:Shared:Ops   500.00 EUR"),
    "foreign-posting-without-price": RULE + invoice("Expenses:Shared:Ops   500.00 CHF"),
    "posting-at-cost": RULE + invoice("Expenses:Shared:Ops   2 GPU {100.00 USD}"),
    "target-currency-constraint": RULE.replace("Expenses:RnD:Ops", "Expenses:RnD:Eur")
    + "2025-01-01 open Expenses:RnD:Eur  EUR\n",
    "target-closed": RULE + "2025-01-20 close Expenses:RnD:Ops\n",
    "unnamed-shared-account": RULE
    + "2025-01-01 open Expenses:Shared:Misc\n"
    + invoice("Expenses:Shared:Misc   12.50 USD"),
    "cycle": rule(targets="  serving:  Expenses:Shared:GPU\n  training: Expenses:RnD:Ops\n"),
    "bad-setting": RULE,
}


# Mistakes that hold both pools: a driver or target they share, or a cycle between them.
NOTHING_MOVES = {"cycle", "driver-admits-usd", "money-under-driver", "target-closed"}


def values_by_root(entries) -> dict[tuple[str, str], Decimal]:
    """(root account, currency) -> the sum of every posting's weight, in USD where it can be valued."""
    price_map = prices.build_price_map(entries)
    totals: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                amount = convert.convert_amount(convert.get_weight(posting), "USD", price_map, entry.date)
                key = (posting.account.split(":")[0], amount.currency)
                totals[key] = totals.get(key, Decimal(0)) + amount.number
    return {key: number for key, number in totals.items() if number != 0}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_value_per_account_root_is_the_same_with_and_without_the_plugin(tmp_path: Path, mistake: str):
    body = BASE + textwrap.dedent(MISTAKES[mistake]) + ACTIVITY + HOURS
    plugin = PLUGIN.replace('"\n', '" "pool-root=Shared"\n') if mistake == "bad-setting" else PLUGIN
    with_plugin = tmp_path / "with.beancount"
    with_plugin.write_text(plugin + body)
    without_plugin = tmp_path / "without.beancount"
    without_plugin.write_text(body)

    entries, errors, _ = loader.load_file(str(with_plugin))
    plain_entries, _, _ = loader.load_file(str(without_plugin))
    generated = [e for e in entries if isinstance(e, data.Transaction) and "allocation" in e.tags]
    # Not vacuous: except where the mistake stops both pools (they share the driver and the
    # targets), something was allocated and has to be conserved.
    assert bool(generated) == (mistake not in NOTHING_MOVES)
    assert (errors == []) == (
        mistake in ("correct-books", "priced-foreign-posting", "unpriced-foreign-posting")
    )
    assert values_by_root(entries) == values_by_root(plain_entries)
