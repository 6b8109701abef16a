"""One source of truth for cost classes: the saved queries use the class
ailab_books.plugins.classify decides, also where an `open` overrides the tree.

OVERRIDES marks an R&D account `cost-class: "inference"` (it is tagged
#inference and must be in inference COGS) and a COGS-tree account
`cost-class: "training"` (it must leave COGS and land in a training column).
Every expected figure is worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data

from ailab_books.queries.economics import UNATTRIBUTED, segment_figures, summary
from ailab_books.queries.runner import Ledger, load_ledger, run_saved, saved_queries

ROOT = Path(__file__).resolve().parent.parent
QUERIES_GLOB = ROOT / "queries" / "*.beancount"
D = Decimal

OVERRIDES = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.classify"

2025-01-01 commodity MTOK
2025-01-01 open Assets:Bank USD
2025-01-01 open Income:API:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:API:Orion USD
2025-01-01 open Expenses:COGS:Inference:Compute:Eval:Orion USD
  cost-class: "training"
2025-01-01 open Expenses:RnD:Evals:Serving USD
  cost-class: "inference"
2025-01-01 open Expenses:RnD:Training:Compute USD
2025-01-01 open Expenses:SGA:Marketing USD
2025-01-01 open Equity:Stats:Tokens:API:Orion MTOK
2025-01-01 open Equity:Stats:Offset

2025-01-31 * "Metering" "Tokens, January"
  Equity:Stats:Tokens:API:Orion   10 MTOK
  Equity:Stats:Offset            -10 MTOK

2025-01-31 * "Billing" "Revenue, January"
  Income:API:Orion             -200.00 USD
  Assets:Bank

2025-01-31 * "Bills, January"
  Expenses:COGS:Inference:Compute:API:Orion     40.00 USD
  Expenses:RnD:Evals:Serving                    30.00 USD
  Expenses:COGS:Inference:Compute:Eval:Orion    25.00 USD
  Expenses:RnD:Training:Compute                 15.00 USD
  Expenses:SGA:Marketing                         5.00 USD
  Assets:Bank
"""

# Hand-worked, January (10 Mtok):
#   inference COGS: COGS compute 40 + R&D account marked inference 30 = 70.00
#     (the COGS-tree account marked training, 25.00, is not in it)
#   gross: 200 - 70 = 130.00, 13 per Mtok
#   all costs: 40 + 30 + 25 + 15 + 5 = 115.00; net 85.00, 8.5 per Mtok
#   overhead (not inference): 25 + 15 + 5 = 45.00


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    main = tmp_path_factory.mktemp("overrides") / "main.beancount"
    main.write_text(OVERRIDES + f'include "{QUERIES_GLOB}"\n')
    return load_ledger(main)


def first_row(ledger: Ledger, name: str) -> dict[str, object]:
    frame = run_saved(ledger, name)
    assert len(frame) == 1, frame
    return dict(frame.iloc[0].to_dict())


def test_classify_tags_and_annotates_the_overrides(ledger: Ledger) -> None:
    opens = {e.account: e for e in ledger.entries if isinstance(e, data.Open)}
    assert opens["Expenses:RnD:Evals:Serving"].meta["cost-class"] == "inference"
    assert opens["Expenses:COGS:Inference:Compute:Eval:Orion"].meta["cost-class"] == "training"
    bills = next(
        e for e in ledger.entries if isinstance(e, data.Transaction) and e.narration.startswith("Bills")
    )
    assert bills.tags == {"inference", "training", "sga"}


def test_inference_cogs_and_gross_margin_follow_the_class(ledger: Ledger) -> None:
    gross = first_row(ledger, "gross-margin-per-mtok")
    assert gross["inference_cogs"] == D("70.00")
    assert gross["gross_margin"] == D("130.00")
    assert gross["gross_margin_per_mtok"] == D("13.000000")
    assert gross["cogs_per_mtok"] == D("7.000000")
    assert first_row(ledger, "gross-margin-total")["inference_cogs"] == D("70.00")
    net = first_row(ledger, "net-margin-per-mtok")
    assert (net["all_costs"], net["net_margin"]) == (D("115.00"), D("85.00"))
    assert first_row(ledger, "overhead-per-mtok")["overhead"] == D("45.00")
    assert first_row(ledger, "free-tier")["inference_cogs"] == D("70.00")


def test_report_summary_uses_the_class(ledger: Ledger) -> None:
    total = summary(ledger).iloc[-1]
    assert (total["inference_cogs"], total["gross_margin"]) == (D("70.00"), D("130.00"))
    assert (total["all_costs"], total["net_margin"]) == (D("115.00"), D("85.00"))


