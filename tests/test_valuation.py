"""Every currency counts, at its value: ailab_books.plugins.valuation and the saved queries.

A foreign-currency amount on an Income or Expenses account counts in USD at its
weight (its `@` price or cost) and otherwise at the ledger's latest price dated
on or before the posting (IAS 21: the spot rate of the transaction's date),
never at a later price. One that no price can value is an error at its
transaction, and is in no USD figure.

The figures are checked against hand-worked numbers (in the comments) and
against an independent computation that reads the postings and the `price`
directives directly, without beanquery's `convert` or beancount's price map.
"""

from __future__ import annotations

import datetime
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import convert, data, prices
from test_queries import load_despite_errors

from ailab_books.plugins import valuation
from ailab_books.plugins.valuation import ValuationError, unvalued_postings
from ailab_books.queries.economics import summary
from ailab_books.queries.runner import Ledger, load_ledger, run_saved

ROOT = Path(__file__).resolve().parent.parent
QUERIES_GLOB = ROOT / "queries" / "*.beancount"
D = Decimal
CENT = D("0.01")

# An unseen lab in the conventions, with foreign money on direct (not pooled)
# expense accounts and on revenue. Line 1 is the first line of the text.
FOREIGN = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.classify"

2025-01-01 commodity MTOK
2025-01-01 open Assets:Bank:USD USD
2025-01-01 open Assets:Bank:EUR EUR
2025-01-01 open Assets:Bank:GBP GBP
2025-01-01 open Assets:Bank:CHF CHF
2025-01-01 open Income:API:Orion
2025-01-01 open Income:API:Wren
2025-01-01 open Expenses:COGS:RevenueShare:API:Orion
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren
2025-01-01 open Expenses:RnD:Data:Licensing
2025-01-01 open Expenses:SGA:Travel
2025-01-01 open Equity:Stats:Tokens:API:Orion MTOK
2025-01-01 open Equity:Stats:Tokens:API:Wren MTOK
2025-01-01 open Equity:Stats:Offset

2025-01-15 price EUR 1.10 USD
2025-02-10 price EUR 1.50 USD
2025-01-20 price USD 0.80 GBP

2025-01-31 * "Metering" "Tokens, January"
  Equity:Stats:Tokens:API:Orion   30 MTOK
  Equity:Stats:Tokens:API:Wren    20 MTOK
  Equity:Stats:Offset            -50 MTOK

2025-01-31 * "Billing" "API revenue, January"
  Income:API:Orion              -400.00 USD
  Income:API:Wren               -200.00 EUR
  Assets:Bank:USD                400.00 USD
  Assets:Bank:EUR                200.00 EUR

2025-01-31 * "Marketplace" "Revenue share, invoiced in euros at the invoice's rate"
  Expenses:COGS:RevenueShare:API:Orion   500.00 EUR @ 1.08 USD
  Assets:Bank:USD                       -540.00 USD

2025-01-31 * "Cloud" "Serving compute, billed in francs, total price"
  Expenses:COGS:Inference:Compute:API:Wren   100.00 CHF @@ 112.34 USD
  Assets:Bank:USD                           -112.34 USD

2025-01-31 * "Travel" "Berlin, paid in euros"
  Expenses:SGA:Travel     50.00 EUR
  Assets:Bank:EUR

2025-01-31 * "Data vendor" "Licence, paid in pounds"
  Expenses:RnD:Data:Licensing   1000.00 GBP
  Assets:Bank:GBP
