"""The monthly summary (``ailab_books.queries.monthly``) against the saved queries it stands in for.

The saved ``query`` directives stay the one definition of every figure and are
the independent check here: each query the summary answers is run both ways
(beanquery on every posting, and the one-pass summary) and the two results must
be the same cell for cell, compared by ``repr`` (digits, exponent and sign of
zero included), with the same columns and dtypes. On the example books, on
generated books, on the foreign-currency books of
``tests/test_end_to_end_currency.py`` and on small books written to reach every
corner of BQL's arithmetic. Then ``lab-report``'s views (summary, ``--by model``,
``--by tier``, with and without a period) are rendered both ways and compared
as text: the beanquery way is the code of the report before the summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from beancount import loader
from test_end_to_end_currency import ledger_text as currency_ledger_text

from ailab_books.benchmarks import generate
from ailab_books.queries import economics, monthly
from ailab_books.queries.economics import Month, Window
from ailab_books.queries.render import render
from ailab_books.queries.runner import Ledger, load_ledger, package_queries, run_saved, saved_queries

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "ledger" / "main.beancount"

# Books without the plugins, cost classes written on the opens by hand, made to
# reach the corners: an account whose name differs from a pattern only in case
# (BQL's ~ ignores case), an expense without a class (NULL in cost_class =
# 'inference'), inference outside COGS and another class inside it, EUR valued
# by a price directive and by an inverted one (28 significant digits), @ and @@
# prices, units at cost, an amount no price values and tokens in another unit
# (both left out), zero tokens with three decimals, a refund that leaves a
# month's sum at -0.00, revenue on a tier account and in EUR, an opening-balance
# entry (flag S, left out), a month with costs and no tokens (NULL per-token
# cells), a month with only a non-inference cost (in net, not in gross) and a
# month of whole numbers (its token total is Decimal('7'), not '7.00').
CORNERS = """
option "operating_currency" "USD"

2025-01-01 open Assets:Bank:USD
2025-01-01 open Assets:Bank:EUR
2025-01-01 open Assets:Bank:CHF
2025-01-01 open Liabilities:AccountsPayable
2025-01-01 open Income:API:Orion
2025-01-01 open Income:API:Wren
2025-01-01 open Income:Free:Orion
2025-01-01 open Income:Subscription
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion
  cost-class: "inference"
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren
  cost-class: "inference"
2025-01-01 open Expenses:Cogs:Inference:Power:Free:Orion
  cost-class: "inference"
2025-01-01 open Expenses:COGS:Moderation:API:Orion
  cost-class: "training"
2025-01-01 open Expenses:RnD:Evals
  cost-class: "inference"
2025-01-01 open Expenses:SGA:Travel
  cost-class: "sga"
2025-01-01 open Expenses:Legal
2025-01-01 open Equity:Stats:Tokens:API:Orion
2025-01-01 open Equity:Stats:Tokens:API:Wren
2025-01-01 open Equity:Stats:Tokens:Free:Orion
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Equity:Opening-Balances

2025-01-01 price EUR 1.10 USD
2025-02-01 price USD 0.9 EUR
2025-03-15 price EUR 1.0823 USD

2025-01-05 * "Orion API"
  Income:API:Orion  -1200.50 USD
  Income:API:Wren   -300 USD
  Assets:Bank:USD

2025-01-06 * "Subscriptions, not yet attributed, in euros"
  Income:Subscription  -99.99 EUR
  Assets:Bank:EUR

2025-01-07 * "Compute"
  Expenses:COGS:Inference:Compute:API:Orion  200.00 EUR
  Expenses:COGS:Inference:Compute:API:Wren   80.00 GBP @ 1.27 USD
  Expenses:Cogs:Inference:Power:Free:Orion   45.125 USD
  Expenses:COGS:Moderation:API:Orion         12.00 USD
  Expenses:RnD:Evals                         7 EUR @@ 7.77 USD
  Assets:Bank:EUR                           -207.00 EUR
  Liabilities:AccountsPayable

