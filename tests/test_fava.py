"""The example ledger in Fava, and the unit-economics dashboard's data.

Runs Fava's own Flask app (``fava.application.create_app``) on
``ledger/main.beancount`` with Flask's test client:

- the ledger loads without errors, and every page answers 200, with and
  without a time filter: the client-side reports, the JSON each of them loads,
  the errors page, an account page, the query page and the dashboard page;
- the saved queries are there for the query page (its ``.run`` listing and
  the sidebar);
- the dashboard's page carries the books' facts as JSON (``ue-ledger``) and
  its script is the package's own file (``script?name=page``);
- every saved query the dashboard (``dashboard/static/unit-economics.js``) names
  exists, and what Fava's ``/api/query`` returns for it (``.run NAME``, as the
  Query page runs it) equals beanquery's result for the same query directive
  on the same entries, also under a time filter (Fava's filter = beancount's
  ``clamp_opt``), where each month inside the period keeps its figures (the
  page itself reads its figures from the books' endpoints:
  ``tests/test_dashboard_figures.py``);
- under a time filter the saved queries that read ``Equity:Stats`` count the
  period only: the opening-balance entries (flag ``S``) that hold the drivers'
  earlier history give no extra month and no extra tokens;
- allocation-audit's driver quantity and share are typed decimals on the Query
  page (no "None" text).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from beancount.core.amount import Amount
from beancount.core.inventory import Inventory
from beancount.core.position import Position
from beancount.ops.summarize import clamp_opt
from beanquery.query import run_query
from fava.application import create_app
from fava.context import g
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
# AILAB_TEST_LEDGER points the tests at another ledger that enables the dashboard.
LEDGER = Path(os.environ.get("AILAB_TEST_LEDGER", ROOT / "ledger" / "main.beancount"))
DASHBOARD = ROOT / "dashboard" / "static" / "unit-economics.js"
EXTENSION = "UnitEconomics"

# Fava's pages (all rendered client-side from the JSON API) and the JSON each loads.
PAGES = [
    "income_statement",
    "balance_sheet",
    "trial_balance",
    "journal",
    "query",
    "holdings",
    "commodities",
    "documents",
    "events",
    "statistics",
    "options",
    "editor",
    "import",
    "errors",
    "help",
    f"extension/{EXTENSION}",
]
API = [
    "api/income_statement",
    "api/balance_sheet",
    "api/trial_balance",
    "api/statistics",
    "api/events",
    "api/documents",
    "api/commodities",
    "api/options",
    "api/journal_page?page=1&order=desc",
    "api/account_report?a=Expenses&r=journal",
    "api/account_report?a=Expenses&r=changes",
    "api/account_report?a=Income&r=balances",
    f"extension/{EXTENSION}/v2_unit_economics",
    f"extension/{EXTENSION}/v2_saved_query?name=allocation-audit",
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app() -> Flask:
    fava_app = create_app([LEDGER], load=True)
    fava_app.testing = True
    return fava_app


@pytest.fixture(scope="module")
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture(scope="module")
def slug(client: FlaskClient) -> str:
    resp = client.get("/")
    assert resp.status_code == 302, resp.status_code
    return resp.headers["Location"].strip("/").split("/")[0]


@pytest.fixture(scope="module")
def loaded() -> tuple[list[data.Directive], list[Any], dict[str, Any]]:
    """The ledger as beancount loads it, independently of Fava."""
    entries, errors, options = loader.load_file(str(LEDGER))
    return entries, errors, options


@pytest.fixture(scope="module")
def year(loaded: tuple[list[data.Directive], list[Any], dict[str, Any]]) -> int:
    """A year with transactions that does not cover the whole ledger (the last one)."""
    years = sorted({e.date.year for e in loaded[0] if isinstance(e, data.Transaction)})
    return years[-1]


def dashboard_queries() -> dict[str, str]:
    """The saved queries the dashboard reads: its ``const Q = {...}`` table."""
    text = DASHBOARD.read_text(encoding="utf-8")
    table = re.search(r"const Q = \{(.*?)\};", text, re.S)
    assert table, "dashboard/static/unit-economics.js has no `const Q = {...}` table"
    return dict(re.findall(r'(\w+):\s*"([^"]+)"', table.group(1)))


# --------------------------------------------------------------------------- helpers


def api_json(client: FlaskClient, url: str, **params: str) -> Any:
    resp = client.get(url, query_string=params)
    assert resp.status_code == 200, (url, params, resp.status_code, resp.get_data(as_text=True)[:500])
    return json.loads(resp.get_data(as_text=True), parse_float=Decimal)


def plain(value: Any) -> Any:
    """A beanquery cell in the JSON shape Fava gives it (numbers exact)."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str | Decimal):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Amount):
        return {"number": value.number, "currency": value.currency}
    if isinstance(value, Position):
        return plain(value.units)
    if isinstance(value, Inventory):
        return {pos.units.currency: pos.units.number for pos in value}
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(plain(v) for v in value)
    return str(value)


