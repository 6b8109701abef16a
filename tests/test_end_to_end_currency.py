"""End to end: foreign-currency costs in a pool and on direct expense accounts, to the cent.

An unseen lab in the conventions. The GPU pool receives a USD lease, an invoice
of ``500.00 EUR @ 1.08 USD``, a plain ``200.00 EUR`` valued by a ``price``
directive and, in February, a plain EUR amount and a refund at its own rate;
the cost of serving it hands on goes through a second pool to COGS per model.
Direct costs are in GBP with ``@`` (and one ``@@``) on a COGS account and on
travel. Revenue is in USD.

Every expected figure is computed here from the numbers written in the ledger's
text (the SPENDS table below is both the text's source and the hand-worked
values), never from beancount's weights, price map or the saved queries.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from ailab_books.queries.report import main as lab_report
from ailab_books.queries.runner import Ledger, load_ledger, run_saved

D = Decimal
CENT = D("0.01")
MONTHS = ("2025-01", "2025-02")
POOLS = ("Expenses:Shared:GPUCluster", "Expenses:Shared:Serving:Compute")

# The ledger's `price` directives: (date, EUR in USD). The third is after February's plain amount.
PRICES = [
    (datetime.date(2025, 1, 1), D("1.10")),
    (datetime.date(2025, 2, 1), D("1.12")),
    (datetime.date(2025, 2, 20), D("1.50")),
]


def eur_rate(date: datetime.date) -> Decimal:
    """The latest EUR price on or before ``date``, read from PRICES (never a later one)."""
    return max((day, rate) for day, rate in PRICES if day <= date)[1]


# (date, account, amount as written, its USD value worked from the text's own numbers)
SPENDS: list[tuple[str, str, str, Decimal]] = [
    ("2025-01-05", "Expenses:Shared:GPUCluster", "1000.00 USD", D("1000.00")),
    ("2025-01-12", "Expenses:Shared:GPUCluster", "500.00 EUR @ 1.08 USD", D("500.00") * D("1.08")),
    (
        "2025-01-18",
        "Expenses:Shared:GPUCluster",
        "200.00 EUR",
        D("200.00") * eur_rate(datetime.date(2025, 1, 18)),
    ),
    ("2025-01-19", "Expenses:COGS:RevenueShare:API:Orion", "80.00 GBP @ 1.27 USD", D("80.00") * D("1.27")),
    ("2025-01-20", "Expenses:SGA:Travel", "40.00 GBP @ 1.25 USD", D("40.00") * D("1.25")),
    ("2025-02-05", "Expenses:Shared:GPUCluster", "1200.00 USD", D("1200.00")),
    (
        "2025-02-10",
        "Expenses:Shared:GPUCluster",
        "300.00 EUR",
        D("300.00") * eur_rate(datetime.date(2025, 2, 10)),
    ),
    ("2025-02-22", "Expenses:Shared:GPUCluster", "-50.00 EUR @ 1.09 USD", D("-50.00") * D("1.09")),
    ("2025-02-19", "Expenses:COGS:RevenueShare:API:Orion", "90.00 GBP @ 1.26 USD", D("90.00") * D("1.26")),
    ("2025-02-21", "Expenses:SGA:Travel", "10.00 GBP @@ 12.61 USD", D("12.61")),
]
REVENUE = {
    "2025-01": {"Orion": D("3000.00"), "Wren": D("800.00")},
    "2025-02": {"Orion": D("3200.00"), "Wren": D("900.00")},
}
TOKENS = {"2025-01": {"Orion": D(100), "Wren": D(50)}, "2025-02": {"Orion": D(120), "Wren": D(60)}}
# GPU-hours: serving per deployment, and training.
GPUH = {
    "2025-01": {"Orion": D(300), "Wren": D(100), "Training": D(600)},
    "2025-02": {"Orion": D(200), "Wren": D(200), "Training": D(400)},
}

HEAD = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.allocate"
plugin "ailab_books.plugins.classify"

2025-01-01 commodity MTOK
2025-01-01 open Assets:Bank:USD
2025-01-01 open Assets:Bank:EUR
2025-01-01 open Assets:Bank:GBP
2025-01-01 open Income:API:Orion
2025-01-01 open Income:API:Wren
2025-01-01 open Expenses:Shared:GPUCluster
2025-01-01 open Expenses:Shared:Serving:Compute
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren
2025-01-01 open Expenses:COGS:RevenueShare:API:Orion
2025-01-01 open Expenses:RnD:Training:Compute
2025-01-01 open Expenses:SGA:Travel
2025-01-01 open Equity:Stats:GPUH:Serving:API-Orion
2025-01-01 open Equity:Stats:GPUH:Serving:API-Wren
2025-01-01 open Equity:Stats:GPUH:Training
2025-01-01 open Equity:Stats:Tokens:API:Orion
2025-01-01 open Equity:Stats:Tokens:API:Wren
2025-01-01 open Equity:Stats:Offset

2025-01-01 custom "allocate" Expenses:Shared:GPUCluster Equity:Stats:GPUH
  serving:  Expenses:Shared:Serving:Compute
  training: Expenses:RnD:Training:Compute

2025-01-01 custom "allocate" Expenses:Shared:Serving:Compute Equity:Stats:GPUH:Serving
  api-orion: Expenses:COGS:Inference:Compute:API:Orion
  api-wren:  Expenses:COGS:Inference:Compute:API:Wren
"""