def test_cost_stack_partitions_by_class_then_line(ledger: Ledger) -> None:
    row = first_row(ledger, "cost-stack")
    per_mtok = {k: v for k, v in row.items() if k.endswith("_per_mtok")}
    # /10: COGS compute 40 -> 4 (the Eval:Orion compute account is training);
    #   the R&D account marked inference is an inference line the columns do not
    #   name -> inference__other 3; total COGS 7
    assert per_mtok["inference__compute_per_mtok"] == D("4.000000")
    assert per_mtok["inference__other_per_mtok"] == D("3.000000")
    assert per_mtok["cogs_per_mtok"] == D("7.000000")
    # training: runs 15 -> 1.5; the COGS-tree account marked training -> training
    #   other 2.5 (not a COGS column); R&D Evals:Serving is inference, so evals 0
    assert per_mtok["training__training_runs_per_mtok"] == D("1.500000")
    assert per_mtok["training__other_per_mtok"] == D("2.500000")
    assert per_mtok["training__evals_per_mtok"] == D("0.000000")
    assert per_mtok["sga__sga_per_mtok"] == D("0.500000")
    assert per_mtok["full_cost_per_mtok"] == D("11.500000")
    # Every line column names its class; by class they add up to the totals.
    by_class: dict[str, Decimal] = {}
    for column, value in per_mtok.items():
        if "__" in column:
            cls = column.split("__")[0]
            by_class[cls] = by_class.get(cls, D(0)) + value
    assert set(by_class) == {"inference", "training", "sga", "shared", "unclassified"}
    assert by_class["inference"] == per_mtok["cogs_per_mtok"]
    assert sum(by_class.values()) == per_mtok["full_cost_per_mtok"]
    assert (by_class["training"], by_class["unclassified"]) == (D("4.000000"), D(0))


def test_cost_lines_carry_the_class(ledger: Ledger) -> None:
    frame = run_saved(ledger, "cost-lines")
    got = {(r["cost_class"], r["line"]): r["amount"] for r in frame.to_dict("records")}
    assert got == {
        ("inference", "Compute"): D("40.00"),
        ("inference", "Evals:Serving"): D("30.00"),
        ("sga", "Marketing"): D("5.00"),
        ("training", "Compute"): D("25.00"),
        ("training", "Training:Compute"): D("15.00"),
    }


def test_training_vs_inference_uses_the_class(ledger: Ledger) -> None:
    row = first_row(ledger, "training-vs-inference")
    # training runs 15; inference for training 0 (Evals:Serving is inference);
    # other training 25 (the COGS-tree account); inference COGS 70
    assert (row["training_spend"], row["inference_for_training"]) == (D("15.00"), D("0.00"))
    assert (row["other_rnd"], row["inference_cogs"]) == (D("25.00"), D("70.00"))
    assert row["training_per_inference_dollar"] == D("0.2143")  # 15 / 70
    assert row["training_share"] == D("0.1765")  # 15 / 85


def test_per_model_cogs_and_the_unattributed_rest(ledger: Ledger) -> None:
    # Orion's COGS is the inference account that names it (40.00); the COGS-tree
    # account marked training is in no model's COGS; the R&D account marked
    # inference names no tier or model: (unattributed), so the rows still add up.
    assert first_row(ledger, "margin-by-model")["inference_cogs"] == D("40.00")
    assert first_row(ledger, "margin-by-tier")["inference_cogs"] == D("40.00")
    (month,) = segment_figures(ledger, "model").values()
    assert month["Orion"].cogs == D("40.00")
    assert month[UNATTRIBUTED].cogs == D("30.00")
    assert sum(p.cogs for p in month.values()) == D("70.00")
    assert sum(p.cogs + p.overhead for p in month.values()) == D("115.00")


def test_cost_class_on_revenue_is_an_error_and_moves_nothing(tmp_path: Path) -> None:
    # `cost-class: "inference"` written on a revenue account: an error at that
    # open, and the revenue is neither a cost nor anything else than revenue.
    text = OVERRIDES.replace(
        "2025-01-01 open Income:API:Orion USD\n",
        '2025-01-01 open Income:API:Orion USD\n  cost-class: "inference"\n',
    )
    main = tmp_path / "main.beancount"
    main.write_text(text + f'include "{QUERIES_GLOB}"\n')
    entries, errors, options = loader.load_file(str(main))
    assert [(e.source["filename"], e.source["lineno"], e.message) for e in errors] == [
        (str(main), 6, "cost-class on non-expense account 'Income:API:Orion' has no effect")
    ]
    ledger = Ledger(str(main), entries, options, saved_queries(entries))
    gross = first_row(ledger, "gross-margin-per-mtok")
    assert (gross["revenue"], gross["inference_cogs"]) == (D("200.00"), D("70.00"))
    assert first_row(ledger, "margin-by-model")["inference_cogs"] == D("40.00")
