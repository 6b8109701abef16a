"""Every bad FOCUS input is an error naming the file and row, and nothing is extracted.

The malformed sample holds one mistake per row; the others are written here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from focus_helpers import (
    CONFIG,
    MALFORMED,
    ROUTES,
    books_entries,
    importer,
    sample_with,
    simple_table,
    write_config,
)

from ailab_books.importers.cli import main as lab_import
from ailab_books.importers.config import ConfigError, load_config
from ailab_books.importers.errors import FeedProblem, FeedRejected
from ailab_books.importers.focus_settings import focus_settings


def problems_of(path: Path, config: Path | None = None) -> list[FeedProblem]:
    focus = importer(config) if config is not None else importer()
    with pytest.raises(FeedRejected) as caught:
        focus.extract_entries(str(path))
    return caught.value.problems


def test_the_malformed_sample_reports_every_row_with_its_line() -> None:
    found = [(p.filename, p.row, p.message) for p in problems_of(MALFORMED)]
    name = str(MALFORMED)
    assert found == [
        (name, 3, "BilledCost '1,250.00' is not a number (write 1234.56 or 1.23456E3, no separators)"),
        (
            name,
            4,
            "unknown workload label 'serivng' (the routes name: cluster, evals, evals-eu, serving, training)",
        ),
        (name, 5, "BillingCurrency is empty: a bill's amount has a currency"),
        (
            name,
            6,
            "BillingCurrency EUR differs from USD on row 2, in the same invoice NAC-2610-0099: "
            "one invoice is billed in one currency",
        ),
        (name, 7, "BillingPeriodEnd 2026-09-01 00:00 is not after BillingPeriodStart"),
        (name, 8, "Tags is not JSON (Expecting ',' delimiter at character 22): '{\"workload\": \"serving\"'"),
        (name, 9, "ChargeCategory 'Refund' is not one of Usage, Purchase, Tax, Credit, Adjustment"),
    ]


def test_lab_import_prints_every_problem_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.beancount"
    assert lab_import(["--config", str(CONFIG), "extract", str(MALFORMED), "-o", str(output)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert not output.exists()
    assert len(err) == 7 and all(line.startswith(f"{MALFORMED}:") for line in err)
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("Tags", "missing column(s) Tags"),
        ("BillingPeriodEnd", "missing column(s) BillingPeriodEnd"),
        ("ChargeClass", "missing column(s) ChargeClass"),
    ],
)
def test_a_missing_column_is_an_error_at_the_header(tmp_path: Path, column: str, message: str) -> None:
    source = sample_with(tmp_path, "full.csv", {})
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    index = header.index(column)
    # Drop the column from the header only: the file is refused at line 1 before any row is read.
    document = tmp_path / "no-column.csv"
    document.write_text(
        ",".join(header[:index] + header[index + 1 :]) + "\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8"
    )
    (problem,) = problems_of(document)
    assert (problem.filename, problem.row) == (str(document), 1)
    assert problem.message.startswith(message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"BilledCost": ""}, "BilledCost is empty"),
        ({"BilledCost": "NULL"}, "BilledCost is empty"),
        ({"BilledCost": "12.50 USD"}, "BilledCost '12.50 USD' is not a number"),
        ({"BilledCost": "NaN"}, "BilledCost 'NaN' is not a finite number"),
        ({"BillingCurrency": "GBP"}, "BillingCurrency GBP has no payable account in [focus] payable"),
        ({"BillingCurrency": "usd"}, "BillingCurrency 'usd' is not a currency code (ISO 4217)"),
        ({"BillingPeriodStart": "10/1/26"}, "BillingPeriodStart '10/1/26' is not a date-time"),
        (
            {"ChargePeriodStart": "2026-10-20T00:00:00Z", "ChargePeriodEnd": "2026-10-10T00:00:00Z"},
            "ChargePeriodEnd 2026-10-10 00:00 is before ChargePeriodStart",
        ),
        ({"ChargeClass": "Fix"}, "ChargeClass 'Fix' is neither empty nor Correction"),
        ({"InvoiceId": ""}, "InvoiceId is empty"),
        ({"BillingAccountId": "NULL"}, "BillingAccountId is empty"),
        ({"Tags": "[1, 2]"}, "Tags is not a JSON object"),
        ({"Tags": '{"workload": true}'}, "the workload tag is true, not a label (a non-empty string)"),
        ({"Tags": '{"workload": "Serving"}'}, "unknown workload label 'Serving'"),
    ],
)
def test_a_bad_cell_is_an_error_at_its_row(tmp_path: Path, change: dict[str, str], message: str) -> None:
    document = sample_with(tmp_path, "bill.csv", {3: change})
    problems = problems_of(document)
    assert [(p.filename, p.row) for p in problems] == [(str(document), 5)]
    assert problems[0].message.startswith(message), problems[0].message


def test_a_row_with_a_cell_too_many_is_an_error_at_its_row(tmp_path: Path) -> None:
    document = sample_with(tmp_path, "bill.csv", {})
    lines = document.read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"
    document.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = problems_of(document)
    assert (problem.row, problem.message) == (3, "malformed row: 23 fields where the header has 22")


def test_a_line_no_route_takes_is_an_error_without_a_default_account(tmp_path: Path) -> None:
    config = write_config(tmp_path, simple_table(default=False))
    document = sample_with(tmp_path, "bill.csv", {})
    found = [(p.row, p.message) for p in problems_of(document, config)]
    assert found == [
        (
            12,
            "no [[focus.route]] matches this line (no workload tag, ServiceCategory 'Other', "
            "ChargeCategory Adjustment) and [focus] names no default-account",
        ),
        (
            13,
            "no [[focus.route]] matches this line (no workload tag, ServiceCategory "
            "'Management and Governance', ChargeCategory Usage) and [focus] names no default-account",
        ),
    ]


def test_an_account_the_books_do_not_open_is_an_error_at_the_first_row_needing_it(tmp_path: Path) -> None:
    routes = ROUTES.replace("Expenses:RnD:Evals:Compute", "Expenses:RnD:Evals:Cloud")
    config = write_config(tmp_path, simple_table(routes=routes))
    document = sample_with(tmp_path, "bill.csv", {})
    with pytest.raises(FeedRejected) as caught:
        importer(config).extract(str(document), list(books_entries()))
    found = [(p.filename, p.row, p.message) for p in caught.value.problems]
    message = "account Expenses:RnD:Evals:Cloud is not opened in the books; add an `open` "
    assert found == [(str(document), 8, message + "(or map the label to an opened account)")]


def test_a_file_the_importer_rejects_is_never_partly_extracted(tmp_path: Path) -> None:
    # One bad row among good invoices: no entry comes out, the error names the row.
    document = sample_with(tmp_path, "bill.csv", {13: {"BilledCost": "3,456.78"}})
    with pytest.raises(FeedRejected) as caught:
        importer().extract_entries(str(document))
    assert [p.row for p in caught.value.problems] == [15]


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        (simple_table().replace("tax-account", "tax-acount"), "tax-acount", "unknown key"),
        (simple_table().replace('tax-account = "Expenses:SGA:Taxes:Cloud"\n', ""), "tax-account", "missing"),
        (simple_table().replace("USD = ", "usd = "), "payable.usd", "is not a currency code"),
        (
            simple_table().replace('"Expenses:SGA:Software"', '"Software"'),
            "default-account",
            "not an account",
        ),
        (simple_table().replace('label = "serving"\n', ""), "route", "route 1 has no condition"),
        (
            simple_table().replace('label = "serving"', 'lable = "serving"'),
            "route",
            "route 1: unknown key 'lable'",
        ),
        (
            simple_table().replace('label = "serving"', 'charge-category = "Tax"'),
            "route",
            "route 1: Tax lines always go to tax-account",
        ),
        (
            simple_table().replace('label = "serving"', 'charge-category = "Refund"'),
            "route",
            "route 1: charge-category 'Refund' is not one of",
        ),
        (
            simple_table().replace('label-tag = "workload"\n', ""),
            "label-tag",
            "missing: a route matches on label",
        ),
    ],
)
def test_a_configuration_mistake_names_the_file_table_and_key(
    tmp_path: Path, table: str, key: str, message: str
) -> None:
    path = write_config(tmp_path, table)
    with pytest.raises(ConfigError) as caught:
        focus_settings(load_config(path))
    error = caught.value
    assert (error.path, error.table, error.key) == (path, "focus", key)
    assert message in error.message
    assert str(error).startswith(f"{path}:")


def test_two_billing_periods_in_one_invoice_is_an_error_at_the_row_that_differs(tmp_path: Path) -> None:
    september = {"BillingPeriodStart": "2026-09-01T00:00:00Z", "BillingPeriodEnd": "2026-10-01T00:00:00Z"}
    document = sample_with(
        tmp_path, "bill.csv", {3: {**september, "ChargePeriodStart": "2026-09-03T00:00:00Z"}}
    )
    (problem,) = problems_of(document)
    assert (problem.filename, problem.row) == (str(document), 5)
    assert problem.message == (
        "billing period 2026-09-01T00:00:00Z/2026-10-01T00:00:00Z differs from "
        "2026-10-01T00:00:00Z/2026-11-01T00:00:00Z on row 2, in the same invoice NAC-2610-0042"
    )
