"""The generator's steps: calendar, volumes, money, drivers, structure, text.

:func:`generate` returns a ledger's files as text; :func:`write_ledger`
writes them into a directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

from .billing import InvoiceNumbers
from .capex import capex_book
from .compute import compute_book
from .drivers import drivers_book
from .entries import Book
from .funding import funding_book
from .lab import EXAMPLE_EXTRA_INCLUDES, EXAMPLE_TITLE
from .models import models_book
from .months import month_range
from .opex import opex_book
from .payroll import payroll_book
from .revenue import revenue_book
from .structure import EXAMPLE_LEDGER, check_postings, read_structure, texts_for
from .text import books_text, main_text, render_book, view_text
from .views import views_for
from .volumes import build_plans

#: The example lab's arguments: (start, end, scale, daily, seed).
EXAMPLE = ("2025-01", "2026-10", 1, False, 7)


def generate(
    *,
    start: str = "2025-01",
    end: str = "2026-10",
    scale: int = 1,
    daily: bool = False,
    seed: int = 7,
    includes: Sequence[str] | None = None,
    structure_dir: Path = EXAMPLE_LEDGER,
) -> dict[str, str]:
    """Return the ledger's files as {file name: text}.

    Names are paths relative to the ledger's folder (``views/NAME.beancount``
    for the policy views). ``includes`` are extra includes for books.beancount (by default the
    example's saved queries and dashboard with the example's arguments, none
    otherwise); ``structure_dir`` is where the accounts and allocation rules
    are copied from (the example books' ledger/).
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    structure = read_structure(structure_dir)

    # 1. Calendar and volumes: the months, and each month's plan.
    months = month_range(start, end)
    plans = build_plans(months, scale, seed)

    # 2. Money and drivers: one book per subject file (the order of the
    # compute and opex books matters: they share the invoice numbering).
    numbers = InvoiceNumbers(seed)
    books: dict[str, Book] = {
        "revenue": revenue_book(months, plans, seed, daily),
        "payroll": payroll_book(months, plans, seed, per_employee=scale > 1 or daily),
        "compute": compute_book(months, plans, seed, scale, numbers),
        "capex": capex_book(months, scale),
        "models": models_book(months, scale),
        "opex": opex_book(months, plans, seed, scale, numbers),
        "drivers": drivers_book(months, plans, seed, daily),
    }
    # the bank balance assertions sum every other book's bank postings
    books["funding"] = funding_book(months, scale, books.values())

    # 3. Structure: the example's accounts and rules, checked against what was posted.
    check_postings(structure, _posted(books.values()))

    # 4. Text.
    example = (start, end, scale, daily, seed) == EXAMPLE
    if example:
        title = EXAMPLE_TITLE
    else:
        title = f"Orion Labs — synthetic books (scale {scale}, {'daily' if daily else 'monthly'})"
    if includes is None:
        includes = EXAMPLE_EXTRA_INCLUDES if example else ()
    files = {
        "main.beancount": main_text(title),
        "books.beancount": books_text(includes),
        **texts_for(structure, months[0].first),
    }
    for name, book in books.items():
        files[f"{name}.beancount"] = render_book(book)
    for view in views_for(structure.opens):
        files[f"views/{view.name}.beancount"] = view_text(title, view)
    return files


def _posted(books: Iterable[Book]) -> set[tuple[str, str]]:
    """Every (account, currency) the books post to."""
    return {
        (posting.account, posting.currency) for book in books for txn in book.txns for posting in txn.postings
    }


class GenerateOptions(TypedDict, total=False):
    """The keyword arguments of :func:`generate` (its defaults: the example books)."""

    start: str
    end: str
    scale: int
    daily: bool
    seed: int
    includes: Sequence[str] | None
    structure_dir: Path


def write_ledger(out_dir: Path, **options: Unpack[GenerateOptions]) -> list[Path]:
    """Write the ledger files of :func:`generate` into `out_dir` (created if
    needed); return their paths.

    Nothing is written (and no directory created) if generating fails.
    """
    files = generate(**options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths
