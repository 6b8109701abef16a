"""The unit-economics dashboard in a real browser.

Starts Fava (``lab-fava``) on a free localhost port with the example ledger, opens the
dashboard in headless Chromium (Debian's ``chromium`` package, driven by
Playwright for Python; no browser is downloaded), waits until every chart has
drawn, checks that each holds data and that no panel shows an error, applies a
time filter and checks that the figures change, and saves a screenshot to
``tests/artifacts/`` (and to ``docs/dashboard.png`` when ``UPDATE_SCREENSHOT=1``).

Skipped only when ``/usr/bin/chromium`` is missing; CI installs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEDGER = Path(os.environ.get("AILAB_TEST_LEDGER", ROOT / "ledger" / "main.beancount"))
CHROMIUM = Path("/usr/bin/chromium")
# The dashboard extension the books load (dashboard/fava.beancount; docs/security.md).
EXTENSION = "ailab_books.dashboard.extension"
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SHOT = ROOT / "docs" / "dashboard.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Panel titles of dashboard/static/unit-economics.js (its TITLES table).
CHARTS = [
    "Gross and net margin per million tokens",
    "Cost per million tokens, by cost line",
    "Tokens served by tier",
    "Tokens served by model",
    "GPU-hours by workload (idle included; follows Fava's filters)",
    "Where the shared pools went: pool → activity → cost class"
    " (follows Fava's filters; step-down pools in grey)",
    "Margin per million tokens by tier (period total)",
    "Margin per million tokens by model (period total)",
]
VIEWPORT = {"width": 1400, "height": 1000}
# The year of the time-filter check: a year inside the example ledger that
# does not cover all of it.
FILTER_YEAR = os.environ.get("AILAB_TEST_YEAR", "2026")

# CI (.ci/run, CI=true) installs Chromium, so there its absence fails instead of skipping the page's tests.
if not CHROMIUM.exists() and os.environ.get("CI") == "true":
    pytest.fail("no /usr/bin/chromium under CI: .ci/run installs it (apt-get chromium)", pytrace=False)
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _fava(ledger: Path) -> Iterator[str]:
    """Start Fava (``lab-fava``, as the README does) on a free port for ``ledger``; yield the
    dashboard's URL; stop Fava."""
    port = _free_port()
    fava = shutil.which("lab-fava", path=str(Path(sys.executable).parent)) or "lab-fava"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"fava-{ledger.parent.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [fava, "--host", "127.0.0.1", "--port", str(port), str(ledger)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            landing = ""
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"fava exited with {proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(base + "/", timeout=5) as resp:
                        landing = resp.geturl()  # redirected to /<slug>/income_statement/
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.3)
            else:
                pytest.fail("fava did not answer within 120 s")
            slug = landing[len(base) :].strip("/").split("/")[0]
            yield f"{base}/{slug}/extension/UnitEconomics/"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def fava_url() -> Iterator[str]:
    """Fava on the example ledger (or AILAB_TEST_LEDGER)."""
    if not LEDGER.exists():
        pytest.fail(f"example ledger {LEDGER} is missing")
    with _fava(LEDGER) as url:
        yield url


def _charts_state(page: Any) -> dict[str, Any]:
    """Per recorded chart: the x-axis and the number of points per series."""
    return page.evaluate(
        """() => {
            const out = {};
            for (const [title, spec] of Object.entries(window.unitEconomics ?? {})) {
                const series = (spec.series ?? []).map((s) => ({
                    name: s.name ?? s.type,
                    points: (s.data ?? []).filter((d) => d !== null && d !== undefined).length,
                    links: (s.links ?? []).length,
                    sum: (s.data ?? []).reduce((a, d) => a + (typeof d === 'number' ? d : 0), 0),
                }));
                out[title] = {xAxis: spec.xAxis?.data ?? null, series};
            }
            return out;
        }"""
    )


def _open_dashboard(page: Any, url: str, canvases: int = len(CHARTS)) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_function(
        "(n) => Object.keys(window.unitEconomics ?? {}).length >= n || "
        "document.querySelector('[role=alert]') !== null",
        arg=len(CHARTS),
        timeout=120_000,
    )
    alerts = page.locator("[role=alert]").all_inner_texts()
    assert not alerts, f"the dashboard shows errors: {alerts}"
    page.wait_for_function(
        "(n) => document.querySelectorAll('canvas').length >= n", arg=canvases, timeout=30_000
    )
    page.wait_for_timeout(500)  # let the last canvas paint (animation is off)
    return _charts_state(page)


