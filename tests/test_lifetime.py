"""Each model as a company: the life table (ailab_books.queries.lifetime) and its saved queries.

A hand-worked model (payback month, contribution, both amortisation methods), the
example's table against the saved query ``model-payback`` and against what the
model-as-company view booked, and the mistakes the table refuses.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from helpers import line_of

from ailab_books.queries.lifetime import BadModelRecords, life_table, payback_curve
from ailab_books.queries.report import main as lab_report
from ailab_books.queries.runner import Ledger, load_ledger, run_saved

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries" / "lifetime.beancount"

RECORD = """\
2026-01-01 custom "model" "Kestrel"
  launch: 2026-03-01
  serving-life-months: 4
  lifetime-mtok: 1000
  training-before-books: 50.00 USD
"""


def small_books(record: str = RECORD) -> str:
    """Training 100 + 200 before launch; gross margin 100, 120, 90 in March to May."""
    return f"""\
option "operating_currency" "USD"
plugin "ailab_books.plugins.classify"
include "{QUERIES}"

2026-01-01 open Assets:Bank USD
2026-01-01 open Income:API:Kestrel USD
2026-01-01 open Expenses:COGS:Inference:Compute:API:Kestrel USD
2026-01-01 open Expenses:RnD:Training:Compute:Kestrel USD
2026-01-01 open Equity:Stats:Tokens:API:Kestrel MTOK
2026-01-01 open Equity:Stats:Offset MTOK

{record}
2026-01-31 * "Training"
  Expenses:RnD:Training:Compute:Kestrel  100.00 USD
  Assets:Bank
2026-02-28 * "Training"
  Expenses:RnD:Training:Compute:Kestrel  200.00 USD
  Assets:Bank
2026-03-31 * "Month"
  Income:API:Kestrel                    -150.00 USD
  Expenses:COGS:Inference:Compute:API:Kestrel  50.00 USD
  Assets:Bank
2026-03-31 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  100 MTOK
  Equity:Stats:Offset
2026-04-30 * "Month"
  Income:API:Kestrel                    -200.00 USD
  Expenses:COGS:Inference:Compute:API:Kestrel  80.00 USD
  Assets:Bank
2026-04-30 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  300 MTOK
  Equity:Stats:Offset
2026-05-31 * "Month"
  Income:API:Kestrel                    -130.00 USD
  Expenses:COGS:Inference:Compute:API:Kestrel  40.00 USD
  Assets:Bank
2026-05-31 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  200 MTOK
  Equity:Stats:Offset