2025-01-08 * "Travel and legal"
  Expenses:SGA:Travel  2 VOUCHER {25.00 USD}
  Expenses:Legal       150.00 USD
  Liabilities:AccountsPayable

2025-01-09 * "No price for francs"
  Expenses:SGA:Travel  40.00 CHF
  Assets:Bank:CHF

2025-01-31 * "Metering"
  Equity:Stats:Tokens:API:Orion   12.500 MTOK
  Equity:Stats:Tokens:API:Wren    0.000 MTOK
  Equity:Stats:Tokens:Free:Orion  3.25 MTOK
  Equity:Stats:Tokens:API:Wren    900 KTOK
  Equity:Stats:Offset

2025-02-01 S "Opening balances of a filtered view"
  Income:API:Orion   -5000.00 USD
  Equity:Stats:Tokens:API:Orion  1000 MTOK
  Equity:Opening-Balances

2025-02-03 * "Orion API in euros"
  Income:API:Orion  -700.00 EUR
  Income:Free:Orion  -0.01 USD
  Assets:Bank:EUR   700.00 EUR
  Assets:Bank:USD

2025-02-04 * "Compute at the inverted price"
  Expenses:COGS:Inference:Compute:API:Orion  333.33 EUR
  Assets:Bank:EUR

2025-02-05 * "Legal, refunded"
  Expenses:Legal  10.00 USD
  Expenses:Legal  -10.00 USD

2025-02-28 * "Metering"
  Equity:Stats:Tokens:API:Orion  7.1 MTOK
  Equity:Stats:Offset

2025-03-20 * "Compute, no tokens this month"
  Expenses:COGS:Inference:Compute:API:Wren  19.99 EUR
  Assets:Bank:EUR

2025-04-02 * "Travel only"
  Expenses:SGA:Travel  88.80 USD
  Assets:Bank:USD

2025-05-31 * "Whole numbers only: the month's token total keeps no decimals"
  Income:API:Wren  -300 USD
  Assets:Bank:USD

2025-05-31 * "Metering"
  Equity:Stats:Tokens:API:Wren  7 MTOK
  Equity:Stats:Offset
"""


def cells(frame: pd.DataFrame) -> str:
    """Every cell's ``repr``, row by row (Decimal('0.00') and Decimal('-0') differ)."""
    return repr(frame.astype(object).values.tolist())


def assert_same_rows(ledger: Ledger) -> None:
    summary = monthly.build(ledger.entries)
    for name, query in monthly.QUERIES.items():
        ours, theirs = query(summary), run_saved(ledger, name)
        assert list(ours.columns) == list(theirs.columns), name
        assert list(ours.dtypes) == list(theirs.dtypes), name
        assert cells(ours) == cells(theirs), name
        assert len(theirs) > 0, name  # a comparison of two empty tables would prove nothing


def loaded(main: Path) -> Ledger:
    """The books as beanquery sees them, plugins or not, errors or not."""
    entries, _errors, options = loader.load_file(str(main))
    return Ledger(str(main), entries, options, {**package_queries(), **saved_queries(entries)})


@pytest.fixture(scope="module")
def example() -> Ledger:
    return load_ledger(EXAMPLE, require_pipeline=True)


