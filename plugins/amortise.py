"""Each model as a company: its training cost capitalised, then amortised over its life.

A management view, not GAAP: US GAAP (ASC 730) expenses R&D as incurred, and
IFRS (IAS 38) capitalises development only under strict criteria. The view asks
what a model earns once its own training is spread over the months it serves.

From the ``custom "model"`` records (``ailab_books.plugins.models``), for each
model and month:

- **capitalise**: the month's training cost attributed to the model (every
  account ``Expenses:RnD:Training:<Line>:<Model>``, which allocation step 2b
  fills, and ``Expenses:RnD:Rollouts:<Line>:<Model>`` / ``...:Evals:<Line>:<Model>``
  where the books attribute inference used for training per model) is credited
  to those accounts and debited to ``Assets:Intangible:Training:<Model>``, up
  to the model's last month of service;
- **amortise**: from the launch month, ``Expenses:RnD:Amortisation:Training:<Model>``
  is debited and the asset credited, straight-line over the expected serving
  life or by units of production (tokens served against ``lifetime-mtok``),
  to the cent, the last month taking what is left (``schedule.py``).

The method is the plugin's setting, parsed as ``key=value`` words, never
evaluated::

    plugin "ailab_books.plugins.allocate"
    plugin "ailab_books.plugins.amortise" "method=units"
    plugin "ailab_books.plugins.classify"

Before (allocation has put October's training on Kestrel)::

    2026-10-31 * "Allocation" ...
      Expenses:RnD:Training:Compute:Kestrel   100.00 USD

after (straight-line, the model's 18th and last month)::

    2026-10-31 * "Capitalise Kestrel training, 2026-10" #model-as-company
      Assets:Intangible:Training:Kestrel        100.00 USD
      Expenses:RnD:Training:Compute:Kestrel    -100.00 USD
    2026-10-31 * "Amortise Kestrel training, 2026-10 (straight-line)" #model-as-company
      Expenses:RnD:Amortisation:Training:Kestrel  <the book value> USD
      Assets:Intangible:Training:Kestrel         -<the book value> USD

Every generated entry carries the model record's location (``model-record``,
relative to the main file, as allocate's ``rule``), ``model``, ``period`` and
``method``, under the synthetic filename ``<ailab_books.plugins.amortise>``;
it opens the two accounts per model it posts to if the books do not. Located
errors, nothing moved: a bad setting (at the plugin line), the plugin run
before allocate or after classify (at the plugin line), a training posting
that is not in the operating currency (at its transaction: it is left where
it is), a book value below zero at the end of life (at the record).
"""

from __future__ import annotations

import datetime
import os
import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data
from beancount.core.amount import Amount

from .drivers import month_end
from .models import PLUGIN as MODELS_PLUGIN
from .models import ModelRecord, parse_models, trained_or_metered_models
from .pipeline import ALLOCATE, CLASSIFY, loaded_plugins
from .schedule import METHODS, Row, month_index, schedule
from .source import SourceLines, relative_location
from .valuation import operating_currency

__plugins__ = ("amortise",)

PLUGIN = "ailab_books.plugins.amortise"
TAG = "model-as-company"
GENERATED_FILENAME = "<ailab_books.plugins.amortise>"
# Above allocate's numbers (10**9 + n): on a month's last day the capitalisation
# follows the allocation that put the cost on the model.
GENERATED_LINENO_BASE = 2 * 10**9
DEFAULT_ASSET_ROOT = "Assets:Intangible:Training"
#: The R&D trees whose ``<Line>:<Model>`` accounts are a model's training cost: training runs,
#: and inference used for training where the books attribute it per model (rollouts, evals).
TRAINING_LINES = ("Training", "Rollouts", "Evals")
DEFAULT_EXPENSE_ROOT = "Expenses:RnD:Amortisation:Training"