def _watch_console(page: Any) -> list[str]:
    """What the page says went wrong: uncaught errors, and console errors and warnings (ECharts throws
    "Component ... is used but not imported" when its build lacks a part a chart needs; a panel that
    fails logs its error)."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None,
    )
    return problems


def _screenshot(page: Any, path: Path) -> None:
    """The whole dashboard: Fava scrolls inside <article>, so grow the viewport to fit it."""
    height = page.evaluate(
        "() => { const a = document.querySelector('article');"
        " return Math.ceil(a.getBoundingClientRect().top + a.scrollHeight); }"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height)})
    page.wait_for_timeout(700)  # ECharts redraws on resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)


def _assert_has_data(state: dict[str, Any]) -> None:
    assert set(CHARTS) <= set(state), f"charts drawn: {sorted(state)}"
    for title in CHARTS:
        series = state[title]["series"]
        assert series, f"{title}: no series"
        assert any(s["points"] or s["links"] for s in series), f"{title}: series hold no data"


def test_dashboard_draws_and_follows_time_filter(fava_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page_errors = _watch_console(page)

            everything = _open_dashboard(page, fava_url)
            _assert_has_data(everything)
            assert "Gross margin / Mtok" in {s["name"] for s in everything[CHARTS[0]]["series"]}
            gpuh_names = {s["name"] for s in everything[CHARTS[4]]["series"]}
            assert "Idle" in gpuh_names, f"GPU-hours chart lacks idle time: {gpuh_names}"
            _screenshot(page, ARTIFACTS / "dashboard.png")
            if os.environ.get("UPDATE_SCREENSHOT") == "1":
                _screenshot(page, README_SHOT)

            filtered = _open_dashboard(page, f"{fava_url}?time={FILTER_YEAR}")
            _assert_has_data(filtered)
            _screenshot(page, ARTIFACTS / f"dashboard-{FILTER_YEAR}.png")
        finally:
            browser.close()

    assert not page_errors, f"JavaScript errors or warnings: {page_errors}"
    months_all = everything[CHARTS[0]]["xAxis"]
    months_year = filtered[CHARTS[0]]["xAxis"]
    assert months_year, "no months under the time filter"
    assert all(m.startswith(FILTER_YEAR) for m in months_year), months_year
    assert len(months_year) < len(months_all), (months_all, months_year)
    assert filtered != everything, "the time filter changed nothing"


def _cost_stack_sums(state: dict[str, Any]) -> dict[str, float]:
    """Per series of the cost-stack chart: the sum over the months drawn."""
    return {s["name"]: s["sum"] for s in state[CHARTS[1]]["series"]}


def test_cost_stack_classes_come_from_the_query(fava_url: str, tmp_path: Path) -> None:
    """The page stacks as COGS exactly what the gross view counts, on the example
    and on books that override classes on an `open` (test_cost_classes.OVERRIDES)."""
    from playwright.sync_api import sync_playwright
    from test_cost_classes import OVERRIDES

    overrides = tmp_path / "overrides" / "main.beancount"
    overrides.parent.mkdir()
    overrides.write_text(
        OVERRIDES
        + f'include "{ROOT / "queries" / "*.beancount"}"\n'
        + f'2025-01-01 custom "fava-extension" "{EXTENSION}"\n'
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            example = _cost_stack_sums(_open_dashboard(page, fava_url))
            with _fava(overrides) as url:
                # Books without GPU-hours or allocations: some panels draw nothing.
                overridden = _cost_stack_sums(_open_dashboard(page, url, canvases=1))
        finally:
            browser.close()

    for sums in (example, overridden):
        cogs = sum(v for name, v in sums.items() if name.startswith("COGS"))
        totals = {"Total COGS / MTOK (gross view)", "Full cost / MTOK (net view)"}
        other = sum(v for name, v in sums.items() if not name.startswith("COGS") and name not in totals)
        # Each column is rounded to 6 places on its own: allow half a unit of the
        # last place per column and month (22 months, 20 columns).
        assert cogs == pytest.approx(sums["Total COGS / MTOK (gross view)"], abs=2.5e-4)
        assert cogs + other == pytest.approx(sums["Full cost / MTOK (net view)"], abs=2.5e-4)
    # One month, 10 Mtok: COGS 4.00 compute + 3.00 of the R&D account marked
    # inference; the COGS-tree account marked training is stacked as R&D.
    assert overridden["COGS: Compute"] == pytest.approx(4.0)
    assert overridden["COGS: Other"] == pytest.approx(3.0)
    assert overridden["R&D: Other"] == pytest.approx(2.5)


# ------------------------------------------------------------------ headline, filters, segments

HEADLINE_FIGURES = ("price", "cost_of_serving", "gross_margin", "full_cost", "net_margin", "million_tokens")


def _per_mtok_text(value: Decimal, signed: bool) -> str:
    """The page's rendering of a figure in $ per Mtok (perMtok in static/unit-economics.js)."""
    size = abs(value)
    digits = 2 if size >= 1 else 3 if size >= Decimal("0.1") else 4 if size >= Decimal("0.001") else 6
    text = f"${size:,.{digits}f}"
    if value < 0:
        return "\N{MINUS SIGN}" + text
    return f"+{text}" if signed and value > 0 else text


