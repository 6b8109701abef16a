"""The FOCUS cloud-bill importer on its samples: golden output, totals, the books, dedup, lab-import."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from beangulp.extract import DUPLICATE
from beangulp.testing import compare_expected, run_importer
from focus_helpers import (
    BOOKS,
    CONFIG,
    GOOD_SAMPLES,
    SAMPLES,
    books_entries,
    importer,
    read_sample,
    sample_with,
    simple_table,
    top_file,
    write_config,
    write_csv,
)
from helpers import copy_books, line_of
from hypothesis import given
from hypothesis import strategies as st

from ailab_books.importers.cli import main as lab_import
from ailab_books.importers.errors import FeedRejected
from ailab_books.importers.focus_invoices import _round_to_total


def transactions(entries: list[data.Directive]) -> list[data.Transaction]:
    return [entry for entry in entries if isinstance(entry, data.Transaction)]


@pytest.mark.parametrize("name", GOOD_SAMPLES)
def test_golden_output_is_regenerated_byte_for_byte(name: str) -> None:
    document = str(SAMPLES / name)
    assert compare_expected(f"{document}.beancount", *run_importer(importer(), document)) == []


@pytest.mark.parametrize("name", GOOD_SAMPLES)
def test_each_invoice_total_equals_an_independent_sum_of_billed_cost(name: str) -> None:
    _, rows = read_sample(SAMPLES / name)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    currency: dict[str, str] = {}
    for row in rows:
        key = f"focus/{row['BillingAccountId']}/{row['InvoiceId']}"
        expected[key] += Decimal(row["BilledCost"])
        currency[key] = row["BillingCurrency"]
    entries = transactions(importer().extract_entries(str(SAMPLES / name)))
    assert {entry.meta["import-id"] for entry in entries} == set(expected)
    for entry in entries:
        key = entry.meta["import-id"]
        payable = [p for p in entry.postings if p.account.startswith("Liabilities:AccountsPayable")]
        assert len(payable) == 1 and payable[0].units is not None
        # The payable is the exact sum of BilledCost, to the cent, in the bill's currency.
        assert payable[0].units.currency == currency[key]
        assert -payable[0].units.number == expected[key].quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert entry.meta["billed-cost"] == expected[key]
        # The postings add up to it exactly, and their exact sums keep every row's contribution.
        charges = [p for p in entry.postings if p is not payable[0]]
        assert sum(p.units.number for p in charges if p.units is not None) == -payable[0].units.number
        exact = sum(
            p.meta.get("billed-cost", p.units.number) for p in charges if p.units is not None and p.meta
        )
        assert exact == expected[key]
        assert sum(p.meta["rows"] for p in charges if p.meta) == len(
            [row for row in rows if f"focus/{row['BillingAccountId']}/{row['InvoiceId']}" == key]
        )


def test_credit_tax_and_correction_are_booked_as_focus_defines_them() -> None:
    (entry,) = transactions(importer().extract_entries(str(SAMPLES / GOOD_SAMPLES[0])))
    by_kind = {
        (p.account, p.meta["charge-category"], p.meta.get("corrects")): p.units.number
        for p in entry.postings
        if p.meta and "charge-category" in p.meta and p.units is not None
    }
    # A credit is a negative BilledCost on the account its route names, in a posting of its own.
    assert by_kind["Expenses:RnD:Training:Compute", "Credit", None] == Decimal("-1250.00")
    # Taxes go to the tax account, whatever their tags.
    assert by_kind["Expenses:SGA:Taxes:Cloud", "Tax", None] == Decimal("3456.78")
    # A correction of September is booked in October's invoice, saying which month it corrects.
    assert by_kind["Expenses:Shared:Serving:Compute", "Usage", "2026-09"] == Decimal("-420.50")
    # A commitment purchase is billed when bought (BilledCost basis, not EffectiveCost).
    assert by_kind["Expenses:Shared:GPUCluster", "Purchase", None] == Decimal("50000.00")
    # The billing period ends (exclusive) on 2026-11-01: the bill is dated its last day.
    assert str(entry.date) == "2026-10-31"


def test_first_matching_route_wins() -> None:
    (entry,) = transactions(importer().extract_entries(str(SAMPLES / GOOD_SAMPLES[0])))
    storage = [p for p in entry.postings if p.account == "Expenses:RnD:Training:Storage"]
    # training + Storage matches route 3 (label and service category) before route 4 (label only).
    assert [p.meta["route"] for p in storage if p.meta] == ["route 3"]


def test_books_with_the_golden_outputs_pass_bean_check(tmp_path: Path) -> None:
    goldens = [SAMPLES / f"{name}.beancount" for name in GOOD_SAMPLES]
    entries, errors, _ = loader.load_file(str(top_file(tmp_path, BOOKS, *goldens)))
    assert errors == []
    # The EUR bill stays in EUR (valued by the books at the price of its date).
    eur = [p for e in transactions(entries) if e.meta.get("invoice") == "BCE-2026-10-117" for p in e.postings]
    assert {p.units.currency for p in eur if p.units is not None} == {"EUR"}


def test_a_eur_bill_without_a_price_is_an_error_at_the_bill(tmp_path: Path) -> None:
    books = tmp_path / "ledger"
    copy_books(BOOKS.parent, books)
    accounts = books / "accounts.beancount"
    accounts.write_text(accounts.read_text(encoding="utf-8").replace("2026-10-30 price EUR", "; no"), "utf-8")
    main = books / "main.beancount"
    facts = books / "books.beancount"  # its saved queries and dashboard are outside the copy
    facts.write_text(facts.read_text(encoding="utf-8").replace('include "../', '; include "../'), "utf-8")
    golden = SAMPLES / "brisa-eur-2026-10.csv.beancount"
    _, errors, _ = loader.load_file(str(top_file(tmp_path, main, golden)))
    assert errors, "a EUR cost with no price must not pass"
    line = line_of(golden, 'Brisa Cloud Europe"')
    for error in errors:
        assert "no price EUR/USD" in error.message
        assert (error.source["filename"], error.source["lineno"]) == (str(golden), line)


def test_a_eur_bill_routed_to_a_usd_only_account_is_refused_at_its_row(tmp_path: Path) -> None:
    routes = '[[focus.route]]\nlabel = "evals-eu"\naccount = "Expenses:Shared:Serving:Compute"\n'
    config = write_config(tmp_path, simple_table(routes=routes))
    document = str(SAMPLES / "brisa-eur-2026-10.csv")
    with pytest.raises(FeedRejected) as caught:
        importer(config).extract(document, list(books_entries()))
    (problem,) = caught.value.problems
    assert (problem.filename, problem.row) == (document, 2)
    assert "Expenses:Shared:Serving:Compute is opened for USD, not EUR" in problem.message


def test_importing_the_same_bill_twice_adds_nothing(tmp_path: Path) -> None:
    focus = importer()
    first = focus.extract_entries(str(SAMPLES / GOOD_SAMPLES[0]))
    # The books after the first import; the same file imported again (under another name).
    again = shutil.copy(SAMPLES / GOOD_SAMPLES[0], tmp_path / "downloaded-again.csv")
    second = focus.extract(str(again), [*books_entries(), *first])
    focus.deduplicate(second, [*books_entries(), *first])
    assert second and all(DUPLICATE in entry.meta for entry in second)


def test_the_same_invoice_with_another_total_in_two_files_is_an_error_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bills"
    folder.mkdir()
    shutil.copy(SAMPLES / GOOD_SAMPLES[0], folder / "a-export.csv")
    revised = sample_with(folder, "b-export.csv", {0: {"BilledCost": "182341.125"}})
    output = tmp_path / "out.beancount"
    code = lab_import(["--config", str(CONFIG), "extract", str(folder), "-o", str(output)])
    err = capsys.readouterr().err
    assert code == 1
    assert not output.exists()
    assert (
        f"{revised}:2: import-id 'focus/acct-1001/NAC-2610-0042' is already at {folder / 'a-export.csv'}:2"
        in err
    )
    assert "with different figures" in err


def test_lab_import_extracts_the_samples_and_the_output_passes_bean_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.beancount"
    sources = [str(SAMPLES / name) for name in GOOD_SAMPLES]
    assert lab_import(["--config", str(CONFIG), "extract", *sources, "-o", str(output)]) == 0
    assert capsys.readouterr().err == ""
    combined = top_file(tmp_path, BOOKS, output)
    _, errors, _ = loader.load_file(str(combined))
    assert errors == []
    # Extracting again against the books plus that output writes the bills as duplicates only.
    second = tmp_path / "second.beancount"
    code = lab_import(["--config", str(CONFIG), "extract", *sources, "-e", str(combined), "-o", str(second)])
    assert code == 0
    text = second.read_text(encoding="utf-8")
    assert text.count("; 2026-10-31 * ") == 2 and "\n2026-10-31 * " not in text


def test_identify_reads_the_header_not_the_name(tmp_path: Path) -> None:
    focus = importer()
    assert focus.identify(str(SAMPLES / GOOD_SAMPLES[0]))
    renamed = shutil.copy(SAMPLES / GOOD_SAMPLES[0], tmp_path / "timesheets.csv")
    assert focus.identify(str(renamed))
    other = tmp_path / "focus-like.csv"
    other.write_text("date,employee,team,activity,hours\n2026-11-02,ana,ops,serving,8\n", encoding="utf-8")
    assert not focus.identify(str(other))
    assert not focus.identify(str(SAMPLES / f"{GOOD_SAMPLES[0]}.beancount"))


def test_a_focus_1_0_file_without_invoice_id_is_one_invoice_per_billing_period(tmp_path: Path) -> None:
    header, rows = read_sample(SAMPLES / GOOD_SAMPLES[0])
    document = write_csv(tmp_path / "focus-1.0.csv", [c for c in header if c != "InvoiceId"], rows)
    with pytest.raises(FeedRejected) as caught:
        importer(write_config(tmp_path, simple_table())).extract_entries(str(document))
    (problem,) = caught.value.problems
    assert (problem.filename, problem.row) == (str(document), 1)
    assert "missing column InvoiceId" in problem.message and "invoice-from-billing-period" in problem.message
    config = write_config(tmp_path, simple_table(extra="invoice-from-billing-period = true\n"))
    (entry,) = importer(config).extract_entries(str(document))
    assert entry.meta["import-id"] == "focus/acct-1001/period-2026-10"
    assert entry.links == {"inv-acct-1001-period-2026-10"}


def test_account_ids_with_slashes_make_one_import_id_part(tmp_path: Path) -> None:
    azure = "/providers/Microsoft.Billing/billingAccounts/8611537"
    header, rows = read_sample(SAMPLES / GOOD_SAMPLES[0])
    document = write_csv(tmp_path / "azure.csv", header, [{**row, "BillingAccountId": azure} for row in rows])
    (entry,) = importer().extract_entries(str(document))
    assert (
        entry.meta["import-id"]
        == "focus/%2Fproviders%2FMicrosoft.Billing%2FbillingAccounts%2F8611537/NAC-2610-0042"
    )
    assert entry.meta["billing-account"] == azure


def test_sub_cent_rows_and_e_notation_and_null_literals_are_read_exactly(tmp_path: Path) -> None:
    document = sample_with(
        tmp_path,
        "generated.csv",
        {
            2: {"BilledCost": "8.0E-7", "ResourceId": "NULL"},
            10: {"BilledCost": "4E-3", "ChargeClass": "NULL"},
        },
    )
    (entry,) = importer().extract_entries(str(document))
    (golden,) = importer().extract_entries(str(SAMPLES / GOOD_SAMPLES[0]))
    assert entry.meta["billed-cost"] == golden.meta["billed-cost"]
    assert [p.units for p in entry.postings] == [p.units for p in golden.postings]


def test_the_csv_module_reads_the_samples_as_the_importer_does() -> None:
    # A guard on the samples themselves: every row has every column (a test that cannot pass
    # vacuously on a truncated sample).
    for name in GOOD_SAMPLES:
        with (SAMPLES / name).open(encoding="utf-8", newline="") as file:
            rows = list(csv.reader(file))
        assert len(rows) > 2 and len({len(row) for row in rows}) == 1


cents = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=7, allow_nan=False)


@given(st.lists(cents, min_size=1, max_size=12))
def test_rounded_postings_always_add_up_to_the_rounded_total(exact: list[Decimal]) -> None:
    cent = Decimal("0.01")
    total = sum(exact, Decimal(0)).quantize(cent, ROUND_HALF_UP)
    rounded = _round_to_total(exact, total, cent)
    assert sum(rounded, Decimal(0)) == total
    # Each posting stays within a cent of its exact sum: the cents go where rounding lost them.
    assert all(abs(r - e) <= cent for r, e in zip(rounded, exact, strict=True))


def test_a_cent_too_many_is_taken_from_the_posting_rounded_up_most() -> None:
    exact = [Decimal("0.005"), Decimal("0.005"), Decimal("0.001")]  # each rounds up or down; total 0.011
    rounded = _round_to_total(exact, Decimal("0.01"), Decimal("0.01"))
    assert rounded == [Decimal("0.00"), Decimal("0.01"), Decimal("0.00")]
