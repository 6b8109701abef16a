"""Saved queries on a small hand-worked ledger, and on the example ledger.

Every expected figure below is worked out by hand from the ledger text in
BOOKS (the arithmetic is in the comments), not by re-running the queries.
"""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader

from ailab_books.queries.economics import UNATTRIBUTED, Window, segment_figures, spread, summary
from ailab_books.queries.runner import Ledger, load_ledger, package_queries, run_saved, saved_queries

ROOT = Path(__file__).resolve().parent.parent
QUERIES_GLOB = ROOT / "queries" / "*.beancount"
EXAMPLE = ROOT / "ledger" / "main.beancount"
D = Decimal
N = None  # an empty cell: a per-token figure in a month without tokens

BOOKS = """option "title" "Tiny lab"
option "operating_currency" "USD"

2025-01-01 commodity MTOK
2025-01-01 commodity GPUH

2025-01-01 open Assets:Bank:Checking USD
2025-01-01 open Liabilities:AccountsPayable USD
2025-01-01 open Income:API:Orion USD
2025-01-01 open Income:API:Wren USD
2025-01-01 open Income:Subscription USD
2025-01-01 open Income:Subscription:Orion USD
2025-01-01 open Income:Subscription:Wren USD
2025-01-01 open Income:Enterprise:Orion USD
2025-01-01 open Income:Enterprise:Wren USD
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren USD
2025-01-01 open Expenses:COGS:Inference:Compute:Subscription:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:Subscription:Wren USD
2025-01-01 open Expenses:COGS:Inference:Compute:Enterprise:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:Enterprise:Wren USD
2025-01-01 open Expenses:COGS:Inference:Compute:Free:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:Free:Wren USD
2025-01-01 open Expenses:COGS:Inference:Power:API:Orion USD
2025-01-01 open Expenses:COGS:Inference:Power:Free:Wren USD
2025-01-01 open Expenses:COGS:Inference:IdleCapacity:API:Orion USD
2025-01-01 open Expenses:COGS:RevenueShare:API:Orion USD
2025-01-01 open Expenses:COGS:PaymentFees:Subscription:Orion USD
2025-01-01 open Expenses:COGS:PaymentFees:Subscription:Wren USD
2025-01-01 open Expenses:RnD:Training:Compute USD
2025-01-01 open Expenses:RnD:Rollouts:Compute USD
2025-01-01 open Expenses:RnD:Evals:Compute USD
2025-01-01 open Expenses:RnD:Staff:Research USD
2025-01-01 open Expenses:RnD:Data:Licensing USD
2025-01-01 open Expenses:RnD:Patents USD
2025-01-01 open Expenses:SGA:Marketing USD
2025-01-01 open Expenses:SGA:GA:Staff USD
2025-01-01 open Expenses:Shared:Serving:Power USD
2025-01-01 open Equity:Stats:Tokens:API:Orion MTOK
2025-01-01 open Equity:Stats:Tokens:API:Wren MTOK
2025-01-01 open Equity:Stats:Tokens:Subscription:Orion MTOK
2025-01-01 open Equity:Stats:Tokens:Subscription:Wren MTOK
2025-01-01 open Equity:Stats:Tokens:Enterprise:Orion MTOK
2025-01-01 open Equity:Stats:Tokens:Enterprise:Wren MTOK
2025-01-01 open Equity:Stats:Tokens:Free:Orion MTOK
2025-01-01 open Equity:Stats:Tokens:Free:Wren MTOK
2025-01-01 open Equity:Stats:GPUH:Serving:API-Orion GPUH
2025-01-01 open Equity:Stats:GPUH:Serving:Free-Wren GPUH
2025-01-01 open Equity:Stats:GPUH:Training:Orion GPUH
2025-01-01 open Equity:Stats:GPUH:Rollouts GPUH
2025-01-01 open Equity:Stats:GPUH:Evals GPUH
2025-01-01 open Equity:Stats:GPUH:Idle GPUH
2025-01-01 open Equity:Stats:Offset

; ---------------------------------------------------------------- January
2025-01-31 * "Metering" "Tokens served, January"
  Equity:Stats:Tokens:API:Orion            10 MTOK
  Equity:Stats:Tokens:API:Wren             20 MTOK
  Equity:Stats:Tokens:Subscription:Orion    5 MTOK
  Equity:Stats:Tokens:Enterprise:Wren       5 MTOK
  Equity:Stats:Tokens:Free:Wren            10 MTOK
  Equity:Stats:Offset                     -50 MTOK

2025-01-31 * "Scheduler" "GPU-hours, January"
  Equity:Stats:GPUH:Serving:API-Orion      20 GPUH
  Equity:Stats:GPUH:Serving:Free-Wren      10 GPUH
  Equity:Stats:GPUH:Training:Orion         50 GPUH
  Equity:Stats:GPUH:Rollouts               10 GPUH
  Equity:Stats:GPUH:Evals                   5 GPUH
  Equity:Stats:GPUH:Idle                    5 GPUH
  Equity:Stats:Offset                    -100 GPUH

2025-01-31 * "Billing" "Revenue, January"
  Income:API:Orion                     -150.00 USD
  Income:API:Wren                       -40.00 USD
  Income:Subscription:Orion             -60.00 USD
  Income:Enterprise:Wren                -25.00 USD
  Assets:Bank:Checking

2025-01-31 * "Cloud" "Serving compute, January"
  Expenses:COGS:Inference:Compute:API:Orion          50.00 USD
  Expenses:COGS:Inference:Compute:API:Wren           20.00 USD
  Expenses:COGS:Inference:Compute:Subscription:Orion 25.00 USD
  Expenses:COGS:Inference:Compute:Enterprise:Wren     5.00 USD
  Expenses:COGS:Inference:Compute:Free:Wren          10.00 USD
  Expenses:COGS:RevenueShare:API:Orion               15.00 USD
  Liabilities:AccountsPayable

2025-01-31 * "Utility" "Serving power, January"
  Expenses:Shared:Serving:Power                      30.00 USD
  Liabilities:AccountsPayable

2025-01-31 * "Allocate Expenses:Shared:Serving:Power" #allocation ^alloc-Expenses-Shared-Serving-Power-2025-01
  rule: "rules.beancount:1"
  pool: "Expenses:Shared:Serving:Power"
  driver: "Equity:Stats:GPUH:Serving"
  basis: "period"
  period: "2025-01"
  Expenses:COGS:Inference:Power:API:Orion            20.00 USD
    activity: "API-Orion"
    quantity: 20
    unit: "GPUH"
    share: "0.666667"
  Expenses:COGS:Inference:Power:Free:Wren            10.00 USD
    activity: "Free-Wren"
    quantity: 10
    unit: "GPUH"
    share: "0.333333"
  Expenses:Shared:Serving:Power                     -30.00 USD

2025-01-31 * "Payroll and bills, January"
  Expenses:RnD:Training:Compute                     100.00 USD
  Expenses:RnD:Staff:Research                        25.00 USD
  Expenses:RnD:Data:Licensing                        10.00 USD
  Expenses:RnD:Patents                                5.00 USD
  Expenses:SGA:Marketing                             20.00 USD
  Liabilities:AccountsPayable

; ---------------------------------------------------------------- February (no tokens)
2025-02-28 * "Payroll and bills, February"
  Expenses:RnD:Training:Compute                     200.00 USD
  Expenses:SGA:Marketing                             10.00 USD
  Expenses:COGS:Inference:IdleCapacity:API:Orion      5.00 USD
  Liabilities:AccountsPayable

; ---------------------------------------------------------------- March
2025-03-31 * "Metering" "Tokens served, March"
  Equity:Stats:Tokens:API:Orion            20 MTOK
  Equity:Stats:Tokens:API:Wren             10 MTOK
  Equity:Stats:Tokens:Subscription:Orion   10 MTOK
  Equity:Stats:Tokens:Subscription:Wren     5 MTOK
  Equity:Stats:Tokens:Enterprise:Orion      5 MTOK
  Equity:Stats:Tokens:Free:Orion            5 MTOK
  Equity:Stats:Tokens:Free:Wren            25 MTOK
  Equity:Stats:Offset                     -80 MTOK

2025-03-31 * "Scheduler" "GPU-hours, March"
  Equity:Stats:GPUH:Serving:API-Orion      30 GPUH
  Equity:Stats:GPUH:Training:Orion         40 GPUH
  Equity:Stats:GPUH:Idle                   10 GPUH
  Equity:Stats:Offset                     -80 GPUH

2025-03-31 * "Billing" "Revenue, March"
  Income:API:Orion                     -300.00 USD
  Income:API:Wren                       -25.00 USD
  Income:Subscription                   -90.00 USD
  Income:Enterprise:Orion               -50.00 USD
  Assets:Bank:Checking

2025-03-31 * "Allocate Income:Subscription" #allocation ^alloc-Income-Subscription-2025-03
  rule: "rules.beancount:9"
  pool: "Income:Subscription"
  driver: "Equity:Stats:Tokens:Subscription"
  basis: "period"
  period: "2025-03"
  Income:Subscription:Orion                         -60.00 USD
    activity: "Orion"
    quantity: 10
    unit: "MTOK"
    share: "0.666667"
  Income:Subscription:Wren                          -30.00 USD
    activity: "Wren"
    quantity: 5
    unit: "MTOK"
    share: "0.333333"
  Income:Subscription                                90.00 USD

2025-03-31 * "Cloud" "Serving compute and fees, March"
  Expenses:COGS:Inference:Compute:API:Orion          80.00 USD
  Expenses:COGS:Inference:Compute:API:Wren           10.00 USD
  Expenses:COGS:Inference:Compute:Subscription:Orion 30.00 USD
  Expenses:COGS:Inference:Compute:Subscription:Wren  10.00 USD
  Expenses:COGS:Inference:Compute:Enterprise:Orion   12.50 USD
  Expenses:COGS:Inference:Compute:Free:Orion          7.50 USD
  Expenses:COGS:Inference:Compute:Free:Wren          20.00 USD
  Expenses:COGS:PaymentFees:Subscription:Orion        3.00 USD
  Expenses:COGS:PaymentFees:Subscription:Wren         1.50 USD
  Liabilities:AccountsPayable

2025-03-31 * "Payroll and bills, March"
  Expenses:RnD:Training:Compute                     150.00 USD
  Expenses:RnD:Rollouts:Compute                      20.00 USD
  Expenses:RnD:Evals:Compute                         10.00 USD
  Expenses:SGA:GA:Staff                              33.33 USD
  Liabilities:AccountsPayable
"""


