"""Red team: the issue's mistakes in shapes the other tests do not use.

Each test writes a small lab of its own (two months of GPU lease, travel,
revenue and tokens) with ONE mistake, and checks that the outcome is one of:
a located error (message, file and line), the amount kept visibly in its pool,
or the right figure, computed here from the text's own numbers. A case that is
silently wrong is written as it should behave and marked ``xfail(strict=True)``
with the figures seen.

The lab, without a mistake (hand-worked; the chain is GPUCluster -> serving
pool -> COGS per model, training -> R&D):

    month  lease    GPUH orion/wren/training  serving  orion  wren  revenue  tokens  travel
    01     1000.00  300/100/600               400.00   300.00 100.00 2500.00 150     100.00
    02     1200.00  200/200/400               600.00   300.00 300.00 2700.00 180     100.00
"""

from __future__ import annotations

import decimal
import os
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import convert, data
from helpers import balance, line_of, located

from ailab_books.queries.report import main as lab_report
from ailab_books.queries.runner import load_ledger, run_saved

D = Decimal
CENT = D("0.01")

HEAD = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.allocate"
plugin "ailab_books.plugins.classify"
"""

OPENS = """
2025-01-01 commodity MTOK
2025-01-01 open Assets:Bank:USD
2025-01-01 open Assets:Bank:EUR
2025-01-01 open Assets:Bank:GBP
2025-01-01 open Liabilities:Payable
2025-01-01 open Income:API:Orion
2025-01-01 open Income:API:Wren
2025-01-01 open Expenses:Shared:GPUCluster
2025-01-01 open Expenses:Shared:Serving:Compute
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren
2025-01-01 open Expenses:RnD:Training:Compute
2025-01-01 open Expenses:SGA:Travel
2025-01-01 open Equity:Stats:GPUH:Serving:API-Orion
2025-01-01 open Equity:Stats:GPUH:Serving:API-Wren
2025-01-01 open Equity:Stats:GPUH:Training
2025-01-01 open Equity:Stats:Tokens:API:Orion
2025-01-01 open Equity:Stats:Tokens:API:Wren
2025-01-01 open Equity:Stats:Offset
"""

GPU_RULE = """
2025-01-01 custom "allocate" Expenses:Shared:GPUCluster Equity:Stats:GPUH
  serving:  Expenses:Shared:Serving:Compute
  training: Expenses:RnD:Training:Compute
"""

SERVING_RULE = """
2025-01-01 custom "allocate" Expenses:Shared:Serving:Compute Equity:Stats:GPUH:Serving
  api-orion: Expenses:COGS:Inference:Compute:API:Orion
  api-wren:  Expenses:COGS:Inference:Compute:API:Wren
"""


def month(
    number: int, lease: str, gpuh: tuple[int, int, int], revenue: tuple[str, str], tokens: tuple[int, int]
) -> str:
    return f"""
2025-{number:02d}-05 * "Cloud" "GPU lease"
  Expenses:Shared:GPUCluster   {lease} USD
  Assets:Bank:USD
2025-{number:02d}-20 * "Travel"
  Expenses:SGA:Travel   100.00 USD
  Assets:Bank:USD
2025-{number:02d}-25 * "Billing"
  Income:API:Orion   -{revenue[0]} USD
  Income:API:Wren    -{revenue[1]} USD
  Assets:Bank:USD
2025-{number:02d}-28 * "Scheduler"
  Equity:Stats:GPUH:Serving:API-Orion  {gpuh[0]} GPUH
  Equity:Stats:GPUH:Serving:API-Wren   {gpuh[1]} GPUH
  Equity:Stats:GPUH:Training           {gpuh[2]} GPUH
  Equity:Stats:Offset
2025-{number:02d}-28 * "Metering"
  Equity:Stats:Tokens:API:Orion  {tokens[0]} MTOK
  Equity:Stats:Tokens:API:Wren   {tokens[1]} MTOK
  Equity:Stats:Offset