def _browser() -> Any:
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _figures_on_page(page: Any) -> dict[str, tuple[str, str]]:
    """Every headline figure: data-figure -> (data-value, the text shown)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(
            (e) => [e.dataset.figure, [e.dataset.value, e.querySelector('.ue-v').innerText]]))"""
    )


def test_headline_equals_lab_report_for_a_filtered_month(fava_url: str) -> None:
    """Under ?time=2026-09, every headline figure is lab-report's for 2026-09
    (``summary`` with --from/--to 2026-09), shown with its sign in words."""
    from ailab_books.queries.economics import Month, Window, per_mtok, summary
    from ailab_books.queries.runner import load_ledger

    books = load_ledger(LEDGER, require_pipeline=True)
    month = Month(2026, 9)
    (row, total) = summary(books, Window(month, month)).to_dict("records")
    tokens = row["million_tokens"]
    expected = {
        "price": per_mtok(row["revenue"], tokens),
        "cost_of_serving": per_mtok(row["inference_cogs"], tokens),
        "gross_margin": row["gross_margin_per_mtok"],
        "full_cost": per_mtok(row["all_costs"], tokens),
        "net_margin": row["net_margin_per_mtok"],
        "million_tokens": tokens,
    }
    assert total["net_margin_per_mtok"] == row["net_margin_per_mtok"]
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            _open_dashboard(page, f"{fava_url}?time=2026-09")
            shown = _figures_on_page(page)
            headline = page.locator("[data-period=month]").inner_text()
        finally:
            browser.close()
    assert "2026-09" in headline
    for period in ("month", "period"):
        for name in HEADLINE_FIGURES:
            value, text = shown[f"{period}.{name}"]
            figure = expected[name]
            assert figure is not None
            assert Decimal(value) == figure, (period, name, value, figure)
            if name != "million_tokens":
                margin = name.endswith("margin")
                assert text.startswith(_per_mtok_text(figure, signed=margin)), (period, name, text)
                if margin:
                    assert ("a loss" in text) == (figure < 0) and ("a profit" in text) == (figure > 0), text
    assert expected["net_margin"] is not None and expected["net_margin"] < 0  # the example loses money net


# (query, words the page must show in a notice or a panel); none of them may answer 500.
BROKEN_FILTERS = [
    ("?time=2026-09-15 - 2026-10-15", "whole months containing your filter 2026-09-15"),
    ("?account=Expenses:COGS", "your account filter"),
    ("?filter=%23training", "your tag/payee filter"),
    ('?filter=payee:"nobody at all"', "no data for this filter"),
    ("?time=2020", "no data for this filter"),
    ("?time=bogus", 'Fava cannot read the time filter "bogus"'),
]


def test_broken_filters_show_their_message_and_no_500(fava_url: str) -> None:
    failures: list[str] = []
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 500 else None)
            for query, words in BROKEN_FILTERS:
                state = _open_dashboard(page, fava_url + query)
                notes = " ".join(page.locator("[role=status]").all_inner_texts())
                no_data = page.evaluate(
                    "() => Object.values(window.unitEconomics).map((s) => s.noData ?? '').join(' ')"
                )
                assert words in notes + " " + no_data, (query, notes, no_data)
                for title in CHARTS:
                    spec = state[title]
                    drawn = any(s["points"] or s["links"] for s in spec["series"])
                    said = page.evaluate("(t) => window.unitEconomics[t].noData ?? ''", title)
                    assert drawn or said.startswith("no data for this filter"), (query, title)
                _screenshot(
                    page, ARTIFACTS / f"dashboard-filter-{len(failures)}-{abs(hash(query)) % 1000}.png"
                )
        finally:
            browser.close()
    assert not failures, failures
    assert not problems, problems


