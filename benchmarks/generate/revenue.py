"""revenue.beancount: API usage per model, subscription payouts, enterprise seats."""

from __future__ import annotations

import datetime
from decimal import Decimal

from .amounts import fmt_int, q2, split_money
from .billing import link_for
from .entries import Book, Posting, Txn
from .lab import AR, BANK, MODELS
from .months import Month, in_range
from .streams import Rng, day_weights
from .volumes import MonthPlan

HEADER = (
    "; Revenue: API usage (metered per model), consumer subscriptions and enterprise seats.\n"
    ";\n"
    "; API usage is billed monthly in arrears per model and collected about ten days\n"
    "; later. Subscriptions are settled by the card processor (its fees are billed\n"
    "; separately, see opex.beancount) and enterprise seats are invoiced on the 1st,\n"
    "; net 30. Subscription and enterprise revenue are booked to the tier account\n"
    "; (Income:Subscription, Income:Enterprise); ailab_books.plugins.allocate attributes them\n"
    "; to models by the tier's tokens served (allocation.beancount).\n"
)


def revenue_book(months: list[Month], plans: list[MonthPlan], seed: int, daily: bool) -> Book:
    """Each month: API usage billed and collected, subscriptions settled, seats invoiced and paid."""
    book = Book(HEADER)
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "revenue", m.label)  # drawn in this order: API, subscriptions, seats
        _api_usage(book, months, m, plan, rng)
        _subscriptions(book, m, plan, rng, daily)
        _enterprise_seats(book, months, m, plan, rng)
    return book


def _api_usage(book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng) -> None:
    """Billed on the last day per model, collected 9 to 12 days later."""
    invoice = f"API-{m.year % 100:02d}{m.month:02d}"
    lines: list[Posting] = []
    total = Decimal("0.00")
    for model in MODELS:
        mtok = plan.tokens[("API", model)]
        if not mtok:  # not launched yet
            continue
        amount = q2(mtok * plan.api_price[model])
        total += amount
        lines.append(
            Posting(
                f"Income:API:{model}",
                -amount,
                "USD",
                {"mtok": mtok, "price-per-mtok": plan.api_price[model]},
            )
        )
    link = "api-usage-" + m.label
    book.add(
        Txn(
            m.last,
            "Orion Labs API",
            f"API usage billed, {m.name}",
            [Posting(AR, total, "USD"), *lines],
            {"invoice-run": invoice},
            links=(link,),
        )
    )
    collected = m.last + datetime.timedelta(days=rng.randint(9, 12))
    if in_range(collected, months):
        book.add(
            Txn(
                collected,
                "Orion Labs API",
                f"API usage collected, {m.name} invoices",
                [Posting(BANK, total, "USD"), Posting(AR, -total, "USD")],
                links=(link,),
            )
        )


def _subscriptions(book: Book, m: Month, plan: MonthPlan, rng: Rng, daily: bool) -> None:
    """The card processor's payouts: one a day, or one for the month."""
    gross = plan.subscription_gross
    if daily:
        for day, amount in enumerate(split_money(gross, day_weights(rng, m)), start=1):
            book.add(
                Txn(
                    m.day(day),
                    "Tollgate Payments",
                    "Subscription payout",
                    [Posting(BANK, amount, "USD"), Posting("Income:Subscription", -amount, "USD")],
                )
            )
        return
    book.add(
        Txn(
            m.last,
            "Tollgate Payments",
            f"Subscription payouts, {m.name} ({fmt_int(plan.subscribers)} active subscribers)",
            [Posting(BANK, gross, "USD"), Posting("Income:Subscription", -gross, "USD")],
            {"subscribers": plan.subscribers},
        )
    )


def _enterprise_seats(book: Book, months: list[Month], m: Month, plan: MonthPlan, rng: Rng) -> None:
    """One invoice per customer on the 1st, paid 18 to 33 days later."""
    for k, seats in enumerate(plan.seats):
        amount = q2(seats.seats * seats.price)
        invoice = f"ENT-{m.year % 100:02d}{m.month:02d}-{k + 1:04d}"
        link = link_for(invoice)
        book.add(
            Txn(
                m.first,
                seats.customer,
                f"Enterprise seats, {m.name}: {fmt_int(seats.seats)} seats at {seats.price} USD",
                [Posting(AR, amount, "USD"), Posting("Income:Enterprise", -amount, "USD")],
                {"invoice": invoice, "seats": seats.seats},
                links=(link,),
            )
        )
        paid = m.first + datetime.timedelta(days=rng.randint(18, 33))
        if in_range(paid, months):
            book.add(
                Txn(
                    paid,
                    seats.customer,
                    f"Payment of invoice {invoice}",
                    [Posting(BANK, amount, "USD"), Posting(AR, -amount, "USD")],
                    links=(link,),
                )
            )
