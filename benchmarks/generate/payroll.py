"""payroll.beancount: monthly payroll, one posting per function (or per employee)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .amounts import fmt_int
from .entries import Book, Posting, Txn, money_total
from .lab import BANK, FUNCTIONS, StaffFunction
from .months import Month
from .streams import Rng
from .volumes import MonthPlan

HEADER = (
    "; Payroll, fully loaded (salary, employer taxes, benefits, equity cash-outs),\n"
    "; paid on the last business day of the month through Ledgerline Payroll.\n"
    ";\n"
    "; Functions map to accounts: research and engineering are R&D; datacentre\n"
    "; operations staff go to the pool Expenses:Shared:DatacenterOps (split by\n"
    "; timesheet hours); inference SRE and customer support to the serving pool\n"
    "; Expenses:Shared:Serving:Staff (split by serving GPU-hours per deployment);\n"
    "; sales, marketing and G&A are SG&A.\n"
)

#: Employees per payroll transaction when booked per employee.
CHUNK = 250


@dataclass(frozen=True)
class Employee:
    ident: str
    base: Decimal  # loaded monthly cost


class Rosters:
    """The employees of each function, hired as headcount grows and kept from month to month."""

    def __init__(self, seed: int) -> None:
        self._rosters: dict[str, list[Employee]] = {function.key: [] for function in FUNCTIONS}
        self._hires = Rng(seed, "roster")
        self._next_id = 1

    def active(self, function: StaffFunction, heads: int) -> list[Employee]:
        """The function's first ``heads`` employees, hiring any that are missing."""
        roster = self._rosters[function.key]
        while len(roster) < heads:
            roster.append(Employee(f"E{self._next_id:06d}", self._hires.money(function.monthly_cost, 2000)))
            self._next_id += 1
        return roster[:heads]


def payroll_book(months: list[Month], plans: list[MonthPlan], seed: int, per_employee: bool) -> Book:
    """One payrun a month: a posting per function, or per employee in chunks of ``CHUNK``."""
    book = Book(HEADER)
    rosters = Rosters(seed)
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "payroll", m.label)
        if per_employee:
            _per_employee(book, m, plan, rng, rosters)
        else:
            _per_function(book, m, plan, rng)
    return book


def _per_function(book: Book, m: Month, plan: MonthPlan, rng: Rng) -> None:
    lines = []
    for function in FUNCTIONS:
        heads = plan.headcount[function.key]
        amount = rng.money(function.monthly_cost * heads, 150)
        lines.append(
            Posting(function.account, amount, "USD", {"function": function.label, "headcount": heads})
        )
    book.add(
        Txn(
            m.last_business_day,
            "Ledgerline Payroll",
            f"Payroll, {m.name} ({fmt_int(sum(plan.headcount.values()))} employees)",
            [*lines, Posting(BANK, -money_total(lines), "USD")],
            {"payrun": f"PR-{m.label}"},
        )
    )


def _per_employee(book: Book, m: Month, plan: MonthPlan, rng: Rng, rosters: Rosters) -> None:
    for function in FUNCTIONS:
        active = rosters.active(function, plan.headcount[function.key])
        for start in range(0, len(active), CHUNK):
            lines = [
                Posting(function.account, rng.money(employee.base, 40), "USD", {"employee": employee.ident})
                for employee in active[start : start + CHUNK]
            ]
            book.add(
                Txn(
                    m.last_business_day,
                    "Ledgerline Payroll",
                    f"Payroll, {m.name}: {function.label}",
                    [*lines, Posting(BANK, -money_total(lines), "USD")],
                    {"payrun": f"PR-{m.label}", "function": function.label},
                )
            )
