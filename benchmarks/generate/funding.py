"""funding.beancount: opening balances, equity raises, monthly bank balance assertions."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from .entries import Book, Meta, Posting, Txn, money, money_total
from .lab import BANK, GPU_COST, GPU_DEPRECIATION, OPENING
from .months import Month
from .volumes import USEFUL_LIFE_MONTHS, gpu_batches

HEADER = (
    "; Funding and banking: opening balances, equity raises, and monthly bank\n"
    "; reconciliations (balance assertions on the operating account).\n"
)

OPENING_CASH = Decimal("386214905.37")

#: Equity rounds: (fraction of the period at which it closes, round, lead investor, USD).
ROUNDS: tuple[tuple[float, str, str, Decimal], ...] = (
    (0.2, "Series C", "Ridgeline Ventures", Decimal("900000000.00")),
    (0.62, "Series D", "Halcyon Capital", Decimal("1050000000.00")),
)


def funding_book(months: list[Month], scale: int, books: Iterable[Book]) -> Book:
    """Opening balances and rounds; then, from every book's bank postings, the balance assertions."""
    book = Book(HEADER)
    _opening_balances(book, months, scale)
    _equity_rounds(book, months, scale)
    _bank_balances(book, months, [*books, book])
    return book


def _opening_balances(book: Book, months: list[Month], scale: int) -> None:
    """Cash, and the servers bought before the period net of their depreciation so far."""
    lines = [Posting(BANK, OPENING_CASH * scale, "USD")]
    for batch in gpu_batches(len(months), scale):
        if batch.delivered < 0:
            # The facts the depreciation plugin continues from: life, in-service date, accumulated.
            in_service = _months_before(months[0], -batch.delivered).replace(day=14)
            meta: Meta = {
                "batch": batch.key,
                "useful-life-months": USEFUL_LIFE_MONTHS,
                "in-service": in_service,
            }
            lines.append(Posting(GPU_COST, batch.cost, "USD", meta))
            accumulated = batch.accumulated_before(0)
            lines.append(Posting(GPU_DEPRECIATION, -accumulated, "USD", {"batch": batch.key}))
    lines.append(Posting(OPENING, -money_total(lines), "USD"))
    book.add(Txn(months[0].first, None, "Opening balances", lines))


def _months_before(month: Month, count: int) -> datetime.date:
    """The first day of the month ``count`` months before ``month``."""
    index = month.year * 12 + month.month - 1 - count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _equity_rounds(book: Book, months: list[Month], scale: int) -> None:
    n = len(months)
    for at, round_name, lead, amount in ROUNDS:
        index = int(n * at)
        if index >= n:
            continue
        m = months[index]
        amount *= scale
        account = "Equity:Capital:" + round_name.replace(" ", "")
        book.add(
            Txn(
                m.day(6),
                lead,
                f"{round_name} preferred stock, first close (lead: {lead})",
                [Posting(BANK, amount, "USD"), Posting(account, -amount, "USD")],
            )
        )


def _bank_balances(book: Book, months: list[Month], books: Iterable[Book]) -> None:
    """Bank reconciliation: assert the operating account at the start of each month."""
    bank_moves: list[tuple[datetime.date, Decimal]] = [
        (txn.date, money(posting))
        for other in books
        for txn in other.txns
        for posting in txn.postings
        if posting.account == BANK
    ]
    bank_moves.sort(key=lambda move: move[0])
    balance = Decimal("0.00")
    moves = iter(bank_moves)
    move = next(moves, None)
    for m in months[1:]:
        # cents add up exactly in Decimal, so a running total equals the sum of every earlier move
        while move is not None and move[0] < m.first:
            balance += move[1]
            move = next(moves, None)
        book.trailer.append((m.first, f"{m.first.isoformat()} balance {BANK:<30} {balance:.2f} USD\n"))