@pytest.fixture(scope="module")
def corners(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    main = tmp_path_factory.mktemp("corners") / "main.beancount"
    main.write_text(CORNERS)
    _entries, errors, _options = loader.load_file(str(main))
    assert errors == []
    return loaded(main)


def test_the_example_books(example: Ledger) -> None:
    assert_same_rows(example)


def test_the_corners(corners: Ledger) -> None:
    assert_same_rows(corners)


def test_the_corners_reach_what_they_are_for(corners: Ledger) -> None:
    # If these fail, the books above no longer test what their comment says.
    gross = monthly.gross_margin_per_mtok(monthly.build(corners.entries))
    assert [(row.year, row.month) for row in gross.itertuples()] == [(2025, m) for m in (1, 2, 3, 5)]
    assert repr(gross["million_tokens"].iloc[3]) == "Decimal('7')"
    assert gross["gross_margin_per_mtok"].iloc[2] is None  # March: cost, no tokens
    assert str(gross["million_tokens"].iloc[0]) == "15.750"  # 0.000 MTOK and KTOK left out
    net = monthly.net_margin_per_mtok(monthly.build(corners.entries))
    assert (2025, 4) in [(row.year, row.month) for row in net.itertuples()]  # travel only
    by_model = monthly.QUERIES["margin-by-model"](monthly.build(corners.entries))
    assert "Subscription" not in set(by_model["model"])  # a tier account is not a model


@pytest.mark.parametrize("daily, months", [(False, "2025-01:2026-10"), (True, "2025-11:2026-01")])
def test_generated_books(tmp_path: Path, daily: bool, months: str) -> None:
    start, end = months.split(":")
    generate.write_ledger(tmp_path, start=start, end=end, scale=1, daily=daily, includes=())
    assert_same_rows(load_ledger(tmp_path / "main.beancount", require_pipeline=True))


def test_the_foreign_currency_books(tmp_path: Path) -> None:
    main = tmp_path / "main.beancount"
    main.write_text(currency_ledger_text())
    assert_same_rows(load_ledger(main, require_pipeline=True))


def test_the_summary_is_built_once_per_ledger(corners: Ledger) -> None:
    fresh = Ledger(corners.filename, corners.entries, corners.options, corners.queries)
    first = monthly.monthly_summary(fresh)
    assert monthly.monthly_summary(fresh) is first
    assert fresh.cache[monthly.CACHE_KEY] is first
    assert fresh == Ledger(corners.filename, corners.entries, corners.options, corners.queries)


def test_a_redefined_query_runs_in_beanquery(tmp_path: Path) -> None:
    # The books' own definition of gross-margin-per-mtok (one decimal): the
    # summary must not answer for it, and lab-report must show the books' figures.
    main = tmp_path / "main.beancount"
    shipped = package_queries()["gross-margin-per-mtok"].query_string
    redefined = shipped.replace("ROUND(revenue, 2) AS revenue", "ROUND(revenue, 1) AS revenue")
    assert redefined != shipped
    main.write_text(CORNERS + f'\n2025-01-01 query "gross-margin-per-mtok" "{redefined}"\n')
    ledger = loaded(main)
    assert not monthly.answers(ledger, "gross-margin-per-mtok")
    assert monthly.answers(ledger, "net-margin-per-mtok")
    frame = monthly.run_report_query(ledger, "gross-margin-per-mtok")
    assert cells(frame) == cells(run_saved(ledger, "gross-margin-per-mtok"))
    assert str(frame["revenue"].iloc[0]) == "1610.5"


VIEWS: list[tuple[str | None, Window]] = [
    (None, Window()),
    ("model", Window()),
    ("tier", Window()),
    (None, Window(Month(2025, 4), Month(2025, 12))),
    (None, Window(Month(2026, 1), None)),
    ("model", Window(Month(2025, 7), Month(2026, 3))),
    ("tier", Window(None, Month(2025, 3))),
]


def view(ledger: Ledger, by: str | None, window: Window) -> str:
    frame = economics.summary(ledger, window) if by is None else economics.by_segment(ledger, by, window)
    return render(frame, "json") + render(frame, "table")


@pytest.mark.parametrize("by, window", VIEWS)
def test_lab_report_views_equal_the_beanquery_way(
    example: Ledger, corners: Ledger, monkeypatch: pytest.MonkeyPatch, by: str | None, window: Window
) -> None:
    books = [example] + ([corners] if window == Window() else [])
    fast = [view(Ledger(b.filename, b.entries, b.options, b.queries), by, window) for b in books]

    def never(ledger: Ledger, name: str) -> Any:
        return False

    monkeypatch.setattr(monthly, "answers", never)  # every query through run_saved, as before
    slow = [view(Ledger(b.filename, b.entries, b.options, b.queries), by, window) for b in books]
    assert fast == slow
