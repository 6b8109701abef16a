"""capex.beancount: owned GPU servers bought (their depreciation is ailab_books.plugins.depreciate's)."""

from __future__ import annotations

import datetime

from .amounts import fmt_int, fmt_money
from .billing import link_for
from .entries import Book, Posting, Txn
from .lab import AP, BANK, GPU_COST
from .months import Month, in_range
from .volumes import USEFUL_LIFE_MONTHS, GpuBatch, gpu_batches

HEADER = (
    "; Capital expenditure: owned GPU servers.\n"
    ";\n"
    "; GPU servers are capitalised at invoice cost in Assets:Fixed:GPU:Cost on\n"
    "; delivery, each purchase with its batch and its useful life\n"
    f"; (useful-life-months: {USEFUL_LIFE_MONTHS}, {USEFUL_LIFE_MONTHS / 12:g} years, no salvage value). "
    "ailab_books.plugins.depreciate\n"
    "; writes the monthly depreciation from these purchases: straight-line from the\n"
    "; month after delivery (in service), cost / life rounded to the cent, the last\n"
    "; month taking the rounding remainder so each batch depreciates exactly to zero,\n"
    "; credited to the contra-asset Assets:Fixed:GPU:Depreciation and debited to the\n"
    "; pool Expenses:Shared:GPUCluster (both named on the asset account's open, in\n"
    "; accounts.beancount), which ailab_books.plugins.allocate splits with the leases\n"
    "; by GPU-hours per workload (allocation.beancount). The views gpu-life-4y and\n"
    "; gpu-life-6y (views/) change the life, prospectively (docs/views.md).\n"
    ";\n"
    "; Batch h100-a was bought before these books start; its cost, useful life,\n"
    "; in-service date and the depreciation accumulated so far are in the opening\n"
    "; balances (funding.beancount).\n"
)


def capex_book(months: list[Month], scale: int) -> Book:
    """The deliveries within the period (paid 45 days later)."""
    book = Book(HEADER)
    for batch in gpu_batches(len(months), scale):
        if 0 <= batch.delivered < len(months):
            _delivery(book, months, batch)
    return book


def _delivery(book: Book, months: list[Month], batch: GpuBatch) -> None:
    date = months[batch.delivered].day(14)
    link = link_for(batch.vendor_invoice)
    book.add(
        Txn(
            date,
            "Silverline Systems",
            f"{fmt_int(batch.servers)} {batch.gpu} 8-GPU servers "
            f"({fmt_int(batch.gpus)} GPUs) at {fmt_money(batch.server_price)} USD, delivered",
            [
                Posting(
                    GPU_COST,
                    batch.cost,
                    "USD",
                    {"batch": batch.key, "useful-life-months": USEFUL_LIFE_MONTHS},
                ),
                Posting(AP, -batch.cost, "USD"),
            ],
            {"invoice": batch.vendor_invoice, "gpus": batch.gpus},
            links=(link,),
        )
    )
    paid = date + datetime.timedelta(days=45)
    if in_range(paid, months):
        book.add(
            Txn(
                paid,
                "Silverline Systems",
                f"Payment of invoice {batch.vendor_invoice}",
                [Posting(AP, batch.cost, "USD"), Posting(BANK, -batch.cost, "USD")],
                links=(link,),
            )
        )