def write_books(tmp_path: Path, *, include_queries: bool = True) -> Path:
    (tmp_path / "books.beancount").write_text(BOOKS)
    main = tmp_path / "main.beancount"
    # The cost classes the queries read are those the classify plugin writes on
    # the opens; beancount runs only the main file's plugin lines.
    lines = ['plugin "ailab_books.plugins.classify"', 'include "books.beancount"']
    if include_queries:
        lines.append(f'include "{QUERIES_GLOB}"')
    main.write_text("\n".join(lines) + "\n")
    return main


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return load_ledger(write_books(tmp_path_factory.mktemp("books")))


def rows(ledger: Ledger, name: str) -> list[tuple]:
    frame = run_saved(ledger, name)
    return [tuple(None if v is None else v for v in row) for row in frame.itertuples(index=False)]


def assert_rows(actual: list[tuple], expected: list[tuple]) -> None:
    assert len(actual) == len(expected), actual
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want), (got, want)
        for g, w in zip(got, want, strict=True):
            if w is None:
                assert g is None, (got, want)
            elif isinstance(w, str) and not re.fullmatch(r"-?[0-9.]+", w):
                assert str(g) == w, (got, want)
            else:
                assert g is not None and D(str(g)) == D(str(w)), (got, want)


# Hand-worked figures. Tokens (MTOK):
#   Jan: API:Orion 10 + API:Wren 20 + Subscription:Orion 5 + Enterprise:Wren 5
#        + Free:Wren 10 = 50
#   Feb: none
#   Mar: API:Orion 20 + API:Wren 10 + Subscription:Orion 10 + Subscription:Wren 5
#        + Enterprise:Orion 5 + Free:Orion 5 + Free:Wren 25 = 80
# Revenue:
#   Jan: 150 + 40 + 60 + 25 = 275.00
#   Mar: 300 + 25 + 90 (Income:Subscription, allocated 60 Orion / 30 Wren) + 50 = 465.00
# COGS:
#   Jan: compute 50 + 20 + 25 + 5 + 10 = 110, revenue share 15, power pool 30
#        allocated 20 API:Orion / 10 Free:Wren -> 155.00
#   Feb: idle capacity 5.00
#   Mar: compute 80 + 10 + 30 + 10 + 12.50 + 7.50 + 20 = 170, payment fees
#        3 + 1.50 = 4.50 -> 174.50
# Overhead (all expenses outside COGS; the pool nets to zero):
#   Jan: training 100 + research staff 25 + data 10 + patents (other R&D) 5
#        + marketing 20 = 160.00
#   Feb: training 200 + marketing 10 = 210.00
#   Mar: training 150 + rollouts 20 + evals 10 + G&A 33.33 = 213.33