def test_tier_and_model_panels_plot_margins(fava_url: str) -> None:
    """The tier and model panels plot gross and net margin per Mtok (lab-report's
    by_segment Total rows): the free tier's and Wren's losses are there."""
    from ailab_books.queries.economics import ALL, TOTAL, by_segment, per_mtok
    from ailab_books.queries.runner import load_ledger

    books = load_ledger(LEDGER, require_pipeline=True)
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            _open_dashboard(page, fava_url)
            plotted = page.evaluate(
                """() => Object.fromEntries(Object.entries(window.unitEconomics).map(([t, s]) =>
                    [t, {x: s.xAxis?.data ?? null,
                         series: Object.fromEntries((s.series ?? []).map((x) =>
                            [x.name, (x.data ?? []).map((d) => d?.value ?? d)]))}]))"""
            )
        finally:
            browser.close()
    for title, by in ((CHARTS[6], "tier"), (CHARTS[7], "model")):
        rows = [r for r in by_segment(books, by).to_dict("records") if r["month"] == TOTAL and r[by] != ALL]
        assert plotted[title]["x"] == [r[by] for r in rows]
        for series, column in (
            ("Gross margin / Mtok", "gross_margin_per_mtok"),
            ("Net margin / Mtok", "net_margin_per_mtok"),
        ):
            assert plotted[title]["series"][series] == [float(r[column]) for r in rows], (title, series)
        # Price and cost of serving per Mtok: lab-report's per_mtok of the row's revenue and COGS.
        for series, amount in (("Price / Mtok", "revenue"), ("Cost of serving / Mtok", "inference_cogs")):
            values = [per_mtok(r[amount], r["million_tokens"]) for r in rows]
            expected = [None if value is None else float(value) for value in values]
            assert plotted[title]["series"][series] == expected, (title, series)
    tiers = dict(
        zip(plotted[CHARTS[6]]["x"], plotted[CHARTS[6]]["series"]["Gross margin / Mtok"], strict=True)
    )
    assert tiers["Free"] < 0
    models = dict(
        zip(plotted[CHARTS[7]]["x"], plotted[CHARTS[7]]["series"]["Net margin / Mtok"], strict=True)
    )
    assert models["Wren"] < 0


# ------------------------------------------------------------------ Fava's own navigation

MARGINS = CHARTS[0]
PNL_PER_MTOK = "Gross, after-training and net margin per million tokens, by model (period)"
Q3 = ["2026-07", "2026-08", "2026-09"]


def _wait_for_charts(page: Any, months: list[str] | None = None) -> dict[str, Any]:
    """After Fava's navigation (no page.goto): wait until the page has redrawn every chart (for the
    time filter whose months are ``months``, when given); the charts' state."""
    page.wait_for_function(
        """([title, months, n]) => {
            const drawn = window.unitEconomics ?? {};
            return (months === null || JSON.stringify(drawn[title]?.xAxis?.data) === JSON.stringify(months))
                && Object.keys(drawn).length >= n && document.querySelectorAll('canvas').length >= n;
        }""",
        arg=[MARGINS, months, len(CHARTS)],
        timeout=120_000,
    )
    page.wait_for_timeout(500)
    return _charts_state(page)


def _tabs(page: Any) -> list[tuple[str, str, str | None]]:
    """The page's tab links: (name, href, aria-current)."""
    tabs: list[tuple[str, str, str | None]] = [
        tuple(tab)
        for tab in page.evaluate(
            """() => [...document.querySelectorAll('nav.ue-tabs a')].map(
                (a) => [a.textContent, a.getAttribute('href'), a.getAttribute('aria-current')])"""
        )
    ]
    return tabs


