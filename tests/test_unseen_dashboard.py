"""The Unit economics page on books it was not written for (red-team pass, issue 8).

Small books with their own tier names (Hobby, Pro, Team, Gratis), one model (Heron),
a month with costs and no tokens (March) and a rent paid in euros: every count of
tokens must read in words a finance person cannot misread (90.5 million tokens,
not "0 trillion"), a month without tokens must be said, not left as a blank box or
a silent gap, and the costs lab-report puts in its ``(unattributed)`` row must be
said in words, not drawn as an empty category. The figures shown must stay
lab-report's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_dashboard_browser import (
    CHARTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    EXTENSION,
    ROOT,
    VIEWPORT,
    _fava,
    _open_dashboard,
    _watch_console,
)

from ailab_books.dashboard.prerender import headline_html, tokens_text

TIERS = (("Hobby", "3.5", "0.9"), ("Pro", "12.25", "1.7"), ("Team", "40.0", "1.2"), ("Gratis", "0.8", None))
LAST_DAY = {1: 31, 2: 28, 3: 31, 4: 30}
NO_TOKENS = 3  # March: an outage, costs and no tokens


def small_books() -> str:
    """Four months of a one-model lab with other tier names; no tokens in March; rent in EUR."""
    lines = [
        'option "title" "Heron books"',
        'option "operating_currency" "USD"',
        'plugin "ailab_books.plugins.allocate"',
        'plugin "ailab_books.plugins.classify"',
        f'include "{ROOT / "queries" / "*.beancount"}"',
        f'2025-01-01 custom "fava-extension" "{EXTENSION}"',
        "2025-01-01 commodity MTOK",
        "2025-01-01 commodity EUR",
        "2025-01-01 open Assets:Bank USD",
        "2025-01-01 open Assets:BankEU EUR",
        "2025-01-01 open Expenses:RnD:Training:Compute USD",
        "2025-01-01 open Expenses:SGA:Rent EUR",
        "2025-01-01 open Equity:Stats:Offset",
        "2025-01-01 price EUR 1.10 USD",
        # A price fetched months after the last entry (bean-price's "today"): Fava's dates run to it.
        "2025-07-01 price EUR 1.12 USD",
        "2025-01-01 commodity GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Serving GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Training GPUH",
        # A tier being set up: it costs money and has served no token yet.
        "2025-01-01 open Expenses:COGS:Inference:Compute:Labs:Heron USD",
        "2025-01-01 open Equity:Stats:Tokens:Labs:Heron MTOK",
    ]
    for tier, _, _ in TIERS:
        lines += [
            f"2025-01-01 open Income:{tier}:Heron USD",
            f"2025-01-01 open Expenses:COGS:Inference:Compute:{tier}:Heron USD",
            f"2025-01-01 open Equity:Stats:Tokens:{tier}:Heron MTOK",
        ]
    for month, day in LAST_DAY.items():
        if month != NO_TOKENS:
            lines.append(f'2025-{month:02d}-{day} * "Metering" "Tokens"')
            lines += [f"  Equity:Stats:Tokens:{t}:Heron  {Decimal(n) * month} MTOK" for t, n, _ in TIERS]
            lines += ["  Equity:Stats:Offset", ""]
            lines.append(f'2025-{month:02d}-{day} * "Billing" "Revenue"')
            lines += [f"  Income:{t}:Heron  -{Decimal(p) * 1000 * month:.2f} USD" for t, _, p in TIERS if p]
            lines += ["  Assets:Bank", ""]
        lines.append(f'2025-{month:02d}-10 * "GPU Co" "Compute"')
        lines += [
            f"  Expenses:COGS:Inference:Compute:{t}:Heron  {300 + 10 * month}.00 USD" for t, *_ in TIERS
        ]
        lines += ["  Expenses:COGS:Inference:Compute:Labs:Heron  25.00 USD", "  Assets:Bank", ""]
        lines += [f'2025-{month:02d}-{day} * "GPU-hours"', f"  Equity:Stats:GPUH:Serving  {100 * month} GPUH"]
        lines += ["  Equity:Stats:GPUH:Training  50 GPUH", "  Equity:Stats:Offset", ""]
        lines += [
            f'2025-{month:02d}-20 * "GPU Co" "Training"',
            "  Expenses:RnD:Training:Compute  1500.00 USD",
        ]
        lines += ["  Assets:Bank", ""]
        lines += [
            f'2025-{month:02d}-15 * "Landlord" "Rent"',
            "  Expenses:SGA:Rent  800.00 EUR",
            "  Assets:BankEU",
            "",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    main = tmp_path_factory.mktemp("heron") / "main.beancount"
    main.write_text(small_books())
    return main


def lab_report(ledger: Path, *args: str) -> list[dict[str, Any]]:
    run = subprocess.run(
        [str(Path(sys.executable).parent / "lab-report"), str(ledger), "--format", "json", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[dict[str, Any]] = json.loads(run.stdout)
    return rows


# ------------------------------------------------------------------ without a browser


@pytest.mark.parametrize(
    ("million_tokens", "text"),
    [
        ("35740800", "35.7 trillion tokens"),
        ("1000000", "1 trillion tokens"),
        ("4500", "4.5 billion tokens"),
        ("90.48", "90.5 million tokens"),
        ("0.8", "0.8 million tokens"),
        ("40", "40 million tokens"),
    ],
)
def test_tokens_are_written_in_the_scale_of_their_size(million_tokens: str, text: str) -> None:
    assert tokens_text(Decimal(million_tokens)) == text


def test_server_headline_of_small_books_does_not_say_zero_trillion() -> None:
    figures = {
        "label": "2025-06",
        "million_tokens": "90.48",
        "price": "252.43",
        "cost_of_serving": "46.43",
        "gross_margin": "206.01",
        "full_cost": "72.51",
        "net_margin": "179.93",
    }
    answer = {"status": "ok", "notices": [], "data": {"headline": {"month": figures, "period": figures}}}
    html = headline_html(answer)
    assert "(90.5 million tokens)" in html
    assert "trillion" not in html


def test_the_small_books_are_what_the_tests_below_assume(books: Path) -> None:
    rows = {r["month"]: r for r in lab_report(books)}
    assert Decimal(rows["2025-03"]["million_tokens"]) == 0
    assert rows["2025-03"]["net_margin_per_mtok"] is None
    unattributed = [r for r in lab_report(books, "--by", "tier") if r["tier"] == "(unattributed)"]
    assert unattributed and all(Decimal(r["million_tokens"]) == 0 for r in unattributed)
    total = next(r for r in unattributed if r["month"] == "Total")
    assert Decimal(total["net_margin"]) < 0


# ------------------------------------------------------------------ in a real browser

pytestmark_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


def _spec(page: Any, title: str) -> dict[str, Any]:
    """What the page drew for a chart: axis data and labels, axis name, series values, notices."""
    return dict(
        page.evaluate(
            """(t) => { const s = window.unitEconomics[t];
                const x = s.xAxis?.data ?? null; const f = s.xAxis?.axisLabel?.formatter;
                return {x, xLabels: x && typeof f === 'function' ? x.map(f) : x,
                        yName: s.yAxis?.name ?? null, noData: s.noData ?? null,
                        subtext: s.title?.subtext ?? '',
                        series: Object.fromEntries((s.series ?? []).map((v) => [v.name, (v.data ?? []).map(
                            (d) => (d && typeof d === 'object' && 'value' in d) ? d.value : d)]))}; }""",
            title,
        )
    )


@pytestmark_browser
def test_small_books_read_right_in_a_browser(books: Path) -> None:
    from playwright.sync_api import sync_playwright

    tiers_chart, tier_margins, models_tokens = CHARTS[2], CHARTS[6], CHARTS[3]
    margins, cost_stack = CHARTS[0], CHARTS[1]
    per_token = [margins, cost_stack, tier_margins, CHARTS[7], tiers_chart, models_tokens]
    with _fava(books) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            _open_dashboard(page, url, canvases=1)
            tokens_shown = page.locator("[data-figure='month.million_tokens'] .ue-v").inner_text()
            drawn = (margins, cost_stack, tier_margins, tiers_chart, CHARTS[4])
            whole = {title: _spec(page, title) for title in drawn}
            _open_dashboard(page, url + "?time=2025-03", canvases=1)
            march = {title: _spec(page, title) for title in per_token}
            _open_dashboard(page, url + "?time=2025-04", canvases=1)
            april_change = page.locator("[data-figure='month.net_margin'] .ue-c").inner_text()
        finally:
            browser.close()

    # 2025-04: 4 x (3.5 + 12.25 + 40 + 0.8) = 226.2 million tokens, not "0.00 trillion"
    assert tokens_shown == "226.2 million tokens", tokens_shown
    assert whole[tiers_chart]["yName"] == "millions of tokens"
    tokens = {
        r["month"]: float(r["million_tokens"])
        for r in lab_report(books, "--by", "tier")
        if r["tier"] == "Pro"
    }
    pro = dict(zip(whole[tiers_chart]["x"], whole[tiers_chart]["series"]["Pro"], strict=True))
    assert {m: pro[m] for m in tokens if m not in ("2025-03", "Total")} == {
        m: tokens[m] for m in tokens if m not in ("2025-03", "Total")
    }
    assert "(unattributed)" not in whole[tiers_chart]["series"]
    # The month without tokens is labelled on the time axes, not a silent gap.
    for title in (margins, cost_stack):
        assert whole[title]["xLabels"][2] == "2025-03\n(no tokens)", (title, whole[title]["xLabels"])
        assert whole[title]["xLabels"][1] == "2025-02"
    # The costs of that month: no empty category, their net amount said in words (lab-report's).
    total = next(
        r
        for r in lab_report(books, "--by", "tier")
        if r["tier"] == "(unattributed)" and r["month"] == "Total"
    )
    net = Decimal(total["net_margin"])
    assert whole[tier_margins]["x"] == ["Gratis", "Hobby", "Labs", "Pro", "Team"]
    # The tier without tokens has no bar: its name says why.
    assert whole[tier_margins]["xLabels"][2] == "Labs\n(no tokens)"
    assert whole[tier_margins]["xLabels"][3] == "Pro"
    assert f"net \N{MINUS SIGN}${abs(net):,.2f}" in whole[tier_margins]["subtext"], whole[tier_margins][
        "subtext"
    ]
    # A window with no tokens at all: each per-token panel says so, none is a blank box.
    for title in per_token:
        said = march[title]["noData"] or ""
        assert said.startswith("no tokens served in 2025-03"), (title, march[title])
    # GPU-hours end with the last month recorded, not with the later price (empty months read as idle).
    assert whole[CHARTS[4]]["x"] == ["2025-01", "2025-02", "2025-03", "2025-04"], whole[CHARTS[4]]["x"]
    # April's previous month served no token: said so, not "no earlier period in the books".
    assert april_change == "no tokens served in 2025-03: nothing to compare", april_change
    assert not problems, problems


# ------------------------------------------------------------------ a time filter typed backwards


@pytest.mark.parametrize("typed", ["2026-10 - 2026-09", "2026-09-20 - 2026-09-10"])
def test_a_backwards_time_filter_shows_no_month_of_its_own(typed: str) -> None:
    """Fava selects nothing for an empty range; the per-token panels must not show its first
    month as if asked for (they showed 2026-10, whole, with no notice)."""
    from fava.util.date import parse_date

    from ailab_books.dashboard.figures import Filters, respond
    from ailab_books.queries.runner import load_ledger

    books = load_ledger(ROOT / "ledger" / "main.beancount", require_pipeline=True)
    begin, end = parse_date(typed)
    assert begin is not None and end is not None and end <= begin  # Fava's reading: an empty period
    answer = respond(books, Filters(time=typed, account="", advanced=""), parse_date)
    assert answer["status"] == "no-data"
    assert answer["data"] is None
    assert answer["message"].startswith(
        f'no data for this filter: your time filter "{typed}" is an empty period'
    )


def test_previous_period_is_labelled_with_the_months_the_books_have(books: Path) -> None:
    """Three months from 2025-02 are compared with the three before, of which the books
    have only 2025-01: the label says 2025-01, not "2024-11 - 2025-01"."""
    from fava.util.date import parse_date

    from ailab_books.dashboard.figures import Filters, respond
    from ailab_books.queries.runner import load_ledger

    ledger = load_ledger(books, require_pipeline=True)
    answer = respond(ledger, Filters(time="2025-02 - 2025-04", account="", advanced=""), parse_date)
    previous = answer["data"]["headline"]["previous_period"]
    assert previous["label"] == "2025-01"
    january = next(
        r for r in lab_report(books, "--from", "2025-01", "--to", "2025-01") if r["month"] == "Total"
    )
    assert previous["net_margin"] == january["net_margin_per_mtok"]


# ------------------------------------------------------------------ books kept in euros


def euro_books() -> str:
    """The small books with the currencies swapped: operating currency EUR, a rent in USD."""
    text = small_books().replace("USD", "\0").replace("EUR", "USD").replace("\0", "EUR")
    return text.replace("price USD 1.10 EUR", "price USD 0.91 EUR").replace(
        "price USD 1.12 EUR", "price USD 0.89 EUR"
    )


@pytest.fixture(scope="module")
def euros(tmp_path_factory: pytest.TempPathFactory) -> Path:
    main = tmp_path_factory.mktemp("euro") / "main.beancount"
    main.write_text(euro_books())
    return main


def test_euro_books_are_not_shown_in_dollars_by_the_server(euros: Path) -> None:
    from fava.util.date import parse_date

    from ailab_books.dashboard.figures import Filters, respond
    from ailab_books.queries.runner import load_ledger

    answer = respond(load_ledger(euros, require_pipeline=True), Filters(), parse_date)
    assert answer["currency"] == "EUR"
    html = headline_html(answer)
    assert "\N{EURO SIGN}" in html
    assert "$" not in html and "dollars" not in html


#: The Model P&L page's per-Mtok chart (PNL_TITLES.perMtok in dashboard/static/unit-economics.js).
PNL_PER_MTOK = "Gross, after-training and net margin per million tokens, by model (period)"


@pytestmark_browser
def test_euro_books_are_not_shown_in_dollars_in_a_browser(euros: Path) -> None:
    from playwright.sync_api import sync_playwright

    with _fava(euros) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            _open_dashboard(page, url, canvases=1)
            headline = page.locator("[data-period=month]").inner_text()
            sentence = page.locator("article").inner_text()
            axes = {
                title: _spec(page, title)["yName"] for title in (CHARTS[0], CHARTS[1], CHARTS[6], CHARTS[7])
            }
            # The Model P&L page of the same books: no dollar sign or word either.
            page.goto(f"{url}?dashboard=model-p-l")
            page.wait_for_selector("[data-table=life-table], [data-no-data]", timeout=60_000)
            page.wait_for_function(
                "(t) => window.unitEconomics && t in window.unitEconomics", arg=PNL_PER_MTOK, timeout=60_000
            )
            pnl_text = page.locator("article").inner_text()
            pnl_axis = _spec(page, PNL_PER_MTOK)["yName"]
        finally:
            browser.close()
    assert "\N{EURO SIGN}" in headline and "$" not in headline, headline
    assert "dollars" not in sentence and "EUR per million tokens" in sentence
    assert set(axes.values()) == {"\N{EURO SIGN} per million tokens"}, axes
    assert "$" not in pnl_text and "dollars" not in pnl_text, pnl_text
    assert pnl_axis == "\N{EURO SIGN} per million tokens", pnl_axis
    assert not problems, problems