def fava_cell(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, dict) and "number" not in value:
        return {k: Decimal(v) if isinstance(v, int) else v for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value


def same(a: Any, b: Any) -> bool:
    """Equal, treating int and Decimal of the same value alike."""
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return Decimal(a) == Decimal(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def beanquery_rows(
    entries: list[data.Directive], options: dict[str, Any], query_string: str
) -> tuple[list[str], list[list[Any]]]:
    types, rows = run_query(entries, options, query_string)
    return [c.name for c in types], [list(row) for row in rows]


def fava_rows(
    client: FlaskClient, slug: str, name: str, **params: str
) -> tuple[list[str], list[str], list[list[Any]]]:
    """Columns, Fava's column dtypes and rows of a saved query run by Fava's API (cached)."""
    key = (slug, name, tuple(sorted(params.items())))
    if key not in _FAVA_ROWS:
        _FAVA_ROWS[key] = _fava_rows(client, slug, name, **params)
    return _FAVA_ROWS[key]


_FAVA_ROWS: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}


def _fava_rows(
    client: FlaskClient, slug: str, name: str, **params: str
) -> tuple[list[str], list[str], list[list[Any]]]:
    body = api_json(client, f"/{slug}/api/query", query_string=f".run {name}", **params)
    result = body["data"]
    assert result["t"] == "table", result
    return (
        [t["name"] for t in result["types"]],
        [t["dtype"] for t in result["types"]],
        [[fava_cell(v) for v in row] for row in result["rows"]],
    )


def as_fava(dtypes: list[str], row: list[Any]) -> list[Any]:
    """A beanquery row as Fava's API shows it (object columns are str()-ed)."""
    return [str(v) if dtype == "object" else plain(v) for dtype, v in zip(dtypes, row, strict=True)]


def assert_same_rows(name: str, dtypes: list[str], got: list[list[Any]], raw: list[list[Any]]) -> None:
    assert len(got) == len(raw), (name, len(got), len(raw))
    for g_row, r_row in zip(got, raw, strict=True):
        expected = as_fava(dtypes, r_row)
        assert same(g_row, expected), (name, g_row, expected)


def query_string(entries: list[data.Directive], name: str) -> str:
    found = [e for e in entries if isinstance(e, data.Query) and e.name == name]
    assert found, f"no saved query named {name!r}"
    return found[0].query_string


def month_key(columns: list[str], row: list[Any]) -> str | None:
    cols = [c.lower() for c in columns]
    if "year" in cols and "month" in cols and isinstance(row[cols.index("month")], int):
        return f"{row[cols.index('year')]}-{row[cols.index('month')]:02d}"
    for key in ("period", "month", "date"):
        if key in cols and isinstance(row[cols.index(key)], str):
            return str(row[cols.index(key)])[:7]
    return None


# --------------------------------------------------------------------------- the ledger


def test_ledger_loads_without_errors(
    app: Flask, slug: str, loaded: tuple[list[data.Directive], list[Any], dict[str, Any]]
) -> None:
    assert loaded[1] == [], [str(e.message) for e in loaded[1]]
    assert app.config["LEDGERS"][slug].errors == []


def test_extension_is_enabled(app: Flask, slug: str) -> None:
    details = app.config["LEDGERS"][slug].extensions.extension_details
    assert EXTENSION in [d.name for d in details], details


@pytest.mark.parametrize("time", [None, "year"])
@pytest.mark.parametrize("page", PAGES)
def test_page_answers(client: FlaskClient, slug: str, year: int, page: str, time: str | None) -> None:
    params = {"time": str(year)} if time else {}
    resp = client.get(f"/{slug}/{page}/", query_string=params)
    assert resp.status_code == 200, (page, resp.status_code)
    html = resp.get_data(as_text=True)
    ledger_data = re.search(r'<script type="application/json" id="ledger-data">(.*?)</script>', html, re.S)
    assert ledger_data, "no ledger data in the page"
    assert json.loads(ledger_data.group(1))["errors"] == []


@pytest.mark.parametrize("time", [None, "year"])
@pytest.mark.parametrize("endpoint", API)
def test_page_data_answers(
    client: FlaskClient, slug: str, year: int, endpoint: str, time: str | None
) -> None:
    path, _, query = endpoint.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    if time:
        params["time"] = str(year)
    body = api_json(client, f"/{slug}/{path}", **params)
    if isinstance(body, dict):  # the extension's answers carry an error instead of failing
        assert "error" not in body, body


def test_account_page_answers(client: FlaskClient, slug: str) -> None:
    assert client.get(f"/{slug}/account/Expenses:COGS/").status_code == 200


# --------------------------------------------------------------------------- saved queries


def test_saved_queries_on_query_page(
    client: FlaskClient, slug: str, loaded: tuple[list[data.Directive], list[Any], dict[str, Any]]
) -> None:
    names = [e.name for e in loaded[0] if isinstance(e, data.Query)]
    assert names, "the ledger has no saved queries"
    # The query page's shell lists every saved query on a bare `.run`.
    listing = api_json(client, f"/{slug}/api/query", query_string=".run")["data"]
    assert listing["t"] == "string", listing
    assert set(listing["contents"].split()) == set(names)
    # The query page (and the sidebar under it) links the first ones by name.
    html = client.get(f"/{slug}/query/").get_data(as_text=True)
    ledger_data = re.search(r'id="ledger-data">(.*?)</script>', html, re.S)
    assert ledger_data
    shown = [q["name"] for q in json.loads(ledger_data.group(1))["user_queries"]]
    assert shown, "no saved query on the query page"
    assert shown == names[: len(shown)]
    # dashboard/fava.beancount sets sidebar-show-queries to 20: all of them are listed.
    assert len(shown) == min(len(names), 20)


def test_dashboard_reads_existing_saved_queries(
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
) -> None:
    names = {e.name for e in loaded[0] if isinstance(e, data.Query)}
    used = dashboard_queries()
    assert used, "the dashboard reads no saved query"
    missing = sorted(set(used.values()) - names)
    assert not missing, f"the dashboard reads saved queries the ledger lacks: {missing}"


def test_dashboard_script_is_served(client: FlaskClient, slug: str) -> None:
    resp = client.get(f"/{slug}/extension/{EXTENSION}/script", query_string={"name": "page"})
    assert resp.status_code == 200
    assert resp.get_data() == DASHBOARD.read_bytes()


@pytest.mark.parametrize("time", [None, "year"])
def test_dashboard_page_carries_the_books_facts(
    client: FlaskClient,
    slug: str,
    year: int,
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
    time: str | None,
) -> None:
    """The facts the page's script reads (``page_ledger``): the filtered dates, the currency
    and every account's cost class as ``classify`` wrote it on its ``open``."""
    params = {"time": str(year)} if time else {}
    html = client.get(f"/{slug}/extension/{EXTENSION}/", query_string=params).get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="ue-ledger">(.*?)</script>', html, re.S)
    assert found, "no ue-ledger facts in the page"
    facts = json.loads(found.group(1))
    assert '<div id="ue-app">' in html
    assert (facts["ccy"], facts["operatingCurrencies"]) == ("USD", ["USD"])
    # The dates the filter-following charts span: the books' first transaction and last
    # transaction or price, within the time filter's year (read from its text, not from Fava's
    # filtered entries, so the HTML never waits for Fava to filter the postings).
    entries = client.application.config["LEDGERS"][slug].all_entries
    first = min(e.date for e in entries if isinstance(e, data.Transaction))
    last = max(e.date for e in entries if isinstance(e, data.Transaction | data.Price))
    if time:
        first, last = max(first, datetime.date(year, 1, 1)), min(last, datetime.date(year, 12, 31))
    assert (facts["dateFirst"], facts["dateLast"]) == (first.isoformat(), last.isoformat())
    # Each account's class as beancount's loader leaves it on the open (plugins.classify).
    classes = {
        e.account: e.meta["cost-class"]
        for e in loaded[0]
        if isinstance(e, data.Open) and "cost-class" in e.meta
    }
    assert classes and facts["costClasses"] == classes


@pytest.mark.parametrize("name", sorted(set(dashboard_queries().values())))
def test_dashboard_data_equals_beanquery(
    client: FlaskClient,
    slug: str,
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
    name: str,
) -> None:
    entries, _, options = loaded
    expected_cols, expected = beanquery_rows(entries, options, query_string(entries, name))
    cols, dtypes, got = fava_rows(client, slug, name)
    assert cols == expected_cols
    assert got, f"saved query {name} returns no rows on the example ledger"
    assert_same_rows(name, dtypes, got, expected)


@pytest.mark.parametrize("name", sorted(set(dashboard_queries().values())))
def test_dashboard_data_follows_time_filter(
    client: FlaskClient,
    slug: str,
    year: int,
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
    name: str,
) -> None:
    entries, _, options = loaded
    begin, end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    clamped, _ = clamp_opt(entries, begin, end, options)
    qs = query_string(entries, name)
    expected_cols, expected = beanquery_rows(clamped, options, qs)
    cols, dtypes, got = fava_rows(client, slug, name, time=str(year))
    assert cols == expected_cols
    assert_same_rows(name, dtypes, got, expected)

    # Monthly rows inside the period are the same as without the filter (the
    # queries leave out the filter's opening-balance entries, flag 'S'; see
    # test_time_filter_monthly_rows_are_the_period).
    if not {"month", "period"} & {c.lower() for c in cols}:
        return  # not a monthly query
    _, _, everything = fava_rows(client, slug, name)
    period = f"{year}-"
    in_period = [r for r in got if (month_key(cols, r) or "").startswith(period)]
    whole = [r for r in everything if (month_key(cols, r) or "").startswith(period)]
    assert in_period, f"{name}: no rows in {year}"
    assert len(in_period) == len(whole)
    for a, b in zip(in_period, whole, strict=True):
        assert same(a, b), (name, a, b)


# --------------------------------------------------------------------------- opening balances

# Saved queries that read the Equity:Stats driver accounts (balance-sheet
# accounts, so a time filter folds their earlier history into its flag-'S'
# opening entries dated the day before the period).
STATS_MONTHLY = [
    "gross-margin-per-mtok",
    "net-margin-per-mtok",
    "overhead-per-mtok",
    "margin-by-model",
    "margin-by-tier",
    "price-per-mtok",
    "free-tier",
    "cost-stack",
    "gpu-hours-by-workload",
]


def stats_in_year(
    entries: list[data.Directive], year: int, prefix: str, currency: str
) -> tuple[Decimal, set[str]]:
    """Sum of ``currency`` postings under ``prefix`` in ``year``, and their months."""
    total, months = Decimal(0), set()
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date.year != year:
            continue
        for posting in entry.postings:
            if posting.account.startswith(prefix) and posting.units.currency == currency:
                total += posting.units.number
                months.add(f"{entry.date:%Y-%m}")
    return total, months


def test_time_filter_totals_count_the_period_only(
    client: FlaskClient,
    slug: str,
    year: int,
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
) -> None:
    tokens, _ = stats_in_year(loaded[0], year, "Equity:Stats:Tokens:", "MTOK")
    assert tokens > 0
    for name in ("gross-margin-total", "net-margin-total"):
        cols, _, got = fava_rows(client, slug, name, time=str(year))
        assert len(got) == 1, (name, got)
        assert Decimal(got[0][cols.index("million_tokens")]) == tokens, (name, got[0], tokens)
    # The summary entries are there (the filter did make them), just not counted.
    filtered = app_ledger_entries(client, slug, year)
    assert any(isinstance(e, data.Transaction) and e.flag == "S" for e in filtered)


@pytest.mark.parametrize("name", STATS_MONTHLY)
def test_time_filter_monthly_rows_are_the_period(
    client: FlaskClient,
    slug: str,
    year: int,
    loaded: tuple[list[data.Directive], list[Any], dict[str, Any]],
    name: str,
) -> None:
    prefix, unit = (
        ("Equity:Stats:GPUH", "GPUH") if name.startswith("gpu") else ("Equity:Stats:Tokens:", "MTOK")
    )
    _, months = stats_in_year(loaded[0], year, prefix, unit)
    if LEDGER == ROOT / "ledger" / "main.beancount":
        assert sorted(months) == [f"2026-{m:02d}" for m in range(1, 11)]
    cols, _, got = fava_rows(client, slug, name, time=str(year))
    assert {month_key(cols, row) for row in got} == months, name
    assert f"{year - 1}-12" not in {month_key(cols, row) for row in got}


def app_ledger_entries(client: FlaskClient, slug: str, year: int) -> list[data.Directive]:
    """The entries Fava's time filter selects for ``year`` (its own filter code)."""
    app = client.application
    with app.test_request_context(f"/{slug}/?time={year}"):
        app.preprocess_request()
        return list(g.filtered.entries)


def test_allocation_audit_numbers_are_typed(client: FlaskClient, slug: str) -> None:
    cols, dtypes, got = fava_rows(client, slug, "allocation-audit")
    assert got
    for column in ("quantity", "share"):
        index = cols.index(column)
        assert dtypes[index] == "Decimal", (column, dtypes[index])
        values = [row[index] for row in got]
        assert "None" not in values, column
        assert all(v is None or isinstance(v, int | Decimal) for v in values), column


# --------------------------------------------------------------------------- cost classes


@pytest.fixture(scope="module")
def overrides_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FlaskClient, str]]:
    """Fava on test_cost_classes.OVERRIDES: an R&D account marked inference and a
    COGS-tree account marked training (inference COGS 70.00, not 40.00 or 65.00)."""
    from test_cost_classes import OVERRIDES

    main = tmp_path_factory.mktemp("fava-overrides") / "main.beancount"
    main.write_text(OVERRIDES + f'include "{ROOT / "queries" / "*.beancount"}"\n')
    fava_app = create_app([main], load=True)
    fava_app.testing = True
    with fava_app.test_client() as test_client:
        resp = test_client.get("/")
        yield test_client, resp.headers["Location"].strip("/").split("/")[0]