"""

# Hand-worked, January (50 Mtok):
#   revenue: 400.00 USD + 200.00 EUR at 1.10 (2025-01-15; the 1.50 of 2025-02-10
#            is after the posting) = 400 + 220 = 620.00
#   inference COGS: 500 EUR @ 1.08 = 540.00; 100 CHF @@ 112.34 = 112.34 -> 652.34
#   gross: 620 - 652.34 = -32.34; per Mtok -0.6468
#   other costs: travel 50 EUR at 1.10 = 55.00; licence 1000 GBP at 1/0.80
#                (price USD 0.80 GBP, inverted) = 1250.00
#   all costs: 652.34 + 55 + 1250 = 1957.34; net 620 - 1957.34 = -1337.34;
#   per Mtok -26.7468
HAND = {
    "revenue": D("620.00"),
    "inference_cogs": D("652.34"),
    "gross_margin": D("-32.34"),
    "gross_margin_per_mtok": D("-0.646800"),
    "all_costs": D("1957.34"),
    "net_margin": D("-1337.34"),
    "net_margin_per_mtok": D("-26.746800"),
}


def write(tmp_path: Path, text: str) -> Path:
    main = tmp_path / "main.beancount"
    main.write_text(text + f'\ninclude "{QUERIES_GLOB}"\n')
    return main


def independent_usd(entries: list[data.Directive], posting: data.Posting, date: datetime.date) -> Decimal:
    """The USD value of a posting, from the price directives read by hand."""
    weight = convert.get_weight(posting)
    if weight.currency == "USD":
        return weight.number
    rates = []
    for entry in entries:
        if not isinstance(entry, data.Price) or entry.date > date:
            continue
        if (entry.currency, entry.amount.currency) == (weight.currency, "USD"):
            rates.append((entry.date, entry.amount.number))
        elif (entry.currency, entry.amount.currency) == ("USD", weight.currency):
            rates.append((entry.date, 1 / entry.amount.number))
    assert rates, f"no price for {weight}"
    return weight.number * max(rates)[1]


def independent_figures(entries: list[data.Directive]) -> dict[str, Decimal]:
    revenue = cogs = costs = D(0)
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            if posting.account.startswith("Income:"):
                revenue -= independent_usd(entries, posting, entry.date)
            elif posting.account.startswith("Expenses:"):
                usd = independent_usd(entries, posting, entry.date)
                costs += usd
                if posting.account.startswith("Expenses:COGS:"):
                    cogs += usd
    return {"revenue": revenue, "inference_cogs": cogs, "all_costs": costs}


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return load_ledger(write(tmp_path_factory.mktemp("foreign"), FOREIGN))


def test_foreign_amounts_count_at_their_usd_value(foreign: Ledger) -> None:
    gross = run_saved(foreign, "gross-margin-per-mtok").iloc[0]
    net = run_saved(foreign, "net-margin-per-mtok").iloc[0]
    figures = {**gross.to_dict(), **net.to_dict()}
    for column, value in HAND.items():
        assert figures[column] == value, (column, figures[column], value)
    independent = independent_figures(foreign.entries)
    for column in ("revenue", "inference_cogs", "all_costs"):
        assert figures[column] == independent[column].quantize(CENT), column


def test_report_and_totals_agree(foreign: Ledger) -> None:
    total = summary(foreign).iloc[-1]
    for column, value in HAND.items():
        assert total[column] == value, column
    net_total = run_saved(foreign, "net-margin-total").iloc[0]
    assert net_total["all_costs"] == HAND["all_costs"]
    assert run_saved(foreign, "gross-margin-total").iloc[0]["inference_cogs"] == HAND["inference_cogs"]


def test_foreign_costs_in_cost_stack_and_lines(foreign: Ledger) -> None:
    row = run_saved(foreign, "cost-stack").iloc[0]
    # /50: revenue share 540 -> 10.8; compute 112.34 -> 2.2468; data 1250 -> 25; SG&A 55 -> 1.1
    assert row["inference__revenue_share_per_mtok"] == D("10.800000")
    assert row["inference__compute_per_mtok"] == D("2.246800")
    assert row["training__data_per_mtok"] == D("25.000000")
    assert row["sga__sga_per_mtok"] == D("1.100000")
    assert row["full_cost_per_mtok"] == D("39.146800")
    lines = run_saved(foreign, "cost-lines")
    assert dict(zip(lines["line"], lines["amount"], strict=True)) == {
        "Compute": D("112.34"),
        "RevenueShare": D("540.00"),
        "Travel": D("55.00"),
        "Data:Licensing": D("1250.00"),
    }


def test_usd_weights_are_unchanged(tmp_path: Path) -> None:
    # A USD weight is counted as it is, even with odd USD prices around.
    text = FOREIGN + "\n2025-01-01 price USD 2 EUR\n"
    ledger = load_ledger(write(tmp_path, text))
    frame = run_saved(ledger, "gross-margin-per-mtok")
    assert frame.iloc[0]["inference_cogs"] == HAND["inference_cogs"]
    assert str(frame.iloc[0]["revenue"]) == "620.00"


def test_foreign_books_load_without_errors() -> None:
    _, errors, _ = loader.load_string(FOREIGN)
    assert errors == []


# -- Amounts no price values ----------------------------------------------------

UNVALUED = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.classify"

2025-01-01 commodity MTOK
2025-01-01 open Assets:Bank:USD USD
2025-01-01 open Assets:Bank:EUR EUR
2025-01-01 open Income:API:Orion
2025-01-01 open Expenses:SGA:Travel
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion
2025-01-01 open Equity:Stats:Tokens:API:Orion MTOK
2025-01-01 open Equity:Stats:Offset

2025-02-10 price EUR 1.50 USD

2025-01-31 * "Travel" "Berlin, before the only EUR price"
  Expenses:SGA:Travel     50.00 EUR
  Assets:Bank:EUR

2025-01-31 * "Billing" "Revenue in euros, no price yet"
  Income:API:Orion       -20.00 EUR
  Assets:Bank:EUR

2025-01-31 * "Cloud" "Priced in pounds, no GBP price"
  Expenses:COGS:Inference:Compute:API:Orion   10.00 EUR @ 0.90 GBP
  Assets:Bank:EUR                            -10.00 EUR @ 0.90 GBP

2025-01-31 * "Metering" "Tokens booked to an expense account by mistake"
  Expenses:COGS:Inference:Compute:API:Orion    5 MTOK
  Equity:Stats:Tokens:API:Orion               -5 MTOK

2025-01-31 * "Cloud" "Serving compute"
  Expenses:COGS:Inference:Compute:API:Orion   30.00 USD
  Assets:Bank:USD

2025-02-28 * "Travel" "Paris, after the EUR price"
  Expenses:SGA:Travel     40.00 EUR
  Assets:Bank:EUR
"""