# The expected rows below are laid out as tables; the formatter leaves them be.
# fmt: off


def test_gross_margin_per_mtok(ledger: Ledger) -> None:
    # Jan: gross 275 - 155 = 120.00; 120/50 = 2.4; price 275/50 = 5.5; cogs 155/50 = 3.1
    # Feb: gross 0 - 5 = -5.00; no tokens -> empty per-token cells
    # Mar: gross 465 - 174.50 = 290.50; 290.5/80 = 3.63125; 465/80 = 5.8125;
    #      174.5/80 = 2.18125
    assert_rows(rows(ledger, "gross-margin-per-mtok"), [
        (2025, 1, 50, "275.00", "155.00", "120.00", "2.400000", "5.500000", "3.100000"),
        (2025, 2, 0, "0.00", "5.00", "-5.00", N, N, N),
        (2025, 3, 80, "465.00", "174.50", "290.50", "3.631250", "5.812500", "2.181250"),
    ])


def test_net_margin_per_mtok(ledger: Ledger) -> None:
    # all costs = COGS + overhead: Jan 155 + 160 = 315.00, Feb 5 + 210 = 215.00,
    # Mar 174.50 + 213.33 = 387.83
    # net: Jan 275 - 315 = -40.00 (-40/50 = -0.8; 315/50 = 6.3)
    #      Feb -215.00 (no tokens)
    #      Mar 465 - 387.83 = 77.17 (77.17/80 = 0.964625; 387.83/80 = 4.847875)
    assert_rows(rows(ledger, "net-margin-per-mtok"), [
        (2025, 1, 50, "275.00", "315.00", "-40.00", "-0.800000", "6.300000"),
        (2025, 2, 0, "0.00", "215.00", "-215.00", N, N),
        (2025, 3, 80, "465.00", "387.83", "77.17", "0.964625", "4.847875"),
    ])