"""


def load(tmp_path: Path, text: str) -> Ledger:
    path = tmp_path / "books.beancount"
    path.write_text(text, encoding="utf-8")
    return load_ledger(path, require_pipeline=True)


def test_hand_worked_life_table(tmp_path: Path) -> None:
    table = life_table(load(tmp_path, small_books()))
    assert len(table) == 1
    row = table.iloc[0].to_dict()
    # Training 300.00; gross margin 100 + 120 + 90 = 310.00 on 600 MTOK: cumulative 100, 220, 310,
    # so the training is covered in May (310 >= 300), and with the 50.00 memo (350) not yet.
    assert row["training_cost"] == Decimal("300.00")
    assert row["training_before_books"] == Decimal("50.00")
    assert row["revenue"] == Decimal("480.00") and row["inference_cogs"] == Decimal("170.00")
    assert row["gross_margin"] == Decimal("310.00")
    assert row["contribution"] == Decimal("10.00")
    assert row["payback_month"] == "2026-05"
    assert row["payback_month_with_memo"] is None
    assert row["gross_margin_per_mtok"] == Decimal("0.516667")
    # Straight-line over 4 months from March, the books ending in May: 75.00 x 3 = 225.00;
    # (310 - 225) / 600 = 0.141667.
    assert row["after_training_per_mtok_straight_line"] == Decimal("0.141667")
    # Units: 300 x 100/1000 = 30.00; 270 x 300/900 = 90.00; 180 x 200/600 = 60.00; 180.00 in all;
    # (310 - 180) / 600 = 0.216667.
    assert row["after_training_per_mtok_units"] == Decimal("0.216667")


def test_payback_curve_accumulates(tmp_path: Path) -> None:
    curve = payback_curve(load(tmp_path, small_books()))
    assert [str(v) for v in curve["cumulative_gross_margin"]] == [
        "0.00",
        "0.00",
        "100.00",
        "220.00",
        "310.00",
    ]
    assert [str(v) for v in curve["cumulative_training_cost"]] == [
        "100.00",
        "300.00",
        "300.00",
        "300.00",
        "300.00",
    ]


def test_a_model_still_in_training_is_in_the_table(tmp_path: Path) -> None:
    falcon = (
        '2026-05-01 custom "model" "Falcon"\n  launch: 2027-01-10\n  serving-life-months: 12\n'
        "  lifetime-mtok: 500\n\n2026-01-01 open Equity:Stats:Tokens:API:Falcon MTOK\n"
        "2026-01-01 open Expenses:RnD:Training:Compute:Falcon USD\n"
        '2026-05-31 * "Falcon pre-training"\n'
        "  Expenses:RnD:Training:Compute:Falcon  70.00 USD\n  Assets:Bank\n"
    )
    ledger = load(tmp_path, small_books(RECORD + falcon))
    rows = {row["model"]: row for row in life_table(ledger).to_dict("records")}
    assert set(rows) == {"Falcon", "Kestrel"}
    falcon_row = rows["Falcon"]
    assert falcon_row["training_cost"] == Decimal("70.00") and falcon_row["contribution"] == Decimal("-70.00")
    assert falcon_row["payback_month"] is None and falcon_row["gross_margin_per_mtok"] is None
    saved = {row["model"]: row for row in run_saved(ledger, "model-payback").to_dict("records")}
    assert saved["Falcon"]["training_cost"] == Decimal("70.00")


def test_a_model_without_a_record_has_no_after_training_figures(tmp_path: Path) -> None:
    row = life_table(load(tmp_path, small_books(record=""))).iloc[0].to_dict()
    assert row["launch"] is None and row["payback_month"] == "2026-05"
    assert row["after_training_per_mtok_straight_line"] is None
    assert row["after_training_per_mtok_units"] is None


def test_a_bad_record_is_refused_with_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = small_books(RECORD.replace("  serving-life-months: 4\n", ""))
    ledger = load(tmp_path, text)
    line = line_of(text, 'custom "model"')
    with pytest.raises(BadModelRecords) as caught:
        life_table(ledger)
    assert str(caught.value) == (
        f"{tmp_path / 'books.beancount'}:{line}: Model record 'Kestrel': missing key 'serving-life-months'"
    )
    assert lab_report([str(tmp_path / "books.beancount"), "--lifetime"]) == 1
    assert capsys.readouterr().err.strip().endswith("missing key 'serving-life-months'")


def test_lifetime_refuses_a_period(capsys: pytest.CaptureFixture[str]) -> None:
    assert lab_report(["--lifetime", "--from", "2026-01"]) == 2
    assert "the life table covers each model's whole life in the books" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The example books


@pytest.fixture(scope="module")
def accountant() -> Ledger:
    return load_ledger(ROOT / "ledger" / "main.beancount", require_pipeline=True)


@pytest.fixture(scope="module")
def model_as_company() -> Ledger:
    return load_ledger(ROOT / "ledger" / "views" / "model-as-company.beancount", require_pipeline=True)


def test_the_table_equals_model_payback(accountant: Ledger, model_as_company: Ledger) -> None:
    for ledger in (accountant, model_as_company):
        table = {row["model"]: row for row in life_table(ledger).to_dict("records")}
        saved = {row["model"]: row for row in run_saved(ledger, "model-payback").to_dict("records")}
        assert set(table) == set(saved) == {"Kestrel", "Orion", "Wren"}
        for model, row in table.items():
            for column in ("million_tokens", "training_cost", "revenue", "inference_cogs", "gross_margin"):
                assert row[column] == saved[model][column], (model, column)
            assert row["contribution"] == saved[model]["contribution"]
            assert row["gross_margin_per_mtok"] == saved[model]["gross_margin_per_mtok"]


def test_the_views_amortisation_is_the_tables_straight_line(model_as_company: Ledger) -> None:
    table = {row["model"]: row for row in life_table(model_as_company).to_dict("records")}
    saved = {row["model"]: row for row in run_saved(model_as_company, "model-payback").to_dict("records")}
    for model in table:
        # the view booked straight-line: its after-training figure is the table's
        assert (
            saved[model]["after_amortised_training_per_mtok"]
            == table[model]["after_training_per_mtok_straight_line"]
        )
    # Orion's expected life ends with the books: all its training in the books is amortised
    orion = run_saved(model_as_company, "model-lifetime")
    orion = orion[orion["model"] == "Orion"]
    assert sum(orion["amortised_training"]) == sum(orion["training_cost"]) > 0


def test_the_example_has_a_generation_change(accountant: Ledger) -> None:
    table = {row["model"]: row for row in life_table(accountant).to_dict("records")}
    kestrel = table["Kestrel"]
    assert kestrel["launch"] == "2026-04-14"
    # a frontier run in the hundreds of millions, not yet paid back when the books end
    assert Decimal("150000000") < kestrel["training_cost"] < Decimal("500000000")
    assert kestrel["payback_month"] is None
    monthly = run_saved(accountant, "model-lifetime")
    orion = monthly[(monthly["model"] == "Orion") & (monthly["year"] == 2026)]
    tokens = list(orion["million_tokens"])
    assert tokens[3] > tokens[-1] * 4  # Orion's traffic falls after Kestrel's launch (April)
