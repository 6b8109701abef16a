"""GPU depreciation generated from each purchase (``ailab_books.plugins.depreciate``).

- on the example books, the generated charges are the hand-written monthly
  entries they replace, to the cent (the table below was read off those
  entries before they were removed);
- ``life-months=48`` is a change of estimate, applied prospectively: worked by
  hand below for the example and for a small ledger;
- every mistake is a located error and moves nothing.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from hypothesis import given
from hypothesis import strategies as st

from ailab_books.plugins.depreciate import GENERATED_FILENAME, straight_line

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger"

#: The hand-written entries of ledger/capex.beancount before this plugin:
#: batch -> (first month, last month in the books, the monthly charge).
HAND_ENTRIES = {
    "h100-a": ("2025-01", "2026-10", Decimal("2319872.00")),
    "h200-a": ("2025-05", "2026-10", Decimal("3424981.33")),
    "h200-b": ("2025-11", "2026-10", Decimal("3310165.33")),
    "b200-a": ("2026-06", "2026-10", Decimal("4426581.33")),
}
HAND_POOL_TOTAL = Decimal("174541738.55")  # Expenses:Shared:GPUCluster's depreciation over the 22 months


def _months(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def charges(entries: list[data.Directive]) -> tuple[dict[str, dict[str, Decimal]], dict[str, Decimal]]:
    """batch -> month -> charge, and month -> expense total, of the generated depreciation."""
    per_batch: dict[str, dict[str, Decimal]] = defaultdict(dict)
    expense: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction) and "depreciation" in entry.tags:
            month = entry.date.strftime("%Y-%m")
            for posting in entry.postings:
                assert posting.units is not None
                if posting.account.startswith("Expenses:"):
                    expense[month] += posting.units.number
                else:
                    per_batch[posting.meta["batch"]][month] = -posting.units.number
    return dict(per_batch), dict(expense)


@pytest.fixture(scope="module")
def example() -> list[data.Directive]:
    entries, errors, _ = loader.load_file(str(LEDGER / "main.beancount"))
    assert errors == []
    return entries


def test_example_charges_are_the_old_hand_entries(example: list[data.Directive]) -> None:
    per_batch, expense = charges(example)
    expected = {
        batch: dict.fromkeys(_months(first, last), amount)
        for batch, (first, last, amount) in HAND_ENTRIES.items()
    }
    assert per_batch == expected
    assert sum(expense.values()) == HAND_POOL_TOTAL
    for month, total in expense.items():
        assert total == sum(amounts.get(month, Decimal(0)) for amounts in expected.values())


def test_example_entries_point_at_the_purchases(example: list[data.Directive]) -> None:
    generated = [e for e in example if isinstance(e, data.Transaction) and "depreciation" in e.tags]
    assert {e.meta["filename"] for e in generated} == {GENERATED_FILENAME}
    purchases = {
        p.meta["purchase"]
        for e in generated
        for p in e.postings
        if p.account == "Assets:Fixed:GPU:Depreciation"
    }
    assert purchases == {
        "funding.beancount:4",
        "capex.beancount:19",
        "capex.beancount:31",
        "capex.beancount:43",
    }
    for purchase in purchases:
        filename, lineno = purchase.split(":")
        line = (LEDGER / filename).read_text(encoding="utf-8").splitlines()[int(lineno) - 1]
        assert line.startswith("20") and " * " in line  # the purchase's transaction line


def test_four_year_life_is_a_prospective_change_worked_by_hand() -> None:
    entries, errors, _ = loader.load_file(str(LEDGER / "views" / "gpu-life-4y.beancount"))
    assert errors == []
    per_batch, _ = charges(entries)
    # h100-a: cost 139,192,320.00, in service 2024-06, six months (13,919,232.00) accumulated
    # before the books: the remaining 125,273,088.00 over the remaining 48 - 6 = 42 months is
    # 2,982,692.5714... a month, 2,982,692.57 to the cent.
    assert set(per_batch["h100-a"].values()) == {Decimal("2982692.57")}
    assert len(per_batch["h100-a"]) == 22
    # Bought within the books: cost / 48 from the month after delivery.
    # h200-a 205,498,880.00 / 48 = 4,281,226.666... ; h200-b 198,609,920.00 / 48 = 4,137,706.666... ;
    # b200-a 512 x 518,740.00 = 265,594,880.00 / 48 = 5,533,226.666...
    assert per_batch["h200-a"] == dict.fromkeys(_months("2025-05", "2026-10"), Decimal("4281226.67"))
    assert per_batch["h200-b"] == dict.fromkeys(_months("2025-11", "2026-10"), Decimal("4137706.67"))
    assert per_batch["b200-a"] == dict.fromkeys(_months("2026-06", "2026-10"), Decimal("5533226.67"))


# --------------------------------------------------------------------------- small ledgers

HEAD = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.depreciate" "{config}"

2024-01-01 open Assets:Bank                      USD
2024-01-01 open Assets:Fixed:Cost                USD
  depreciation-account: "Assets:Fixed:Depreciation"
  depreciation-expense: "Expenses:Depreciation"
2024-01-01 open Assets:Fixed:Depreciation        USD
2024-01-01 open Expenses:Depreciation            USD
2024-01-01 open Equity:Opening                   USD
"""

