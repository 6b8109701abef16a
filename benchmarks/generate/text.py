"""Rendering: the generator's books and main file as beancount text.

The layout is fixed (column widths, number formats, the order of same-day
entries), so the same arguments always give the same bytes.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from .entries import Book, Txn

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


def render_value(value: str | int | Decimal) -> str:
    """A metadata value or payee/narration: strings quoted and escaped."""
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


def main_text(title: str, includes: Sequence[str]) -> str:
    """The main file: options, the two plugins in order, the subject files, extra includes."""
    lines = [
        "; The books of Orion Labs, a fictional AI lab.",
        ";",
        "; First written by benchmarks/generate.py (seed 7); from here on these are",
        "; ordinary books, kept by hand: add transactions, drivers and rules to the",
        "; subject files below (see the README's tour).",
        "",
        f'option "title" "{title}"',
        'option "operating_currency" "USD"',
        "",
        "; ailab_books.plugins.allocate splits the shared pools (allocation.beancount); it must run",
        "; before ailab_books.plugins.classify so that the entries it generates get cost-class tags.",
        'plugin "ailab_books.plugins.allocate"',
        'plugin "ailab_books.plugins.classify"',
        '; ailab_books.plugins.models checks the custom "model" records (models.beancount).',
        'plugin "ailab_books.plugins.models"',
        "",
    ]
    lines += [f'include "{name}.beancount"' for name in SUBJECT_FILES]
    lines += [
        "",
        "; Saved queries and other extra includes (EXAMPLE_EXTRA_INCLUDES in the generator).",
    ]
    lines += [f'include "{path}"' for path in includes]
    return "\n".join(lines) + "\n"
