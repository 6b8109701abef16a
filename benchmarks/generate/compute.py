"""compute.beancount: GPU leases, colocation, power, and the compute vendors."""

from __future__ import annotations

from decimal import Decimal

from .amounts import fmt_int, q2, split_int
from .billing import InvoiceNumbers, bill
from .entries import Book
from .lab import LESSORS, POOL_GPU, POOL_POWER
from .months import Month
from .streams import Rng
from .vendors import vendor_bills
from .volumes import MonthPlan

HEADER = (
    "; Compute: GPU cluster leases, colocation, network, power, storage and\n"
    "; datacentre operations vendors.\n"
    ";\n"
    "; Pools (split by ailab_books.plugins.allocate, see allocation.beancount):\n"
    ";   Expenses:Shared:GPUCluster      leases, colocation, backbone network\n"
    ";                                   (and depreciation, capex.beancount)\n"
    ";   Expenses:Shared:Power           electricity for the whole fleet\n"
    ";   Expenses:Shared:Storage         object storage and arrays\n"
    ";   Expenses:Shared:DatacenterOps   remote hands and spares (and DC staff)\n"
    "; Serving-only costs (CDN egress, API gateway CPU instances) go straight to\n"
    "; the serving pool Expenses:Shared:Serving:Compute.\n"
    ";\n"
    "; Leases and colocation are billed on the 1st for the month and paid through\n"
    "; payables; power is billed at month end for the month's metered kWh.\n"
)

#: Power suppliers: (payee, invoice prefix, USD per kWh, what).
POWER_SITES: tuple[tuple[str, str, Decimal, str], ...] = (
    ("Tri-County Electric Cooperative", "TCE", Decimal("0.0765"), "site A, large-power tariff"),
    ("Prairie Wind Energy", "PWE", Decimal("0.0712"), "site B, power purchase agreement"),
)


def compute_book(
    months: list[Month], plans: list[MonthPlan], seed: int, scale: int, numbers: InvoiceNumbers
) -> Book:
    """Each month: leases, colocation and power; then the compute vendors' bills."""
    book = Book(HEADER)
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "compute", m.label)  # drawn in this order: leases, colocation, power
        _leases(book, months, m, plan, rng, scale, numbers)
        _colocation(book, months, m, plan, rng, scale, numbers)
        _power(book, months, m, plan, rng, scale, numbers)
    vendor_bills(book, months, plans, seed, scale, "compute", numbers)
    return book


def _leases(
    book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng, scale: int, numbers: InvoiceNumbers
) -> None:
    """Leased GPUs, billed on the 1st, paid 14 days later; N invoices per lessor at scale N."""
    for lessor, gpus in zip(LESSORS, plan.leased_gpus, strict=True):
        if gpus == 0:
            continue
        for part in split_int(gpus, rng.weights(scale, 60, 140)) if scale > 1 else [gpus]:
            amount = q2(part * m.hours * lessor.rate)
            invoice = numbers.next(lessor.prefix, m)
            bill(
                book,
                months,
                date=m.first,
                payee=lessor.name,
                narration=f"GPU cluster lease, {m.name}: {fmt_int(part)} GPUs x "
                f"{m.hours} h at {lessor.rate} USD ({lessor.contract})",
                invoice=invoice,
                postings=[(POOL_GPU, amount, {"gpus": part, "gpu-hours": part * m.hours})],
                pay_after_days=14,
            )


def _colocation(
    book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng, scale: int, numbers: InvoiceNumbers
) -> None:
    """Colocation of owned servers: per-GPU rack space and cooling, plus cross-connects."""
    colo = q2(plan.owned_gpus * Decimal("205.00")) + rng.money(Decimal("38500") * scale, 800)
    invoice = numbers.next("KDC", m)
    bill(
        book,
        months,
        date=m.first,
        payee="Keystone Data Centers",
        narration=f"Colocation for owned GPU servers, {m.name}: "
        f"{fmt_int(plan.owned_gpus // 8)} 8-GPU servers, cooling, cross-connects",
        invoice=invoice,
        postings=[(POOL_GPU, colo, {"owned-gpus": plan.owned_gpus})],
        pay_after_days=20,
    )


def _power(
    book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng, scale: int, numbers: InvoiceNumbers
) -> None:
    """Power: two sites, metered kWh plus a demand charge, billed at month end."""
    site_kwh = split_int(plan.power_kwh, [6000 + rng.randint(-200, 200), 4000])
    for (payee, prefix, rate, what), kwh in zip(POWER_SITES, site_kwh, strict=True):
        amount = q2(kwh * rate) + rng.money(Decimal("14250") * scale, 500)
        invoice = numbers.next(prefix, m)
        bill(
            book,
            months,
            date=m.last,
            payee=payee,
            narration=f"Electricity, {m.name}, {what}: {fmt_int(kwh)} kWh at {rate} USD plus demand charge",
            invoice=invoice,
            postings=[(POOL_POWER, amount, {"kwh": kwh})],
            pay_after_days=18,
        )
