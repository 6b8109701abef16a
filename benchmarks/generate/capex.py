"""capex.beancount: owned GPU servers bought, and their monthly depreciation."""

from __future__ import annotations

import datetime
from decimal import Decimal

from .amounts import fmt_int, fmt_money
from .billing import link_for
from .entries import Book, Posting, Txn
from .lab import AP, BANK, GPU_COST, GPU_DEPRECIATION, POOL_GPU
from .months import Month, in_range
from .volumes import USEFUL_LIFE_MONTHS, GpuBatch, gpu_batches

HEADER = (
    "; Capital expenditure: owned GPU servers, and their depreciation.\n"
    ";\n"
    "; Method: GPU servers are capitalised at invoice cost in Assets:Fixed:GPU:Cost\n"
    f"; on delivery and depreciated straight-line over {USEFUL_LIFE_MONTHS} months "
    f"({USEFUL_LIFE_MONTHS / 12:g} years, no\n"
    "; salvage value), starting the month after delivery, when they enter\n"
    f"; service. Each month's charge is cost / {USEFUL_LIFE_MONTHS} rounded to the cent; "
    f"the {USEFUL_LIFE_MONTHS}th\n"
    "; month takes the rounding remainder so the asset depreciates exactly to zero.\n"
    "; The charge is credited to the contra-asset Assets:Fixed:GPU:Depreciation\n"
    "; and debited to the pool Expenses:Shared:GPUCluster, which ailab_books.plugins.allocate\n"
    "; splits with the leases by GPU-hours per workload (allocation.beancount).\n"
    "; A shorter useful life (4 years, as some neoclouds use) raises the cost of\n"
    "; every GPU-hour: set USEFUL_LIFE_MONTHS in benchmarks/generate/volumes.py to\n"
    "; 48 and generate a ledger to see it.\n"
    ";\n"
    "; Batch h100-a was bought before these books start; its cost and the\n"
    "; depreciation accumulated so far are in the opening balances (funding.beancount).\n"
)


def capex_book(months: list[Month], scale: int) -> Book:
    """The deliveries within the period (paid 45 days later), then each month's depreciation."""
    batches = gpu_batches(len(months), scale)
    book = Book(HEADER)
    for batch in batches:
        if 0 <= batch.delivered < len(months):
            _delivery(book, months, batch)
    for m in months:
        _depreciation(book, m, batches)
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
                Posting(GPU_COST, batch.cost, "USD", {"batch": batch.key}),
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


def _depreciation(book: Book, m: Month, batches: list[GpuBatch]) -> None:
    lines = []
    total = Decimal("0.00")
    for batch in batches:
        amount = batch.depreciation(m.index)
        if amount:
            total += amount
            lines.append(Posting(GPU_DEPRECIATION, -amount, "USD", {"batch": batch.key}))
    if not lines:
        return
    book.add(
        Txn(
            m.last,
            None,
            f"Depreciation of owned GPU servers, {m.name} (straight-line, {USEFUL_LIFE_MONTHS} months)",
            [Posting(POOL_GPU, total, "USD"), *lines],
        )
    )
