"""The page's per-token figures for Fava's filters: ``v2_unit_economics``.

Per-token figures hold only over whole months of the whole books: Fava's
time filter cuts a month's tokens and costs at different days, and an account,
tag or payee filter keeps some of a month's money and none (or all) of its
tokens. So the endpoint never applies Fava's filters to the entries. It reads
the filter parameters as text, parses only the time with Fava's own date parser
(nothing from the request is evaluated), and answers with what ``lab-report``
prints for the whole months that the time filter covers, on the books Fava
loaded (``ledger.all_entries``, unfiltered), with notices that say how the
figures relate to the filter:

- a part month: ``showing 2026-09 - 2026-10 (whole months containing your
  filter 2026-09-15 - 2026-10-15)`` (with en dashes);
- an account or advanced (tag, payee, ...) filter: the figures are for the whole
  books, the filter applies to Fava's other pages;
- no month of the books in the period: ``no data for this filter``;
- a time filter Fava cannot read: said so, and the whole books are shown.

The panels that follow Fava's filters (GPU-hours, the pools' Sankey) and the
books check read their saved queries through ``v2_saved_query``
(:meth:`FiguresCache.saved_query`): only the names in :data:`SAVED_QUERIES`,
run with the report's runner on the entries Fava's filters select (the books
check on all of them), as Fava's ``/api/query`` would, but cached.

Answers are cached per load of the books and window (:class:`FiguresCache`).
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from beancount.core import data

from ailab_books.queries import monthly
from ailab_books.queries.economics import Month, NothingToReport, Window
from ailab_books.queries.headline import (
    DASH,
    data_window,
    is_whole_months,
    months_covering,
    unit_economics,
)
from ailab_books.queries.runner import (
    Ledger,
    QueryFailed,
    UnknownQuery,
    package_queries,
    run_saved,
    saved_queries,
)

JSON = dict[str, Any]
#: A cache's key (filters, a window of months, a saved query under filters).
Key = TypeVar("Key")
#: The saved queries ``v2_saved_query`` runs, and whether Fava's filters apply to them
#: (the books check looks at the whole books: a filter would make pools look unallocated).
SAVED_QUERIES = {"gpu-hours-by-workload": True, "allocation-audit": True, "books-check": False}
#: Fava's filter parameters, as the page sends them.
FILTER_PARAMS = ("time", "account", "filter")
MAX_PARAM = 500


class FilterUnreadable(ValueError):
    """Fava cannot read the request's filter (its message says why)."""


@dataclass(frozen=True)
class Filters:
    """Fava's filter parameters of a request, as text (never evaluated)."""

    time: str = ""
    account: str = ""
    advanced: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        def text(name: str) -> str:
            return str(args.get(name, "") or "").strip()[:MAX_PARAM]

        return cls(text("time"), text("account"), text("filter"))


#: What Fava has loaded: main file, entries, options and the load's generation (``mtime``).
Loader = Callable[[], tuple[str, Sequence[data.Directive], Mapping[str, Any], int]]
DateParser = Callable[[str], tuple[datetime.date | None, datetime.date | None]]


def books_ledger(filename: str, entries: Sequence[data.Directive], options: Mapping[str, Any]) -> Ledger:
    """The report's view of books Fava loaded: the same entries, the same saved queries."""
    queries = package_queries()
    queries.update(saved_queries(entries))
    return Ledger(filename, list(entries), options, dict(sorted(queries.items())))


def _day(day: datetime.date) -> str:
    return day.isoformat()


def respond(
    ledger: Ledger,
    filters: Filters,
    parse_date: DateParser,
    figures: Callable[[Ledger, Window], JSON] = unit_economics,
) -> JSON:
    """The endpoint's answer for ``filters`` (see the module docstring); ``figures``
    computes the page's figures for a window (:func:`unit_economics`, or a cache of it)."""
    notices: list[str] = []
    #: One short line per notice, for the chart panels' subtitles.
    short: list[str] = []
    operating = list(ledger.options.get("operating_currency") or []) if ledger.options else []
    answer: JSON = {
        "filters": {"time": filters.time, "account": filters.account, "filter": filters.advanced},
        # What every amount is valued in (lab-report's: the first operating currency).
        "currency": operating[0] if operating else "USD",
        "status": "ok",
        "showing": None,
        "notices": notices,
        "panel_notices": short,
        "data": None,
    }
    try:
        books = _books_window(ledger)
    except NothingToReport:
        answer.update(status="no-data", message="no data for this filter: the books have no transactions")
        return answer
    assert books.start is not None and books.stop is not None
    window = books
    if filters.time:
        begin, end = _parse(parse_date, filters.time)
        if begin is None or end is None:
            notices.append(
                f'Fava cannot read the time filter "{filters.time}" (try 2026, 2026-Q3, 2026-09 or '
                "2026-09-15 - 2026-10-15): showing the whole books"
            )
            short.append("your time filter cannot be read")
        elif end <= begin:
            # A range typed backwards ("2026-10 - 2026-09"): Fava's pages select nothing for it;
            # months_covering would show its first month as if asked for, with no notice.
            answer.update(
                status="no-data",
                message=(
                    f'no data for this filter: your time filter "{filters.time}" is an empty period '
                    "for Fava (its end is not after its start): write the earlier date first, "
                    "e.g. 2026-09 - 2026-10"
                ),
            )
            return answer
        else:
            covering = months_covering(begin, end)
            assert covering.start is not None and covering.stop is not None
            start, stop = max(covering.start, books.start), min(covering.stop, books.stop)
            if start > stop:
                answer.update(
                    status="no-data",
                    message=(
                        f"no data for this filter: the books run from {books.start} to {books.stop}, "
                        f"your time filter {_day(begin)} {DASH} {_day(end - datetime.timedelta(days=1))} "
                        "holds none of their months"
                    ),
                )
                return answer
            window = Window(start, stop)
            if not is_whole_months(begin, end):
                notices.append(
                    f"showing {_span(window)} (whole months containing your filter "
                    f"{_day(begin)} {DASH} {_day(end - datetime.timedelta(days=1))}): per-token figures "
                    "exist for whole months only"
                )
                short.append(
                    f"whole months containing your filter {_day(begin)} {DASH} "
                    f"{_day(end - datetime.timedelta(days=1))}"
                )
            elif window != covering:
                notices.append(
                    f"showing {_span(window)}: the months of your filter {filters.time} that the books cover"
                )
                short.append(f"the months of your filter {filters.time} in the books")
    for name, value in (("account", filters.account), ("tag/payee", filters.advanced)):
        if value:
            notices.append(
                f"per-token figures are for the whole books over {_span(window)}: your {name} filter "
                f"\"{value}\" applies to Fava's other pages (a filter keeps part of a month's costs or "
                "revenue and none of its tokens, which gives no honest per-token figure)"
            )
            short.append(f"per-token figures ignore your {name} filter")
    answer["showing"] = {"start": str(window.start), "stop": str(window.stop), "label": _span(window)}
    try:
        answer["data"] = figures(ledger, window)
    except NothingToReport as error:
        answer.update(status="no-data", message=f"no data for this filter: {error}")
    except QueryFailed as error:
        answer.update(status="error", message=str(error))
    return answer


#: The key of the books' months in :attr:`Ledger.cache` (a scan of every entry: 0.08 s at 1M postings).
WINDOW_KEY = "dashboard-data-window"


def _books_window(ledger: Ledger) -> Window:
    """``data_window(ledger)``, once per ledger (its entries never change)."""
    found = ledger.cache.get(WINDOW_KEY)
    if isinstance(found, Window):
        return found
    window = ledger.cache[WINDOW_KEY] = data_window(ledger)
    return window


def _parse(parse_date: DateParser, text: str) -> tuple[datetime.date | None, datetime.date | None]:
    try:
        return parse_date(text)
    except (ValueError, TypeError, OverflowError):
        return None, None


def _span(window: Window) -> str:
    if window.start == window.stop:
        return str(window.start)
    return f"{window.start} {DASH} {window.stop}"


def remember(cache: OrderedDict[Key, JSON], key: Key, value: JSON, size: int) -> JSON:
    """``value`` stored under ``key`` in a cache of at most ``size`` answers (the oldest go first)."""
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    return value


class FiguresCache:
    """Answers per load of the books and filter text, figures per load and window of
    months, and the report's ledger per load.

    Fava replaces ``all_entries`` with a new list and advances its watcher's
    ``mtime`` whenever it reloads changed files, so the key ``(id(all_entries),
    mtime)`` changes with every load; the list is kept alive here with its
    answers, so its id cannot be reused while cached. Bounded: the oldest
    answers are dropped first.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._load: tuple[int, int] | None = None
        self._entries: Sequence[data.Directive] | None = None
        self._ledger: Ledger | None = None
        self._answers: OrderedDict[Filters, JSON] = OrderedDict()
        self._figures: OrderedDict[Window, JSON] = OrderedDict()
        self._saved: OrderedDict[tuple[Filters, str], JSON] = OrderedDict()
        #: One lock per saved query being computed: a second request (or the prewarm)
        #: for the same query waits for the first one's rows instead of running it again,
        #: and other requests never wait for it (a books check takes 14 s at 1M postings).
        self._computing: dict[tuple[Filters, str], threading.Lock] = {}

    def answer(
        self,
        load: Loader,
        filters: Filters,
        parse_date: DateParser,
    ) -> JSON:
        self.ledger_of(load)
        with self._lock:
            return self._answer_locked(filters, parse_date)

    def _answer_locked(self, filters: Filters, parse_date: DateParser) -> JSON:
        assert self._ledger is not None
        cached = self._answers.get(filters)
        if cached is not None:
            self._answers.move_to_end(filters)
            return cached
        result = respond(self._ledger, filters, parse_date, self._window_figures)
        return remember(self._answers, filters, result, self._size)

    def peek(self, load: Loader, filters: Filters, parse_date: DateParser | None = None) -> JSON | None:
        """The answer for ``filters`` on the current load if it is cached, or (with
        ``parse_date``) if it costs no pass over the postings: the load's monthly summary
        is built (a new window then costs 0.1 to 0.2 s at 1M postings, no pass) and
        nothing else holds the cache. Otherwise None: the page's HTML never waits for the
        pass or for another request. Reading two attributes and a dict entry is atomic
        under the GIL; an answer of a replaced load is never returned because its key is
        checked against ``load()``."""
        _filename, entries, _options, mtime = load()
        key = (id(entries), mtime)
        answers, ledger = self._answers, self._ledger
        if self._load != key:
            return None
        found = answers.get(filters)
        if found is not None or parse_date is None or ledger is None:
            return found
        if not isinstance(ledger.cache.get(monthly.CACHE_KEY), monthly.MonthlySummary):
            return None
        if not all(monthly.answers(ledger, name) for name in monthly.QUERIES):
            return None  # books that changed a saved query's text: beanquery would run it here
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._load != key or self._ledger is not ledger:
                return None
            return self._answer_locked(filters, parse_date)
        finally:
            self._lock.release()

    def saved_query(
        self,
        load: Loader,
        filters: Filters,
        name: str,
        filtered_entries: Callable[[], Sequence[data.Directive]],
    ) -> JSON:
        """The rows of the saved query ``name`` (one of :data:`SAVED_QUERIES`) on the
        entries Fava's filters select (``filtered_entries``, which raises
        :class:`FilterUnreadable` for a filter Fava cannot read: answered as ``error``)."""
        if name not in SAVED_QUERIES:
            return {"error": f"unknown saved query {name!r} for this page"}
        load_key, books = self.ledger_of(load)
        follows = SAVED_QUERIES[name]
        key = (filters if follows else Filters(), name)
        with self._lock:
            cached = self._saved.get(key)
            if cached is not None and self._load == load_key:
                return cached
            computing = self._computing.setdefault(key, threading.Lock())
        # Computed outside ``self._lock``: the figures and the other queries stay answerable.
        with computing:
            with self._lock:
                cached = self._saved.get(key)
                if cached is not None and self._load == load_key:
                    return cached
            try:
                entries = list(filtered_entries()) if follows else books.entries
                ledger = Ledger(books.filename, entries, books.options, books.queries)
                frame = run_saved(ledger, name)
                result: JSON = {"columns": [str(c) for c in frame.columns], "rows": _rows(frame)}
            except (QueryFailed, UnknownQuery, FilterUnreadable) as error:
                result = {"error": str(error)}
            with self._lock:
                if self._load == load_key:  # not an answer of a load replaced meanwhile
                    remember(self._saved, key, result, self._size)
            return result

    def ledger_of(self, load: Loader) -> tuple[tuple[int, int], Ledger]:
        """The current load's key and report ledger (built once per load; the Model P&L page's
        cache shares it, and with it the load's monthly summary); drops every answer of an
        earlier load."""
        filename, entries, options, mtime = load()
        with self._lock:
            key = (id(entries), mtime)
            if self._load != key or self._ledger is None:
                self._load = key
                self._entries = entries
                self._ledger = books_ledger(filename, entries, options)
                self._answers.clear()
                self._figures.clear()
                self._saved.clear()
                self._computing.clear()
            return key, self._ledger

    def _window_figures(self, ledger: Ledger, window: Window) -> JSON:
        """unit_economics once per window and load (filters that cover the same months share it)."""
        cached = self._figures.get(window)
        if cached is None:
            cached = remember(self._figures, window, unit_economics(ledger, window), self._size)
        return cached


def _rows(frame: Any) -> list[JSON]:
    return [{str(key): _jsonable(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):  # numpy scalars of integer columns
        return value.item()
    return str(value)  # Decimal as exact text; anything else as beanquery prints it


__all__ = ["FILTER_PARAMS", "FiguresCache", "FilterUnreadable", "Filters", "Month", "books_ledger", "respond"]
