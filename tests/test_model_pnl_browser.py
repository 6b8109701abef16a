"""The Model P&L page in a real browser (as ``test_dashboard_browser``: ``lab-fava`` on a free
port, Debian's Chromium driven by Playwright).

The page draws with no error, its two charts hold data, the payback curve plots
``payback_curve``'s cumulative gross margin and training cost per model, the per-Mtok chart
plots the endpoint's figures per model, and the life table shows every model of ``life_table``;
a time filter moves only the per-Mtok chart, and one with no month of the books leaves it saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from test_dashboard_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LEDGER,
    VIEWPORT,
    _screenshot,
    _watch_console,
    fava_url,
    pytestmark,
)

from ailab_books.queries.lifetime import life_table, payback_curve
from ailab_books.queries.runner import load_ledger

# Skipped, like the Unit economics page's tests, without Chromium; Fava started as they start it.
__all__ = ["fava_url", "pytestmark"]

# Panel titles of the page (PNL_TITLES in dashboard/static/unit-economics.js).
CURVE = "Payback: cumulative gross margin against training cost, per model (millions)"
PER_MTOK = "Gross, after-training and net margin per million tokens, by model (period)"
PAGE = "?dashboard=model-p-l"


def _open(page: Any, url: str) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_function(
        "(titles) => titles.every((t) => t in (window.unitEconomics ?? {})) || "
        "document.querySelector('[role=alert]') !== null",
        arg=[CURVE, PER_MTOK],
        timeout=120_000,
    )
    alerts = page.locator("[role=alert]").all_inner_texts()
    assert not alerts, f"the page shows errors: {alerts}"
    page.wait_for_function("() => document.querySelectorAll('canvas').length >= 2", timeout=30_000)
    page.wait_for_selector("[data-table=life-table]", timeout=30_000)
    page.wait_for_timeout(500)
    state: dict[str, Any] = page.evaluate(
        """(titles) => Object.fromEntries(titles.map((t) => {
            const s = window.unitEconomics[t];
            return [t, {x: s.xAxis?.data ?? null, noData: s.noData ?? null,
                        series: Object.fromEntries((s.series ?? []).map((x) =>
                            [x.name, (x.data ?? []).map((d) => d?.value ?? d)]))}];
        }))""",
        [CURVE, PER_MTOK],
    )
    state["table"] = page.evaluate(
        "() => [...document.querySelectorAll('[data-table=life-table] tbody tr')].map((r) => r.dataset.model)"
    )
    return state


def test_model_pnl_page_draws_with_data(fava_url: str) -> None:
    from playwright.sync_api import sync_playwright

    books = load_ledger(LEDGER, require_pipeline=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            errors = _watch_console(page)
            whole = _open(page, fava_url + PAGE)
            _screenshot(page, ARTIFACTS / "model-pnl.png")
            if os.environ.get("UPDATE_SCREENSHOT") == "1":  # the picture in README and docs/dashboard.md
                _screenshot(page, Path(__file__).resolve().parent.parent / "docs" / "model-pnl.png")
            quarter = _open(page, fava_url + PAGE + "&time=2026-Q3")
            outside = _open(page, fava_url + PAGE + "&time=2020")
        finally:
            browser.close()
    assert not errors, f"JavaScript errors or warnings: {errors}"

    curve = payback_curve(books).to_dict("records")
    months = sorted({str(row["month"]) for row in curve})
    assert whole[CURVE]["x"] == months
    for name in sorted({str(row["model"]) for row in curve}):
        mine = {str(r["month"]): r for r in curve if r["model"] == name}
        for series, column in (
            (f"{name}: cumulative gross margin", "cumulative_gross_margin"),
            (f"{name}: training cost", "cumulative_training_cost"),
        ):
            expected = [float(mine[m][column]) if m in mine else None for m in months]
            assert whole[CURVE]["series"][series] == expected, series
    models = [str(row["model"]) for row in life_table(books).to_dict("records")]
    assert whole["table"] == models
    for state in (whole, quarter):
        assert state[PER_MTOK]["noData"] is None
        assert state[PER_MTOK]["x"], "no model on the per-Mtok chart"
        for values in state[PER_MTOK]["series"].values():
            assert any(v is not None for v in values)
    # The time filter moves the per-Mtok figures, not the life curve.
    assert quarter[PER_MTOK] != whole[PER_MTOK]
    assert quarter[CURVE] == whole[CURVE]
    # A time with no month of the books: the per-Mtok chart says so; the life curve stays.
    assert str(outside[PER_MTOK]["noData"]).startswith("no data for this filter: the books run from")
    assert outside[CURVE] == whole[CURVE]
    assert Path(ARTIFACTS / "model-pnl.png").exists()