def test_unvalued_postings_are_errors_at_their_transactions(tmp_path: Path) -> None:
    main = write(tmp_path, UNVALUED)
    _, errors, _ = loader.load_file(str(main))
    found = [(e.source["filename"], e.source["lineno"], e.message) for e in errors]
    pair = "no price {}/USD on or before that date (add a `price` directive or an `@` price)"
    assert [(f, n, m.split(";")[0]) for f, n, m in found] == [
        (
            str(main),
            15,
            f"Cannot value 50.00 EUR on Expenses:SGA:Travel at 2025-01-31 in USD: {pair.format('EUR')}",
        ),
        (
            str(main),
            19,
            f"Cannot value -20.00 EUR on Income:API:Orion at 2025-01-31 in USD: {pair.format('EUR')}",
        ),
        (
            str(main),
            23,
            "Cannot value 10.00 EUR (its weight is in GBP) on Expenses:COGS:Inference:Compute:API:Orion"
            f" at 2025-01-31 in USD: {pair.format('GBP')}",
        ),
        (
            str(main),
            27,
            "Cannot value 5 MTOK on Expenses:COGS:Inference:Compute:API:Orion at 2025-01-31 in USD: "
            + pair.format("MTOK"),
        ),
    ]
    assert all(isinstance(e, ValuationError) for e in errors)
    assert all(m.endswith("without one it is in no USD figure") for _, _, m in found)


def test_unvalued_amounts_are_in_no_usd_figure(tmp_path: Path) -> None:
    ledger, errors = load_despite_errors(write(tmp_path, UNVALUED))
    assert len(errors) == 4
    rows = run_saved(ledger, "net-margin-per-mtok")
    january, february = rows.iloc[0], rows.iloc[1]
    # January: only the 30.00 USD of compute is valued; the EUR travel, the EUR
    # revenue, the GBP-priced compute and the MTOK on an expense account are not
    # summed as if they were USD. Tokens are the 5 MTOK on the token account only.
    assert (january["revenue"], january["all_costs"]) == (D("0.00"), D("30.00"))
    assert january["million_tokens"] == D("-5")
    # February: 40 EUR at 1.50 = 60.00
    assert february["all_costs"] == D("60.00")


def test_price_map_built_once_and_only_when_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = prices.build_price_map

    def counting(entries: list[data.Directive]) -> prices.PriceMap:
        calls.append(len(entries))
        return real(entries)

    monkeypatch.setattr(valuation.prices, "build_price_map", counting)
    entries, _, options = loader.load_string(FOREIGN.replace('plugin "ailab_books.plugins.classify"', ""))
    assert unvalued_postings(entries, options) == []
    assert len(calls) == 1  # four foreign postings, one price map
    usd_only = [e for e in entries if not isinstance(e, data.Transaction) or e.narration.startswith("Tokens")]
    calls.clear()
    assert unvalued_postings(usd_only, options) == []
    assert calls == []


def test_operating_currency_defaults_to_usd() -> None:
    assert valuation.operating_currency({}) == "USD"
    assert valuation.operating_currency({"operating_currency": ["EUR", "USD"]}) == "EUR"


def test_module_docstring_example() -> None:
    text = textwrap.dedent(
        """\
        option "operating_currency" "USD"
        plugin "ailab_books.plugins.classify"
        2026-01-01 open Assets:Bank:EUR
        2026-01-01 open Expenses:SGA:Events
        2026-01-15 price EUR 1.10 USD

        2026-01-10 * "Berlin meetup"
          Expenses:SGA:Events   50.00 EUR
          Assets:Bank:EUR
        """
    )
    _, errors, _ = loader.load_string(text)
    assert [(e.source["lineno"], e.message.split(" (")[0]) for e in errors] == [
        (
            7,
            "Cannot value 50.00 EUR on Expenses:SGA:Events at 2026-01-10 in USD: "
            "no price EUR/USD on or before that date",
        ),
    ]
    assert (valuation.__doc__ or "").count(
        "Cannot value 50.00 EUR on Expenses:SGA:Events at 2026-01-10 in USD:"
    )


def test_foreign_amounts_per_model(foreign: Ledger) -> None:
    # Orion: revenue 400.00, COGS 540.00 (500 EUR @ 1.08); Wren: revenue 200 EUR
    # at 1.10 = 220.00, COGS 112.34 (100 CHF @@ 112.34)
    frame = run_saved(foreign, "margin-by-model")
    got = {r["model"]: (r["revenue"], r["inference_cogs"]) for r in frame.to_dict("records")}
    assert got == {"Orion": (D("400.00"), D("540.00")), "Wren": (D("220.00"), D("112.34"))}
    prices_by_model = run_saved(foreign, "price-per-mtok")
    assert list(prices_by_model["price_per_mtok"]) == [D("13.333333"), D("11.000000")]