def test_totals(ledger: Ledger) -> None:
    # tokens 130; revenue 740.00; COGS 155 + 5 + 174.50 = 334.50; gross 405.50
    # 405.5/130 = 3.1192307.. -> 3.119231; 740/130 = 5.6923076.. -> 5.692308;
    # 334.5/130 = 2.5730769.. -> 2.573077
    assert_rows(rows(ledger, "gross-margin-total"), [
        (130, "740.00", "334.50", "405.50", "3.119231", "5.692308", "2.573077"),
    ])
    # all costs 315 + 215 + 387.83 = 917.83; net -177.83;
    # -177.83/130 = -1.3679230.. -> -1.367923; 917.83/130 = 7.0602307.. -> 7.060231
    assert_rows(rows(ledger, "net-margin-total"), [
        (130, "740.00", "917.83", "-177.83", "-1.367923", "7.060231"),
    ])


def test_overhead_per_mtok(ledger: Ledger) -> None:
    # 160/50 = 3.2; Feb no tokens; 213.33/80 = 2.666625
    assert_rows(rows(ledger, "overhead-per-mtok"), [
        (2025, 1, 50, "160.00", "3.200000"),
        (2025, 2, 0, "210.00", N),
        (2025, 3, 80, "213.33", "2.666625"),
    ])


def test_margin_by_model(ledger: Ledger) -> None:
    # Jan Orion: tokens 10 + 5 = 15; revenue 150 + 60 = 210; COGS 50 + 25 + 15 + 20 = 110
    #   gross 100; 100/15 = 6.666667; 210/15 = 14; 110/15 = 7.333333
    # Jan Wren: tokens 20 + 5 + 10 = 35; revenue 40 + 25 = 65; COGS 20 + 5 + 10 + 10 = 45
    #   gross 20; 20/35 = 0.571429; 65/35 = 1.857143; 45/35 = 1.285714
    # Feb Orion: idle capacity 5.00, no tokens
    # Mar Orion: tokens 20 + 10 + 5 + 5 = 40; revenue 300 + 60 + 50 = 410;
    #   COGS 80 + 30 + 12.50 + 7.50 + 3 = 133; gross 277; 6.925; 10.25; 3.325
    # Mar Wren: tokens 10 + 5 + 25 = 40; revenue 25 + 30 = 55; COGS 10 + 10 + 20 + 1.50
    #   = 41.50; gross 13.50; 0.3375; 1.375; 1.0375
    assert_rows(rows(ledger, "margin-by-model"), [
        (2025, 1, "Orion", 15, "210.00", "110.00", "100.00", "6.666667", "14.000000", "7.333333"),
        (2025, 1, "Wren", 35, "65.00", "45.00", "20.00", "0.571429", "1.857143", "1.285714"),
        (2025, 2, "Orion", 0, "0.00", "5.00", "-5.00", N, N, N),
        (2025, 3, "Orion", 40, "410.00", "133.00", "277.00", "6.925000", "10.250000", "3.325000"),
        (2025, 3, "Wren", 40, "55.00", "41.50", "13.50", "0.337500", "1.375000", "1.037500"),
    ])


