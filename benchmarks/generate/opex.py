"""opex.beancount: marketplace revenue share, card fees, and the other vendors."""

from __future__ import annotations

from decimal import Decimal

from .amounts import q2
from .billing import InvoiceNumbers, bill
from .entries import Book, Meta
from .lab import MODELS, POOL_FEES
from .months import Month
from .streams import Rng
from .vendors import vendor_bills
from .volumes import MonthPlan

HEADER = (
    "; Operating expenses other than payroll and compute: revenue share, payment\n"
    "; fees, data licensing and annotation (R&D), and SG&A vendors.\n"
    ";\n"
    "; Revenue share: cloud marketplaces resell the API and keep a share, booked\n"
    "; per model to Expenses:COGS:RevenueShare:API:<Model>. Card processing fees\n"
    "; on subscriptions go to the pool Expenses:Shared:PaymentFees, attributed to\n"
    "; models by subscription tokens.\n"
)

#: Cloud marketplaces reselling the API: (payee, invoice prefix, share of API revenue in 1/1000 %).
MARKETPLACES: tuple[tuple[str, str, int], ...] = (
    ("Stratus Cloud Marketplace", "SCM", 3380),
    ("Azimuth Cloud Marketplace", "ACM", 1820),
)


def opex_book(
    months: list[Month], plans: list[MonthPlan], seed: int, scale: int, numbers: InvoiceNumbers
) -> Book:
    """Each month: revenue share and card fees; then the other vendors' bills."""
    book = Book(HEADER)
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "opex", m.label)  # drawn in this order: revenue share, card fees
        _revenue_share(book, months, m, plan, rng, numbers)
        _card_fees(book, months, m, plan, rng, scale, numbers)
    vendor_bills(book, months, plans, seed, scale, "opex", numbers)
    return book


def _revenue_share(
    book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng, numbers: InvoiceNumbers
) -> None:
    api_revenue = {model: q2(plan.tokens[("API", model)] * plan.api_price[model]) for model in MODELS}
    for payee, prefix, share in MARKETPLACES:
        postings: list[tuple[str, Decimal, Meta]] = []
        for model in MODELS:
            if not api_revenue[model]:  # not launched yet
                continue
            amount = q2(api_revenue[model] * (share + rng.randint(-60, 60)) / 100000)
            postings.append((f"Expenses:COGS:RevenueShare:API:{model}", amount, {}))
        bill(
            book,
            months,
            date=m.last,
            payee=payee,
            narration=f"Marketplace revenue share on API resold, {m.name}",
            invoice=numbers.next(prefix, m),
            postings=postings,
            pay_after_days=None,
        )


def _card_fees(
    book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng, scale: int, numbers: InvoiceNumbers
) -> None:
    """Card processing: 2.9% + 0.30 per charge, plus disputes and FX."""
    fees = (
        q2(plan.subscription_gross * Decimal("0.029"))
        + q2(plan.subscribers * Decimal("0.30"))
        + rng.money(Decimal("18400") * scale, 1500)
    )
    bill(
        book,
        months,
        date=m.last,
        payee="Tollgate Payments",
        narration=f"Card processing fees, {m.name}: 2.9% + 0.30 per charge, disputes and FX",
        invoice=numbers.next("TGP", m),
        postings=[(POOL_FEES, fees, {"charges": plan.subscribers})],
        pay_after_days=None,
    )
