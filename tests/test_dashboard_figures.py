"""The dashboard's per-token figures (``v2_unit_economics``) under every kind of Fava filter.

Drives Fava's own app on the example books with Flask's test client:

- every filter case (none, year, quarter, part month, account, tag, payee, a
  payee that matches nothing, a time holding no month of the books, a time
  Fava cannot read) answers 200 on the page (with its ``ue-ledger`` facts: the
  whole books' dates when the filter selects nothing) and on
  ``v2_unit_economics``, never 500; the saved queries the filter-following
  panels run answer 200 (or 400 for the unreadable time, with Fava's reason);
- the figures are lab-report's (``economics.summary`` / ``by_segment`` on the
  books loaded independently) for the whole months the time filter covers,
  whatever the account, tag or payee filter, and each case carries its notice;
- answers are cached per load and window, and a new load computes afresh; the
  page's ``load`` (which keys the browser's cache of its answers) changes when
  Fava reloads the books after an edit.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fava.application import create_app
from flask import Flask
from flask.testing import FlaskClient

from ailab_books.dashboard.figures import SAVED_QUERIES, FiguresCache, Filters, books_ledger, respond
from ailab_books.queries.economics import TOTAL, Month, Window, by_segment, per_mtok, summary
from ailab_books.queries.headline import DASH, months_covering, policy_changes, shift
from ailab_books.queries.runner import Ledger, load_ledger

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger" / "main.beancount"
EXT = "extension/UnitEconomics"

# (query string, expected status, months shown, words every notice must hold)
CASES: list[tuple[str, str, tuple[str, str] | None, list[str]]] = [
    ("", "ok", ("2025-01", "2026-10"), []),
    ("time=2026", "ok", ("2026-01", "2026-10"), [f"showing 2026-01 {DASH} 2026-10"]),
    ("time=2026-Q3", "ok", ("2026-07", "2026-09"), []),
    (
        "time=2026-09-15 - 2026-10-15",
        "ok",
        ("2026-09", "2026-10"),
        [
            f"showing 2026-09 {DASH} 2026-10 "
            f"(whole months containing your filter 2026-09-15 {DASH} 2026-10-15)"
        ],
    ),
    ("account=Expenses:COGS", "ok", ("2025-01", "2026-10"), ["your account filter", "Fava's other pages"]),
    ("filter=%23training", "ok", ("2025-01", "2026-10"), ["your tag/payee filter", "#training"]),
    ('filter=payee:"GPU"', "ok", ("2025-01", "2026-10"), ["your tag/payee filter"]),
    ('filter=payee:"nobody at all"', "ok", ("2025-01", "2026-10"), ["your tag/payee filter"]),
    ("time=2020", "no-data", None, []),
    ("time=bogus", "ok", ("2025-01", "2026-10"), ['Fava cannot read the time filter "bogus"']),
    ("time=2026-Q3&account=Income&filter=%23inference", "ok", ("2026-07", "2026-09"), ["account", "tag"]),
]

#: The months the filter-following charts span (``dateFirst``, ``dateLast`` of the page's facts):
#: the time filter's period within the books' dates (2025-01-01 to 2026-10-31), read from the
#: filter's text, never from Fava's filtered entries (the HTML must not wait for Fava to filter);
#: the whole books with no time filter or one Fava cannot read; a period outside the books as is.
BOOKS = ("2025-01-01", "2026-10-31")
CHART_DATES = {
    "time=2026": ("2026-01-01", "2026-10-31"),
    "time=2026-Q3": ("2026-07-01", "2026-09-30"),
    "time=2026-09-15 - 2026-10-15": ("2026-09-15", "2026-10-15"),
    "time=2020": ("2020-01-01", "2020-12-31"),
    "time=2026-Q3&account=Income&filter=%23inference": ("2026-07-01", "2026-09-30"),
}


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
    return str(client.get("/").headers["Location"]).strip("/").split("/")[0]


@pytest.fixture(scope="module")
def books() -> Ledger:
    """The books as lab-report loads them, independently of Fava."""
    return load_ledger(LEDGER, require_pipeline=True)


def _facts(html: str) -> dict[str, Any]:
    """The books' facts the page's script reads: the JSON of ``<script id="ue-ledger">``."""
    found = re.search(r'<script type="application/json" id="ue-ledger">(.*?)</script>', html, re.S)
    assert found, "no ue-ledger facts in the page"
    facts: dict[str, Any] = json.loads(found.group(1))
    return facts


def _get(client: FlaskClient, url: str) -> Any:
    return client.get(url.replace(" ", "%20").replace('"', "%22"))


def _figures(client: FlaskClient, slug: str, query: str) -> dict[str, Any]:
    resp = _get(client, f"/{slug}/{EXT}/v2_unit_economics?{query}")
    assert resp.status_code == 200, (query, resp.status_code, resp.data[:300])
    body: dict[str, Any] = resp.get_json()
    return body


@pytest.mark.parametrize(("query", "status", "months", "words"), CASES, ids=[c[0] or "none" for c in CASES])
def test_every_filter_answers_without_500(
    client: FlaskClient, slug: str, query: str, status: str, months: tuple[str, str] | None, words: list[str]
) -> None:
    page = _get(client, f"/{slug}/{EXT}/?{query}")
    assert page.status_code == 200, page.status_code
    facts = _facts(page.get_data(as_text=True))
    assert (facts["dateFirst"], facts["dateLast"]) == CHART_DATES.get(query, BOOKS), facts
    for name in ("gpu-hours-by-workload", "allocation-audit"):
        resp = _get(client, f"/{slug}/api/query?query_string={quote('.run ' + name)}&{query}")
        expected = 400 if "bogus" in query else 200
        assert resp.status_code == expected, (name, resp.status_code, resp.data[:300])
    body = _figures(client, slug, query)
    assert body["status"] == status, body.get("message")
    if status == "no-data":
        assert body["message"].startswith("no data for this filter"), body["message"]
        assert body["data"] is None
        return
    assert months is not None
    assert (body["showing"]["start"], body["showing"]["stop"]) == months
    notices = " ".join(body["notices"])
    for word in words:
        assert word in notices, (word, body["notices"])
    if not words:
        assert body["notices"] == []
    assert len(body["panel_notices"]) == len(body["notices"])
    assert body["data"]["months"][0] == months[0] and body["data"]["months"][-1] == months[1]


def _window(months: tuple[str, str]) -> Window:
    start, stop = (Month(int(m[:4]), int(m[5:])) for m in months)
    return Window(start, stop)


def _as_sent(row: dict[str, Any]) -> dict[str, Any]:
    """A row of lab-report's frame as the endpoint sends it (Decimals as exact text)."""
    return {key: (str(value) if isinstance(value, Decimal) else value) for key, value in row.items()}


