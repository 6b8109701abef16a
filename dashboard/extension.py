"""The books' own Fava extension: the Unit economics and Model P&L pages.

Loaded by the books (``dashboard/fava.beancount``)::

    2025-01-01 custom "fava-extension" "ailab_books.dashboard.extension"

It adds one report to Fava's sidebar, "Unit economics" (``/extension/UnitEconomics/``,
``?dashboard=model-p-l`` for the Model P&L page). What it serves:

- the page (``templates/UnitEconomics.html``): the headline rendered by the server
  when it is computed (``prerender``), and the few facts of the books the page's
  script needs (dates, currency, each account's cost class) as JSON data, never code;
- its script (``UnitEconomics.js``, which Fava imports on every page, a few kB): it
  lays out the panels and draws them with ECharts;
- ``script?name=page|echarts``: the page's panels (``static/unit-economics.js``) and
  a build of ECharts with only the charts they draw (``static/echarts.min.js``,
  ``static/README.md``); the name is looked up in a table of two files, never a path;
- ``v2_unit_economics``: the per-token figures (``figures``: lab-report's own code);
- ``v2_saved_query``: three saved queries named in ``figures.SAVED_QUERIES``, looked up
  by name, never run from the request;
- ``v2_model_pnl``: the Model P&L page's figures (``model_pnl``).

Nothing else: no endpoint evaluates a template, runs a query or serves a file that a
request names (docs/security.md). The class also guards Fava's own query API for the
books that load it (``query_guard``).

Why not fava-dashboards: its endpoints evaluate request-supplied Jinja and BQL
(the page needed a subclass to drop them), and its 6 MB script (with Babel, to
compile a page config in the browser) was loaded on every Fava page and kept the
dashboard above one second warm. This page's script and ECharts are 0.6 MB.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from beancount.core import data
from fava.context import g
from fava.core import FilteredLedger
from fava.ext import FavaExtensionBase, FavaExtensionError
from fava.helpers import FavaAPIError
from fava.util.date import parse_date
from flask import abort, jsonify, make_response, request, send_file, url_for
from markupsafe import Markup

from .figures import SAVED_QUERIES, FiguresCache, Filters, FilterUnreadable
from .model_pnl import ModelPnlCache
from .prerender import headline_html
from .query_guard import refusal

#: Compute the unfiltered page's figures in the background after each load (set by
#: ``lab-fava``; off in other hosts of the extension, such as tests, to spare their CPU).
PREWARM = False

#: Fava's endpoints that hand ``query_string`` to beanquery's shell.
QUERY_ENDPOINTS = frozenset({"json_api.get_query", "download_query"})

#: Fava's routes that serve an extension's page, endpoints and module.
OWN_ROUTES = frozenset({"extension_report", "extension_endpoint", "extension_js_module"})

#: Why a config on the extension's line is refused: the page is the package's own, and a config
#: that named another page (fava-dashboards' ``{'config': '...tsx'}``) would be silently ignored.
NO_CONFIG = (
    "the Unit economics page takes no config; remove it from the fava-extension line "
    "(the page is ailab_books/dashboard/static/unit-economics.js)"
)

#: The scripts ``script?name=`` serves: a name in this table, never a path from the request.
STATIC = Path(__file__).parent / "static"
SCRIPTS = {"page": STATIC / "unit-economics.js", "echarts": STATIC / "echarts.min.js"}


class UnitEconomics(FavaExtensionBase):
    """The Unit economics and Model P&L pages: figures computed by the books' own code."""

    report_title: str | None = "Unit economics"
    has_js_module = True
    endpoints: dict[tuple[str, str], Callable[..., Any]]

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        # A config is accepted here and refused at each load (``after_load_file``): Fava creates
        # the class once per process and drops one whose constructor fails, which would also drop
        # the query guard (``before_request``) and miss a config added while Fava runs.
        super().__init__(ledger, None)
        self.refused = False
        # The whole list of endpoints: Fava calls ``endpoints[name, method](self)``.
        self.endpoints = {
            ("script", "GET"): UnitEconomics.api_script,
            ("v2_unit_economics", "GET"): UnitEconomics.api_v2_unit_economics,
            ("v2_saved_query", "GET"): UnitEconomics.api_v2_saved_query,
            ("v2_model_pnl", "GET"): UnitEconomics.api_v2_model_pnl,
        }
        self._figures = FiguresCache()
        # The Model P&L page's answers, on the same load's ledger as the figures'.
        self._model_pnl = ModelPnlCache(self._figures)

    def after_load_file(self) -> None:
        """After each load: refuse the page if its ``fava-extension`` line carries a config
        (``config_errors``); else, with ``PREWARM``, compute the unfiltered page's answers in a
        background thread, so the first view has its headline in the HTML and its answers ready."""
        errors = config_errors(self.ledger.all_entries, type(self).__module__)
        # Fava's list of extension errors, emptied at each load: shown on its Errors page.
        self.ledger.extensions.errors.extend(errors)
        self.refused = bool(errors)
        # Instance attributes over the class's: Fava reads both for its sidebar and its routes.
        self.report_title = None if self.refused else type(self).report_title
        self.has_js_module = not self.refused
        if PREWARM and not self.refused:
            threading.Thread(target=self._prewarm, name="unit-economics-prewarm", daemon=True).start()

    def _prewarm(self) -> None:
        """The unfiltered page's answers: its figures (about 1 s at 1M postings), then its saved
        queries (beanquery: 5 to 14 s each at 1M postings), each on the entries Fava's
        ``/api/query`` would read with no filter (a ``FilteredLedger`` with none)."""
        try:
            self._figures.answer(self._load, Filters(), lambda text: (None, None))
            unfiltered = FilteredLedger(self.ledger)

            def entries() -> Any:  # Fava types beancount's entries with its own protocols
                return unfiltered.entries_with_all_prices  # a cached property: sorted once

            for name in SAVED_QUERIES:
                self._figures.saved_query(self._load, Filters(), name, entries)
        except Exception:  # a failure shows when the page asks; the load must not be affected
            logging.getLogger(__name__).exception("computing the dashboard's figures after the load")

    def server_headline(self) -> Markup:
        """The headline for the request's filters, rendered on the server (``prerender``) when
        it is computed (by an earlier view or the prewarm) or costs no pass over the postings
        (``FiguresCache.peek``); else nothing: the HTML never waits for a computation."""
        fye = self.ledger.fava_options.fiscal_year_end
        filters = Filters.from_args(request.args)
        answer = self._figures.peek(self._load, filters, lambda text: parse_date(text, fye))
        if answer is None:
            return Markup("")
        return Markup(headline_html(answer))  # every value in it is escaped

    def page_ledger(self) -> dict[str, Any]:
        """What the page's script reads of the books: the months its filter-following charts
        span (``dateFirst``, ``dateLast``: the time filter's period within the books' first and
        last dates; the whole books' with no time filter or one Fava cannot read), the
        operating currency and each account's cost class (written on its ``open`` by
        ``plugins.classify``).

        Read from the unfiltered books and the filter's text, never from Fava's filtered
        entries: the HTML must not wait for Fava to filter a million postings (2.6 to 5.9 s
        on a first filtered view). The GPU-hours chart trims its axis to the months its rows
        have (``recordedMonths``), so an account, tag or payee filter changes nothing here."""
        operating = list(self.ledger.options["operating_currency"]) or ["USD"]
        first, last = books_dates(self.ledger.all_entries)
        fye = self.ledger.fava_options.fiscal_year_end
        try:
            begin, end = parse_date(str(request.args.get("time", "")), fye)
        except (ValueError, FavaAPIError):  # shown by the per-token panels' notice
            begin, end = None, None
        if begin is not None and end is not None and first is not None and last is not None:
            first, last = clamp(begin, end - datetime.timedelta(days=1), first, last)
        classes = {
            name: account.meta.get("cost-class")
            for name, account in self.ledger.accounts.items()
            if account.meta and account.meta.get("cost-class")
        }
        return {
            "dateFirst": first.isoformat() if first else None,
            "dateLast": last.isoformat() if last else None,
            "ccy": operating[0],
            "operatingCurrencies": operating,
            "costClasses": classes,
            # The load's generation (as FiguresCache keys it): the page's answers are cached per load.
            "load": self.load_generation(),
            "scripts": {name: self.script_url(name) for name in SCRIPTS},
        }

    def load_generation(self) -> str:
        """Changes with every load of the books (``FiguresCache`` keys its answers the same way)."""
        return f"{self.ledger.mtime}-{id(self.ledger.all_entries)}"

    def script_url(self, name: str) -> str:
        """The URL of one of the page's scripts, for the runtime's ``import()``: without Fava's
        filters (the scripts have none)."""
        no_filters: dict[str, Any] = dict.fromkeys(("time", "account", "filter", "conversion", "interval"))
        # ``url_for`` cannot name Fava's ``extension_endpoint`` route (its ``endpoint`` variable
        # clashes with url_for's own first parameter): the report's URL, then the endpoint.
        report = url_for("extension_report", extension_name=self.name, **no_filters)
        # The page's module caches its answers: its URL changes with each load. ECharts' is one URL.
        query = {"name": name, "load": self.load_generation()} if name == "page" else {"name": name}
        return f"{report}script?{urlencode(query)}"

    def before_request(self) -> None:
        """Refuse a query string that would do more than read the entries (query_guard), and
        every route of this extension while its ``fava-extension`` line is refused."""
        own = request.endpoint in OWN_ROUTES and (request.view_args or {}).get("extension_name") == self.name
        if self.refused and own:
            abort(404)
        if request.endpoint in QUERY_ENDPOINTS:
            reason = refusal(request.args.get("query_string", ""))
            if reason is not None:
                abort(make_response(jsonify(error=f"Refused: {reason}."), 403))

    def api_script(self) -> Any:
        """The page's panels or its ECharts build, by name (``SCRIPTS``); 404 for another name."""
        path = SCRIPTS.get(str(request.args.get("name", "")))
        if path is None:
            return make_response(jsonify(error="no such script"), 404)
        return send_file(path, mimetype="text/javascript")

    def api_v2_unit_economics(self) -> Any:
        """The page's per-token figures for the whole months of the time filter, on the
        unfiltered books (``figures.respond``); the filters are read as text, never evaluated."""
        fye = self.ledger.fava_options.fiscal_year_end

        filters = Filters.from_args(request.args)
        answer = self._figures.answer(self._load, filters, lambda text: parse_date(text, fye))
        return jsonify(answer)

    def api_v2_saved_query(self) -> Any:
        """A saved query of the page's list (``figures.SAVED_QUERIES``) on the entries
        Fava's filters select, cached per load and filter; ``name`` is looked up, not run."""

        def filtered() -> Any:
            try:
                return g.filtered.entries_with_all_prices
            except FavaAPIError as error:  # a filter Fava cannot read
                raise FilterUnreadable(error.message) from error

        name = str(request.args.get("name", ""))
        filters = Filters.from_args(request.args)
        return jsonify(self._figures.saved_query(self._load, filters, name, filtered))

    def api_v2_model_pnl(self) -> Any:
        """The Model P&L page's figures (``model_pnl``): each model's life on the whole books, and
        per-Mtok figures for the time filter's whole months; filters read as text, never evaluated."""
        fye = self.ledger.fava_options.fiscal_year_end
        filters = Filters.from_args(request.args)
        answer = self._model_pnl.answer(self._load, filters, lambda text: parse_date(text, fye))
        return jsonify(answer)

    def _load(self) -> tuple[str, Any, Any, int]:
        """The books Fava has loaded now, and its load's generation (``mtime``)."""
        ledger = self.ledger
        return ledger.beancount_file_path, ledger.all_entries, ledger.options, ledger.mtime