"""


MONTHS = month(1, "1000.00", (300, 100, 600), ("2000.00", "500.00"), (100, 50)) + month(
    2, "1200.00", (200, 200, 400), ("2100.00", "600.00"), (120, 60)
)


def write(
    tmp_path: Path,
    *parts: str,
    head: str = HEAD,
    rules: str = GPU_RULE + SERVING_RULE,
    name: str = "main.beancount",
) -> Path:
    path = tmp_path / name
    path.write_text(head + OPENS + rules + MONTHS + "".join(textwrap.dedent(part) for part in parts))
    return path


def spend(date: str, account: str, amount: str, other: str = "Assets:Bank:USD") -> str:
    return f'\n{date} * "Vendor"\n  {account}  {amount}\n  {other}\n'


def load(path: Path) -> tuple[list[data.Directive], list[Any]]:
    entries, errors, _ = loader.load_file(str(path))
    return entries, errors


def stays(
    path: Path, rule_line: int, amount: str, label: str, pool: str = "Expenses:Shared:GPUCluster"
) -> str:
    return (
        f"Cannot allocate {amount} of {pool} for {label}: the rule at {path}:{rule_line} is invalid "
        "(see the error there); the amount stays in the pool"
    )


def figures(path: Path) -> dict[str, dict[str, Decimal]]:
    """What the users see per month: gross-margin-per-mtok and net-margin-per-mtok, by 'YYYY-MM'."""
    ledger = load_ledger(path)
    rows: dict[str, dict[str, Decimal]] = {}
    for name in ("gross-margin-per-mtok", "net-margin-per-mtok"):
        for row in run_saved(ledger, name).to_dict("records"):
            label = f"{row['year']}-{row['month']:02d}"
            rows.setdefault(label, {}).update({k: v for k, v in row.items() if k not in ("year", "month")})
    return rows


def by_model(path: Path) -> dict[tuple[str, str], dict[str, Decimal]]:
    rows = run_saved(load_ledger(path), "margin-by-model").to_dict("records")
    return {(f"{row['year']}-{row['month']:02d}", row["model"]): row for row in rows}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)


BASE_REVENUE = {"2025-01": D("2500.00"), "2025-02": D("2700.00")}
BASE_TOKENS = {"2025-01": D(150), "2025-02": D(180)}


# 1. Allocation rules with a mistake in another place than a target.


def test_a_typo_in_the_driver_of_a_replacement_rule_keeps_its_month_in_the_pool(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        2025-02-01 custom "allocate" Expenses:Shared:GPUCluster Equity:Stats:GPUh
          serving:  Expenses:Shared:Serving:Compute
          training: Expenses:RnD:Training:Compute
        """,
    )
    entries, errors = load(path)
    rule = line_of(path, "Equity:Stats:GPUh")
    assert located(errors) == [
        (
            "Allocate rule names driver account Equity:Stats:GPUh, which is not opened "
            "(did you mean Equity:Stats:GPUH?)",
            str(path),
            rule,
        ),
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    # January under the 2025-01-01 rule (600.00 of 1000.00 to training); February never under it.
    assert balance(entries, "Expenses:RnD:Training:Compute") == D("600.00")
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("1200.00")


def test_a_typo_in_the_pool_of_a_replacement_rule_holds_the_pool_it_means_and_is_refused_by_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        """
        2025-02-01 custom "allocate" Expenses:Shared:GPUClustr Equity:Stats:GPUH
          serving:  Expenses:Shared:Serving:Compute
          training: Expenses:SGA:Travel
        """,
    )
    _, errors = load(path)
    rule = line_of(path, "GPUClustr")
    assert located(errors) == [
        (
            "Allocate rule names pool account Expenses:Shared:GPUClustr, which is not opened "
            "(did you mean Expenses:Shared:GPUCluster?)",
            str(path),
            rule,
        ),
        # The misspelt replacement rule governs the pool it most likely means from its
        # date: February stays in the pool, never split under the January rule.
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    entries, _ = load(path)
    assert balance(entries, "Expenses:RnD:Training:Compute") == D("600.00")
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("1200.00")
    assert lab_report([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}:{rule}: Allocate rule names pool account Expenses:Shared:GPUClustr" in err


def test_a_broken_first_rule_of_a_pool_keeps_every_month_in_the_pool(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        rules=GPU_RULE.replace(
            "training: Expenses:RnD:Training:Compute", "training: Expenses:RnD:Trainng:Compute"
        )
        + SERVING_RULE,
    )
    entries, errors = load(path)
    rule = line_of(path, 'custom "allocate" Expenses:Shared:GPUCluster')
    assert located(errors) == [
        (
            "Allocate rule for Expenses:Shared:GPUCluster sends 'training' to Expenses:RnD:Trainng:Compute, "
            "which is not opened (did you mean Expenses:RnD:Training:Compute?)",
            str(path),
            rule,
        ),
        (stays(path, rule, "1000.00 USD", "2025-01"), str(path), rule),
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("2200.00")
    assert balance(entries, "Expenses:COGS:Inference:Compute:API:Orion") == D(0)
    assert balance(entries, "Expenses:RnD:Training:Compute") == D(0)


def test_a_replacement_rule_dated_mid_month_governs_that_whole_month(tmp_path: Path) -> None:
    # docs/conventions.md: the rule in effect on a month's last day governs the month.
    path = write(
        tmp_path,
        """
        2025-02-15 custom "allocate" Expenses:Shared:GPUCluster Equity:Stats:GPUH
          serving:  Expenses:Shared:Serving:Compute
          training: Expenses:SGA:Travel
        """,
    )
    entries, errors = load(path)
    assert errors == []
    # February's training share (400/800 of 1200.00, the lease of 02-05 included) goes to travel.
    assert balance(entries, "Expenses:SGA:Travel") == D("200.00") + D("1200.00") * 400 / 800
    assert balance(entries, "Expenses:RnD:Training:Compute") == D("1000.00") * 600 / 1000
    got = figures(path)
    assert got["2025-02"]["inference_cogs"] == D("1200.00") * 400 / 800
    assert got["2025-02"]["all_costs"] == D("1200.00") + D("100.00")


def test_a_first_rule_dated_mid_month_governs_that_month(tmp_path: Path) -> None:
    path = write(tmp_path, rules=GPU_RULE.replace("2025-01-01", "2025-01-15") + SERVING_RULE)
    entries, errors = load(path)
    assert errors == []
    assert balance(entries, "Expenses:Shared:GPUCluster") == D(0)
    assert figures(path)["2025-01"]["inference_cogs"] == D("1000.00") * 400 / 1000


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "Liabilities:Payable",
            "Allocate rule for Expenses:Shared:GPUCluster sends 'training' to Liabilities:Payable, which is "
            "under Liabilities: the targets of a pool under Expenses are Expenses accounts (money only moves "
            "between profit-and-loss accounts of the same kind)",
        ),
        (
            "Assets:Bank:EUR",
            "Allocate rule for Expenses:Shared:GPUCluster sends 'training' to Assets:Bank:EUR, which is "
            "under Assets: the targets of a pool under Expenses are Expenses accounts (money only moves "
            "between profit-and-loss accounts of the same kind)",
        ),
    ],
)
def test_a_balance_sheet_target_is_refused_at_the_rule(tmp_path: Path, target: str, message: str) -> None:
    path = write(
        tmp_path,
        rules=GPU_RULE.replace("training: Expenses:RnD:Training:Compute", f"training: {target}")
        + SERVING_RULE,
    )
    entries, errors = load(path)
    rule = line_of(path, 'custom "allocate" Expenses:Shared:GPUCluster')
    assert located(errors) == [
        (message, str(path), rule),
        (stays(path, rule, "1000.00 USD", "2025-01"), str(path), rule),
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    assert balance(entries, target) == D(0)
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("2200.00")


@pytest.mark.parametrize(
    ("driver", "first_errors"),
    [
        (
            "Income:API",
            [
                "Allocate rule names driver account Income:API, which is under Income: a driver holds "
                "quantities (hours, GPU-hours, tokens), never a profit-and-loss account"
            ],
        ),
        (
            "Expenses:RnD",
            [
                "Allocate rule names driver account Expenses:RnD, which is under Expenses: a driver holds "
                "quantities (hours, GPU-hours, tokens), never a profit-and-loss account",
                "Allocate rule for Expenses:Shared:GPUCluster sends 'training' to "
                "Expenses:RnD:Training:Compute, inside its driver Expenses:RnD: a driver holds quantities, "
                "not money",
            ],
        ),
    ],
)
def test_a_profit_and_loss_driver_is_refused_at_the_rule(
    tmp_path: Path, driver: str, first_errors: list[str]
) -> None:
    path = write(
        tmp_path,
        rules=GPU_RULE.replace("GPUCluster Equity:Stats:GPUH", f"GPUCluster {driver}") + SERVING_RULE,
    )
    entries, errors = load(path)
    rule = line_of(path, 'custom "allocate" Expenses:Shared:GPUCluster')
    assert located(errors) == [
        *((message, str(path), rule) for message in first_errors),
        (stays(path, rule, "1000.00 USD", "2025-01"), str(path), rule),
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("2200.00")


@pytest.mark.parametrize("second", ["    serving:Expenses:SGA:Travel", "\tserving:\tExpenses:SGA:Travel"])
def test_an_activity_written_again_with_other_spacing_is_refused(tmp_path: Path, second: str) -> None:
    rules = GPU_RULE.replace(
        "  training: Expenses:RnD:Training:Compute", f"  training: Expenses:RnD:Training:Compute\n{second}"
    )
    path = write(tmp_path, rules=rules + SERVING_RULE)
    entries, errors = load(path)
    rule = line_of(path, 'custom "allocate" Expenses:Shared:GPUCluster')
    assert located(errors) == [
        (
            "Activity 'serving' is written 2 times in allocate rule for Expenses:Shared:GPUCluster "
            f"(lines {rule + 1}, {rule + 3}); beancount keeps only the last, so write it once",
            str(path),
            rule,
        ),
        (stays(path, rule, "1000.00 USD", "2025-01"), str(path), rule),
        (stays(path, rule, "1200.00 USD", "2025-02"), str(path), rule),
    ]
    assert balance(entries, "Expenses:SGA:Travel") == D("200.00")


# 2. Foreign currency in pools, in shapes the other tests do not use.


def pool_month_end(
    entries: list[data.Directive], pool: str, year_month: str, rates: dict[str, Decimal] | None = None
) -> tuple[dict[str, Decimal], Decimal]:
    """The pool's units per currency and its USD value at the month's end: the sum of the weights,
    a plain foreign amount at the rate given here (read by hand from the text's price). Summed
    with 60 digits: at Decimal's default 28, 1000.00 + 9.99...9 (a 28-digit weight) already rounds."""
    units: dict[str, Decimal] = {}
    value = D(0)
    with decimal.localcontext(prec=60):
        return _month_end_sums(entries, pool, year_month, rates, units, value)


def _month_end_sums(
    entries: list[data.Directive],
    pool: str,
    year_month: str,
    rates: dict[str, Decimal] | None,
    units: dict[str, Decimal],
    value: Decimal,
) -> tuple[dict[str, Decimal], Decimal]:
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date.strftime("%Y-%m") > year_month:
            continue
        for posting in entry.postings:
            if posting.account == pool and posting.units is not None:
                currency = posting.units.currency
                units[currency] = units.get(currency, D(0)) + posting.units.number
                weight = convert.get_weight(posting)
                rate = D(1) if weight.currency == "USD" else (rates or {})[weight.currency]
                value += weight.number * rate
    return units, value


def test_a_pool_receiving_a_total_price_is_split_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, spend("2025-01-10", "Expenses:Shared:GPUCluster", "3.00 EUR @@ 10.00 USD"))
    entries, errors = load(path)
    assert errors == []
    pool = D("1000.00") + D("10.00")  # the @@ is the invoice's total in USD
    got = figures(path)["2025-01"]
    assert cents(got["inference_cogs"]) == cents(pool * 400 / 1000)  # 404.00
    assert cents(got["all_costs"]) == pool + D("100.00")  # 1110.00
    assert cents(got["gross_margin"]) == BASE_REVENUE["2025-01"] - cents(pool * 400 / 1000)
    units, value = pool_month_end(entries, "Expenses:Shared:GPUCluster", "2025-01")
    assert all(number == 0 for number in units.values())
    assert cents(value) == 0


def test_a_total_price_in_a_pool_gives_cent_amounts_and_a_zero_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, spend("2025-01-10", "Expenses:Shared:GPUCluster", "3.00 EUR @@ 10.00 USD"))
    entries, errors = load(path)
    assert errors == []
    generated = [e for e in entries if isinstance(e, data.Transaction) and "allocation" in e.tags]
    usd = [
        p.units.number
        for e in generated
        for p in e.postings
        if p.units is not None and p.units.currency == "USD"
    ]
    assert all(number == number.quantize(CENT) for number in usd), usd
    assert pool_month_end(entries, "Expenses:Shared:GPUCluster", "2025-01")[1] == 0
    assert lab_report([str(path), "--format", "csv"]) == 0
    assert "\n2025-01,150.00," in capsys.readouterr().out