def _expected_figures(row: dict[str, Any]) -> dict[str, str | None]:
    tokens = Decimal(row["million_tokens"])

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "million_tokens": str(tokens),
        "price": text(per_mtok(row["revenue"], tokens)),
        "cost_of_serving": text(per_mtok(row["inference_cogs"], tokens)),
        "gross_margin": text(row["gross_margin_per_mtok"]),
        "full_cost": text(per_mtok(row["all_costs"], tokens)),
        "net_margin": text(row["net_margin_per_mtok"]),
    }


@pytest.mark.parametrize(("query", "status", "months", "words"), [c for c in CASES if c[1] == "ok"])
def test_figures_are_lab_reports_for_the_whole_months(
    client: FlaskClient,
    slug: str,
    books: Ledger,
    query: str,
    status: str,
    months: tuple[str, str],
    words: list[str],
) -> None:
    body = _figures(client, slug, query)["data"]
    window = _window(months)
    frame = summary(books, window)
    rows = frame.to_dict("records")
    assert len(body["summary"]) == len(rows)
    for sent, row in zip(body["summary"], rows, strict=True):
        assert sent == {
            key: (str(value) if isinstance(value, Decimal) else value) for key, value in row.items()
        }
    total = rows[-1]
    assert total["month"] == TOTAL
    headline = body["headline"]
    assert {k: v for k, v in headline["period"].items() if k != "label"} == _expected_figures(total)
    latest = max(r["month"] for r in rows[:-1] if r["million_tokens"] > 0)
    month_row = next(r for r in rows if r["month"] == latest)
    assert headline["month"]["label"] == latest
    assert {k: v for k, v in headline["month"].items() if k != "label"} == _expected_figures(month_row)
    before = shift(Month(int(latest[:4]), int(latest[5:])), -1)
    previous = summary(books, Window(before, before)).to_dict("records")[0]
    assert {k: v for k, v in headline["previous_month"].items() if k != "label"} == _expected_figures(
        previous
    )
    for by in ("tier", "model"):
        expected = by_segment(books, by, window).to_dict("records")
        # lab-report's row, and its price and cost of serving per Mtok (per_mtok of the row's
        # revenue and COGS, None without tokens): the page divides nothing itself.
        for row in expected:
            for column, amount in (("price_per_mtok", "revenue"), ("cogs_per_mtok", "inference_cogs")):
                row[column] = per_mtok(row[amount], row["million_tokens"])
        assert body["segments"][by] == [_as_sent(row) for row in expected]


