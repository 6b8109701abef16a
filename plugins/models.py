"""Models as records: the ``custom "model"`` directive, read and checked.

A lab sells the tokens of a few models, each trained once, launched, served
for a while and retired. The books record each model once::

    2024-09-01 custom "model" "Orion"
      launch: 2024-09-01
      retirement: 2027-03-31
      serving-life-months: 30
      lifetime-mtok: 260000000
      training-before-books: 140000000.00 USD

- the directive's one value is the model's name, the component the books use
  for it (``Equity:Stats:Tokens:<Tier>:<Model>``, ``Expenses:RnD:Training:<Line>:<Model>``);
- ``launch`` (a date, required): the first day it serves customers;
- ``retirement`` (a date, optional): its last day of service, after the launch;
- ``serving-life-months`` (a whole number above zero, required): the serving
  life expected at launch, for straight-line amortisation;
- ``lifetime-mtok`` (a number above zero, required): the million tokens it is
  expected to serve over that life, for units-of-production amortisation;
- ``training-before-books`` (an amount in the operating currency, optional): a
  memo of training cost incurred before the books start. It is no entry: the
  reports show it beside the training cost the books attribute, never in it.

Every malformed record is a located error (:class:`ModelRecordError`) and is
not used: a missing, unknown or repeated key (beancount keeps only the last of
a key written twice, so the record's lines are read back from its file), a
value of the wrong kind, a retirement on or before the launch, a second record
for a model (then neither is used), a name the books meter no tokens under (no opened
``Equity:Stats:Tokens:<Tier>:<Model>``). Loaded as a plugin, this module
changes no entry and only reports those errors::

    plugin "ailab_books.plugins.models"

``ailab_books.plugins.amortise`` and ``ailab_books.queries.lifetime`` read the
records through :func:`parse_models`.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from beancount.core import data
from beancount.core.amount import Amount

from .source import SourceLines, repeated_keys
from .valuation import operating_currency

__plugins__ = ("models",)

MODEL_TYPE = "model"
PLUGIN = "ailab_books.plugins.models"

REQUIRED_KEYS = ("launch", "serving-life-months", "lifetime-mtok")
OPTIONAL_KEYS = ("retirement", "training-before-books")
_RESERVED_KEYS = frozenset({"filename", "lineno"})
# A model's name is an account component: a capital letter or digit, then letters, digits, dashes.
_MODEL_NAME = re.compile(r"^[A-Z0-9][A-Za-z0-9-]*$")


class ModelRecordError(NamedTuple):
    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass(frozen=True)
class ModelRecord:
    """One model, as its ``custom "model"`` record states it."""

    name: str
    launch: datetime.date
    retirement: datetime.date | None
    serving_life_months: int
    lifetime_mtok: Decimal
    training_before_books: Decimal | None
    meta: data.Meta
    entry: data.Custom

    @property
    def location(self) -> str:
        return f"{self.meta.get('filename', '<unknown>')}:{self.meta.get('lineno', 0)}"

    @property
    def launch_month(self) -> datetime.date:
        """The first day of the launch month: amortisation starts in this month."""
        return self.launch.replace(day=1)

    @property
    def end_of_life(self) -> datetime.date:
        """The first day of the last month of the expected serving life."""
        index = self.launch.year * 12 + self.launch.month - 1 + self.serving_life_months - 1
        return datetime.date(index // 12, index % 12 + 1, 1)

    @property
    def retirement_month(self) -> datetime.date | None:
        return self.retirement.replace(day=1) if self.retirement is not None else None

    @property
    def last_month(self) -> datetime.date:
        """The first day of the last month of service: the end of the expected serving life,
        or the retirement's month if that comes first. Amortisation ends in this month."""
        index = self.launch.year * 12 + self.launch.month - 1 + self.serving_life_months - 1
        end_of_life = datetime.date(index // 12, index % 12 + 1, 1)
        if self.retirement is not None:
            return min(end_of_life, self.retirement.replace(day=1))
        return end_of_life


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _read_record(
    entry: data.Custom, currency: str, source: SourceLines
) -> tuple[ModelRecord | None, list[ModelRecordError]]:
    """The record, or None and the reasons it cannot be used."""
    problems: list[str] = []
    values = [value.value for value in entry.values]
    name = values[0] if len(values) == 1 else None
    if not isinstance(name, str) or not _MODEL_NAME.match(name):
        problems.append(
            f"A model record takes one value, the model's name as the books write it (e.g. "
            f'custom "model" "Orion"); got {", ".join(_describe(v) for v in values) or "none"}'
        )
    label = f"Model record {name!r}" if isinstance(name, str) else "Model record"

    written = source.metadata_keys(entry.meta)
    for key, lines in sorted(repeated_keys(written or []).items()):
        problems.append(
            f"{label}: key {key!r} is written {len(lines)} times (lines {', '.join(map(str, lines))}); "
            "beancount keeps only the last, so write it once"
        )
    keys = [key for key in entry.meta if key not in _RESERVED_KEYS]
    for key in keys:
        if key not in REQUIRED_KEYS and key not in OPTIONAL_KEYS:
            problems.append(
                f"{label}: unknown key {key!r}; a model record takes "
                f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
            )
    for key in REQUIRED_KEYS:
        if key not in entry.meta:
            problems.append(f"{label}: missing key {key!r}")

    launch = entry.meta.get("launch")
    if "launch" in entry.meta and not isinstance(launch, datetime.date):
        problems.append(f"{label}: launch must be a date (YYYY-MM-DD); got {_describe(launch)}")
    retirement = entry.meta.get("retirement")
    if "retirement" in entry.meta and not isinstance(retirement, datetime.date):
        problems.append(f"{label}: retirement must be a date (YYYY-MM-DD); got {_describe(retirement)}")
    if isinstance(launch, datetime.date) and isinstance(retirement, datetime.date) and retirement <= launch:
        problems.append(f"{label}: retirement {retirement} is not after launch {launch}")
    life = entry.meta.get("serving-life-months")
    if "serving-life-months" in entry.meta and not (
        isinstance(life, Decimal) and life == life.to_integral_value() and life > 0
    ):
        problems.append(
            f"{label}: serving-life-months must be a whole number of months above zero; got {_describe(life)}"
        )
    lifetime = entry.meta.get("lifetime-mtok")
    if "lifetime-mtok" in entry.meta and not (isinstance(lifetime, Decimal) and lifetime > 0):
        problems.append(
            f"{label}: lifetime-mtok must be a number of million tokens above zero; got {_describe(lifetime)}"
        )
    memo = entry.meta.get("training-before-books")
    if "training-before-books" in entry.meta and not (
        isinstance(memo, Amount)
        and memo.currency == currency
        and memo.number is not None
        and memo.number >= 0
    ):
        problems.append(
            f"{label}: training-before-books must be an amount of {currency} at or above zero "
            f"(e.g. 140000000.00 {currency}); got {memo}"
        )

    if problems:
        return None, [ModelRecordError(entry.meta, problem, entry) for problem in problems]
    assert isinstance(name, str) and isinstance(launch, datetime.date)
    assert isinstance(life, Decimal) and isinstance(lifetime, Decimal)
    return (
        ModelRecord(
            name=name,
            launch=launch,
            retirement=retirement if isinstance(retirement, datetime.date) else None,
            serving_life_months=int(life),
            lifetime_mtok=lifetime,
            training_before_books=memo.number if isinstance(memo, Amount) else None,
            meta=entry.meta,
            entry=entry,
        ),
        [],
    )


def metered_models(entries: Iterable[data.Directive], options_map: Mapping[str, Any]) -> set[str]:
    """The models the books meter tokens for: the last component of each opened
    ``Equity:Stats:Tokens:<Tier>:<Model>``."""
    prefix = f"{options_map.get('name_equity') or 'Equity'}:Stats:Tokens:"
    models: set[str] = set()
    for entry in entries:
        if isinstance(entry, data.Open) and entry.account.startswith(prefix):
            parts = entry.account[len(prefix) :].split(":")
            if len(parts) == 2:
                models.add(parts[1])
    return models


def trained_or_metered_models(entries: Iterable[data.Directive], options_map: Mapping[str, Any]) -> set[str]:
    """Every model the books name, recorded or not: those metered (:func:`metered_models`) and
    those whose training hours are a driver (each opened ``Equity:Stats:GPUH:Training:<Model>``)."""
    entries = list(entries)
    prefix = f"{options_map.get('name_equity') or 'Equity'}:Stats:GPUH:Training:"
    trained = {
        entry.account[len(prefix) :]
        for entry in entries
        if isinstance(entry, data.Open)
        and entry.account.startswith(prefix)
        and ":" not in entry.account[len(prefix) :]
    }
    return metered_models(entries, options_map) | trained


def parse_models(
    entries: Iterable[data.Directive], options_map: Mapping[str, Any], source: SourceLines | None = None
) -> tuple[list[ModelRecord], list[ModelRecordError]]:
    """Every well-formed model record (in the books' order) and an error per malformed one."""
    entries = list(entries)
    source = source or SourceLines()
    currency = operating_currency(options_map)
    metered = metered_models(entries, options_map)
    records: list[ModelRecord] = []
    errors: list[ModelRecordError] = []
    first: dict[str, ModelRecord] = {}
    duplicated: set[str] = set()
    for entry in entries:
        if not isinstance(entry, data.Custom) or entry.type != MODEL_TYPE:
            continue
        record, problems = _read_record(entry, currency, source)
        errors.extend(problems)
        if record is None:
            continue
        if record.name in first:
            errors.append(
                ModelRecordError(
                    entry.meta,
                    f"A second record for model {record.name!r} (the first is at "
                    f"{first[record.name].location}); keep one record per model (neither is used)",
                    entry,
                )
            )
            duplicated.add(record.name)
            continue
        if record.name not in metered:
            errors.append(
                ModelRecordError(
                    entry.meta,
                    f"Model {record.name!r} has no tokens in the books: no account "
                    f"Equity:Stats:Tokens:<Tier>:{record.name} is opened"
                    + (f" (models metered: {', '.join(sorted(metered))})" if metered else ""),
                    entry,
                )
            )
            continue
        first[record.name] = record
        records.append(record)
    if not errors:  # a malformed or misspelt record is reported once, at the record
        errors.extend(_unrecorded_metering(entries, options_map, set(first)))
    # Which of two records is right is not for the books to guess: neither is used.
    kept = [record for record in records if record.name not in duplicated]
    out_of_service = _metered_out_of_service(entries, options_map, {r.name: r for r in kept})
    errors.extend(error for error, _ in out_of_service)
    refused = {name for _, name in out_of_service}
    return [record for record in kept if record.name not in refused], errors


def _unrecorded_metering(
    entries: Iterable[data.Directive], options_map: Mapping[str, Any], recorded: set[str]
) -> list[ModelRecordError]:
    """In books that keep model records, an error per metered model without one, at the ``open``
    of its first tokens account: a misspelt model in an account (``Equity:Stats:Tokens:API:Heorn``)
    would otherwise take that model's tokens out of its life table and its units-of-production
    schedule without a word. Books without any record (no model-as-company figures) are left alone."""
    if not recorded:
        return []
    prefix = f"{options_map.get('name_equity') or 'Equity'}:Stats:Tokens:"
    errors: list[ModelRecordError] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, data.Open) or not entry.account.startswith(prefix):
            continue
        parts = entry.account[len(prefix) :].split(":")
        if len(parts) != 2 or parts[1] in recorded or parts[1] in seen:
            continue
        seen.add(parts[1])
        close = difflib.get_close_matches(parts[1], sorted(recorded), n=1)
        errors.append(
            ModelRecordError(
                entry.meta,
                f'{entry.account} meters model {parts[1]!r}, which has no custom "model" record '
                f"(the records are for {', '.join(sorted(recorded))})"
                + (f"; if it is {close[0]!r}, correct the account" if close else "; add its record"),
                entry,
            )
        )
    return errors