def test_fava_time_filter_redraws_the_page_in_place(fava_url: str) -> None:
    """Typing a time in Fava's filter bar (Fava's own navigation: it fetches the page's HTML and calls
    onExtensionPageLoad again, no page load) redraws every panel with that period's figures, the same
    as opening its URL, and leaves no chart of the whole books' page behind."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            whole = _open_dashboard(page, fava_url)
            page.evaluate("() => { window.ueSamePage = true; }")  # gone if the browser loads a page
            time_filter = page.locator("input[placeholder='Time']")
            time_filter.fill("2026-Q3")
            time_filter.press("Enter")
            in_place = _wait_for_charts(page, Q3)
            same_page = page.evaluate("() => window.ueSamePage === true")
            url = page.url
            shown = _figures_on_page(page)
            charts = page.evaluate("() => document.querySelectorAll('#ue-app [_echarts_instance_]').length")
            canvases = page.evaluate("() => document.querySelectorAll('canvas').length")
            _screenshot(page, ARTIFACTS / "dashboard-fava-filter.png")
            opened = _open_dashboard(page, f"{fava_url}?time=2026-Q3")
            opened_figures = _figures_on_page(page)
        finally:
            browser.close()
    assert same_page, "Fava's time filter reloaded the browser's page"
    assert url == f"{fava_url}?time=2026-Q3", url
    assert whole[MARGINS]["xAxis"] != Q3
    assert in_place == opened, "the page redrawn in place differs from the same filter opened afresh"
    assert shown == opened_figures
    assert shown["period.price"][0] != "" and all(
        figure in shown for figure in ("month.price", "period.price")
    )
    # Exactly one chart per chart panel: none of the whole books' page is left over.
    assert charts == canvases == len(CHARTS), (charts, canvases)
    assert not problems, problems


def test_tabs_switch_pages_and_keep_favas_filters(fava_url: str) -> None:
    """The tab links go between Unit economics and Model P&L through Fava's navigation and keep
    Fava's filters (time=2026-Q3): each page drawn after a click is the page its URL opens."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            _open_dashboard(page, f"{fava_url}?time=2026-Q3")
            first_tabs = _tabs(page)
            page.evaluate("() => { window.ueSamePage = true; }")
            page.locator("nav.ue-tabs a", has_text="Model P&L").click()
            page.wait_for_selector("[data-table=life-table]", timeout=120_000)
            page.wait_for_function(
                "(t) => window.unitEconomics?.[t] !== undefined", arg=PNL_PER_MTOK, timeout=60_000
            )
            pnl_url = page.url
            pnl_tabs = _tabs(page)
            pnl = page.evaluate("(t) => window.unitEconomics[t].series.map((s) => s.data)", PNL_PER_MTOK)
            pnl_subtitle = page.evaluate("(t) => window.unitEconomics[t].title?.subtext", PNL_PER_MTOK)
            page.locator("nav.ue-tabs a", has_text="Unit economics").click()
            back = _wait_for_charts(page, Q3)
            back_url = page.url
            same_page = page.evaluate("() => window.ueSamePage === true")
            page.goto(pnl_url)
            page.wait_for_function(
                "(t) => window.unitEconomics?.[t] !== undefined", arg=PNL_PER_MTOK, timeout=120_000
            )
            pnl_opened = page.evaluate(
                "(t) => window.unitEconomics[t].series.map((s) => s.data)", PNL_PER_MTOK
            )
        finally:
            browser.close()
    base = fava_url[fava_url.index("/", len("http://")) :]
    assert first_tabs == [
        ("Unit economics", f"{base}?time=2026-Q3&dashboard=unit-economics", "page"),
        ("Model P&L", f"{base}?time=2026-Q3&dashboard=model-p-l", None),
    ], first_tabs
    assert pnl_url == f"{fava_url}?time=2026-Q3&dashboard=model-p-l", pnl_url
    assert [current for _, _, current in pnl_tabs] == [None, "page"], pnl_tabs
    assert pnl_subtitle == "Whole books, 2026-07 \N{EN DASH} 2026-09", pnl_subtitle
    assert pnl == pnl_opened
    assert back_url == f"{fava_url}?time=2026-Q3&dashboard=unit-economics", back_url
    assert back[MARGINS]["xAxis"] == Q3
    assert same_page, "a tab link reloaded the browser's page instead of Fava's navigation"
    assert not problems, problems


BROKEN = "A panel whose spec throws"


