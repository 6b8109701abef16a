"""FOCUS lines to one expense transaction per invoice.

An invoice is the lines of one `BillingAccountId` and `InvoiceId`. Its
transaction:

- is dated the **last day of the billing period** (`BillingPeriodEnd` is
  exclusive, so the day before it for a period ending at midnight). The cost is
  the period's, like the books' power bills dated at month end, so it lands in
  the month the allocation splits by that month's drivers; the invoice date is
  not in FOCUS at all;
- credits the payable account of its `BillingCurrency` with the invoice total;
- debits one posting per (account, ChargeCategory, corrected period): lines are
  routed by `[focus]` (Tax lines to `tax-account`, the others by the first
  matching route, else `default-account`, else an error at the row). Credits,
  refunds and adjustments are negative `BilledCost` and reduce the account their
  route names; a `Correction` keeps its own posting with `corrects: "YYYY-MM"`
  (the month its charge period starts), booked in the invoice that carries it;
- is in the bill's currency, never converted: the books value a foreign amount
  at the `price` of its date (docs/conventions.md, "Valuation").

**Cents.** Lines carry sub-cent amounts (`0.00000080`). Each posting is the exact
sum of its lines, rounded to the currency's minor unit; the payable is the
exact invoice total rounded half-up, and the cents lost or gained by rounding
the postings one by one go to the postings with the largest remainders, so the
postings add up to the payable exactly. A posting whose exact sum is not whole
cents keeps it in `billed-cost` metadata, and the transaction's `billed-cost`
is the exact total: nothing is lost, and the books stay in cents (a pool
holding sub-cent amounts would be split at that precision).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from beancount.core import data
from beancount.core.amount import Amount

from .base import entry_meta, source_meta
from .errors import FeedProblem
from .focus_rows import FocusLine
from .focus_settings import CHARGE_CATEGORIES, FocusSettings
from .keys import import_id

FEED = "focus"
# ISO 4217 minor units where they are not 2 (the currencies a lab is likely billed in).
MINOR_UNITS: Mapping[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
}
TAX = "tax"
DEFAULT = "default"


@dataclass(frozen=True)
class Destination:
    """Where a line's cost goes, and why (a route number, "tax" or "default")."""

    account: str
    reason: str


@dataclass(frozen=True)
class PostingKey:
    account: str
    category: str
    corrects: str | None  # "YYYY-MM" of a Correction's charge period


