"""The monthly summary: one pass over a loaded ledger's postings, from which
``lab-report`` (and the dashboard's endpoint) compute every figure.

The saved queries that ``lab-report`` and the dashboard's endpoint read
(``gross-margin-per-mtok``, ``net-margin-per-mtok``, ``overhead-per-mtok``,
``margin-by-model``, ``margin-by-tier``, ``cost-stack``) share one innermost
SELECT: per month, account and
currency, the units and the USD value (``convert(weight, 'USD', date)``) of the
postings on ``Income``, ``Expenses`` and ``Equity:Stats:Tokens`` accounts that
are not opening balances (flag ``S``) and that are valued in USD (or are tokens
on an ``Equity`` account). :func:`build` computes exactly those rows
(:class:`Group`), in one walk over the entries; the middle and outer SELECT of
each query are then a few hundred additions per month
(:data:`QUERIES`), whatever the size of the books.

"Exactly" is meant to the digit, including the exponent and the sign of a
zero (``Decimal('0.00')`` versus ``Decimal('0')``): every sum starts at
``Decimal()`` and adds the same terms in the same order as beanquery does
(postings in the entries' order; a group's rows in the order of their first
posting), a term is ``value * int(condition)`` and is skipped when the
condition is NULL (an account whose ``open`` has no ``cost-class``), account
patterns match as BQL's ``~`` does (``re.search``, ignoring case), prices come
from the same price map (:func:`beancount.core.prices.build_price_map`) and
division by zero is NULL. ``tests/test_monthly.py`` runs every covered saved
query both ways and compares them cell for cell.

A ledger that redefines one of these queries (its own ``query`` directive
with other text) gets its own definition run by beanquery
(:func:`run_report_query`): the summary stands in only for the shipped text.

The summary is computed once per :class:`~ailab_books.queries.runner.Ledger`
(kept in its ``cache``) and is never written into the entries: Fava's own
reports would count it twice.

Example::

    ledger = load_ledger("ledger/main.beancount", require_pipeline=True)
    frame = run_report_query(ledger, "gross-margin-per-mtok")  # same rows as run_saved
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from beancount.core import convert, data, prices
from beancount.core.getters import get_account_open_close

from .runner import Ledger, package_queries, result_frame, run_saved

#: The currency the saved queries value money in (``convert(weight, 'USD', date)``).
USD = "USD"
#: The token unit (a million tokens).
MTOK = "MTOK"
#: The key of the summary in :attr:`Ledger.cache`.
CACHE_KEY = "monthly-summary"


def _pattern(text: str) -> re.Pattern[str]:
    # BQL's `account ~ 'pattern'` is re.search(pattern, account, re.IGNORECASE).
    return re.compile(text, re.IGNORECASE)


#: The innermost WHERE's accounts, shared by every covered query (the widest of them).
IN_SCOPE = _pattern("^(Income|Expenses|Equity:Stats:Tokens):")
INCOME = _pattern("^Income:")
EXPENSES = _pattern("^Expenses:")
EQUITY = _pattern("^Equity:")
OVERHEAD_SCOPE = _pattern("^(Expenses|Equity:Stats:Tokens):")
SEGMENT_SCOPE = _pattern("^(Income:[^:]+|Expenses:COGS|Equity:Stats:Tokens):")


@dataclass(frozen=True)
class Group:
    """One row of the innermost SELECT: a month, account and currency, with the
    sum of its postings' numbers (``units``) and USD values (``money``)."""

    year: int
    month: int
    account: str
    currency: str
    #: ``open_meta(account, 'cost-class')``: what classify wrote on the open, or None.
    cost_class: object
    units: Decimal
    money: Decimal


@dataclass(frozen=True)
class MonthlySummary:
    """The groups of a ledger, in the order of their first posting."""

    groups: tuple[Group, ...]