def test_margin_by_tier(ledger: Ledger) -> None:
    # Jan API: tokens 30, revenue 190, COGS 50 + 20 + 15 + 20 = 105, gross 85
    #   85/30 = 2.833333; 190/30 = 6.333333; 105/30 = 3.5
    # Jan Enterprise: 5, 25, 5, 20 -> 4; 5; 1
    # Jan Free: 10 tokens, no revenue, COGS 10 + 10 = 20 -> -2; 0; 2
    # Jan Subscription: 5, 60, 25, 35 -> 7; 12; 5
    # Mar API: 30, 325, 80 + 10 = 90, 235 -> 7.833333; 10.833333; 3
    # Mar Enterprise: 5, 50, 12.50, 37.50 -> 7.5; 10; 2.5
    # Mar Free: 30, 0, 7.50 + 20 = 27.50 -> -0.916667; 0; 0.916667
    # Mar Subscription: 15, 90, 30 + 10 + 3 + 1.50 = 44.50, 45.50 -> 3.033333; 6; 2.966667
    assert_rows(rows(ledger, "margin-by-tier"), [
        (2025, 1, "API", 30, "190.00", "105.00", "85.00", "2.833333", "6.333333", "3.500000"),
        (2025, 1, "Enterprise", 5, "25.00", "5.00", "20.00", "4.000000", "5.000000", "1.000000"),
        (2025, 1, "Free", 10, "0.00", "20.00", "-20.00", "-2.000000", "0.000000", "2.000000"),
        (2025, 1, "Subscription", 5, "60.00", "25.00", "35.00", "7.000000", "12.000000",
         "5.000000"),
        (2025, 2, "API", 0, "0.00", "5.00", "-5.00", N, N, N),
        (2025, 3, "API", 30, "325.00", "90.00", "235.00", "7.833333", "10.833333", "3.000000"),
        (2025, 3, "Enterprise", 5, "50.00", "12.50", "37.50", "7.500000", "10.000000",
         "2.500000"),
        (2025, 3, "Free", 30, "0.00", "27.50", "-27.50", "-0.916667", "0.000000", "0.916667"),
        (2025, 3, "Subscription", 15, "90.00", "44.50", "45.50", "3.033333", "6.000000",
         "2.966667"),
    ])


def test_price_per_mtok(ledger: Ledger) -> None:
    # revenue / tokens per tier and model; Free is 0
    assert_rows(rows(ledger, "price-per-mtok"), [
        (2025, 1, "API", "Orion", 10, "150.00", "15.000000"),
        (2025, 1, "API", "Wren", 20, "40.00", "2.000000"),
        (2025, 1, "Enterprise", "Wren", 5, "25.00", "5.000000"),
        (2025, 1, "Free", "Wren", 10, "0.00", "0.000000"),
        (2025, 1, "Subscription", "Orion", 5, "60.00", "12.000000"),
        (2025, 3, "API", "Orion", 20, "300.00", "15.000000"),
        (2025, 3, "API", "Wren", 10, "25.00", "2.500000"),
        (2025, 3, "Enterprise", "Orion", 5, "50.00", "10.000000"),
        (2025, 3, "Free", "Orion", 5, "0.00", "0.000000"),
        (2025, 3, "Free", "Wren", 25, "0.00", "0.000000"),
        (2025, 3, "Subscription", "Orion", 10, "60.00", "6.000000"),
        (2025, 3, "Subscription", "Wren", 5, "30.00", "6.000000"),
    ])


def test_free_tier(ledger: Ledger) -> None:
    # Jan: free 10 of 50 (0.2); free COGS 10 compute + 10 power = 20
    #   counted: 120/50 = 2.4; left out: (275 - 135)/40 = 3.5; 20/40 = 0.5
    # Mar: free 30 of 80 (0.375); free COGS 7.50 + 20 = 27.50
    #   counted: 3.63125; left out: (465 - 147)/50 = 6.36; 27.5/50 = 0.55
    assert_rows(rows(ledger, "free-tier"), [
        (2025, 1, 50, 10, 40, "0.200000", "275.00", "155.00", "20.00", "2.400000", "3.500000",
         "0.500000"),
        (2025, 2, 0, 0, 0, N, "0.00", "5.00", "0.00", N, N, N),
        (2025, 3, 80, 30, 50, "0.375000", "465.00", "174.50", "27.50", "3.631250", "6.360000",
         "0.550000"),
    ])


