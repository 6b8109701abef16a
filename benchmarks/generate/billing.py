"""Vendor invoices: numbering, and booking through the bank or payables."""

from __future__ import annotations

import datetime
from decimal import Decimal

from .entries import Book, Meta, Posting, Txn
from .lab import AP, BANK
from .months import Month, in_range
from .streams import Rng


class InvoiceNumbers:
    """Per-vendor invoice sequences with gaps (the vendor bills other customers too)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._next: dict[str, int] = {}
        self._rng: dict[str, Rng] = {}

    def next(self, prefix: str, month: Month) -> str:
        """The vendor's next invoice number, e.g. ``CGC-2601-012345``."""
        if prefix not in self._next:
            self._rng[prefix] = Rng(self._seed, "invoices", prefix)
            self._next[prefix] = self._rng[prefix].randint(1000, 60000)
        number = self._next[prefix]
        self._next[prefix] += self._rng[prefix].randint(3, 400)
        return f"{prefix}-{month.year % 100:02d}{month.month:02d}-{number:06d}"


def link_for(invoice: str) -> str:
    """The link that ties an invoice to its payment."""
    return "inv-" + invoice.lower()


def bill(
    book: Book,
    months: list[Month],
    *,
    date: datetime.date,
    payee: str,
    narration: str,
    invoice: str,
    postings: list[tuple[str, Decimal, Meta]],
    pay_after_days: int | None,
    meta: Meta | None = None,
) -> None:
    """Book a vendor invoice: straight from the bank, or through payables and paid later.

    A payment that would fall after the period is left out: the invoice stays
    in payables at the end, as it would in real books.
    """
    total = sum((amount for _, amount, _ in postings), Decimal("0.00"))
    entry_meta: Meta = {"invoice": invoice, **(meta or {})}
    lines = [Posting(account, amount, "USD", dict(pmeta)) for account, amount, pmeta in postings]
    if pay_after_days is None:
        book.add(Txn(date, payee, narration, [*lines, Posting(BANK, -total, "USD")], entry_meta))
        return
    link = link_for(invoice)
    book.add(Txn(date, payee, narration, [*lines, Posting(AP, -total, "USD")], entry_meta, links=(link,)))
    paid = date + datetime.timedelta(days=pay_after_days)
    if in_range(paid, months):
        book.add(
            Txn(
                paid,
                payee,
                f"Payment of invoice {invoice}",
                [Posting(AP, total, "USD"), Posting(BANK, -total, "USD")],
                links=(link,),
            )
        )