def build(entries: Sequence[data.Directive]) -> MonthlySummary:
    """Walk ``entries`` once and sum every in-scope posting into its :class:`Group`."""
    sums: dict[tuple[int, int, str, str], list[Decimal]] = {}
    in_scope: dict[str, bool] = {}
    price_map: prices.PriceMap | None = None
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.flag == "S":
            continue
        date = entry.date
        for posting in entry.postings:
            account = posting.account
            wanted = in_scope.get(account)
            if wanted is None:
                wanted = in_scope[account] = IN_SCOPE.search(account) is not None
            units = posting.units
            if not wanted or units is None or units.number is None:
                continue
            # Without cost or price the weight is the units: convert.get_weight's answer, without the call.
            plain = posting.cost is None and posting.price is None
            weight = units if plain else convert.get_weight(posting)  # type: ignore[no-untyped-call]
            if weight.currency == USD:
                money: Decimal | None = weight.number
            else:
                if price_map is None:
                    # Built only when some weight is not in USD, as beanquery builds it.
                    price_map = prices.build_price_map(entries)  # type: ignore[no-untyped-call]
                value = convert.convert_amount(weight, USD, price_map, date)  # type: ignore[no-untyped-call]
                if value.currency != USD and not (units.currency == MTOK and EQUITY.search(account)):
                    continue  # left out of every figure, and an error of classify
                money = value.number
            if money is None:
                continue  # an incomplete amount: none after a load, which interpolates every posting
            key = (date.year, date.month, account, units.currency)
            found = sums.get(key)
            if found is None:
                found = sums[key] = [Decimal(), Decimal()]
            found[0] += units.number
            found[1] += money
    opens = get_account_open_close(entries)  # type: ignore[no-untyped-call]
    groups = []
    for (year, month, account, currency), (units_sum, money_sum) in sums.items():
        open_entry = opens.get(account, (None, None))[0]
        cost_class = open_entry.meta.get("cost-class") if open_entry is not None else None
        groups.append(Group(year, month, account, currency, cost_class, units_sum, money_sum))
    return MonthlySummary(tuple(groups))


def monthly_summary(ledger: Ledger) -> MonthlySummary:
    """The ledger's :class:`MonthlySummary`, built on first use and kept in ``ledger.cache``."""
    found = ledger.cache.get(CACHE_KEY)
    if isinstance(found, MonthlySummary):
        return found
    summary = build(ledger.entries)
    ledger.cache[CACHE_KEY] = summary
    return summary


# ----------------------------------------------------------------------------
# The middle and outer SELECTs, in BQL's arithmetic.


def _times(value: Decimal, condition: bool | None) -> Decimal | None:
    """``value * int(condition)``: NULL when the condition is NULL."""
    return None if condition is None else value * int(condition)


def _sum(terms: Iterable[Decimal | None]) -> Decimal:
    """BQL's ``sum``: starts at ``Decimal()`` and skips NULL."""
    total = Decimal()
    for term in terms:
        if term is not None:
            total += term
    return total


def _class_is(group: Group, cost_class: str) -> bool | None:
    """``cost_class = '<cost_class>'``: NULL without a class."""
    return None if group.cost_class is None else group.cost_class == cost_class


def _is_inference(group: Group) -> bool | None:
    return _class_is(group, "inference")


def _keeps_cost_of_serving(group: Group) -> bool:
    """``cost_class = 'inference' OR account !~ '^Expenses:'`` (NULL is false)."""
    return bool(_is_inference(group)) or EXPENSES.search(group.account) is None


def _round(value: Decimal | None, places: int) -> Decimal | None:
    return None if value is None else round(value, places)