@pytest.mark.parametrize(
    ("refund_date", "refund_rate"),
    [("2025-01-20", "1.1037"), ("2025-02-20", "1.12")],
    ids=["same-month", "next-month"],
)
def test_a_foreign_refund_at_another_rate_counts_at_its_own_rate(
    tmp_path: Path, refund_date: str, refund_rate: str
) -> None:
    path = write(
        tmp_path,
        spend("2025-01-10", "Expenses:Shared:GPUCluster", "500.00 EUR @ 1.08 USD"),
        spend(refund_date, "Expenses:Shared:GPUCluster", f"-100.00 EUR @ {refund_rate} USD"),
    )
    entries, errors = load(path)
    assert errors == []
    invoice, refund = D("500.00") * D("1.08"), D("-100.00") * D(refund_rate)
    pools = {"2025-01": D("1000.00") + invoice, "2025-02": D("1200.00")}
    pools[refund_date[:7]] += refund
    serving = {"2025-01": D(400) / 1000, "2025-02": D(400) / 800}
    got = figures(path)
    for label, pool in pools.items():
        assert got[label]["inference_cogs"] == cents(pool * serving[label]), label
        assert got[label]["all_costs"] == cents(pool) + D("100.00"), label
        assert got[label]["net_margin"] == BASE_REVENUE[label] - cents(pool) - D("100.00"), label
        units, value = pool_month_end(entries, "Expenses:Shared:GPUCluster", label)
        assert units == {"USD": 0, "EUR": 0} and value == 0, (label, units, value)