def test_cost_stack(ledger: Ledger) -> None:
    # Columns after million_tokens: compute, idle capacity, power, datacentre ops,
    # storage, serving staff, revenue share, payment fees, other COGS | COGS total |
    # training, rollouts, evals, research staff, data, other R&D, SG&A,
    # unallocated pools, other expenses | full cost (the sum of every line).
    # Jan /50: compute 110 -> 2.2, power 30 -> 0.6, revenue share 15 -> 0.3;
    #   COGS 155 -> 3.1; training 100 -> 2, research staff 25 -> 0.5,
    #   data 10 -> 0.2, patents (other R&D) 5 -> 0.1, SG&A 20 -> 0.4,
    #   pool 30 - 30 = 0; full 315 -> 6.3
    # Feb: no tokens -> every per-token cell empty
    # Mar /80: compute 170 -> 2.125, fees 4.50 -> 0.05625; COGS 174.50 -> 2.18125;
    #   training 150 -> 1.875, rollouts 20 -> 0.25, evals 10 -> 0.125,
    #   SG&A 33.33 -> 0.416625; full 387.83 -> 4.847875
    z = "0.000000"
    assert_rows(rows(ledger, "cost-stack"), [
        (2025, 1, 50,
         "2.200000", z, "0.600000", z, z, z, "0.300000", z, z, "3.100000",
         "2.000000", z, z, "0.500000", "0.200000", "0.100000", "0.400000", z, z, "6.300000"),
        (2025, 2, 0, *([N] * 20)),
        (2025, 3, 80,
         "2.125000", z, z, z, z, z, z, "0.056250", z, "2.181250",
         "1.875000", "0.250000", "0.125000", z, z, z, "0.416625", z, z, "4.847875"),
    ])


ODD_LINES = """
2025-01-01 open Expenses:COGS:Moderation:API:Orion USD
2025-01-01 open Expenses:Shared:Storage USD
2025-01-01 open Expenses:Legal:Settlement
2025-01-01 open Expenses:SGA:Travel
2025-01-01 open Assets:Bank:EUR EUR

2025-03-31 * "Odd lines, March"
  Expenses:COGS:Moderation:API:Orion                  8.00 USD
  Expenses:Shared:Storage                            16.00 USD
  Expenses:Legal:Settlement                          100 EUR @ 1.20 USD
  Liabilities:AccountsPayable

2025-03-31 * "Paid in euros, no price: not in USD"
  Expenses:SGA:Travel                                 50 EUR
  Assets:Bank:EUR
"""


def load_despite_errors(main: Path) -> tuple[Ledger, list[object]]:
    """The ledger and its errors, for the queries' view of books that have some
    (``load_ledger`` refuses those, as ``lab-report`` does; Fava shows them)."""
    entries, errors, options = loader.load_file(str(main))
    queries = {**package_queries(), **saved_queries(entries)}
    return Ledger(str(main), entries, options, queries), errors


def test_cost_stack_other_lines_and_priced_expense(tmp_path: Path) -> None:
    # BOOKS plus, in March: a COGS line the columns do not name (8.00), money
    # left on a pool (16.00), an expense outside the classes in EUR at an @ price
    # (100 EUR @ 1.20 = 120.00 USD weight: unclassified, an error of classify,
    # its money kept in its own column), and 50 EUR of travel with no price (no
    # USD value: an error of classify, in no money figure).
    main = write_books(tmp_path)
    (tmp_path / "books.beancount").write_text(BOOKS + ODD_LINES)
    odd, errors = load_despite_errors(main)
    books_lines = BOOKS.count("\n")
    assert [(e.source["lineno"] - books_lines, e.message.split(";")[0]) for e in errors] == [
        (4, "Expense account 'Expenses:Legal:Settlement' has postings but no cost class"),
        (14, "Cannot value 50 EUR on Expenses:SGA:Travel at 2025-03-31 in USD: "
             "no price EUR/USD on or before that date (add a `price` directive or an `@` price)"),
    ]
    assert {e.source["filename"] for e in errors} == {str(tmp_path / "books.beancount")}
    # Mar /80: other COGS 8 -> 0.1; COGS 174.50 + 8 = 182.50 -> 2.28125;
    #   pools 16 -> 0.2; unclassified 120 -> 1.5; SG&A still 33.33 -> 0.416625;
    #   full 387.83 + 8 + 16 + 120 = 531.83 -> 6.647875
    z = "0.000000"
    assert_rows(rows(odd, "cost-stack")[2:], [
        (2025, 3, 80,
         "2.125000", z, z, z, z, z, z, "0.056250", "0.100000", "2.281250",
         "1.875000", "0.250000", "0.125000", z, z, z, "0.416625", "0.200000", "1.500000", "6.647875"),
    ])
    # all costs 531.83; net 465 - 531.83 = -66.83; -66.83/80 = -0.835375
    assert_rows(rows(odd, "net-margin-per-mtok")[2:], [
        (2025, 3, 80, "465.00", "531.83", "-66.83", "-0.835375", "6.647875"),
    ])
    lines = {(r[2], r[3]): r[4] for r in rows(odd, "cost-lines") if r[1] == 3}
    assert lines[("unclassified", "Settlement")] == D("120.00")
    assert lines[("inference", "Moderation")] == D("8.00")
    assert ("sga", "Travel") not in lines