def test_a_panel_that_fails_says_so_in_its_own_box(fava_url: str) -> None:
    """A panel whose spec throws shows role=alert with its error in its own box; every other panel
    still draws (UnitEconomics.js draws each panel on its own). The page's module is served with one
    more panel, whose spec throws, after the tier margins."""
    from playwright.sync_api import Route, sync_playwright

    anchor = 'segmentMarginsPanel(TITLES.tierMargins, "tier"),'
    broken = (
        f'{{ title: "{BROKEN}", width: "50%", height: "200px", kind: "echarts",'
        ' spec: async () => { throw new Error("no such column <b>x</b>"); } },'
    )

    def with_broken_panel(route: Route) -> None:
        response = route.fetch()
        script = response.text()
        assert script.count(anchor) == 1, "the page's module changed: update this test's anchor"
        route.fulfill(response=response, body=script.replace(anchor, anchor + broken))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            page.route("**/script?name=page&*", with_broken_panel)
            page.goto(fava_url)
            page.wait_for_function(
                "(n) => Object.keys(window.unitEconomics ?? {}).length >= n && "
                "document.querySelectorAll('canvas').length >= n",
                arg=len(CHARTS),
                timeout=120_000,
            )
            alerts = page.evaluate(
                """() => [...document.querySelectorAll('[role=alert]')].map(
                    (a) => [a.closest('section.ue-panel')?.querySelector('h3')?.textContent, a.innerText])"""
            )
            state = _charts_state(page)
            _screenshot(page, ARTIFACTS / "dashboard-failing-panel.png")
        finally:
            browser.close()
    # The error's text is escaped: "<b>x</b>" is shown, not made bold.
    assert alerts == [[BROKEN, "This panel failed: no such column <b>x</b>"]], alerts
    _assert_has_data(state)
    assert BROKEN not in state
    assert problems and all(BROKEN in problem for problem in problems), problems


# An invoice for September 2026 that the example books do not have: it moves that month's price.
EXTRA_INVOICE = """
2026-09-30 * "Test customer" "An invoice added while the page is open"
  Assets:AccountsReceivable                            1000000.00 USD
  Income:Subscription                                 -1000000.00 USD
"""


def _copy_of_the_books(folder: Path) -> Path:
    """The example's main file in ``folder``, its includes made absolute (the rest is read in place)."""
    lines = []
    for line in LEDGER.read_text(encoding="utf-8").splitlines():
        if line.startswith('include "'):
            line = f'include "{(LEDGER.parent / line.split(chr(34))[1]).resolve()}"'
        lines.append(line)
    main = folder / "main.beancount"
    main.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return main


def test_an_edit_of_the_books_shows_the_new_figures_after_favas_reload(tmp_path: Path) -> None:
    """Fava sees the edited file ("File change detected. Click to reload."); after its reload (its own
    navigation: the page's script stays in the browser) the headline is lab-report's on the edited
    books, not the answer the page fetched for the same filter before the edit."""
    from playwright.sync_api import sync_playwright

    from ailab_books.queries.economics import Month, Window, per_mtok, summary
    from ailab_books.queries.runner import load_ledger

    main = _copy_of_the_books(tmp_path)
    september = Window(Month(2026, 9), Month(2026, 9))

    def price(books: Path) -> Decimal:
        row = summary(load_ledger(books, require_pipeline=True), september).to_dict("records")[0]
        figure = per_mtok(row["revenue"], row["million_tokens"])
        assert figure is not None
        return figure

    before = price(main)
    scripts: list[str] = []
    with _fava(main) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            page.on("request", lambda r: scripts.append(r.url) if "script?name=page" in r.url else None)
            _open_dashboard(page, f"{url}?time=2026-09")
            shown_before = _figures_on_page(page)["month.price"][0]
            page.evaluate("() => { window.ueSamePage = true; }")
            with main.open("a", encoding="utf-8") as books:
                books.write(EXTRA_INVOICE)
            page.get_by_text("File change detected").click(timeout=60_000)
            page.wait_for_function(
                "(v) => { const shown = document.querySelector('[data-figure=\"month.price\"]');"
                " return shown !== null && shown.dataset.value !== v; }",
                arg=shown_before,
                timeout=120_000,
            )
            shown_after = _figures_on_page(page)["month.price"][0]
            same_page = page.evaluate("() => window.ueSamePage === true")
        finally:
            browser.close()
    after = price(main)
    assert after > before  # the books' figure moved: the test means something
    assert Decimal(shown_before) == before
    assert Decimal(shown_after) == after, (shown_after, after)
    assert same_page, "Fava's reload reloaded the browser's page"
    # The page's module was fetched once per load of the books: its answers are cached per load.
    loads = [parse_qs(urlsplit(script).query)["load"][0] for script in scripts]
    assert len(loads) == 2 and loads[0] != loads[1], scripts
    assert not problems, problems