def model_of_training_account(account: str, names: Collection[str], expenses: str = "Expenses") -> str | None:
    """The model whose training cost ``account`` holds (``<expenses>:RnD:<Line>:<Sub>:<Model>`` with
    ``<Line>`` one of :data:`TRAINING_LINES`), else None: the one definition this plugin capitalises
    by and ``lab-report --compare`` charges the after-training margin with.

    >>> model_of_training_account("Expenses:RnD:Training:Compute:Kestrel", {"Kestrel"})
    'Kestrel'
    >>> model_of_training_account("Expenses:RnD:Training:Compute", {"Kestrel"}) is None
    True
    """
    parts = account.split(":")
    if (
        len(parts) == 5
        and parts[0] == expenses
        and parts[1] == "RnD"
        and parts[2] in TRAINING_LINES
        and parts[4] in names
    ):
        return parts[4]
    return None


class AmortiseError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass(frozen=True)
class AmortiseConfig:
    method: str = "straight-line"


def parse_config(config: str | None) -> tuple[AmortiseConfig, list[str]]:
    """The settings in ``config`` and a message per word that is not one."""
    problems: list[str] = []
    method = "straight-line"
    for word in re.split(r"[\s,]+", (config or "").strip()):
        if not word:
            continue
        key, equals, value = word.partition("=")
        if key == "method" and equals and value in METHODS:
            method = value
        elif key == "method":
            problems.append(f"method must be {' or '.join(METHODS)}, as in method=units; got {word!r}")
        else:
            problems.append(f"unknown setting {word!r}; the plugin takes method=straight-line|units")
    return AmortiseConfig(method), problems


def _order_problems(plugins: list[str]) -> list[str]:
    """The plugin must follow allocate (which puts training on the models) and precede classify
    (which gives the accounts it posts to their cost class)."""
    problems: list[str] = []
    mine = plugins.index(PLUGIN) if PLUGIN in plugins else -1
    if mine < 0:
        return problems
    if ALLOCATE in plugins and plugins.index(ALLOCATE) > mine:
        problems.append(
            f"{PLUGIN} runs before {ALLOCATE}, so there is no training cost per model to capitalise; "
            f'put plugin "{PLUGIN}" after plugin "{ALLOCATE}"'
        )
    if CLASSIFY in plugins and plugins.index(CLASSIFY) < mine:
        problems.append(
            f"{PLUGIN} runs after {CLASSIFY}, so the entries it makes get no cost class; "
            f'put plugin "{PLUGIN}" before plugin "{CLASSIFY}"'
        )
    return problems


@dataclass
class _Scan:
    """Per model: training cost per month and account, tokens per month; the books' last month."""

    costs: dict[str, dict[datetime.date, dict[str, Decimal]]]
    tokens: dict[str, dict[datetime.date, Decimal]]
    opened: set[str]
    last_month: datetime.date | None