def test_gbp_priced_in_euros_stays_in_a_pool_with_an_error_at_its_posting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 price EUR 1.08 USD\n",
        spend("2025-01-10", "Expenses:Shared:GPUCluster", "100.00 GBP @ 1.17 EUR", "Assets:Bank:EUR"),
    )
    entries, errors = load(path)
    posting = line_of(path, "100.00 GBP @ 1.17 EUR") - 1
    assert located(errors) == [
        (
            "Cannot allocate Expenses:Shared:GPUCluster for 2025-01: its posting of 100.00 GBP on 2025-01-10 "
            "cannot be valued: it is priced in EUR, not the operating currency USD; the month's amount stays "
            "in the pool",
            str(path),
            posting,
        )
    ]
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("1000.00")
    assert balance(entries, "Expenses:Shared:GPUCluster", "GBP") == D("100.00")


def test_gbp_in_a_pool_with_only_a_price_in_euros_is_an_error_at_its_posting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 price GBP 1.17 EUR\n2025-01-01 price EUR 1.08 USD\n",
        spend("2025-01-10", "Expenses:Shared:GPUCluster", "100.00 GBP", "Assets:Bank:GBP"),
    )
    entries, errors = load(path)
    posting = line_of(path, 'Vendor"')
    assert located(errors) == [
        (
            "Cannot allocate Expenses:Shared:GPUCluster for 2025-01: its posting of 100.00 GBP on 2025-01-10 "
            "cannot be valued: there is no price of GBP in USD on or before 2025-01-10 (add a price "
            "directive, or write the posting with @ its rate); the month's amount stays in the pool",
            str(path),
            posting,
        ),
        (
            "Cannot value 100.00 GBP on Expenses:Shared:GPUCluster at 2025-01-10 in USD: no price GBP/USD "
            "on or before that date (add a `price` directive or an `@` price); without one it is in no USD "
            "figure",
            str(path),
            posting,
        ),
    ]
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("1000.00")