def ledger_text() -> str:
    parts = [HEAD]
    parts += [f"{day.isoformat()} price EUR {rate} USD\n" for day, rate in PRICES]
    for date, account, amount, _ in SPENDS:
        bank = "Assets:Bank:" + ("USD" if "@" in amount or amount.endswith("USD") else amount.split()[1])
        parts.append(f'\n{date} * "Vendor"\n  {account}  {amount}\n  {bank}\n')
    for label in MONTHS:
        revenue, tokens, gpuh = REVENUE[label], TOKENS[label], GPUH[label]
        parts.append(
            f"""
{label}-25 * "Billing"
  Income:API:Orion   -{revenue["Orion"]} USD
  Income:API:Wren    -{revenue["Wren"]} USD
  Assets:Bank:USD
{label}-28 * "Scheduler"
  Equity:Stats:GPUH:Serving:API-Orion  {gpuh["Orion"]} GPUH
  Equity:Stats:GPUH:Serving:API-Wren   {gpuh["Wren"]} GPUH
  Equity:Stats:GPUH:Training           {gpuh["Training"]} GPUH
  Equity:Stats:Offset
{label}-28 * "Metering"
  Equity:Stats:Tokens:API:Orion  {tokens["Orion"]} MTOK
  Equity:Stats:Tokens:API:Wren   {tokens["Wren"]} MTOK
  Equity:Stats:Offset
"""
        )
    return "".join(parts)


def spent(label: str, prefix: str) -> Decimal:
    return sum(
        (usd for date, account, _, usd in SPENDS if date[:7] == label and account.startswith(prefix)), D(0)
    )


def round6(value: Decimal) -> Decimal:
    return value.quantize(D("0.000001"), rounding=ROUND_HALF_EVEN)


def expected(label: str) -> dict[str, Decimal]:
    """The month's figures worked by hand: the pool's value split by serving GPU-hours."""
    gpuh = GPUH[label]
    pool = spent(label, "Expenses:Shared:GPUCluster")
    serving = (pool * (gpuh["Orion"] + gpuh["Wren"]) / sum(gpuh.values())).quantize(CENT)
    tokens = sum(TOKENS[label].values(), D(0))
    revenue = sum(REVENUE[label].values(), D(0))
    cogs = serving + spent(label, "Expenses:COGS:")
    costs = spent(label, "Expenses:")
    return {
        "million_tokens": tokens,
        "revenue": revenue,
        "inference_cogs": cogs,
        "gross_margin": revenue - cogs,
        "gross_margin_per_mtok": round6((revenue - cogs) / tokens),
        "all_costs": costs.quantize(CENT),
        "net_margin": (revenue - costs).quantize(CENT),
        "net_margin_per_mtok": round6((revenue - costs) / tokens),
    }