def _scan(
    entries: list[data.Directive],
    names: set[str],
    currency: str,
    options_map: Mapping[str, Any],
    errors: list[Any],
) -> _Scan:
    expenses = str(options_map.get("name_expenses") or "Expenses")
    equity = str(options_map.get("name_equity") or "Equity")
    metering = f"{equity}:Stats:Tokens:"
    costs: dict[str, dict[datetime.date, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    tokens: dict[str, dict[datetime.date, Decimal]] = defaultdict(dict)
    opened: set[str] = set()
    last: datetime.date | None = None
    for entry in entries:
        if isinstance(entry, data.Open):
            opened.add(entry.account)
            continue
        if not isinstance(entry, data.Transaction):
            continue
        month = entry.date.replace(day=1)
        last = month if last is None or month > last else last
        for posting in entry.postings:
            model = posting.account.rpartition(":")[2]
            if model not in names or posting.units is None or posting.units.number is None:
                continue
            if model_of_training_account(posting.account, names, expenses) is not None:
                if (
                    posting.units.currency != currency
                    or posting.cost is not None
                    or posting.price is not None
                ):
                    errors.append(
                        AmortiseError(
                            entry.meta,
                            f"{posting.account}: training cost of model {model} in {posting.units} is not "
                            f"capitalised: the model-as-company view takes training cost in {currency} "
                            "(allocation books it so); this amount stays an expense",
                            entry,
                        )
                    )
                    continue
                by_account = costs[model][month]
                by_account[posting.account] = (
                    by_account.get(posting.account, Decimal(0)) + posting.units.number
                )
            elif posting.account.startswith(metering) and posting.account.count(":") == 4:
                tokens[model][month] = tokens[model].get(month, Decimal(0)) + posting.units.number
    return _Scan(costs, tokens, opened, last)


@dataclass
class _Emitter:
    currency: str
    method: str
    main_dir: str | None
    sequence: int = 0

    def meta(self, record: ModelRecord, month: datetime.date, **extra: Any) -> data.Meta:
        self.sequence += 1
        return {
            "filename": GENERATED_FILENAME,
            "lineno": GENERATED_LINENO_BASE + self.sequence,
            "model-record": relative_location(record.meta, self.main_dir),
            "model": record.name,
            "period": f"{month:%Y-%m}",
            "method": self.method,
            **extra,
        }

    def posting(self, account: str, number: Decimal) -> data.Posting:
        return data.Posting(account, Amount(number, self.currency), None, None, None, None)

    def transaction(
        self,
        record: ModelRecord,
        month: datetime.date,
        narration: str,
        postings: list[data.Posting],
        **extra: Any,
    ) -> data.Transaction:
        return data.Transaction(
            self.meta(record, month, **extra),
            month_end((month.year, month.month)),
            "*",
            None,
            narration,
            frozenset({TAG}),
            frozenset({f"model-{record.name.lower()}-{month:%Y-%m}"}),
            postings,
        )


def _model_entries(
    record: ModelRecord,
    rows: list[Row],
    by_account: Mapping[datetime.date, Mapping[str, Decimal]],
    emit: _Emitter,
) -> list[data.Directive]:
    asset = f"{DEFAULT_ASSET_ROOT}:{record.name}"
    expense = f"{DEFAULT_EXPENSE_ROOT}:{record.name}"
    made: list[data.Directive] = []
    for row in rows:
        accounts = by_account.get(row.month, {})
        if row.capitalised and any(accounts.values()):
            postings = [emit.posting(asset, row.capitalised)]
            postings += [
                emit.posting(account, -amount) for account, amount in sorted(accounts.items()) if amount
            ]
            made.append(
                emit.transaction(
                    record, row.month, f"Capitalise {record.name} training, {row.month:%Y-%m}", postings
                )
            )
        if row.amortised:
            basis: dict[str, Any] = (
                {"months-left": Decimal(row.months_left)}
                if emit.method == "straight-line"
                else {"tokens": row.tokens, "tokens-left": row.tokens_left}
            )
            made.append(
                emit.transaction(
                    record,
                    row.month,
                    f"Amortise {record.name} training, {row.month:%Y-%m} ({emit.method})",
                    [emit.posting(expense, row.amortised), emit.posting(asset, -row.amortised)],
                    **basis,
                    **{"book-value": row.book_value},
                )
            )
    return made


def _opens(made: list[data.Directive], opened: set[str], currency: str) -> list[data.Directive]:
    """An ``open`` for each account the generated entries post to that the books do not open."""
    first: dict[str, datetime.date] = {}
    for entry in made:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if posting.account not in opened:
                    first[posting.account] = min(first.get(posting.account, entry.date), entry.date)
    return [
        data.Open(
            {"filename": GENERATED_FILENAME, "lineno": GENERATED_LINENO_BASE}, date, account, [currency], None
        )
        for account, date in sorted(first.items())
    ]


def _unrecorded_models(entries: list[data.Directive], options_map: Mapping[str, Any]) -> list[AmortiseError]:
    """An error per model whose training cost this view would leave an expense for want of a record.

    A model is a leaf the books meter tokens for (``Equity:Stats:Tokens:<Tier>:<Model>``) or
    drive training by (``Equity:Stats:GPUH:Training:<Model>``); its training cost (the
    :func:`model_of_training_account` accounts) is capitalised only through its ``custom "model"``
    record. Without one the view would show that model's training as expensed, a figure of
    another policy under this view's name. A model with a record, even a malformed one, is
    left to the record's own error. The error is at the ``open`` of the model's first training
    account with cost (or at the first posting's transaction when the books do not open it).
    """
    expenses = str(options_map.get("name_expenses") or "Expenses")
    models = trained_or_metered_models(entries, options_map)
    recorded = {
        str(entry.values[0].value)
        for entry in entries
        if isinstance(entry, data.Custom) and entry.type == "model" and entry.values
    }
    opens = {entry.account: entry for entry in entries if isinstance(entry, data.Open)}
    unrecorded = models - recorded
    if not unrecorded:
        return []
    currency = operating_currency(options_map)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    first: dict[str, tuple[str, data.Directive]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            model = model_of_training_account(posting.account, unrecorded, expenses)
            if model is None or posting.units is None or posting.units.number is None:
                continue
            totals[model] += posting.units.number
            first.setdefault(model, (posting.account, entry))
    errors: list[AmortiseError] = []
    for model in sorted(first):
        if not totals[model]:
            continue
        account, entry = first[model]
        where: data.Directive = opens.get(account, entry)
        errors.append(
            AmortiseError(
                where.meta,
                f"Training cost of model {model} ({account} and the other {model} training accounts, "
                f"{totals[model]} {currency} in all) is not capitalised: the books have no "
                f'custom "model" record for {model}; add one (docs/conventions.md, "Models"), '
                "or this view shows its training as expensed",
                where,
            )
        )
    return errors


def amortise(
    entries: list[data.Directive], options_map: Mapping[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[Any]]:
    """Beancount plugin: capitalise each model's training cost and amortise it over its life."""
    source = SourceLines()
    main_file = options_map.get("filename")
    real_main = isinstance(main_file, str) and not main_file.startswith("<")
    plugin_meta = data.new_metadata(
        str(main_file or "<unknown>"), source.find_line(str(main_file), f'"{PLUGIN}"') if real_main else 0
    )
    settings, problems = parse_config(config)
    errors: list[Any] = [
        AmortiseError(plugin_meta, f"Invalid amortise plugin setting: {p}", None) for p in problems
    ]
    order = _order_problems(loaded_plugins(options_map))
    errors.extend(AmortiseError(plugin_meta, problem, None) for problem in order)
    if problems or order:
        return entries, errors  # nothing moved

    records, record_errors = parse_models(entries, options_map, source)
    if MODELS_PLUGIN not in loaded_plugins(options_map):  # else that plugin reports them
        errors.extend(record_errors)
    errors.extend(_unrecorded_models(entries, options_map))
    if not records:
        return entries, errors
    currency = operating_currency(options_map)
    scan = _scan(entries, {record.name for record in records}, currency, options_map, errors)
    if scan.last_month is None:
        return entries, errors
    main_dir = os.path.dirname(os.path.abspath(str(main_file))) if real_main else None
    emit = _Emitter(currency, settings.method, main_dir)
    made: list[data.Directive] = []
    for record in records:
        by_account = scan.costs.get(record.name, {})
        costs = {month: sum(accounts.values(), Decimal(0)) for month, accounts in by_account.items()}
        rows = schedule(
            costs,
            scan.tokens.get(record.name, {}),
            record.launch_month,
            record.end_of_life,
            record.lifetime_mtok,
            settings.method,
            scan.last_month,
            record.retirement_month,
        )
        if rows and rows[-1].negative and month_index(rows[-1].month) == month_index(record.last_month):
            errors.append(
                AmortiseError(
                    record.meta,
                    f"Model {record.name}: its capitalised training ends its life at {rows[-1].book_value} "
                    f"{currency} (more refunded than spent); nothing is amortised",
                    record.entry,
                )
            )
        made.extend(_model_entries(record, rows, by_account, emit))
    if not made:
        return entries, errors
    made = _opens(made, scan.opened, currency) + made
    return sorted([*entries, *made], key=data.entry_sortkey), errors