def test_gbp_priced_in_euros_on_a_direct_expense_counts_through_the_euro_rate(tmp_path: Path) -> None:
    # Not a pool: the weight is 117.00 EUR, valued at the EUR/USD price of its date.
    path = write(
        tmp_path,
        "\n2025-01-01 price EUR 1.08 USD\n",
        spend("2025-01-10", "Expenses:SGA:Travel", "100.00 GBP @ 1.17 EUR", "Assets:Bank:EUR"),
    )
    _, errors = load(path)
    assert errors == []
    got = figures(path)["2025-01"]
    assert got["all_costs"] == D("1000.00") + D("100.00") + cents(D("100.00") * D("1.17") * D("1.08"))
    assert got["inference_cogs"] == D("400.00")


@pytest.mark.parametrize("account", ["Expenses:Shared:GPUCluster", "Expenses:SGA:Travel"])
def test_a_price_written_the_wrong_way_round_is_read_inverted(tmp_path: Path, account: str) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 price USD 0.925 EUR\n",
        spend("2025-01-10", account, "200.00 EUR", "Assets:Bank:EUR"),
    )
    entries, errors = load(path)
    assert errors == []
    eur = D("200.00") / D("0.925")  # 216.216216...
    pooled = account.startswith("Expenses:Shared:")
    pool = D("1000.00") + (eur if pooled else 0)
    got = figures(path)["2025-01"]
    assert got["all_costs"] == cents(D("1000.00") + eur + D("100.00"))  # 1316.22
    assert got["inference_cogs"] == cents(pool * 400 / 1000)  # 486.49 pooled, 400.00 direct
    assert got["net_margin"] == BASE_REVENUE["2025-01"] - cents(D("1000.00") + eur + D("100.00"))
    if pooled:
        units, value = pool_month_end(entries, account, "2025-01", {"EUR": 1 / D("0.925")})
        assert units == {"USD": 0, "EUR": 0} and abs(value) < CENT / 100