def test_cost_lines(ledger: Ledger) -> None:
    # class from the cost-class metadata classify wrote (inference, sga, shared,
    # training, in that order), line read from the account
    assert_rows(rows(ledger, "cost-lines"), [
        (2025, 1, "inference", "Compute", "110.00"),
        (2025, 1, "inference", "Power", "30.00"),
        (2025, 1, "inference", "RevenueShare", "15.00"),
        (2025, 1, "sga", "Marketing", "20.00"),
        (2025, 1, "shared", "Serving:Power", "0.00"),  # pool booked 30, allocated -30
        (2025, 1, "training", "Data:Licensing", "10.00"),
        (2025, 1, "training", "Patents", "5.00"),
        (2025, 1, "training", "Staff:Research", "25.00"),
        (2025, 1, "training", "Training:Compute", "100.00"),
        (2025, 2, "inference", "IdleCapacity", "5.00"),
        (2025, 2, "sga", "Marketing", "10.00"),
        (2025, 2, "training", "Training:Compute", "200.00"),
        (2025, 3, "inference", "Compute", "170.00"),
        (2025, 3, "inference", "PaymentFees", "4.50"),
        (2025, 3, "sga", "GA:Staff", "33.33"),
        (2025, 3, "training", "Evals:Compute", "10.00"),
        (2025, 3, "training", "Rollouts:Compute", "20.00"),
        (2025, 3, "training", "Training:Compute", "150.00"),
    ])


def test_training_vs_inference(ledger: Ledger) -> None:
    # training = Expenses:RnD:Training; inference for training = Rollouts + Evals;
    # other R&D = the rest (Jan: staff 25 + data 10 + patents 5 = 40)
    # Jan: 100 / 155 = 0.64516 -> 0.6452; 100 / 255 = 0.39216 -> 0.3922
    # Feb: 200 / 5 = 40; 200 / 205 = 0.97561 -> 0.9756
    # Mar: rollouts 20 + evals 10 = 30; 150 / 174.5 = 0.85960 -> 0.8596;
    #      150 / 324.5 = 0.46225 -> 0.4622
    assert_rows(rows(ledger, "training-vs-inference"), [
        (2025, 1, "100.00", "0.00", "40.00", "155.00", "0.6452", "0.3922"),
        (2025, 2, "200.00", "0.00", "0.00", "5.00", "40.0000", "0.9756"),
        (2025, 3, "150.00", "30.00", "0.00", "174.50", "0.8596", "0.4622"),
    ])


def test_gpu_hours_by_workload(ledger: Ledger) -> None:
    # Jan: serving 20 + 10 = 30, training 50, rollouts 10, evals 5, idle 5 of 100
    # Mar: serving 30, training 40, idle 10 of 80; Feb has no GPU-hours
    assert_rows(rows(ledger, "gpu-hours-by-workload"), [
        (2025, 1, 100, 30, 50, 10, 5, 5, 0, "0.3000", "0.5000", "0.1000", "0.0500", "0.0500"),
        (2025, 3, 80, 30, 40, 0, 0, 10, 0, "0.3750", "0.5000", "0", "0", "0.1250"),
    ])


def test_allocation_audit(ledger: Ledger) -> None:
    power = ("Expenses:Shared:Serving:Power", 2025, 1, "Equity:Stats:GPUH:Serving")
    subs = ("Income:Subscription", 2025, 3, "Equity:Stats:Tokens:Subscription")
    rule1, rule9 = ("USD", "period", "rules.beancount:1"), ("USD", "period", "rules.beancount:9")
    assert_rows(rows(ledger, "allocation-audit"), [
        (*power, "API-Orion", 20, "GPUH", "0.666667", "Expenses:COGS:Inference:Power:API:Orion", "20.00",
         *rule1),
        (*power, "Free-Wren", 10, "GPUH", "0.333333", "Expenses:COGS:Inference:Power:Free:Wren", "10.00",
         *rule1),
        (*subs, "Orion", 10, "MTOK", "0.666667", "Income:Subscription:Orion", "-60.00", *rule9),
        (*subs, "Wren", 5, "MTOK", "0.333333", "Income:Subscription:Wren", "-30.00", *rule9),
    ])
    # quantity and share are typed decimals (Fava shows them as numbers, NULL empty)
    frame = run_saved(ledger, "allocation-audit")
    assert all(isinstance(v, Decimal) for v in frame["quantity"])
    assert all(isinstance(v, Decimal) for v in frame["share"])

