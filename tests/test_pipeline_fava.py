"""The dashboard's books check, through Fava's own app and query API.

The dashboard (dashboard/static/unit-economics.js) cannot see which plugins ran; it
runs the saved query ``books-check`` (queries/checks.beancount) on the whole books
(through the extension's ``v2_saved_query``) and shows a banner when it returns a row.
These tests run the same saved query through Fava's ``/api/query`` with Flask's test
client on books loaded without
their plugins or in the wrong order (rows, each kind of problem recognisable
by its columns) and on the example books as they are (no row, with or without
a time filter).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fava.application import create_app
from test_pipeline import CASES, example_with, tiny

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "queries" / "checks.beancount"
COLUMNS = ["year", "month", "account", "cost_class", "untagged", "change", "currency"]


def books_check(main_file: Path, **params: str) -> list[dict[str, Any]]:
    """The rows of ``.run books-check`` as Fava's /api/query returns them."""
    app = create_app([main_file], load=True)
    app.testing = True
    with app.test_client() as client:
        slug = client.get("/").headers["Location"].strip("/").split("/")[0]
        resp = client.get(f"/{slug}/api/query", query_string={"query_string": ".run books-check", **params})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        result = json.loads(resp.get_data(as_text=True), parse_float=Decimal)["data"]
    assert result["t"] == "table", result
    assert [column["name"] for column in result["types"]] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in result["rows"]]


def tiny_with_checks(tmp_path: Path, case: str) -> Path:
    main_file = tiny(tmp_path, case)
    main_file.write_text(main_file.read_text() + f'include "{CHECKS}"\n', encoding="utf-8")
    return main_file


# --------------------------------------------------------------------------- the tiny lab: every row, by hand


def test_tiny_in_order_has_no_row(tmp_path: Path) -> None:
    assert books_check(tiny_with_checks(tmp_path, "in order")) == []


def test_tiny_without_plugins_shows_accounts_without_class(tmp_path: Path) -> None:
    rows = books_check(tiny_with_checks(tmp_path, "none"))
    # The pool's 100.00 (no class: classify did not run; unallocated: nor did allocate).
    assert rows == [
        {
            "year": 2025,
            "month": 1,
            "account": "Expenses:Shared:Power",
            "cost_class": None,
            "untagged": 1,
            "change": Decimal("100.00"),
            "currency": "USD",
        }
    ]


def test_tiny_without_allocate_shows_the_pool_holding_money(tmp_path: Path) -> None:
    rows = books_check(tiny_with_checks(tmp_path, "classify only"))
    assert [(r["account"], r["cost_class"], r["untagged"], r["change"]) for r in rows] == [
        ("Expenses:Shared:Power", "shared", 0, Decimal("100.00"))
    ]


def test_tiny_wrong_order_shows_untagged_allocation_postings(tmp_path: Path) -> None:
    rows = books_check(tiny_with_checks(tmp_path, "wrong order"))
    # The allocation (30 : 70 GPU-hours) ran after classify: its three postings
    # carry no class tag; the pool itself is empty at the month end.
    assert [(r["account"], r["cost_class"], r["untagged"], r["change"]) for r in rows] == [
        ("Expenses:COGS:Inference:Power:API:Orion", "inference", 1, Decimal("30.00")),
        ("Expenses:RnD:Training:Power", "training", 1, Decimal("70.00")),
        ("Expenses:Shared:Power", "shared", 1, Decimal("0.00")),
    ]


def test_tiny_without_classify_shows_accounts_without_class(tmp_path: Path) -> None:
    rows = books_check(tiny_with_checks(tmp_path, "allocate only"))
    assert {r["account"] for r in rows} == {
        "Expenses:COGS:Inference:Power:API:Orion",
        "Expenses:RnD:Training:Power",
        "Expenses:Shared:Power",
    }
    assert all(r["cost_class"] is None for r in rows)


# --------------------------------------------------------------------------- the example books


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("example-variants")


@pytest.mark.parametrize("params", [{}, {"time": "2026"}, {"time": "2025-Q4"}])
def test_example_books_have_no_row(params: dict[str, str]) -> None:
    assert books_check(ROOT / "ledger" / "main.beancount", **params) == []


@pytest.mark.parametrize("case", sorted(set(CASES) - {"in order"}))
def test_example_books_loaded_wrongly_have_rows(example_dir: Path, case: str) -> None:
    rows = books_check(example_with(example_dir, case))
    assert rows, case
    if case in ("none", "allocate only"):
        assert {r["cost_class"] for r in rows} == {None}
        assert "Expenses:Shared:GPUCluster" in {r["account"] for r in rows}
    elif case == "classify only":
        assert {r["cost_class"] for r in rows} == {"shared"}
        assert all(r["untagged"] == 0 and r["change"] != 0 for r in rows)
        october = [r for r in rows if (r["year"], r["month"]) == (2026, 10)]
        assert {r["account"] for r in october} >= {"Expenses:Shared:GPUCluster", "Expenses:Shared:Power"}
    else:  # wrong order: every generated allocation posting lacks its class tag
        assert all(r["cost_class"] is not None and r["untagged"] > 0 for r in rows)
        assert "Expenses:Shared:GPUCluster" in {r["account"] for r in rows}


@pytest.mark.parametrize("case", ["wrong order", "classify only"])
def test_fava_lists_the_plugin_error_at_the_rule(tmp_path: Path, case: str) -> None:
    from test_pipeline import RULE_LINE

    app = create_app([tiny(tmp_path, case)], load=True)
    app.testing = True
    with app.test_client() as client:
        slug = client.get("/").headers["Location"].strip("/").split("/")[0]
    ledger = app.config["LEDGERS"][slug]
    located = [(e.source["filename"], e.source["lineno"], e.message) for e in ledger.errors]
    assert len(located) == 1, located
    filename, lineno, message = located[0]
    assert (filename, lineno) == (str(tmp_path / "books.beancount"), RULE_LINE)
    assert "ailab_books.plugins.allocate" in message and message.endswith(
        f"in main-{case.replace(' ', '-')}.beancount"
    )