def _metered_out_of_service(
    entries: Iterable[data.Directive], options_map: Mapping[str, Any], by_name: Mapping[str, ModelRecord]
) -> list[tuple[ModelRecordError, str]]:
    """An error (and the model's name) per transaction that meters tokens of a recorded model in a
    month before its launch's or after its retirement's: a retired model still metered, or a
    launch date that is wrong, would otherwise move the units-of-production schedule and the
    per-model figures without a word. The record is then not used."""
    prefix = f"{options_map.get('name_equity') or 'Equity'}:Stats:Tokens:"
    found: list[tuple[ModelRecordError, str]] = []
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        month = entry.date.replace(day=1)
        reported: set[str] = set()
        for posting in entry.postings:
            parts = posting.account[len(prefix) :].split(":")
            if not posting.account.startswith(prefix) or len(parts) != 2 or parts[1] in reported:
                continue
            record = by_name.get(parts[1])
            if record is None or posting.units is None or not posting.units.number:
                continue
            if month < record.launch_month:
                when = f"before its launch on {record.launch}"
            elif record.retirement_month is not None and month > record.retirement_month:
                when = f"after its retirement on {record.retirement}"
            else:
                continue
            reported.add(record.name)
            found.append(
                (
                    ModelRecordError(
                        entry.meta,
                        f"Tokens of model {record.name!r} metered in {month:%Y-%m} ({posting.account} "
                        f"{posting.units}), {when} (record at {record.location}): correct the record's "
                        "dates or the metering; the record is not used",
                        entry,
                    ),
                    record.name,
                )
            )
    return found


def models(
    entries: list[data.Directive], options_map: Mapping[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[Any]]:
    """Beancount plugin: check every ``custom "model"`` record; the entries are unchanged."""
    _, errors = parse_models(entries, options_map)
    return entries, list(errors)
