"""The generator's own small transaction model: postings, transactions, books.

Lighter than beancount's directives (no booking, no costs), and rendered to
text by ``text.py``. A :class:`Book` is one output file: a header comment,
transactions, and lines of other directives (balance assertions).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

#: Metadata of a transaction or posting, in the order it is written.
Meta = dict[str, str | int | Decimal | datetime.date]


@dataclass(frozen=True, slots=True)
class Posting:
    """A posting: money is a ``Decimal`` in cents, a quantity an ``int``."""

    account: str
    number: Decimal | int
    currency: str
    meta: Meta = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Txn:
    """A transaction (always flag ``*``)."""

    date: datetime.date
    payee: str | None
    narration: str
    postings: list[Posting]
    meta: Meta = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


@dataclass
class Book:
    """Transactions and other text for one output file."""

    header: str
    txns: list[Txn] = field(default_factory=list)
    trailer: list[tuple[datetime.date, str]] = field(default_factory=list)

    def add(self, txn: Txn) -> None:
        self.txns.append(txn)


def money(posting: Posting) -> Decimal:
    """A money posting's amount; a quantity here is the generator's bug."""
    if not isinstance(posting.number, Decimal):
        raise TypeError(f"{posting.account}: expected an amount of money, got {posting.number!r}")
    return posting.number


def money_total(postings: Iterable[Posting]) -> Decimal:
    """The sum of money postings, from ``0.00`` (so the total has cents)."""
    return sum((money(posting) for posting in postings), Decimal("0.00"))


def quantity_total(postings: Iterable[Posting]) -> int:
    """The sum of quantity postings (tokens, GPU-hours, hours, TB)."""
    total = 0
    for posting in postings:
        if not isinstance(posting.number, int):
            raise TypeError(f"{posting.account}: expected a quantity, got {posting.number!r}")
        total += posting.number
    return total