def test_negative_margins_reach_the_page(client: FlaskClient, slug: str) -> None:
    """The free tier's and the weak model's losses per Mtok are in what the page plots."""
    body = _figures(client, slug, "")["data"]
    totals = {row["tier"]: row for row in body["segments"]["tier"] if row["month"] == TOTAL}
    assert Decimal(totals["Free"]["gross_margin_per_mtok"]) < 0
    models = {row["model"]: row for row in body["segments"]["model"] if row["month"] == TOTAL}
    assert Decimal(models["Wren"]["net_margin_per_mtok"]) < 0


def test_policy_change_of_january_2026(books: Ledger) -> None:
    (change,) = policy_changes(books.entries)
    assert str(change.month) == "2026-01"
    assert change.pools == ("Expenses:Shared:GPUCluster", "Expenses:Shared:Power")
    assert change.note.startswith("Policy change, January 2026")
    assert change.filename.endswith("allocation.beancount") and change.lineno > 0


def test_policy_change_note_from_metadata_and_not_for_a_first_rule() -> None:
    from beancount import loader

    text = """
2025-01-01 open Expenses:Shared:Pool
2025-01-01 custom "allocate" Expenses:Shared:Pool Equity:Stats:Hours
  serving: Expenses:COGS:Serving
2025-01-01 custom "allocate" Expenses:Shared:Other Equity:Stats:Hours
  serving: Expenses:COGS:Serving
2025-06-01 custom "allocate" Expenses:Shared:Pool Equity:Stats:Hours
  note: "All to serving from June"
  serving: Expenses:COGS:Serving
"""
    entries, _errors, _options = loader.load_string(text)
    (change,) = policy_changes(entries)
    assert (str(change.month), change.pools, change.note) == (
        "2025-06",
        ("Expenses:Shared:Pool",),
        "All to serving from June",
    )


def test_months_covering_snaps_part_months() -> None:
    day = datetime.date
    assert months_covering(day(2026, 9, 15), day(2026, 10, 16)) == Window(Month(2026, 9), Month(2026, 10))
    assert months_covering(day(2026, 1, 1), day(2027, 1, 1)) == Window(Month(2026, 1), Month(2026, 12))
    assert months_covering(day(2026, 2, 28), day(2026, 3, 1)) == Window(Month(2026, 2), Month(2026, 2))


def test_filters_are_text_never_evaluated(books: Ledger) -> None:
    """The request's filter text is only parsed as a date or echoed: an expression is not run."""
    calls: list[str] = []

    def parse(text: str) -> tuple[datetime.date | None, datetime.date | None]:
        calls.append(text)
        return None, None

    evil = "{{ cycler.__init__.__globals__.os.getpid() }}"
    answer = respond(books, Filters(time=evil, account=evil, advanced=evil), parse)
    assert calls == [evil]
    assert answer["status"] == "ok"
    assert all(str(__import__("os").getpid()) not in notice for notice in answer["notices"])