@pytest.mark.parametrize("account", ["Expenses:Shared:GPUCluster", "Expenses:SGA:Travel"])
def test_plain_euros_with_only_a_later_price_are_an_error(tmp_path: Path, account: str) -> None:
    path = write(
        tmp_path,
        "\n2025-01-15 price EUR 1.10 USD\n",
        spend("2025-01-10", account, "200.00 EUR", "Assets:Bank:EUR"),
    )
    entries, errors = load(path)
    posting = line_of(path, 'Vendor"')
    value_error = (
        f"Cannot value 200.00 EUR on {account} at 2025-01-10 in USD: no price EUR/USD on or before that date "
        "(add a `price` directive or an `@` price); without one it is in no USD figure",
        str(path),
        posting,
    )
    if account.startswith("Expenses:Shared:"):
        assert located(errors) == [
            (
                "Cannot allocate Expenses:Shared:GPUCluster for 2025-01: its posting of 200.00 EUR on "
                "2025-01-10 cannot be valued: there is no price of EUR in USD on or before 2025-01-10 (add "
                "a price directive, or write the posting with @ its rate); the month's amount stays in the "
                "pool",
                str(path),
                posting,
            ),
            value_error,
        ]
        assert balance(entries, "Expenses:Shared:GPUCluster") == D("1000.00")
    else:
        assert located(errors) == [value_error]


def test_an_income_pool_receiving_euros_splits_their_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        2025-01-01 open Income:Subscription
        2025-01-01 open Income:Subscription:Orion
        2025-01-01 open Income:Subscription:Wren
        2025-01-01 open Equity:Stats:Tokens:Subscription:Orion
        2025-01-01 open Equity:Stats:Tokens:Subscription:Wren
        2025-01-01 price EUR 1.10 USD
        2025-01-01 custom "allocate" Income:Subscription Equity:Stats:Tokens:Subscription
          orion: Income:Subscription:Orion
          wren:  Income:Subscription:Wren
        2025-01-20 * "Seats"
          Income:Subscription  -300.00 EUR
          Assets:Bank:EUR
        2025-01-21 * "Seats"
          Income:Subscription  -100.00 EUR @ 1.2 USD
          Assets:Bank:USD
        2025-01-28 * "Metering"
          Equity:Stats:Tokens:Subscription:Orion  30 MTOK
          Equity:Stats:Tokens:Subscription:Wren   10 MTOK
          Equity:Stats:Offset
        """,
    )
    entries, errors = load(path)
    assert errors == []
    seats = D("300.00") * D("1.10") + D("100.00") * D("1.2")  # 450.00
    got = figures(path)["2025-01"]
    assert got["revenue"] == BASE_REVENUE["2025-01"] + seats
    assert got["million_tokens"] == BASE_TOKENS["2025-01"] + 40
    models = by_model(path)
    assert models[("2025-01", "Orion")]["revenue"] == D("2000.00") + seats * 30 / 40
    assert models[("2025-01", "Wren")]["revenue"] == D("500.00") + seats * 10 / 40
    units, value = pool_month_end(entries, "Income:Subscription", "2025-01", {"EUR": D("1.10")})
    assert units == {"EUR": 0} and value == 0


# 3. Cost classes and the pool root.


def test_a_cost_class_override_on_a_parent_reaches_its_children(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        2025-01-01 open Expenses:RnD:Evals
          cost-class: "inference"
        2025-01-01 open Expenses:RnD:Evals:Serving
        2025-01-01 open Expenses:RnD:Evals:Serving:Batch
        2025-01-01 open Expenses:SGA:Cloud
          cost-class: "inference"
        2025-01-01 open Expenses:SGA:Cloud:Laptops
          cost-class: "sga"
        """,
        spend("2025-01-10", "Expenses:RnD:Evals:Serving", "70.00 USD"),
        spend("2025-01-11", "Expenses:RnD:Evals:Serving:Batch", "5.00 USD"),
        spend("2025-01-12", "Expenses:SGA:Cloud", "30.00 USD"),
        spend("2025-01-13", "Expenses:SGA:Cloud:Laptops", "9.00 USD"),
    )
    _, errors = load(path)
    assert errors == []
    got = figures(path)["2025-01"]
    assert got["inference_cogs"] == D("400.00") + D("70.00") + D("5.00") + D("30.00")
    assert got["all_costs"] == D("1100.00") + D("70.00") + D("5.00") + D("30.00") + D("9.00")
    assert got["gross_margin"] == BASE_REVENUE["2025-01"] - D("505.00")


@pytest.mark.parametrize(
    ("opened", "account", "amount", "shown"),
    [
        ("Expenses:Shared:Misc", "Expenses:Shared:Misc", "50.00 EUR", "50.00 EUR"),
        ("Expenses:Shared", "Expenses:Shared", "50.00 USD", "50.00 USD"),
    ],
    ids=["unnamed-sub-account-in-euros", "the-root-itself"],
)
def test_money_under_the_pool_root_that_no_rule_names_is_reported(
    tmp_path: Path, opened: str, account: str, amount: str, shown: str
) -> None:
    path = write(
        tmp_path,
        f"\n2025-01-01 open {opened}\n2025-01-01 price EUR 1.10 USD\n",
        spend("2025-01-10", account, amount, "Assets:Bank:EUR"),
    )
    lines = path.read_text().splitlines()
    opened_at = lines.index(f"2025-01-01 open {opened}") + 1
    _, errors = load(path)
    assert located(errors) == [
        (
            f"{account} holds {shown} at the end of 2025-01 after allocation: every account under "
            "Expenses:Shared is empty at month end, and no allocate rule names it as a pool; add a rule, or "
            "book it outside Expenses:Shared",
            str(path),
            opened_at,
        )
    ]


