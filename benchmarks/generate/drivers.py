"""drivers.beancount: the quantities that split the pools (tokens, GPU-hours, hours, TB).

Each driver transaction balances against ``Equity:Stats:Offset`` in its own
unit, so no USD figure changes because of them. With ``daily`` the metering
(tokens per tier and model) and scheduler accounting (GPU-hours per workload)
are booked per day, split from the month's plan; timesheets stay monthly and
the storage survey quarterly.
"""

from __future__ import annotations

from .amounts import split_int
from .entries import Book, Posting, Txn, quantity_total
from .lab import MODELS, OFFSET, TIERS
from .months import Month
from .streams import Rng, day_weights
from .volumes import MonthPlan

HEADER = (
    "; Drivers: quantities, not money, that split the shared pools.\n"
    ";\n"
    ";   Equity:Stats:Tokens            MTOK  tokens served per tier and model (metering)\n"
    ";   Equity:Stats:GPUH              GPUH  GPU-hours per workload (scheduler accounting);\n"
    ";                                        Serving per deployment <Tier>-<Model>\n"
    ";   Equity:Stats:Hours:DatacenterOps HOUR datacentre staff timesheets\n"
    ";   Equity:Stats:Storage           TB    quarterly storage capacity survey\n"
    ";\n"
    "; Every driver transaction balances against Equity:Stats:Offset, so no USD\n"
    "; figure changes because of them.\n"
)

TOKEN_KEYS: tuple[tuple[str, str], ...] = tuple((tier, model) for tier in TIERS for model in MODELS)


def balanced(postings: list[Posting], unit: str) -> list[Posting]:
    """The postings plus their offset in ``unit``."""
    return [*postings, Posting(OFFSET, -quantity_total(postings), unit)]


def drivers_book(months: list[Month], plans: list[MonthPlan], seed: int, daily: bool) -> Book:
    """Each month: metering and scheduler accounting (daily or monthly), timesheets, the survey."""
    book = Book(HEADER)
    for m, plan in zip(months, plans, strict=True):
        if daily:
            _daily_metering(book, m, plan, Rng(seed, "drivers", m.label))
        else:
            _monthly_metering(book, m, plan)
        _timesheets(book, m, plan)
        _storage_survey(book, m, plan)
    return book


def _daily_metering(book: Book, m: Month, plan: MonthPlan, rng: Rng) -> None:
    weights = day_weights(rng, m)
    token_days = {key: split_int(plan.tokens[key], weights) for key in TOKEN_KEYS}
    gpuh_days = {key: split_int(plan.gpuh[key], rng.weights(m.days, 95, 105)) for key in plan.gpuh}
    for day in range(m.days):
        date = m.day(day + 1)
        tokens = [
            Posting(f"Equity:Stats:Tokens:{tier}:{model}", token_days[(tier, model)][day], "MTOK")
            for tier, model in TOKEN_KEYS
            if token_days[(tier, model)][day]
        ]
        book.add(Txn(date, "Metering", "Tokens served", balanced(tokens, "MTOK")))
        gpuh = [
            Posting(f"Equity:Stats:GPUH:{key}", gpuh_days[key][day], "GPUH")
            for key in plan.gpuh
            if gpuh_days[key][day]
        ]
        book.add(Txn(date, "GPU scheduler", "GPU-hours by workload", balanced(gpuh, "GPUH")))


def _monthly_metering(book: Book, m: Month, plan: MonthPlan) -> None:
    tokens = [
        Posting(f"Equity:Stats:Tokens:{tier}:{model}", plan.tokens[(tier, model)], "MTOK")
        for tier, model in TOKEN_KEYS
        if plan.tokens[(tier, model)]  # a model not yet launched meters nothing
    ]
    book.add(Txn(m.last, "Metering", f"Tokens served, {m.name}", balanced(tokens, "MTOK")))
    gpuh = [Posting(f"Equity:Stats:GPUH:{key}", hours, "GPUH") for key, hours in plan.gpuh.items()]
    book.add(
        Txn(
            m.last,
            "GPU scheduler",
            f"GPU-hours by workload, {m.name}",
            balanced(gpuh, "GPUH"),
            {"training-runs": plan.training_runs},
        )
    )


def _timesheets(book: Book, m: Month, plan: MonthPlan) -> None:
    hours = [Posting(f"Equity:Stats:Hours:DatacenterOps:{k}", v, "HOUR") for k, v in plan.dcops_hours.items()]
    book.add(
        Txn(
            m.last,
            "Timesheets",
            f"Datacentre operations hours by activity, {m.name} ({plan.headcount['dcops']} staff)",
            balanced(hours, "HOUR"),
        )
    )


def _storage_survey(book: Book, m: Month, plan: MonthPlan) -> None:
    if plan.storage_tb is None:
        return
    held = [Posting(f"Equity:Stats:Storage:{k}", v, "TB") for k, v in plan.storage_tb.items()]
    book.add(
        Txn(
            m.day(10),
            "Storage survey",
            f"Capacity survey, quarter starting {m.name}: TB held by purpose",
            balanced(held, "TB"),
        )
    )
