"""The lab's simple vendors: one invoice a month (N at scale N), paid from the bank.

Each vendor bills a monthly amount that grows with revenue, with headcount or
not at all, varied at random by up to ``jitter_bp`` basis points. Vendors with
usage-based bills (GPU leases, colocation, power) are in ``compute.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .amounts import split_money
from .billing import InvoiceNumbers, bill
from .entries import Book
from .lab import POOL_DCOPS, POOL_GPU, POOL_STORAGE, SERVING_COMPUTE
from .months import Month
from .streams import Rng
from .volumes import MonthPlan


@dataclass(frozen=True)
class Vendor:
    """A vendor that bills a fixed-ish monthly amount (scaled by the lab's growth)."""

    subject: str  # output file stem
    payee: str
    prefix: str  # invoice number prefix
    account: str
    end_amount: Decimal  # monthly amount at the end of the period, scale 1
    growth: Literal["rev", "hc", "flat"]  # grows with revenue, with headcount, or not
    narration: str  # "{month}" is replaced by e.g. "October 2026"
    day: int = 0  # invoice day of month; 0 = last day
    months: tuple[int, ...] = ()  # calendar months billed; () = every month
    jitter_bp: int = 300


VENDORS: tuple[Vendor, ...] = (
    # compute.beancount: network, serving-only hosting, storage, datacentre ops
    Vendor(
        "compute",
        "Meridian Fiber",
        "MF",
        POOL_GPU,
        Decimal("452300"),
        "rev",
        "Backbone transit, cross-connects and dark fibre between sites, {month}",
        3,
    ),
    Vendor(
        "compute",
        "Fastlane CDN",
        "FLC",
        SERVING_COMPUTE,
        Decimal("348900"),
        "rev",
        "API and app egress, edge caching, {month}",
    ),
    Vendor(
        "compute",
        "Cumulus GPU Cloud",
        "CGC-CPU",
        SERVING_COMPUTE,
        Decimal("912700"),
        "rev",
        "CPU instances for API gateway, tokenizers and web front end, {month}",
    ),
    Vendor(
        "compute",
        "Granite Object Storage",
        "GOS",
        POOL_STORAGE,
        Decimal("1046200"),
        "rev",
        "Object storage, {month}: datasets, checkpoints, model weights, logs",
    ),
    Vendor(
        "compute",
        "Vaultline Storage Systems",
        "VSS",
        POOL_STORAGE,
        Decimal("86400"),
        "flat",
        "All-flash array support and capacity licence, {month}",
        5,
    ),
    Vendor(
        "compute",
        "Rackwise Field Services",
        "RFS",
        POOL_DCOPS,
        Decimal("183600"),
        "rev",
        "Remote hands and break-fix visits, {month}",
        jitter_bp=1200,
    ),
    Vendor(
        "compute",
        "Opticore Supply",
        "OPS",
        POOL_DCOPS,
        Decimal("121900"),
        "rev",
        "Optics, DACs, spare PSUs and fans, {month}",
        22,
        jitter_bp=1800,
    ),
    # opex.beancount: R&D data, SG&A
    Vendor(
        "opex",
        "Pressbridge News Archive",
        "PNA",
        "Expenses:RnD:Data:Licensing",
        Decimal("1125000"),
        "flat",
        "News archive licence for training data, {month}",
        1,
        jitter_bp=0,
    ),
    Vendor(
        "opex",
        "Codex Commons Foundation",
        "CCF",
        "Expenses:RnD:Data:Licensing",
        Decimal("640000"),
        "flat",
        "Curated code corpus licence, {month}",
        1,
        jitter_bp=0,
    ),
    Vendor(
        "opex",
        "Lexica Academic Publishing",
        "LAP",
        "Expenses:RnD:Data:Licensing",
        Decimal("2310000"),
        "flat",
        "Scholarly full-text licence, quarter starting {month}",
        2,
        months=(1, 4, 7, 10),
        jitter_bp=0,
    ),
    Vendor(
        "opex",
        "Clearlabel Data",
        "CLD",
        "Expenses:RnD:Data:Annotation",
        Decimal("1184500"),
        "rev",
        "Preference labelling and RLHF comparisons, {month}",
        jitter_bp=900,
    ),
    Vendor(
        "opex",
        "Tandem Annotation Services",
        "TAS",
        "Expenses:RnD:Data:Annotation",
        Decimal("706300"),
        "rev",
        "Expert-written reasoning traces, {month}",
        jitter_bp=1100,
    ),
    Vendor(
        "opex",
        "Brightpath Media",
        "BPM",
        "Expenses:SGA:Marketing:Advertising",
        Decimal("4480000"),
        "rev",
        "Paid search, video and podcast ads, {month}",
        jitter_bp=900,
    ),
    Vendor(
        "opex",
        "Summit Events",
        "SME",
        "Expenses:SGA:Marketing:Events",
        Decimal("412600"),
        "rev",
        "Developer conference booth and hosted meetups, {month}",
        12,
        months=(3, 6, 9, 11),
        jitter_bp=1500,
    ),
    Vendor(
        "opex",
        "Harborview Properties",
        "HVP",
        "Expenses:SGA:Facilities:Rent",
        Decimal("618400"),
        "hc",
        "Office rent and service charge, {month}",
        1,
        jitter_bp=0,
    ),
    Vendor(
        "opex",
        "Kessler & Wong LLP",
        "KW",
        "Expenses:SGA:Professional:Legal",
        Decimal("352800"),
        "rev",
        "Legal services: commercial, privacy and IP, {month}",
        jitter_bp=2500,
    ),
    Vendor(
        "opex",
        "Grant & Pell",
        "GP",
        "Expenses:SGA:Professional:Audit",
        Decimal("188000"),
        "flat",
        "Quarterly review and audit fieldwork, {month}",
        25,
        months=(2, 5, 8, 11),
        jitter_bp=800,
    ),
    Vendor(
        "opex",
        "Atlas Mutual Insurance",
        "AMI",
        "Expenses:SGA:Insurance",
        Decimal("93750"),
        "flat",
        "D&O, cyber and general liability premium, {month}",
        1,
        jitter_bp=0,
    ),
    Vendor(
        "opex",
        "Slatebase",
        "SLB",
        "Expenses:SGA:Software",
        Decimal("164200"),
        "hc",
        "Workspace, chat and docs seats, {month}",
        8,
        jitter_bp=200,
    ),
    Vendor(
        "opex",
        "Pipewell CRM",
        "PWC",
        "Expenses:SGA:Software",
        Decimal("97300"),
        "hc",
        "CRM and sales engagement seats, {month}",
        8,
        jitter_bp=200,
    ),
    Vendor(
        "opex",
        "Ledgerly",
        "LDG",
        "Expenses:SGA:Software",
        Decimal("41800"),
        "hc",
        "Accounting, spend management and payroll software, {month}",
        8,
        jitter_bp=200,
    ),
    Vendor(
        "opex",
        "Wayfarer Travel",
        "WFT",
        "Expenses:SGA:Travel",
        Decimal("254300"),
        "hc",
        "Corporate travel statement, {month}",
        jitter_bp=2000,
    ),
    Vendor(
        "opex",
        "Talentbridge Recruiting",
        "TBR",
        "Expenses:SGA:Recruiting",
        Decimal("396500"),
        "hc",
        "Placement fees for technical hires, {month}",
        18,
        jitter_bp=3000,
    ),
)


def vendor_bills(
    book: Book,
    months: list[Month],
    plans: list[MonthPlan],
    seed: int,
    scale: int,
    subject: str,
    numbers: InvoiceNumbers,
) -> None:
    """Monthly invoices of the simple vendors of one subject, paid from the bank."""
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, subject, "vendors", m.label)
        f_hc = Decimal(sum(plan.headcount.values())) / Decimal(500 * scale)
        for vendor in VENDORS:
            if vendor.subject != subject or (vendor.months and m.month not in vendor.months):
                continue
            factor = {"rev": plan.f_rev, "hc": f_hc, "flat": Decimal(1)}[vendor.growth] * scale
            total = rng.money(vendor.end_amount * factor, vendor.jitter_bp)
            parts = split_money(total, rng.weights(scale, 60, 140)) if scale > 1 else [total]
            for part in parts:
                invoice = numbers.next(vendor.prefix, m)
                bill(
                    book,
                    months,
                    date=m.day(vendor.day),
                    payee=vendor.payee,
                    narration=vendor.narration.format(month=m.name),
                    invoice=invoice,
                    postings=[(vendor.account, part, {})],
                    pay_after_days=None,
                )