def test_decimals_preserved_and_nulls_are_none(ledger: Ledger) -> None:
    frame = run_saved(ledger, "gross-margin-per-mtok")
    assert all(isinstance(v, Decimal) for v in frame["revenue"])
    assert frame["gross_margin_per_mtok"][1] is None
    assert frame["year"].dtype == "int64"


@pytest.mark.parametrize("by", ["model", "tier"])
def test_segments_add_up_to_the_lab_to_the_cent(ledger: Ledger, by: str) -> None:
    lab = summary(ledger).set_index("month")
    for month, parts in segment_figures(ledger, by).items():
        row = lab.loc[str(month)]
        total = sum(parts.values(), type(next(iter(parts.values())))())
        assert total.tokens == row["million_tokens"]
        assert total.revenue == row["revenue"]
        assert total.cogs == row["inference_cogs"]
        assert total.revenue - total.cogs - total.overhead == row["net_margin"]
        assert total.cogs + total.overhead == row["all_costs"]


def test_net_by_model_by_hand(ledger: Ledger) -> None:
    figures = segment_figures(ledger, "model")
    jan, feb, mar = (figures[m] for m in sorted(figures))
    # Jan overhead 160.00 by tokens 15:35 -> 48.00 / 112.00 (exact)
    assert (jan["Orion"].overhead, jan["Wren"].overhead) == (D("48.00"), D("112.00"))
    # Feb has no tokens: its 210.00 overhead cannot follow tokens -> (unattributed)
    assert feb[UNATTRIBUTED].overhead == D("210.00")
    assert feb["Orion"].overhead == 0
    # Mar 213.33 by 40:40 -> 106.665 each; the odd cent goes to the first (Orion)
    assert (mar["Orion"].overhead, mar["Wren"].overhead) == (D("106.67"), D("106.66"))
    # net Orion Mar = 277 - 106.67 = 170.33
    assert mar["Orion"].revenue - mar["Orion"].cogs - mar["Orion"].overhead == D("170.33")


def test_net_by_tier_by_hand(ledger: Ledger) -> None:
    figures = segment_figures(ledger, "tier")
    mar = figures[max(figures)]
    # 213.33 by API 30, Enterprise 5, Free 30, Subscription 15 of 80:
    # exact cents 7999.875, 1333.3125, 7999.875, 3999.9375 -> floors 21330, 3 cents left
    # to the largest remainders: Subscription .9375, API .875, Free .875
    assert {k: v.overhead for k, v in mar.items()} == {
        "API": D("80.00"), "Enterprise": D("13.33"), "Free": D("80.00"),
        "Subscription": D("40.00"),
    }


def test_spread_is_exact() -> None:
    assert spread(D("100.00"), [D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]
    assert spread(D("-0.05"), [D(1), D(1)]) == [D("-0.03"), D("-0.02")]
    assert sum(spread(D("213.33"), [D(3), D(7), D(11)])) == D("213.33")


def test_window_filters_summary(ledger: Ledger) -> None:
    from ailab_books.queries.economics import Month

    frame = summary(ledger, Window(Month(2025, 3), Month(2025, 3)))
    assert list(frame["month"]) == ["2025-03", "Total"]
    assert frame["net_margin"].iloc[-1] == D("77.17")


def test_package_queries_used_when_ledger_has_none(tmp_path: Path) -> None:
    bare = load_ledger(write_books(tmp_path, include_queries=False))
    assert set(bare.queries) == set(package_queries())
    assert rows(bare, "gross-margin-total")[0][3] == D("405.50")


def test_bean_query_run(tmp_path: Path) -> None:
    main = write_books(tmp_path)
    bean_query = Path(sys.executable).with_name("bean-query")
    out = subprocess.run([str(bean_query), "-f", "csv", str(main), ".run net-margin-total"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[1].replace(" ", "") == "130.00,740.00,917.83,-177.83,-1.367923,7.060231"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="example ledger not written yet")
def test_example_ledger() -> None:
    example = load_ledger(EXAMPLE)
    assert "gross-margin-per-mtok" in example.queries
    for name in example.queries:
        run_saved(example, name)  # every saved query runs without error
    lab = summary(example)
    gross = run_saved(example, "gross-margin-total").iloc[0]
    net = run_saved(example, "net-margin-total").iloc[0]
    total = lab.iloc[-1]
    assert total["gross_margin"] == gross["gross_margin"]
    assert total["net_margin"] == net["net_margin"]
    assert total["million_tokens"] > 0
    figures = segment_figures(example, "model")
    net_sum = sum((p.revenue - p.cogs - p.overhead for parts in figures.values()
                   for p in parts.values()), D(0))
    assert net_sum == net["net_margin"]