def dashboard_cost_classes(columns: list[str]) -> dict[str, str]:
    """The dashboard's rule (costLines in static/unit-economics.js): a cost-stack column
    <class>__<line>_per_mtok has the class its name starts with."""
    return {c: c.split("__")[0] for c in columns if "__" in c and c.endswith("_per_mtok")}


def test_dashboard_takes_classes_from_the_query_only() -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    assert 'split("__", 2)' in text  # the class comes from the column's name
    # no rule of its own that could disagree with classify: no column position,
    # no account-name pattern for a class
    assert "indexOf(cogsTotal)" not in text
    assert "Expenses:COGS" not in text and "Expenses:RnD" not in text
    assert 'split(":").slice(0, 2)' not in text


@pytest.mark.parametrize("params", [{}, {"time": "2025"}])
def test_dashboard_data_with_overridden_classes(
    overrides_client: tuple[FlaskClient, str], params: dict[str, str]
) -> None:
    client, slug = overrides_client
    cols, _, got = fava_rows(client, slug, "gross-margin-per-mtok", **params)
    (row,) = got
    figures = dict(zip(cols, row, strict=True))
    assert (Decimal(figures["inference_cogs"]), Decimal(figures["gross_margin"])) == (
        Decimal("70.00"),
        Decimal("130.00"),
    )
    cols, _, got = fava_rows(client, slug, "cost-stack", **params)
    (row,) = got
    values = {c: Decimal(v) for c, v in zip(cols, row, strict=True) if c.endswith("_per_mtok")}
    classes = dashboard_cost_classes(cols)
    by_class: dict[str, Decimal] = {}
    for column, cls in classes.items():
        by_class[cls] = by_class.get(cls, Decimal(0)) + values[column]
    # What the page stacks as COGS is exactly the gross view's total (7.00 per Mtok:
    # 4 of COGS compute + 3 of the R&D account marked inference), and the
    # COGS-tree account marked training (2.50 per Mtok) is stacked as training.
    assert by_class["inference"] == values["cogs_per_mtok"] == Decimal("7")
    assert values["training__other_per_mtok"] == Decimal("2.5")
    assert sum(by_class.values()) == values["full_cost_per_mtok"] == Decimal("11.5")