def config_errors(entries: Any, module: str) -> list[FavaExtensionError]:
    """A located error for each ``custom "fava-extension" "<module>"`` line with a config."""
    refused: list[Any] = [  # Fava types beancount's entries with its own protocols
        entry
        for entry in entries
        if isinstance(entry, data.Custom)
        and entry.type == "fava-extension"
        and entry.values
        and entry.values[0].value == module
        and len(entry.values) > 1
    ]
    return [FavaExtensionError(entry.meta, NO_CONFIG, entry) for entry in refused]


def books_dates(entries: Any) -> tuple[datetime.date | None, datetime.date | None]:
    """The first transaction's date and the last transaction's or price's (as fava-dashboards
    read them), or None for books without a transaction."""
    first = next((e.date for e in entries if isinstance(e, data.Transaction)), None)
    last = next((e.date for e in reversed(entries) if isinstance(e, (data.Transaction, data.Price))), None)
    return first, last


def clamp(
    begin: datetime.date, end: datetime.date, first: datetime.date, last: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The period ``begin``..``end`` (both included) within ``first``..``last``; the period as it
    is when the two do not overlap (a filter outside the books: the charts then say no data).

    >>> import datetime as dt
    >>> clamp(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2025, 1, 1), dt.date(2026, 10, 31))
    (datetime.date(2026, 1, 1), datetime.date(2026, 10, 31))
    """
    start, stop = max(begin, first), min(end, last)
    return (begin, end) if start > stop else (start, stop)