def test_the_hand_worked_figures() -> None:
    # The table above, checked once by hand, so that a slip in SPENDS cannot hide behind the code.
    assert expected("2025-01") == {
        "million_tokens": D(150),
        "revenue": D("3800.00"),
        "inference_cogs": D("805.60"),  # 40% of 1000 + 540 + 220 = 704.00, and 101.60 of revenue share
        "gross_margin": D("2994.40"),
        "gross_margin_per_mtok": D("19.962667"),
        "all_costs": D("1911.60"),  # 1760.00 + 101.60 + 50.00
        "net_margin": D("1888.40"),
        "net_margin_per_mtok": D("12.589333"),
    }
    assert expected("2025-02") == {
        "million_tokens": D(180),
        "revenue": D("4100.00"),
        "inference_cogs": D("854.15"),  # 50% of 1200 + 336 - 54.50 = 740.75, and 113.40
        "gross_margin": D("3245.85"),
        "gross_margin_per_mtok": D("18.032500"),
        "all_costs": D("1607.51"),  # 1481.50 + 113.40 + 12.61
        "net_margin": D("2492.49"),
        "net_margin_per_mtok": D("13.847167"),
    }


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("currency") / "main.beancount"
    path.write_text(ledger_text())
    return path


@pytest.fixture(scope="module")
def ledger(books: Path) -> Ledger:
    return load_ledger(books)  # raises on any ledger error


def test_the_saved_queries_equal_the_hand_worked_figures(ledger: Ledger) -> None:
    seen: dict[str, dict[str, Decimal]] = {}
    for name in ("gross-margin-per-mtok", "net-margin-per-mtok"):
        for row in run_saved(ledger, name).to_dict("records"):
            seen.setdefault(f"{row['year']}-{row['month']:02d}", {}).update(row)
    for label in MONTHS:
        want = expected(label)
        assert {key: seen[label][key] for key in want} == want, label


def test_lab_report_prints_the_hand_worked_figures(books: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lab_report([str(books), "--format", "csv"]) == 0
    rows = {row["month"]: row for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    for label in MONTHS:
        want = expected(label)
        assert {key: D(rows[label][key]) for key in want} == want, label


def test_margin_by_model_equals_the_hand_worked_split(ledger: Ledger) -> None:
    rows = {
        (f"{row['year']}-{row['month']:02d}", row["model"]): row
        for row in run_saved(ledger, "margin-by-model").to_dict("records")
    }
    for label in MONTHS:
        gpuh = GPUH[label]
        serving = expected(label)["inference_cogs"] - spent(label, "Expenses:COGS:")
        cogs = {model: rows[(label, model)]["inference_cogs"] for model in ("Orion", "Wren")}
        direct = {"Orion": spent(label, "Expenses:COGS:RevenueShare:API:Orion"), "Wren": D(0)}
        # The serving cost split by deployment hours, each part within a cent, the parts adding up exactly.
        assert sum(cogs.values()) - sum(direct.values()) == serving
        for model in ("Orion", "Wren"):
            share = serving * gpuh[model] / (gpuh["Orion"] + gpuh["Wren"])
            assert abs(cogs[model] - direct[model] - share) < CENT, (label, model)
            assert rows[(label, model)]["revenue"] == REVENUE[label][model]
            assert rows[(label, model)]["million_tokens"] == TOKENS[label][model]
    assert rows[("2025-01", "Orion")]["inference_cogs"] == D("528.00") + D("101.60")


def test_every_pool_is_zero_at_each_month_end_in_every_currency_and_in_value(books: Path) -> None:
    entries, errors, _ = loader.load_file(str(books))
    assert errors == []
    for pool in POOLS:
        for label in MONTHS:
            units: dict[str, Decimal] = {}
            value = D(0)
            for entry in entries:
                if not isinstance(entry, data.Transaction) or entry.date.strftime("%Y-%m") > label:
                    continue
                for posting in entry.postings:
                    if posting.account != pool or posting.units is None:
                        continue
                    currency, number = posting.units.currency, posting.units.number
                    units[currency] = units.get(currency, D(0)) + number
                    # Value from the posting as written: its @ price, else the text's price of its date.
                    if posting.price is not None:
                        assert posting.price.currency == "USD"
                        value += number * posting.price.number
                    else:
                        value += number * (D(1) if currency == "USD" else eur_rate(entry.date))
            assert all(number == 0 for number in units.values()), (pool, label, units)
            assert value == 0, (pool, label, value)


def test_the_targets_receive_the_pool_in_usd_only(books: Path) -> None:
    entries, _, _ = loader.load_file(str(books))
    for entry in entries:
        if isinstance(entry, data.Transaction) and "allocation" in entry.tags:
            for posting in entry.postings:
                if posting.account != entry.meta["pool"]:
                    assert posting.units is not None and posting.units.currency == "USD", posting