# An asset bought before the books (line 12): 1,200.00 over 12 months from 2024-07,
# six months (600.00) accumulated by 2025-01; one bought within them (line 21).
OPENING = """\
2025-01-01 * "Opening balances"
  Assets:Fixed:Cost           1200.00 USD
    batch: "old"
    useful-life-months: 12
    in-service: 2024-06-20
  Assets:Fixed:Depreciation   -600.00 USD
    batch: "old"
  Equity:Opening

2025-01-10 * "Vendor" "New asset"
  Assets:Fixed:Cost            100.00 USD
    batch: "new"
    useful-life-months: 3
  Assets:Bank

2025-12-31 * "Last entry of the books"
  Assets:Bank    0.00 USD
  Equity:Opening
"""


def load(tmp_path: Path, body: str, config: str = "") -> tuple[list[data.Directive], list, Path]:
    path = tmp_path / "books.beancount"
    path.write_text(HEAD.format(config=config) + "\n" + textwrap.dedent(body), encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    return entries, errors, path


def test_small_ledger_continues_the_schedule_and_ends_at_zero(tmp_path: Path) -> None:
    entries, errors, _ = load(tmp_path, OPENING)
    assert errors == []
    per_batch, _ = charges(entries)
    # old: 100.00 a month for its remaining six months; new: 33.33, 33.33, 33.34 (the remainder).
    assert per_batch["old"] == dict.fromkeys(_months("2025-01", "2025-06"), Decimal("100.00"))
    assert per_batch["new"] == {
        "2025-02": Decimal("33.33"),
        "2025-03": Decimal("33.33"),
        "2025-04": Decimal("33.34"),
    }


@pytest.mark.parametrize(
    ("life", "old"),
    [
        # 8 months: 8 - 6 elapsed = 2 left for the remaining 600.00
        (8, dict.fromkeys(["2025-01", "2025-02"], Decimal("300.00"))),
        # 18 months: 12 left; 600.00 / 12 = 50.00
        (18, dict.fromkeys(_months("2025-01", "2025-12"), Decimal("50.00"))),
        # 4 months: already used up by the books' start, so the rest is written off at once
        (4, {"2025-01": Decimal("600.00")}),
    ],
)
def test_other_life_is_prospective(tmp_path: Path, life: int, old: dict[str, Decimal]) -> None:
    entries, errors, _ = load(tmp_path, OPENING, f"life-months={life}")
    assert errors == []
    per_batch, _ = charges(entries)
    assert per_batch["old"] == old
    # bought within the books: over the new life from 2025-02, up to the books' last month (2025-12)
    assert list(per_batch["new"].values()) == straight_line(Decimal("100.00"), life)[:11]
    assert list(per_batch["new"]) == _months("2025-02", "2025-12")[:life]


# --------------------------------------------------------------------------- mistakes


def _located(errors: list, path: Path) -> list[tuple[int, str]]:
    return [
        (error.source["lineno"], error.message) for error in errors if error.source["filename"] == str(path)
    ]


def test_purchase_without_life_is_an_error_at_its_transaction(tmp_path: Path) -> None:
    entries, errors, path = load(
        tmp_path,
        """\
        2025-01-10 * "Vendor" "New asset"
          Assets:Fixed:Cost            100.00 USD
            batch: "new"
          Assets:Bank
        """,
    )
    assert _located(errors, path) == [
        (
            12,
            "Asset purchase on Assets:Fixed:Cost: no useful-life-months (write e.g. useful-life-months: 60 "
            "under the posting)",
        )
    ]
    assert charges(entries) == ({}, {})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("life-months=0", "life-months must be a whole number of months, at least 1"),
        ("life-months=4.5", "life-months must be a whole number of months, at least 1"),
        ("life=48", "expected life-months=N (months)"),
        ("life-months=48 life-months=72", "life-months is given twice"),
    ],
)
def test_bad_config_is_an_error_at_the_plugin_line_and_moves_nothing(
    tmp_path: Path, config: str, message: str
) -> None:
    entries, errors, path = load(tmp_path, OPENING, config)
    assert [(line, text.rpartition(": ")[2]) for line, text in _located(errors, path)] == [(2, message)]
    # the books' own lives apply, as if there were no config
    assert charges(entries) == charges(load(tmp_path, OPENING)[0])