def test_tag_filter_leaves_classes_visible_as_unclassified(overrides_client: tuple[FlaskClient, str]) -> None:
    # Fava's tag filter keeps transactions only, so the opens that carry the
    # classes are not in the filtered entries: open_meta() finds no class. The
    # money then shows as unclassified (never dropped) and all costs are
    # unchanged (docs/dashboard.md, "Filters and cost classes").
    client, slug = overrides_client
    cols, _, got = fava_rows(client, slug, "cost-lines", filter="#sga")
    classes = {row[cols.index("cost_class")] for row in got}
    assert classes == {"unclassified"}
    assert sum(Decimal(row[cols.index("amount")]) for row in got) == Decimal("115.00")
    cols, _, got = fava_rows(client, slug, "net-margin-per-mtok", filter="#sga")
    assert [Decimal(row[cols.index("all_costs")]) for row in got] == [Decimal("115.00")]


def test_foreign_amounts_valued_under_a_time_filter(tmp_path: Path) -> None:
    # A time filter that starts after the only EUR price still values the
    # period's EUR postings: Fava's filter (clamp_opt) keeps the last price
    # before the period. test_valuation.FOREIGN's January, filtered to start on
    # 2025-01-20, after the EUR price of 2025-01-15 and the GBP one of 2025-01-20.
    from test_valuation import FOREIGN, HAND

    main = tmp_path / "main.beancount"
    main.write_text(FOREIGN + f'include "{ROOT / "queries" / "*.beancount"}"\n')
    fava_app = create_app([main], load=True)
    fava_app.testing = True
    with fava_app.test_client() as client:
        slug = client.get("/").headers["Location"].strip("/").split("/")[0]
        for params in ({}, {"time": "2025-01-20 - 2025-01-31"}):
            cols, _, got = _fava_rows(client, slug, "net-margin-per-mtok", **params)
            (row,) = got
            figures = {c: Decimal(v) for c, v in zip(cols, row, strict=True) if v is not None}
            assert figures["revenue"] == HAND["revenue"], params
            assert figures["all_costs"] == HAND["all_costs"], params
            assert figures["net_margin"] == HAND["net_margin"], params
        # The filter is applied (a later month has nothing).
        assert _fava_rows(client, slug, "net-margin-per-mtok", time="2025-02")[2] == []
