"""Rendering: the generator's books and main file as beancount text.

The layout is fixed (column widths, number formats, the order of same-day
entries), so the same arguments always give the same bytes.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from .entries import Book, Txn
from .views import ACCOUNTANT, View

#: The subject files, in the order main.beancount includes them.
SUBJECT_FILES: tuple[str, ...] = (
    "accounts",
    "allocation",
    "models",
    "funding",
    "revenue",
    "payroll",
    "compute",
    "capex",
    "opex",
    "drivers",
)


def render_value(value: str | int | Decimal | datetime.date) -> str:
    """A metadata value or payee/narration: strings quoted and escaped, dates as YYYY-MM-DD."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def render_number(number: Decimal | int) -> str:
    """Money with two decimals, quantities as whole numbers."""
    return str(number) if isinstance(number, int) else f"{number:.2f}"


def render_txn(txn: Txn) -> str:
    """One transaction, postings aligned, ending with a newline."""
    head = f"{txn.date.isoformat()} *"
    if txn.payee is not None:
        head += f" {render_value(txn.payee)}"
    head += f" {render_value(txn.narration)}"
    for tag in txn.tags:
        head += f" #{tag}"
    for link in txn.links:
        head += f" ^{link}"
    lines = [head]
    lines.extend(f"  {key}: {render_value(value)}" for key, value in txn.meta.items())
    width = max(46, *(len(p.account) for p in txn.postings))
    for posting in txn.postings:
        lines.append(f"  {posting.account:<{width}} {render_number(posting.number):>16} {posting.currency}")
        lines.extend(f"    {key}: {render_value(value)}" for key, value in posting.meta.items())
    return "\n".join(lines) + "\n"


def render_book(book: Book) -> str:
    """A book's file: its header, then its entries by date (in the order added within a day)."""
    items: list[tuple[datetime.date, int, str]] = [
        (txn.date, k, render_txn(txn)) for k, txn in enumerate(book.txns)
    ]
    offset = len(items)
    items.extend((date, offset + k, text) for k, (date, text) in enumerate(book.trailer))
    items.sort(key=lambda item: (item[0], item[1]))
    body = "\n".join(text for _, _, text in items)
    return book.header.rstrip("\n") + "\n\n" + body


def main_text(title: str) -> str:
    """The main file: options, the accountant's plugins in order, and the books."""
    lines = [
        "; The books of Orion Labs, a fictional AI lab.",
        ";",
        "; First written by benchmarks/generate.py (seed 7); from here on these are",
        "; ordinary books, kept by hand: add transactions, drivers and rules to the",
        "; subject files that books.beancount includes (see the README's tour).",
        ";",
        "; This file is the accountant's view: the options and the policy (the plugins",
        "; and their config). The facts are in books.beancount; the other views of the",
        "; same books are in views/ (docs/views.md).",
        "",
        f'option "title" "{title}"',
        'option "operating_currency" "USD"',
        "",
        "; ailab_books.plugins.depreciate writes each month's depreciation of the GPU servers",
        "; (capex.beancount) into a shared pool; ailab_books.plugins.allocate splits the shared pools",
        "; (allocation.beancount); ailab_books.plugins.classify gives every cost its class. In this order.",
        '; ailab_books.plugins.models checks the custom "model" records (models.beancount).',
        *(plugin.line() for plugin in ACCOUNTANT.plugins),
        "",
        'include "books.beancount"',
    ]
    return "\n".join(lines) + "\n"


def books_text(includes: Sequence[str]) -> str:
    """The books: every subject file and the extra includes; everything but policy."""
    lines = [
        "; The books of Orion Labs: every file of facts, rules, saved queries and",
        "; dashboard config. No options and no plugins here: a main file (main.beancount,",
        "; or a view in views/) gives them, then includes this file.",
        "",
    ]
    lines += [f'include "{name}.beancount"' for name in SUBJECT_FILES]
    lines += [
        "",
        "; Saved queries and other extra includes (EXAMPLE_EXTRA_INCLUDES in the generator).",
    ]
    lines += [f'include "{path}"' for path in includes]
    return "\n".join(lines) + "\n"


def view_text(title: str, view: View) -> str:
    """A view's main file: the title with the view's name, its plugins, and the books."""
    lines = [
        f"; A policy view of the Orion Labs books: {view.name}.",
        *(f"; {line}" for line in view.summary),
        ";",
        "; A view changes policy (the plugin lines below), never facts: it includes",
        "; the same books as main.beancount (docs/views.md).",
        "",
        f'option "title" "{title} (view: {view.name})"',
        'option "operating_currency" "USD"',
        "",
        *(plugin.line() for plugin in view.plugins),
        "",
        'include "../books.beancount"',
    ]
    return "\n".join(lines) + "\n"