def test_html_never_waits_for_a_first_computation() -> None:
    """Before the load's pass over the postings, the HTML has no headline (it never waits
    for the pass); after it, a window never asked for is rendered with the HTML."""
    fresh = create_app([LEDGER], load=True)
    fresh.testing = True
    with fresh.test_client() as client:
        slug = str(client.get("/").headers["Location"]).strip("/").split("/")[0]
        html = _get(client, f"/{slug}/{EXT}/?time=2025-Q2").get_data(as_text=True)
        assert '<div id="ue-app"></div>' in html
        _figures(client, slug, "time=2026")  # the pass, for another window
        html = _get(client, f"/{slug}/{EXT}/?time=2025-Q2").get_data(as_text=True)
        assert 'data-server-headline="1"' in html
        assert html.count("data-server-figure=") > 0 and "2025-04" in html.split('id="ue-app"')[1]


def test_peek_never_waits_for_the_lock(books: Ledger) -> None:
    """While another request holds the cache (computing), peek answers None at once, even
    when the summary is built; once free, it computes the new window from the summary."""
    cache = FiguresCache()
    loaded: tuple[str, Any, Any, int] = (books.filename, books.entries, books.options, 1)

    def parser(text: str) -> tuple[datetime.date | None, datetime.date | None]:
        return datetime.date(2025, 4, 1), datetime.date(2025, 7, 1)

    cache.answer(lambda: loaded, Filters(), parser)
    assert cache.peek(lambda: loaded, Filters(time="2025-Q2")) is None  # no parser: cached only
    with cache._lock:
        assert cache.peek(lambda: loaded, Filters(time="2025-Q2"), parser) is None
    answer = cache.peek(lambda: loaded, Filters(time="2025-Q2"), parser)
    assert answer is not None and answer["showing"]["label"] == f"2025-04 {DASH} 2025-06"
    assert answer == cache.answer(lambda: loaded, Filters(time="2025-Q2"), parser)
    other_load = (books.filename, list(books.entries), books.options, 2)
    assert cache.peek(lambda: other_load, Filters(time="2025-Q2"), parser) is None


def test_peek_never_runs_beanquery(books: Ledger) -> None:
    """Books whose saved query differs from the shipped text are answered by beanquery,
    which the HTML must not wait for: peek then answers only what is cached."""
    from ailab_books.queries.runner import SavedQuery

    cache = FiguresCache()
    loaded: tuple[str, Any, Any, int] = (books.filename, books.entries, books.options, 1)

    def parser(text: str) -> tuple[datetime.date | None, datetime.date | None]:
        return datetime.date(2025, 4, 1), datetime.date(2025, 7, 1)

    cache.answer(lambda: loaded, Filters(), parser)
    assert cache._ledger is not None
    queries = dict(cache._ledger.queries)
    changed = queries["cost-stack"]
    queries["cost-stack"] = SavedQuery(**{**vars(changed), "query_string": changed.query_string + " "})
    object.__setattr__(cache._ledger, "queries", queries)
    assert cache.peek(lambda: loaded, Filters(time="2025-Q2"), parser) is None


def test_cache_per_load_and_window(books: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """Filters covering the same months share one computation; a new load (another
    entries list or mtime) computes again."""
    from ailab_books.dashboard import figures

    computed: list[Window] = []
    real = figures.unit_economics

    def counting(ledger: Ledger, window: Window) -> dict[str, Any]:
        computed.append(window)
        return real(ledger, window)

    monkeypatch.setattr(figures, "unit_economics", counting)
    cache = FiguresCache()
    entries = books.entries
    september = Window(Month(2026, 9), Month(2026, 9))

    def parser(text: str) -> tuple[datetime.date | None, datetime.date | None]:
        if text == "2026-09":
            return datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)
        return None, None

    def load_one() -> tuple[str, Any, Any, int]:
        return books.filename, entries, books.options, 1

    first = cache.answer(load_one, Filters(time="2026-09"), parser)
    assert cache.answer(load_one, Filters(time="2026-09"), parser) is first
    tagged = cache.answer(load_one, Filters(time="2026-09", advanced="#training"), parser)
    assert tagged["data"] is first["data"]
    assert computed == [september]
    copy = list(entries)
    reloaded = cache.answer(lambda: (books.filename, copy, books.options, 2), Filters(time="2026-09"), parser)
    assert computed == [september, september]
    assert reloaded is not first and reloaded["data"] == first["data"]


def test_books_ledger_matches_load_ledger(books: Ledger) -> None:
    ledger = books_ledger(books.filename, books.entries, books.options)
    assert ledger.queries.keys() == books.queries.keys()
    assert summary(ledger).equals(summary(books))


def _cell(value: object) -> object:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return value
    return value


@pytest.mark.parametrize("query", [c[0] for c in CASES], ids=[c[0] or "none" for c in CASES])
@pytest.mark.parametrize("name", ["gpu-hours-by-workload", "allocation-audit"])
def test_saved_query_endpoint_follows_favas_filters(
    client: FlaskClient, slug: str, query: str, name: str
) -> None:
    """v2_saved_query gives the rows Fava's own /api/query gives for the same filter."""
    ours = _get(client, f"/{slug}/{EXT}/v2_saved_query?name={name}&{query}")
    assert ours.status_code == 200
    body = ours.get_json()
    fava = _get(client, f"/{slug}/api/query?query_string={quote('.run ' + name)}&{query}")
    if fava.status_code == 400:
        assert body["error"] == fava.get_json()["error"]  # "Failed to parse date: bogus"
        return
    rows = fava.get_json()["data"]["rows"]
    columns = [t["name"] for t in fava.get_json()["data"]["types"]]
    assert body["columns"] == columns
    assert [[_cell(row[c]) for c in columns] for row in body["rows"]] == [[_cell(v) for v in r] for r in rows]


def test_saved_query_endpoint_runs_only_the_pages_queries(client: FlaskClient, slug: str) -> None:
    for name in ("cost-stack", "nonexistent", "SELECT 1", ""):
        resp = _get(client, f"/{slug}/{EXT}/v2_saved_query?name={quote(name)}")
        assert resp.status_code == 200
        assert resp.get_json() == {"error": f"unknown saved query {name!r} for this page"}


def test_books_check_ignores_the_filters(client: FlaskClient, slug: str) -> None:
    whole = _get(client, f"/{slug}/{EXT}/v2_saved_query?name=books-check").get_json()
    tagged = _get(
        client, f"/{slug}/{EXT}/v2_saved_query?name=books-check&filter=%23training&time=2026"
    ).get_json()
    assert whole == tagged and whole["rows"] == []


@pytest.mark.parametrize(("query", "status", "months", "words"), CASES, ids=[c[0] or "none" for c in CASES])
def test_server_renders_the_headline(
    client: FlaskClient, slug: str, query: str, status: str, months: tuple[str, str] | None, words: list[str]
) -> None:
    """Once computed, the page's HTML holds the headline (the figures of v2_unit_economics)."""
    body = _figures(client, slug, query)
    html = _get(client, f"/{slug}/{EXT}/?{query}").get_data(as_text=True)
    assert 'data-server-headline="1"' in html
    if status == "no-data":
        assert "no data for this filter" in html and "data-server-figure" not in html
        return
    for period in ("month", "period"):
        figures = body["data"]["headline"][period]
        for name in ("price", "cost_of_serving", "gross_margin", "full_cost", "net_margin"):
            assert f'data-server-figure="{name}" data-value="{figures[name]}"' in html, (period, name)
    for word in words:
        assert html_escape(word) in html, word


def test_new_endpoints_are_read_only_and_evaluate_nothing(client: FlaskClient, slug: str) -> None:
    """Only GET; a template or BQL in the parameters comes back as text, never run."""
    for endpoint in ("v2_unit_economics", "v2_saved_query"):
        assert client.post(f"/{slug}/{EXT}/{endpoint}").status_code == 404
    payload = "{{ 7 * 7 }}"
    body = _figures(client, slug, f"account={quote(payload)}&filter={quote(payload)}")
    assert all(payload in notice for notice in body["notices"]) and len(body["notices"]) == 2
    assert not any("49" in notice for notice in body["notices"])
    html = _get(client, f"/{slug}/{EXT}/?account={quote(payload)}&filter={quote(payload)}").get_data(
        as_text=True
    )
    headline = html.split('id="ue-app"')[1]
    assert 'data-server-headline="1"' in headline and html_escape(payload) in headline
    assert "49" not in headline.split("Latest month")[0]
    resp = _get(client, f"/{slug}/{EXT}/v2_saved_query?name={quote('.output /tmp/x')}")
    assert resp.get_json() == {"error": "unknown saved query '.output /tmp/x' for this page"}


