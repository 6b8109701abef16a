"""models.beancount: one ``custom "model"`` record per model (docs/conventions.md).

The records say when each model launched, how long it is expected to serve
and how many tokens it is expected to serve over that life; the
model-as-company view (``ailab_books.plugins.amortise``) and the life table
(``ailab_books.queries.lifetime``) read them. Dates are placed relative to the
generated period (``lab.MODEL_FACTS``), so that every period gets a
predecessor, a small model and a successor launched part-way through.
"""

from __future__ import annotations

import datetime

from .entries import Book
from .lab import MODEL_FACTS, ModelFacts
from .months import Month
from .volumes import generation_months

HEADER = (
    "; The models the lab serves, one record each (read by ailab_books.plugins.models).\n"
    ";\n"
    ";   launch                 first day of service\n"
    ";   serving-life-months    expected serving life, for straight-line amortisation\n"
    ";   lifetime-mtok          million tokens expected over that life, for units of production\n"
    ";                          (for a model launched before the books: from the books' first month)\n"
    ";   training-before-books  memo: training cost incurred before these books start (no entry)\n"
)


def _month_start(months: list[Month], index: int) -> datetime.date:
    first = months[0]
    absolute = first.year * 12 + first.month - 1 + index
    return datetime.date(absolute // 12, absolute % 12 + 1, 1)


def _record(facts: ModelFacts, months: list[Month], scale: int) -> tuple[datetime.date, str]:
    launch_index = facts.launch_month if facts.launch_month is not None else generation_months(len(months))[1]
    launch = _month_start(months, launch_index).replace(day=facts.launch_day)
    life = (
        facts.life_months
        if facts.life_months is not None
        else len(months) - launch_index + facts.life_extra_months
    )
    lines = [
        f'{launch.isoformat()} custom "model" "{facts.name}"',
        f"  launch: {launch.isoformat()}",
        f"  serving-life-months: {life}",
        f"  lifetime-mtok: {facts.lifetime_mtok * scale}",
    ]
    if facts.training_before_books is not None:
        lines.append(f"  training-before-books: {facts.training_before_books * scale:.2f} USD")
    return launch, "\n".join(lines) + "\n"


def models_book(months: list[Month], scale: int) -> Book:
    """The model records, by launch date."""
    book = Book(HEADER)
    for facts in MODEL_FACTS:
        book.trailer.append(_record(facts, months, scale))
    return book
