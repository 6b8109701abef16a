"""The Model P&L page's figures (``v2_model_pnl``) through Fava's app, on the example books.

- every filter case of ``test_dashboard_figures`` answers 200 with the same status,
  months and notices as ``v2_unit_economics`` (the filter logic is ``figures.respond``'s);
- the payback curve and the life table are ``payback_curve`` / ``life_table`` on the books
  loaded as ``lab-report`` loads them, whatever the filter;
- the per-Mtok figures over the whole books are ``life_table``'s (gross, both
  after-training margins) and ``by_segment --by model``'s net margin; over a window, the
  gross margin is the window's months of ``model-lifetime`` and the amortisation is the
  one the ``amortise`` plugin books in those months under the model-as-company view;
- answers are cached per load.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from beancount.loader import load_file
from fava.application import create_app
from flask import Flask
from flask.testing import FlaskClient
from test_dashboard_figures import CASES

from ailab_books.dashboard import model_pnl
from ailab_books.dashboard.figures import Filters, books_ledger
from ailab_books.queries.economics import TOTAL, ZERO, Month, Window, by_segment, per_mtok
from ailab_books.queries.lifetime import life_table, model_lives, payback_curve
from ailab_books.queries.runner import Ledger, load_ledger

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger" / "main.beancount"
VIEW = ROOT / "ledger" / "views" / "model-as-company.beancount"
EXT = "extension/UnitEconomics"


@pytest.fixture(scope="module")
def client() -> Iterator[FlaskClient]:
    app: Flask = create_app([LEDGER], load=True)
    app.testing = True
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="module")
def slug(client: FlaskClient) -> str:
    return str(client.get("/").headers["Location"]).strip("/").split("/")[0]


@pytest.fixture(scope="module")
def books() -> Ledger:
    return load_ledger(LEDGER, require_pipeline=True)


@pytest.fixture(scope="module")
def view() -> Ledger:
    return load_ledger(VIEW, require_pipeline=True)


def _get(client: FlaskClient, slug: str, endpoint: str, query: str) -> Any:
    url = f"/{slug}/{EXT}/{endpoint}?{query}".replace(" ", "%20").replace('"', "%22")
    resp = client.get(url)
    assert resp.status_code == 200, (endpoint, query, resp.status_code, resp.data[:300])
    return resp.get_json()


def _text(row: dict[Any, object]) -> dict[str, str | None]:
    return {str(key): None if value is None else str(value) for key, value in row.items()}


@pytest.mark.parametrize(("query", "status", "months", "words"), CASES, ids=[c[0] or "none" for c in CASES])
def test_every_filter_answers_like_unit_economics(
    client: FlaskClient,
    slug: str,
    books: Ledger,
    query: str,
    status: str,
    months: tuple[str, str] | None,
    words: list[str],
) -> None:
    body = _get(client, slug, "v2_model_pnl", query)
    unit = _get(client, slug, "v2_unit_economics", query)
    assert body["status"] == status, body.get("message")
    for key in ("status", "message", "showing", "notices", "panel_notices", "filters"):
        assert body.get(key) == unit.get(key), key
    for word in words:
        assert word in " ".join(body["notices"]), (word, body["notices"])
    # The life figures follow no filter: always the whole books.
    assert body["lifetime"]["life_table"] == [_text(r) for r in life_table(books).to_dict("records")]
    assert body["lifetime"]["payback_curve"] == [_text(r) for r in payback_curve(books).to_dict("records")]
    if status == "ok":
        assert months is not None
        window = Window(Month(*map(int, months[0].split("-"))), Month(*map(int, months[1].split("-"))))
        assert body["data"]["per_mtok"] == [_text(r) for r in model_pnl.windowed_rows(books, window)]
    else:
        assert body["data"] is None


def test_whole_books_figures_are_the_life_tables_and_by_segments(
    client: FlaskClient, slug: str, books: Ledger
) -> None:
    body = _get(client, slug, "v2_model_pnl", "")
    table = {str(row["model"]): row for row in life_table(books).to_dict("records")}
    net = {
        str(row["model"]): row["net_margin_per_mtok"]
        for row in by_segment(books, "model").to_dict("records")
        if row["month"] == TOTAL
    }
    rows = {row["model"]: row for row in body["data"]["per_mtok"]}
    assert set(rows) == set(table) == {"Kestrel", "Orion", "Wren"}
    for name, row in rows.items():
        for column in (
            "million_tokens",
            "gross_margin_per_mtok",
            "after_training_per_mtok_straight_line",
            "after_training_per_mtok_units",
        ):
            assert row[column] == str(table[name][column]), (name, column)
        assert row["net_margin_per_mtok"] == str(net[name]), name
    # The example's own figures (docs/views.md): Kestrel has not paid back, Orion did in 2025-05.
    life = {row["model"]: row for row in body["lifetime"]["life_table"]}
    assert life["Kestrel"]["payback_month"] is None
    assert life["Orion"]["payback_month"] == "2025-05"
    assert life["Kestrel"]["training_cost"] == "260676196.50"


@pytest.mark.parametrize("months", [(Month(2026, 7), Month(2026, 9)), (Month(2025, 1), Month(2025, 12))])
def test_windowed_after_training_is_what_the_plugin_books(
    books: Ledger, view: Ledger, months: tuple[Month, Month]
) -> None:
    """Independent of the schedule call here: the ``amortise`` plugin's straight-line entries
    (``model-lifetime``'s ``amortised_training`` under the model-as-company view) in the window."""
    window = Window(*months)
    rows = {row["model"]: row for row in model_pnl.windowed_rows(books, window)}
    for name, life in model_lives(view).items():
        inside = [month for month in life.months if month.month in window]
        tokens = sum((month.million_tokens for month in inside), ZERO)
        gross = sum((month.gross_margin for month in inside), ZERO)
        booked = sum((month.amortised_training for month in inside), ZERO)
        assert rows[name]["million_tokens"] == tokens, name
        assert rows[name]["gross_margin_per_mtok"] == per_mtok(gross, tokens), name
        assert rows[name]["after_training_per_mtok_straight_line"] == per_mtok(gross - booked, tokens), name
    net = {
        str(row["model"]): row["net_margin_per_mtok"]
        for row in by_segment(books, "model", window).to_dict("records")
        if row["month"] == TOTAL
    }
    assert {name: row["net_margin_per_mtok"] for name, row in rows.items()} == {n: net.get(n) for n in rows}


def test_units_of_production_over_the_window_add_up_to_the_whole(books: Ledger) -> None:
    """The units-of-production charges of two windows that split the books add up to the
    whole books' (``life_table``'s, through the after-training margin)."""
    lives = model_lives(books)
    whole = Window(Month(2025, 1), Month(2026, 10))
    first, second = Window(Month(2025, 1), Month(2025, 12)), Window(Month(2026, 1), Month(2026, 10))
    for life in lives.values():
        parts = [model_pnl.amortised_in(life, "units", w) for w in (first, second)]
        total = model_pnl.amortised_in(life, "units", whole)
        assert total is not None and all(p is not None for p in parts)
        assert sum((p for p in parts if p is not None), Decimal(0)) == total, life.name
        assert total > 0, life.name


def test_cached_per_load(books: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Window] = []
    lifetimes: list[int] = []
    real_window, real_lifetime = model_pnl.window_figures, model_pnl.lifetime_figures

    def counting_window(ledger: Ledger, window: Window) -> dict[str, Any]:
        calls.append(window)
        return real_window(ledger, window)

    def counting_lifetime(ledger: Ledger) -> dict[str, Any]:
        lifetimes.append(1)
        return real_lifetime(ledger)

    monkeypatch.setattr(model_pnl, "window_figures", counting_window)
    monkeypatch.setattr(model_pnl, "lifetime_figures", counting_lifetime)
    cache = model_pnl.ModelPnlCache()
    entries = list(books.entries)

    def load(mtime: int = 1) -> Any:
        return lambda: (books.filename, entries, books.options, mtime)

    def no_time(text: str) -> Any:
        return (None, None)

    first = cache.answer(load(), Filters(), no_time)
    assert cache.answer(load(), Filters(), no_time) is first
    cache.answer(load(), Filters(account="Income"), no_time)  # same window: figures shared
    assert len(calls) == 1 and len(lifetimes) == 1
    cache.answer(load(2), Filters(), no_time)  # a new load computes afresh
    assert len(calls) == 2 and len(lifetimes) == 2
    assert books_ledger(books.filename, entries, books.options).entries == entries


def test_both_pages_share_one_ledger_per_load(books: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Model P&L cache reads the load's report ledger from the Unit economics page's cache: one
    ledger (and one monthly summary) per load for both pages, not one each."""
    from ailab_books.dashboard import figures

    built: list[int] = []
    real = figures.books_ledger

    def counting(*args: Any) -> Ledger:
        built.append(1)
        return real(*args)

    monkeypatch.setattr(figures, "books_ledger", counting)
    shared = figures.FiguresCache()
    cache = model_pnl.ModelPnlCache(shared)
    entries = list(books.entries)

    def load() -> Any:
        return (books.filename, entries, books.options, 1)

    cache.answer(load, Filters(), lambda text: (None, None))
    shared.answer(load, Filters(), lambda text: (None, None))
    assert len(built) == 1


def test_read_only_and_evaluates_nothing(client: FlaskClient, slug: str) -> None:
    """Only GET; a template in the filter parameters comes back as text, never run."""
    assert client.post(f"/{slug}/{EXT}/v2_model_pnl").status_code == 404
    payload = "{{ 7 * 7 }}"
    body = _get(client, slug, "v2_model_pnl", f"account={quote(payload)}&filter={quote(payload)}")
    assert all(payload in notice for notice in body["notices"]) and len(body["notices"]) == 2
    assert not any("49" in notice for notice in body["notices"])


def test_bad_model_records_are_said_not_drawn(tmp_path: Path) -> None:
    """A model record with an error: no life figure and no per-Mtok figure, the error at its line."""
    books = tmp_path / "books.beancount"
    books.write_text(
        'option "operating_currency" "USD"\n'
        '2025-01-01 custom "model" "Nimbus"\n  launch: 2025-01-01\n'
        "2025-01-01 open Assets:Cash USD\n"
        "2025-01-01 open Income:Sales USD\n"
        '2025-01-15 * "sale"\n  Assets:Cash  10.00 USD\n  Income:Sales\n'
    )
    entries, _errors, options = load_file(str(books))
    ledger = books_ledger(str(books), entries, options)
    life = model_pnl.lifetime_figures(ledger)
    assert "error" in life and "books.beancount:2: " in life["error"], life
    assert "serving-life-months" in life["error"], life
    answer = model_pnl.ModelPnlCache().answer(
        lambda: (str(books), entries, options, 1), Filters(), lambda text: (None, None)
    )
    assert answer["status"] == "error" and answer["data"] is None
    assert "books.beancount:2: " in answer["message"] and answer["lifetime"] == life