# 4. Loading and reporting.


def test_plugins_only_in_an_included_file_are_refused_by_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plugins.beancount").write_text(HEAD.split("\n", 1)[1])
    path = write(tmp_path, head='option "operating_currency" "USD"\ninclude "plugins.beancount"\n')
    assert lab_report([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        "lab-report: the books were loaded without their plugins (allocation and cost classes), so the "
        "shared pools are not split and no cost has a class; add the two lines plugin "
        '"ailab_books.plugins.allocate" then plugin "ailab_books.plugins.classify" at the top of '
        f"{path}"
    ]


@pytest.mark.parametrize(
    "extra",
    [
        'plugin "ailab_books.plugins.allocate"\nplugin "ailab_books.plugins.classify"\n',
        'plugin "ailab_books.plugins.classify"\n',
    ],
    ids=["both-twice", "classify-twice"],
)
def test_plugins_listed_twice_change_no_figure(tmp_path: Path, extra: str) -> None:
    once = figures(write(tmp_path, name="once.beancount"))
    twice_path = write(tmp_path, head=HEAD + extra, name="twice.beancount")
    _, errors = load(twice_path)
    assert errors == []
    twice = figures(twice_path)
    assert twice == once
    assert twice["2025-01"]["inference_cogs"] == D("400.00")
    assert twice["2025-02"]["net_margin"] == D("2700.00") - D("1300.00")


def test_plugins_listed_twice_allocate_once(tmp_path: Path) -> None:
    head = HEAD.replace(
        'plugin "ailab_books.plugins.classify"\n',
        'plugin "ailab_books.plugins.allocate"\nplugin "ailab_books.plugins.classify"\n',
    )
    path = write(tmp_path, head=head)
    entries, errors = load(path)
    assert errors == []
    assert balance(entries, "Expenses:COGS:Inference:Compute:API:Orion") == D("600.00")
    assert balance(entries, "Expenses:RnD:Training:Compute") == D("1200.00")


@pytest.mark.parametrize("via", ["dotdot", "linked-folder", "relative-from-elsewhere", "hard-link"])
def test_output_into_the_books_by_another_road_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    books = tmp_path / "books"
    (books / "months").mkdir(parents=True)
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    payroll = books / "months" / "payroll.beancount"
    payroll.write_text(spend("2025-01-10", "Expenses:SGA:Travel", "1.00 USD"))
    path = write(books, '\ninclude "months/payroll.beancount"\n')
    (tmp_path / "link").symlink_to(books)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deeper")
    target = {
        "dotdot": str(tmp_path / "elsewhere" / ".." / "books" / "months" / "payroll.beancount"),
        "linked-folder": str(tmp_path / "link" / "months" / "payroll.beancount"),
        "relative-from-elsewhere": "../../books/months/../months/payroll.beancount",
        "hard-link": str(tmp_path / "hard.csv"),
    }[via]
    if via == "hard-link":
        os.link(payroll, target)
    before = payroll.read_bytes(), path.read_bytes()
    assert lab_report([str(path), "--format", "csv", "--output", target]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"lab-report: --output {target} is a file of the books ({payroll}); refusing to write over it\n"
    )
    assert (payroll.read_bytes(), path.read_bytes()) == before


def test_a_saved_query_redefined_with_renamed_columns_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Same nine columns as the shipped query, four of them under other names.
    path = write(
        tmp_path,
        """
        2025-01-01 query "gross-margin-per-mtok" "
        SELECT year, month, tokens, sales, cost_of_serving, gross_margin, gross_margin_per_mtok,
          price_per_mtok, cogs_per_mtok
        FROM (SELECT year, month, sum(number * int(currency = 'MTOK')) AS tokens,
          -sum(number * int(account ~ '^Income:')) AS sales,
          sum(number * int(account ~ '^Expenses:COGS')) AS cost_of_serving,
          0 AS gross_margin, 0 AS gross_margin_per_mtok, 0 AS price_per_mtok, 0 AS cogs_per_mtok
          WHERE account ~ '^(Income|Expenses|Equity:Stats:Tokens):'
          GROUP BY 1, 2, 6, 7, 8, 9)
        ORDER BY 1, 2"
        """,
    )
    assert lab_report([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    query = line_of(path, 'query "gross-margin-per-mtok"')
    assert err == (
        f"lab-report: {path}:{query}: saved query gross-margin-per-mtok lacks the column(s) million_tokens, "
        "inference_cogs that this report reads (it has: year, month, tokens, sales, "
        "cost_of_serving, gross_margin, gross_margin_per_mtok, price_per_mtok, cogs_per_mtok)\n"
    )


# 5. Tokens.


def test_tokens_in_a_mistyped_unit_are_an_error_not_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        2025-01-31 * "Metering" "late batch"
          Equity:Stats:Tokens:API:Wren   10 MTOKS
          Equity:Stats:Offset
        """,
    )
    _, errors = load(path)
    metering = line_of(path, '"late batch"')
    assert [(filename, lineno) for _, filename, lineno in located(errors)] == [(str(path), metering)]
    assert "MTOKS" in errors[0].message


# 6. Attribution to models and the operating currency.


def test_a_cogs_target_without_its_model_is_an_error_not_a_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 open Expenses:COGS:Inference:Compute:API\n",
        rules=GPU_RULE
        + SERVING_RULE.replace(
            "api-wren:  Expenses:COGS:Inference:Compute:API:Wren",
            "api-wren:  Expenses:COGS:Inference:Compute:API",
        ),
    )
    _, errors = load(path)
    assert any("Expenses:COGS:Inference:Compute:API " in error.message for error in errors)
    assert all(error.source["filename"] == str(path) for error in errors)


def test_an_income_tier_account_no_rule_splits_is_shown_unattributed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 open Income:Subscription\n",
        '\n2025-01-20 * "Seats"\n  Income:Subscription  -300.00 USD\n  Assets:Bank:USD\n',
    )
    assert figures(path)["2025-01"]["revenue"] == BASE_REVENUE["2025-01"] + D("300.00")
    assert lab_report([str(path), "--by", "model", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "\n2025-01,(unattributed),0.00,300.00," in out
    assert "\nTotal,(all),330.00,5500.00," in out


def test_a_foreign_operating_currency_listed_first_keeps_the_usd_figures(tmp_path: Path) -> None:
    # The plugin splits in the first operating currency (EUR here); the USD figures must not move.
    path = write(
        tmp_path,
        "\n2025-01-01 price EUR 1.10 USD\n",
        head=HEAD.replace(
            'option "operating_currency" "USD"',
            'option "operating_currency" "EUR"\noption "operating_currency" "USD"',
        ),
    )
    _, errors = load(path)
    assert errors == []
    got = figures(path)
    for label, cogs, costs in (("2025-01", "400.00", "1100.00"), ("2025-02", "600.00", "1300.00")):
        assert cents(got[label]["inference_cogs"]) == D(cogs)
        assert cents(got[label]["all_costs"]) == D(costs)
        assert cents(got[label]["net_margin"]) == BASE_REVENUE[label] - D(costs)
        assert cents(got[label]["million_tokens"]) == BASE_TOKENS[label]


def test_a_target_under_the_pool_root_that_no_rule_splits_is_reported_each_month(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n2025-01-01 open Expenses:Shared:Holding\n",
        rules=GPU_RULE.replace("training: Expenses:RnD:Training:Compute", "training: Expenses:Shared:Holding")
        + SERVING_RULE,
    )
    entries, errors = load(path)
    opened = line_of(path, "open Expenses:Shared:Holding")
    assert located(errors) == [
        (
            f"Expenses:Shared:Holding holds {amount} USD at the end of {label} after allocation: every "
            "account under Expenses:Shared is empty at month end, and no allocate rule names it as a pool; "
            "add a rule, or book it outside Expenses:Shared",
            str(path),
            opened,
        )
        for amount, label in (("600.00", "2025-01"), ("1200.00", "2025-02"))
    ]
    assert balance(entries, "Expenses:Shared:Holding") == D("600.00") + D("600.00")


def test_a_pool_closed_mid_month_keeps_that_month(tmp_path: Path) -> None:
    path = write(tmp_path, "\n2025-02-10 close Expenses:Shared:GPUCluster\n")
    entries, errors = load(path)
    rule = line_of(path, 'custom "allocate" Expenses:Shared:GPUCluster')
    assert located(errors) == [
        (
            "Cannot allocate 1200.00 USD of Expenses:Shared:GPUCluster for 2025-02: the pool is closed on "
            "2025-02-10, before the month's end; the amount stays in the pool",
            str(path),
            rule,
        )
    ]
    assert balance(entries, "Expenses:Shared:GPUCluster") == D("1200.00")