def route(line: FocusLine, settings: FocusSettings) -> Destination | str:
    """The destination of `line`, or the message of the error at its row."""
    if line.charge_category == "Tax":
        return Destination(settings.tax_account, TAX)
    if line.label is not None and line.label not in settings.labels:
        known = ", ".join(sorted(settings.labels)) or "none"
        return f"unknown {settings.label_tag} label {line.label!r} (the routes name: {known})"
    for candidate in settings.routes:
        if candidate.matches(line.label, line.service_category, line.charge_category):
            return Destination(candidate.account, f"route {candidate.number}")
    if settings.default_account is not None:
        return Destination(settings.default_account, DEFAULT)
    label = (
        f"{settings.label_tag} = {line.label!r}" if line.label is not None else f"no {settings.label_tag} tag"
    )
    return (
        f"no [[focus.route]] matches this line ({label}, ServiceCategory {line.service_category!r}, "
        f"ChargeCategory {line.charge_category}) and [focus] names no default-account"
    )


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def build_invoices(
    filename: str, lines: Sequence[FocusLine], settings: FocusSettings
) -> tuple[list[data.Transaction], list[FeedProblem]]:
    """One transaction per invoice of `lines`, and a problem for every line that cannot be booked."""
    problems: list[FeedProblem] = []
    invoices: dict[tuple[str, str], list[tuple[FocusLine, Destination]]] = {}
    for line in lines:
        destination = route(line, settings)
        if isinstance(destination, str):
            problems.append(FeedProblem(filename, line.row, destination))
            continue
        invoices.setdefault((line.billing_account, line.invoice_id), []).append((line, destination))
    entries: list[data.Transaction] = []
    for routed in invoices.values():
        entry = _invoice(filename, routed, settings, problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _invoice(
    filename: str,
    routed: Sequence[tuple[FocusLine, Destination]],
    settings: FocusSettings,
    problems: list[FeedProblem],
) -> data.Transaction | None:
    first = routed[0][0]
    found = len(problems)
    for line, _ in routed[1:]:
        if line.currency != first.currency:
            problems.append(
                FeedProblem(
                    filename,
                    line.row,
                    f"BillingCurrency {line.currency} differs from {first.currency} on row {first.row}, "
                    f"in the same invoice {first.invoice_id}: one invoice is billed in one currency",
                )
            )
        elif (line.billing_start, line.billing_end) != (first.billing_start, first.billing_end):
            problems.append(
                FeedProblem(
                    filename,
                    line.row,
                    f"billing period {_period(line)} differs from {_period(first)} on row {first.row}, "
                    f"in the same invoice {first.invoice_id}",
                )
            )
    if len(problems) > found:
        return None
    currency = first.currency
    sums: dict[PostingKey, list[Decimal]] = {}
    reasons: dict[PostingKey, list[str]] = {}
    first_rows: dict[PostingKey, int] = {}
    for line, destination in routed:
        corrects = f"{line.charge_start:%Y-%m}" if line.correction else None
        key = PostingKey(destination.account, line.charge_category, corrects)
        sums.setdefault(key, []).append(line.billed_cost)
        first_rows.setdefault(key, line.row)
        reasons.setdefault(key, [])
        if destination.reason not in reasons[key]:
            reasons[key].append(destination.reason)
    keys = sorted(sums, key=_posting_order)
    exact = [sum(sums[key], Decimal(0)) for key in keys]
    total = sum(exact, Decimal(0))
    cent = quantum(currency)
    payable_total = total.quantize(cent, rounding=ROUND_HALF_UP)
    rounded = _round_to_total(exact, payable_total, cent)
    end_day = last_day(first)
    key_id = import_id(FEED, _id_part(first.billing_account), _id_part(first.invoice_id))
    meta = entry_meta(
        filename,
        first.row,
        key_id,
        invoice=first.invoice_id,
        **{
            "billing-account": first.billing_account,
            "billing-period": _period(first),
            "rows": Decimal(len(routed)),
            "billed-cost": plain(total),
        },
    )
    postings: list[data.Posting] = []
    for key, exact_sum, amount in zip(keys, exact, rounded, strict=True):
        posting_meta = {
            **source_meta(filename, first_rows[key]),
            "charge-category": key.category,
            "rows": Decimal(len(sums[key])),
            "route": ", ".join(reasons[key]),
        }
        if key.corrects is not None:
            posting_meta["corrects"] = key.corrects
        if exact_sum != amount:
            posting_meta["billed-cost"] = plain(exact_sum)
        postings.append(data.Posting(key.account, Amount(amount, currency), None, None, None, posting_meta))
    payable = settings.payable[currency]
    payable_meta = source_meta(filename, first.row)
    postings.append(data.Posting(payable, Amount(-payable_total, currency), None, None, None, payable_meta))
    narration = f"Cloud bill {first.invoice_id}, {first.billing_start:%Y-%m-%d} to {end_day:%Y-%m-%d}"
    return data.Transaction(
        meta,
        end_day,
        "*",
        first.issuer,
        narration,
        data.EMPTY_SET,
        frozenset({_link(first, settings)}),
        postings,
    )


def plain(number: Decimal) -> Decimal:
    """`number` without trailing zeros past the cents, so the metadata is the same whether the
    export wrote `0.0049` (CSV) or `0.0049000000` (a Parquet DECIMAL(38, 10))."""
    normal = number.normalize()
    exponent = normal.as_tuple().exponent  # an int: the amounts are finite (focus_rows checks)
    return normal if isinstance(exponent, int) and exponent < -2 else number.quantize(Decimal("0.01"))


def last_day(line: FocusLine) -> date:
    """The last day the billing period includes (its end is exclusive)."""
    return (line.billing_end - timedelta(microseconds=1)).date()


def _period(line: FocusLine) -> str:
    return f"{line.billing_start:%Y-%m-%dT%H:%M:%SZ}/{line.billing_end:%Y-%m-%dT%H:%M:%SZ}"


def _posting_order(key: PostingKey) -> tuple[int, str, int, str]:
    # Taxes after the charges they follow; within an account, FOCUS's category order.
    return (
        key.category == "Tax",
        key.account,
        CHARGE_CATEGORIES.index(key.category),
        key.corrects or "",
    )


def _round_to_total(exact: Sequence[Decimal], total: Decimal, cent: Decimal) -> list[Decimal]:
    """`exact` rounded to `cent`, adjusted by whole cents (largest remainders first) to add up to `total`."""
    rounded = [value.quantize(cent, rounding=ROUND_HALF_UP) for value in exact]
    steps = int((total - sum(rounded, Decimal(0))) / cent)
    if steps:
        step, direction = (cent, 1) if steps > 0 else (-cent, -1)
        # Adding cents: the postings rounded furthest down first; taking cents: furthest up first.
        order = sorted(range(len(exact)), key=lambda i: (-direction * (exact[i] - rounded[i]), i))
        for index in order[: abs(steps)]:
            rounded[index] += step
    return rounded


def _id_part(text: str) -> str:
    """A FOCUS id as one part of an import-id: `/` (Azure account ids have them) and `%` escaped."""
    return text.replace("%", "%25").replace("/", "%2F")


def _link(line: FocusLine, settings: FocusSettings) -> str:
    """The books' invoice link (`^inv-...`), so the payment can carry the same link.

    An invoice named after its billing period (FOCUS 1.0/1.1) is named with its billing account too.
    """
    name = line.invoice_id
    if settings.invoice_from_billing_period and name == f"period-{line.billing_start:%Y-%m}":
        name = f"{line.billing_account}-{name}"
    cleaned = "".join(char if char.isalnum() or char in "-_." else "-" for char in name)
    return f"inv-{cleaned.lower()}"