@pytest.mark.parametrize(
    ("body", "line", "message", "absent"),
    [
        (
            OPENING.replace(
                "  Assets:Fixed:Depreciation   -600.00 USD", "  Assets:Fixed:Depreciation   -500.00 USD"
            ),
            12,
            "Asset purchase on Assets:Fixed:Cost: the opening accumulated depreciation of batch old is "
            "500.00, and its schedule (1200.00 over 12 months from 2024-07) charged 600.00 before 2025-01",
            "old",
        ),
        (
            OPENING.replace('  Assets:Fixed:Depreciation   -600.00 USD\n    batch: "old"\n', ""),
            12,
            "Asset purchase on Assets:Fixed:Cost: batch old entered service on 2024-06-20, before this "
            "entry; write the depreciation accumulated so far on Assets:Fixed:Depreciation in the same "
            'transaction (with batch: "old")',
            "old",
        ),
        (
            OPENING.replace('batch: "new"', 'batch: "old"'),
            21,
            "Asset purchase on Assets:Fixed:Cost: batch old was already bought at books.beancount:12",
            "",
        ),
        (
            OPENING.replace("useful-life-months: 3", "useful-life-months: 0"),
            21,
            "Asset purchase on Assets:Fixed:Cost: useful-life-months 0 is not a whole number of months, "
            "at least 1",
            "new",
        ),
        (
            OPENING.replace(
                "  Assets:Fixed:Cost            100.00 USD", "  Assets:Fixed:Cost           -100.00 USD"
            ),
            21,
            "Asset purchase on Assets:Fixed:Cost: a credit of -100.00 USD (a disposal or write-off) "
            "is not modelled",
            "new",
        ),
        (
            OPENING.replace('    batch: "new"\n', ""),
            21,
            'Asset purchase on Assets:Fixed:Cost: no batch naming the asset (write e.g. batch: "h100-a")',
            "new",
        ),
        (
            OPENING.replace(
                "    useful-life-months: 3\n", "    useful-life-months: 3\n    in-service: 2025-02-01\n"
            ),
            21,
            "Asset purchase on Assets:Fixed:Cost: in-service 2025-02-01 is after the purchase (2025-01-10)",
            "new",
        ),
        (
            OPENING.replace(
                "    useful-life-months: 3\n", '    useful-life-months: 3\n    in-service: "soon"\n'
            ),
            21,
            "Asset purchase on Assets:Fixed:Cost: in-service 'soon' is not a date (YYYY-MM-DD)",
            "new",
        ),
        (
            OPENING.replace("  Assets:Fixed:Cost            100.00 USD\n", "  Assets:Bank   100.00 USD\n"),
            21,
            "useful-life-months on Assets:Bank, which is not depreciable: its open names no "
            "depreciation-account and depreciation-expense, so nothing is depreciated",
            "new",
        ),
    ],
)
def test_mistakes_are_located_errors(tmp_path: Path, body: str, line: int, message: str, absent: str) -> None:
    entries, errors, path = load(tmp_path, body)
    assert _located(errors, path) == [(line, message)]
    per_batch, _ = charges(entries)
    if absent:  # nothing generated for the asset in error
        assert absent not in per_batch
    else:  # the batch bought twice: only its first purchase depreciates
        assert per_batch == {"old": dict.fromkeys(_months("2025-01", "2025-06"), Decimal("100.00"))}


def test_depreciable_open_naming_an_unopened_account_is_an_error_at_the_open(tmp_path: Path) -> None:
    _, _, path = load(tmp_path, OPENING)
    text = path.read_text(encoding="utf-8").replace(
        'depreciation-expense: "Expenses:Depreciation"', 'depreciation-expense: "Expenses:Depreciaton"'
    )
    path.write_text(text, encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    assert (
        5,
        "Depreciable account Assets:Fixed:Cost: depreciation-expense Expenses:Depreciaton is not opened; "
        "nothing is depreciated on it",
    ) in _located(errors, path)
    assert charges(entries) == ({}, {})


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2),
    st.integers(min_value=1, max_value=240),
)
def test_straight_line_adds_up_exactly_in_cents(amount: Decimal, months: int) -> None:
    parts = straight_line(amount, months)
    assert len(parts) == months
    assert sum(parts) == amount
    assert all(part == part.quantize(Decimal("0.01")) and part >= 0 for part in parts)
    assert max(parts) - min(parts) <= Decimal("0.01") * months  # only the last month differs
