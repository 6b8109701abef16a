"""fava-dashboards with only the endpoints the Unit economics page uses.

Load it in place of ``fava_dashboards``::

    2025-01-01 custom "fava-extension" "ailab_books.dashboard.extension" "{'config': '...tsx'}"

What upstream fava-dashboards (2.0.x) exposes and this class does not:

- ``v1_render_panel`` (POST) renders a Jinja template taken from the request body:
  ``{{ cycler.__init__.__globals__.os.getpid() }}`` runs Python in Fava's process;
- ``query`` (GET) runs BQL taken from the request outside Fava's query shell;
- ``v2_config`` with a YAML config sends any file its ``utils.path`` names.

Kept: ``v2_config`` for a script config (the page's own code) inside the books'
folder, and ``v2_ledger`` (answering for the whole books, not 500, when the
filter selects no transaction or Fava cannot read the time filter). Added:
``v2_unit_economics``, the Unit economics page's per-token figures (``figures``);
``v2_saved_query``, three saved queries named in the code; ``v2_model_pnl``, the
Model P&L page's figures (``model_pnl``). Every other endpoint, including any a later
fava-dashboards adds, is dropped: the list is of what is kept. The page's script,
template and name are upstream's (its bundled JavaScript addresses the extension
as ``FavaDashboards``). The class also guards Fava's own query API for the
ledger that loads it (``query_guard``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import fava_dashboards
import jinja2
from beancount.core import data
from fava.context import g
from fava.core import FilteredLedger
from fava.helpers import FavaAPIError
from fava.util.date import parse_date
from fava_dashboards.utils import get_ledger_duration
from flask import abort, current_app, jsonify, make_response, request
from markupsafe import Markup

from .figures import SAVED_QUERIES, FiguresCache, Filters, FilterUnreadable
from .prerender import headline_html
from .query_guard import refusal

#: Compute the unfiltered page's figures in the background after each load (set by
#: ``lab-fava``; off in other hosts of the extension, such as tests, to spare their CPU).
PREWARM = False

#: Fava's endpoints that hand ``query_string`` to beanquery's shell.
QUERY_ENDPOINTS = frozenset({"json_api.get_query", "download_query"})


class FavaDashboards(fava_dashboards.FavaDashboards):  # type: ignore[misc]  # upstream is untyped
    """fava-dashboards without the endpoints that evaluate or serve what a request names."""

    endpoints: dict[tuple[str, str], Callable[..., Any]]

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        super().__init__(ledger, config)
        # The endpoints the page calls, and no other: Fava calls ``endpoints[name, method](self)``.
        self.endpoints = {
            ("v2_config", "GET"): FavaDashboards.api_v2_config,
            ("v2_ledger", "GET"): FavaDashboards.api_v2_ledger,
            ("v2_unit_economics", "GET"): FavaDashboards.api_v2_unit_economics,
            ("v2_saved_query", "GET"): FavaDashboards.api_v2_saved_query,
            ("v2_model_pnl", "GET"): FavaDashboards.api_v2_model_pnl,
        }
        self._figures = FiguresCache()

    @cached_property
    def jinja_env(self) -> jinja2.Environment:
        """Our template folder first (the page with the server-rendered headline), then upstream's."""
        ours = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
        upstream = jinja2.FileSystemLoader(self.extension_dir / "templates")
        loaders: list[jinja2.BaseLoader] = [ours, upstream]
        if current_app.jinja_loader is not None:
            loaders.append(current_app.jinja_loader)
        return current_app.jinja_env.overlay(loader=jinja2.ChoiceLoader(loaders))

    def after_load_file(self) -> None:
        """With ``PREWARM``, compute the unfiltered page's answers in a background thread, so
        the first view of the page has its headline in the HTML and its answers ready."""
        super().after_load_file()
        if PREWARM:
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

    @property
    def extension_dir(self) -> Path:
        """Upstream's folder: the page's bundled script and template are served from there."""
        return Path(fava_dashboards.__file__).parent

    def before_request(self) -> None:
        """Refuse a query string that would do more than read the entries (query_guard)."""
        super().before_request()
        if request.endpoint in QUERY_ENDPOINTS:
            reason = refusal(request.args.get("query_string", ""))
            if reason is not None:
                abort(make_response(jsonify(error=f"Refused: {reason}."), 403))

    def read_ext_config(self) -> fava_dashboards.ExtConfig:
        """The page's config path, relative to the file that declares this extension.

        Upstream joins it to the main file's folder, which differs between
        ``ledger/main.beancount`` and a policy view in ``ledger/views/`` that
        includes the same ``dashboard/fava.beancount``; relative to the declaring
        file (as beancount resolves an ``include``) it is the same for every view.
        """
        cfg = self.config if isinstance(self.config, dict) else {}
        declared = declaring_file(self.ledger.all_entries, type(self).__module__)
        if "config" not in cfg or declared is None:
            return super().read_ext_config()
        return fava_dashboards.ExtConfig(dashboards_path=declared.parent / cfg["config"])

    def api_v2_config(self) -> Any:
        """The page's script config, if it is one and lies inside the books' folder; else 403."""
        path = Path(self.read_ext_config().dashboards_path).resolve()
        included = [self.ledger.beancount_file_path, *self.ledger.options["include"]]
        reason = config_refusal(path, books_folder(included))
        if reason is not None:
            return {"success": False, "error": reason}, 403
        try:
            config_js = fava_dashboards.read_dashboards_tsx(path)
        except FavaAPIError as error:  # as upstream's api_response answers it
            return {"success": False, "error": error.message}, 500
        return {"success": True, "data": {"configJs": config_js}}

    def api_v2_ledger(self) -> Any:
        """Upstream's ledger data; for a filter that selects no transaction, or a time
        filter Fava cannot read (upstream answers 500 to both), the whole books' dates
        and ``filterEmpty`` set, so the page can say so in each panel."""
        try:
            data = dict(vars(self.get_ledger_data()))
            data["filterEmpty"] = False
        except FavaAPIError:
            first, last = get_ledger_duration(self.ledger.all_entries)
            operating = list(self.ledger.options["operating_currency"]) or ["USD"]
            data = {
                "dateFirst": first,
                "dateLast": last,
                "filterFirst": None,
                "filterLast": None,
                "operatingCurrencies": operating,
                "ccy": operating[0],
                "accounts": self.ledger.accounts,
                "commodities": {c.currency: c for c in self.ledger.all_entries_by_type.Commodity},
                "filterEmpty": True,
            }
        return {"success": True, "data": {"ledgerData": data}}

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
        from . import model_pnl  # here, not at the top: this method is the page's only tie to the class

        fye = self.ledger.fava_options.fiscal_year_end
        filters = Filters.from_args(request.args)
        answer = model_pnl.cache_for(self).answer(self._load, filters, lambda text: parse_date(text, fye))
        return jsonify(answer)

    def _load(self) -> tuple[str, Any, Any, int]:
        """The books Fava has loaded now, and its load's generation (``mtime``)."""
        ledger = self.ledger
        return ledger.beancount_file_path, ledger.all_entries, ledger.options, ledger.mtime


def declaring_file(entries: list[Any], module: str) -> Path | None:
    """The file of the ``custom "fava-extension"`` directive that loads ``module``, if any."""
    for entry in entries:
        if (
            isinstance(entry, data.Custom)
            and entry.type == "fava-extension"
            and entry.values
            and entry.values[0].value == module
        ):
            filename = (entry.meta or {}).get("filename")
            if isinstance(filename, str) and not filename.startswith("<"):
                return Path(filename)
    return None


def books_folder(included: list[str]) -> Path:
    """The deepest folder holding the main file and every file it includes (the ``include`` option)."""
    return Path(os.path.commonpath([str(Path(name).resolve().parent) for name in included]))


def config_refusal(path: Path, folder: Path) -> str | None:
    """Why the dashboard config at ``path`` may not be served, or None."""
    if path.suffix not in fava_dashboards.SCRIPT_EXTENSIONS:
        return (
            f'dashboard config "{path.name}" refused: only a script config '
            f"({', '.join(fava_dashboards.SCRIPT_EXTENSIONS)}) is served; YAML configs can name other files"
        )
    if not path.is_relative_to(folder):
        return f'dashboard config "{path}" refused: it is outside the books\' folder {folder}'
    return None