def _div(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """BQL's ``/``: NULL when dividing by zero."""
    return None if denominator == 0 else numerator / denominator


def _by_month(groups: Iterable[Group]) -> dict[tuple[int, int], list[Group]]:
    months: dict[tuple[int, int], list[Group]] = {}
    for group in groups:
        months.setdefault((group.year, group.month), []).append(group)
    return dict(sorted(months.items()))  # ORDER BY 1, 2


def _tokens(groups: Sequence[Group]) -> Decimal:
    return _sum(g.units * int(g.currency == MTOK) for g in groups)


def _income(groups: Sequence[Group]) -> Decimal:
    return _sum(g.money * int(INCOME.search(g.account) is not None) for g in groups)


def _expenses(groups: Sequence[Group]) -> Decimal:
    return _sum(g.money * int(EXPENSES.search(g.account) is not None) for g in groups)


def _inference(groups: Sequence[Group]) -> Decimal:
    return _sum(_times(g.money, _is_inference(g)) for g in groups)


GROSS_COLUMNS = [
    "year",
    "month",
    "million_tokens",
    "revenue",
    "inference_cogs",
    "gross_margin",
    "gross_margin_per_mtok",
    "price_per_mtok",
    "cogs_per_mtok",
]


def gross_margin_per_mtok(summary: MonthlySummary) -> pd.DataFrame:
    """The rows of the saved query ``gross-margin-per-mtok``."""
    rows: list[list[Any]] = []
    kept = (g for g in summary.groups if _keeps_cost_of_serving(g))
    for (year, month), groups in _by_month(kept).items():
        tokens, revenue, cogs = _tokens(groups), -_income(groups), _inference(groups)
        rows.append(
            [
                year,
                month,
                tokens,
                round(revenue, 2),
                round(cogs, 2),
                round(revenue - cogs, 2),
                _round(_div(revenue - cogs, tokens), 6),
                _round(_div(revenue, tokens), 6),
                _round(_div(cogs, tokens), 6),
            ]
        )
    return result_frame(rows, GROSS_COLUMNS, ("year", "month"))


NET_COLUMNS = [
    "year",
    "month",
    "million_tokens",
    "revenue",
    "all_costs",
    "net_margin",
    "net_margin_per_mtok",
    "full_cost_per_mtok",
]


def net_margin_per_mtok(summary: MonthlySummary) -> pd.DataFrame:
    """The rows of the saved query ``net-margin-per-mtok``."""
    rows: list[list[Any]] = []
    for (year, month), groups in _by_month(summary.groups).items():
        tokens, revenue, costs = _tokens(groups), -_income(groups), _expenses(groups)
        rows.append(
            [
                year,
                month,
                tokens,
                round(revenue, 2),
                round(costs, 2),
                round(revenue - costs, 2),
                _round(_div(revenue - costs, tokens), 6),
                _round(_div(costs, tokens), 6),
            ]
        )
    return result_frame(rows, NET_COLUMNS, ("year", "month"))


OVERHEAD_COLUMNS = ["year", "month", "million_tokens", "overhead", "overhead_per_mtok"]


def overhead_per_mtok(summary: MonthlySummary) -> pd.DataFrame:
    """The rows of the saved query ``overhead-per-mtok``."""
    rows: list[list[Any]] = []
    kept = (g for g in summary.groups if OVERHEAD_SCOPE.search(g.account))
    for (year, month), groups in _by_month(kept).items():
        tokens = _tokens(groups)
        overhead = _expenses(groups) - _inference(groups)
        rows.append([year, month, tokens, round(overhead, 2), _round(_div(overhead, tokens), 6)])
    return result_frame(rows, OVERHEAD_COLUMNS, ("year", "month"))


def _model(account: str) -> str:
    return account.rsplit(":", 1)[-1]  # leaf(account)


def _tier(account: str) -> str:
    return _model(account.rsplit(":", 1)[0])  # leaf(parent(account))


def _margin_by(by: str, segment_of: Callable[[str], str]) -> Callable[[MonthlySummary], pd.DataFrame]:
    def query(summary: MonthlySummary) -> pd.DataFrame:
        segments: dict[tuple[int, int, str], list[Group]] = {}
        for g in summary.groups:
            if SEGMENT_SCOPE.search(g.account) and _keeps_cost_of_serving(g):
                segments.setdefault((g.year, g.month, segment_of(g.account)), []).append(g)
        rows: list[list[Any]] = []
        for (year, month, segment), groups in sorted(segments.items()):  # ORDER BY 1, 2, 3
            tokens, revenue, cogs = _tokens(groups), -_income(groups), _expenses(groups)
            rows.append(
                [
                    year,
                    month,
                    segment,
                    tokens,
                    round(revenue, 2),
                    round(cogs, 2),
                    round(revenue - cogs, 2),
                    _round(_div(revenue - cogs, tokens), 6),
                    _round(_div(revenue, tokens), 6),
                    _round(_div(cogs, tokens), 6),
                ]
            )
        return result_frame(rows, [*GROSS_COLUMNS[:2], by, *GROSS_COLUMNS[2:]], ("year", "month"))

    query.__doc__ = f"The rows of the saved query ``margin-by-{by}``."
    return query


#: cost-stack's named lines per class: (column, account pattern), in its column order.
INFERENCE_LINES = [
    ("compute", "^Expenses:COGS:Inference:Compute:"),
    ("idle_capacity", "^Expenses:COGS:Inference:IdleCapacity:"),
    ("power", "^Expenses:COGS:Inference:Power:"),
    ("datacenter_ops", "^Expenses:COGS:Inference:DatacenterOps:"),
    ("storage", "^Expenses:COGS:Inference:Storage:"),
    ("serving_staff", "^Expenses:COGS:Inference:Staff:"),
    ("revenue_share", "^Expenses:COGS:RevenueShare:"),
    ("payment_fees", "^Expenses:COGS:PaymentFees:"),
]
TRAINING_LINES = [
    ("training_runs", "^Expenses:RnD:Training:"),
    ("rollouts", "^Expenses:RnD:Rollouts:"),
    ("evals", "^Expenses:RnD:Evals:"),
    ("research_staff", "^Expenses:RnD:Staff:"),
    ("data", "^Expenses:RnD:Data:"),
]
COST_STACK_COLUMNS = [
    "year",
    "month",
    "million_tokens",
    *(f"inference__{line}_per_mtok" for line, _ in INFERENCE_LINES),
    "inference__other_per_mtok",
    "cogs_per_mtok",
    *(f"training__{line}_per_mtok" for line, _ in TRAINING_LINES),
    "training__other_per_mtok",
    "sga__sga_per_mtok",
    "shared__unallocated_pools_per_mtok",
    "unclassified__other_expenses_per_mtok",
    "full_cost_per_mtok",
]


def _of_class(groups: Sequence[Group], cost_class: str, pattern: str | None = None) -> Decimal:
    """``sum(money * int(cost_class = '<class>' [AND account ~ '<pattern>']))``."""
    line = None if pattern is None else _pattern(pattern)
    terms = []
    for g in groups:
        condition = _class_is(g, cost_class)
        if condition and line is not None:  # BQL's AND: NULL, false, or the match
            condition = line.search(g.account) is not None
        terms.append(_times(g.money, condition))
    return _sum(terms)


def _less(total: Decimal, parts: Iterable[Decimal]) -> Decimal:
    """``total - a - b - ...``, left to right."""
    for part in parts:
        total = total - part
    return total


def cost_stack(summary: MonthlySummary) -> pd.DataFrame:
    """The rows of the saved query ``cost-stack``."""
    rows: list[list[Any]] = []
    kept = (g for g in summary.groups if OVERHEAD_SCOPE.search(g.account))
    for (year, month), groups in _by_month(kept).items():
        tokens, costs = _tokens(groups), _expenses(groups)
        inference, training = _of_class(groups, "inference"), _of_class(groups, "training")
        sga, shared = _of_class(groups, "sga"), _of_class(groups, "shared")
        serving = [_of_class(groups, "inference", pattern) for _, pattern in INFERENCE_LINES]
        research = [_of_class(groups, "training", pattern) for _, pattern in TRAINING_LINES]
        amounts = [
            *serving,
            _less(inference, serving),
            inference,
            *research,
            _less(training, research),
            sga,
            shared,
            _less(costs, [inference, training, sga, shared]),
            costs,
        ]
        rows.append([year, month, tokens, *(_round(_div(amount, tokens), 6) for amount in amounts)])
    return result_frame(rows, COST_STACK_COLUMNS, ("year", "month"))


#: The saved queries the summary answers, by name.
QUERIES: dict[str, Callable[[MonthlySummary], pd.DataFrame]] = {
    "gross-margin-per-mtok": gross_margin_per_mtok,
    "net-margin-per-mtok": net_margin_per_mtok,
    "overhead-per-mtok": overhead_per_mtok,
    "margin-by-model": _margin_by("model", _model),
    "margin-by-tier": _margin_by("tier", _tier),
    "cost-stack": cost_stack,
}


@functools.cache
def _shipped_text(name: str) -> str | None:
    query = package_queries().get(name)
    return query.query_string if query is not None else None


def answers(ledger: Ledger, name: str) -> bool:
    """True if the summary answers the saved query ``name`` of ``ledger``: the
    query is one of :data:`QUERIES` and the ledger runs its shipped text."""
    query = ledger.queries.get(name)
    return name in QUERIES and query is not None and query.query_string == _shipped_text(name)


def run_report_query(ledger: Ledger, name: str, *, columns: Collection[str] = ()) -> pd.DataFrame:
    """The rows of the saved query ``name``: from the monthly summary when it
    answers the query (:func:`answers`), otherwise run by beanquery
    (:func:`~ailab_books.queries.runner.run_saved`, with its errors)."""
    if not answers(ledger, name):
        return run_saved(ledger, name, columns=columns)
    return QUERIES[name](monthly_summary(ledger))