@pytest.mark.parametrize("script", ["echarts", "page"])
def test_a_script_that_did_not_arrive_is_fetched_again_on_the_next_view(fava_url: str, script: str) -> None:
    """When ECharts cannot be fetched (the server restarting, a dropped connection) each chart says so
    in its own box (role=alert) and the headline still shows; when the page's own module cannot, the
    page says so in one box. Either way the next view of the page (Fava's navigation, as a click on
    the sidebar's link) fetches it again and draws, instead of repeating the failure until the books
    change."""
    from playwright.sync_api import Route, sync_playwright

    fetched: list[str] = []

    def drop_the_first(route: Route) -> None:
        fetched.append(route.request.url)
        if len(fetched) == 1:
            route.abort()
        else:
            route.continue_()

    expected = len(CHARTS) if script == "echarts" else 1
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.route(f"**/script?name={script}*", drop_the_first)
            page.goto(fava_url)
            alerts_before = page.locator("#ue-app [role=alert]")
            alerts_before.first.wait_for(timeout=120_000)
            page.wait_for_function(
                "(n) => document.querySelectorAll('#ue-app [role=alert]').length >= n", arg=expected
            )
            said = alerts_before.all_inner_texts()
            headline = page.locator("[data-period=month]").all_inner_texts()
            page.evaluate("() => { window.ueSamePage = true; }")
            page.locator("aside a", has_text="Unit economics").click()
            state = _wait_for_charts(page)
            alerts = page.locator("[role=alert]").all_inner_texts()
            same_page = page.evaluate("() => window.ueSamePage === true")
        finally:
            browser.close()
    assert len(said) == expected, said
    if script == "echarts":
        words = "the chart library (ECharts) did not load, open the page again"
        assert all(words in text for text in said), said
        assert len(headline) == 1 and "per million tokens" in headline[0], headline
    else:
        assert said[0].startswith("The page's script did not load:"), said
    assert len(fetched) == 2, fetched
    assert same_page
    assert not alerts, alerts
    _assert_has_data(state)


def test_a_filter_changed_before_the_page_has_drawn_leaves_only_the_new_page(fava_url: str) -> None:
    """Fava's time filter changed while the whole books' answer is still on its way (held 3 s in the
    browser): when it comes, nothing of it is drawn, and what the page says it drew
    (``window.unitEconomics``, ``window.unitEconomicsData``) stays the new period's."""
    from playwright.sync_api import sync_playwright

    hold_unfiltered = """(() => {
        const fetchNow = window.fetch;
        window.fetch = async (...args) => {
            const response = await fetchNow(...args);
            const url = String(args[0]);
            if (url.includes('v2_unit_economics') && !url.includes('time=')) {
                await new Promise((resolve) => setTimeout(resolve, 3000));
            }
            return response;
        };
    })()"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            problems = _watch_console(page)
            page.add_init_script(hold_unfiltered)
            page.goto(fava_url)
            page.wait_for_selector("nav.ue-tabs", timeout=120_000)
            time_filter = page.locator("input[placeholder='Time']")
            time_filter.fill("2026-Q3")
            time_filter.press("Enter")
            drawn = _wait_for_charts(page, Q3)
            page.wait_for_timeout(4000)  # the whole books' answer has come meanwhile
            later = _charts_state(page)
            data_label = page.evaluate("() => window.unitEconomicsData?.showing?.label")
            canvases = page.evaluate("() => document.querySelectorAll('canvas').length")
            headline = page.locator("[data-period=period]").get_attribute("data-label")
        finally:
            browser.close()
    assert later == drawn
    assert later[MARGINS]["xAxis"] == Q3 and later[CHARTS[1]]["xAxis"] == Q3
    assert data_label == "2026-07 \N{EN DASH} 2026-09", data_label
    assert headline == "2026-07 \N{EN DASH} 2026-09", headline
    assert canvases == len(CHARTS)
    assert not problems, problems