def test_lab_fava_prewarms_the_unfiltered_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PREWARM (lab-fava sets it), the first view's HTML gets the headline without
    any request having asked for the figures, and the page's saved queries are computed
    in the background with the rows Fava's /api/query gives."""
    import time

    from ailab_books.dashboard import extension

    monkeypatch.setattr(extension, "PREWARM", True)
    fava_app = create_app([LEDGER], load=True)
    fava_app.testing = True
    with fava_app.test_client() as prewarmed:
        slug = str(prewarmed.get("/").headers["Location"]).strip("/").split("/")[0]
        deadline = time.monotonic() + 300
        html = ""
        while time.monotonic() < deadline:
            html = prewarmed.get(f"/{slug}/{EXT}/").get_data(as_text=True)
            if "data-server-headline" in html:
                break
            time.sleep(0.5)
        assert 'data-server-figure="net_margin"' in html
        # Then the page's saved queries, computed without a request on the entries Fava's
        # /api/query reads with no filter: the prewarmed rows must be Fava's rows.
        ledger = fava_app.config["LEDGERS"][slug]
        cache = ledger.extensions.get_extension("UnitEconomics")._figures
        while time.monotonic() < deadline and len(cache._saved) < len(SAVED_QUERIES):
            time.sleep(0.5)
        assert sorted(name for _filters, name in cache._saved) == sorted(SAVED_QUERIES)
        for (filters, name), prewarmed_rows in list(cache._saved.items()):
            assert filters == Filters()
            fava = _get(prewarmed, f"/{slug}/api/query?query_string={quote('.run ' + name)}").get_json()
            columns = [t["name"] for t in fava["data"]["types"]]
            assert prewarmed_rows["columns"] == columns
            assert [[_cell(row[c]) for c in columns] for row in prewarmed_rows["rows"]] == [
                [_cell(v) for v in r] for r in fava["data"]["rows"]
            ]
            ours = _get(prewarmed, f"/{slug}/{EXT}/v2_saved_query?name={name}").get_json()
            assert ours is not None and ours == prewarmed_rows


def test_page_load_changes_when_fava_reloads_the_books(tmp_path: Path) -> None:
    """The page's ``load`` keys the browser's cache of its script and answers: the same while the
    books are unchanged, another once Fava has reloaded them after an edit (else the page would
    show the figures of the books before the edit)."""
    main = tmp_path / "main.beancount"
    main.write_text(
        'option "operating_currency" "USD"\n'
        '2025-01-01 custom "fava-extension" "ailab_books.dashboard.extension"\n'
        "2025-01-01 open Assets:Cash\n2025-01-01 open Income:Sales\n"
        '2025-01-02 * "Sale"\n  Assets:Cash  10 USD\n  Income:Sales\n',
        encoding="utf-8",
    )
    # The polling watcher: Fava sees the edit on the next request, not when a thread notices it.
    fava_app = create_app([str(main)], load=True, poll_watcher=True)
    fava_app.testing = True
    with fava_app.test_client() as client:
        slug = str(client.get("/").headers["Location"]).strip("/").split("/")[0]
        before = _facts(_get(client, f"/{slug}/{EXT}/").get_data(as_text=True))
        again = _facts(_get(client, f"/{slug}/{EXT}/").get_data(as_text=True))
        assert again["load"] == before["load"]
        with main.open("a", encoding="utf-8") as books:
            books.write('2025-03-04 * "Sale"\n  Assets:Cash  5 USD\n  Income:Sales\n')
        later = main.stat().st_mtime_ns + 2_000_000_000  # a later mtime, whatever the clock's step
        os.utime(main, ns=(later, later))
        after = _facts(_get(client, f"/{slug}/{EXT}/").get_data(as_text=True))
    assert (before["dateLast"], after["dateLast"]) == ("2025-01-02", "2025-03-04")
    assert after["load"] != before["load"]
