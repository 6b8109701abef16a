"""Reading a FOCUS export into checked lines, one per row, with every problem located.

FOCUS (FinOps Open Cost and Usage Specification, 1.0 to 1.2) is one row per
charge. The columns read here, and what the specification says of them:

- `BilledCost`: what the invoice charges for the row, in `BillingCurrency`;
  it sums per `InvoiceId` to the invoice's payable amount. Numbers may use E
  notation; no separators or symbols. Read as text into `Decimal`, never float.
- `BillingCurrency`: ISO 4217, as invoiced.
- `BillingPeriodStart/End`, `ChargePeriodStart/End`: UTC date-times, start
  inclusive, end exclusive (`2026-10-01T00:00:00Z`; the spec's sample data
  writes `2026-10-01 00:00:00`, also accepted).
- `ChargeCategory`: Usage, Purchase, Tax, Credit, Adjustment (any may be
  negative, a refund). `ChargeClass`: null, or `Correction` when the row fixes
  an already invoiced period.
- `InvoiceId` (1.2), `BillingAccountId`, `ServiceCategory`, `Tags` (a flat JSON
  object as a string), `InvoiceIssuerName`, `ProviderName`.

Empty cells and the literal `NULL` (generated FOCUS files write it) are null.
Row numbers are editor lines: the header is line 1; a quoted cell holding a
line break makes a row span several lines, and the row is named by its first.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import FeedProblem, FeedRejected
from .focus_parquet import read_parquet_header, read_parquet_rows
from .focus_settings import CHARGE_CATEGORIES, FocusSettings
from .rows import read_header, read_rows

BILLED_COST = "BilledCost"
# Columns a file must have to be a FOCUS export at all (identify).
IDENTIFYING_COLUMNS = ("BilledCost", "BillingCurrency", "ChargeCategory", "BillingPeriodStart")
# Columns the importer needs; a file that identifies but lacks one is refused at its header.
REQUIRED_COLUMNS = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ServiceCategory",
    "Tags",
)
INVOICE_ID = "InvoiceId"
NULLS = ("", "NULL")


@dataclass(frozen=True)
class FocusLine:
    """One row of a FOCUS export, checked: everything the invoice entry needs from it."""

    row: int
    billed_cost: Decimal
    billing_account: str
    invoice_id: str
    currency: str
    billing_start: datetime
    billing_end: datetime
    charge_start: datetime
    charge_end: datetime
    charge_category: str
    correction: bool
    service_category: str
    label: str | None
    issuer: str | None


def is_focus_header(header: list[str] | None) -> bool:
    return header is not None and all(column in header for column in IDENTIFYING_COLUMNS)


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def read_focus_header(path: Path) -> list[str] | None:
    """The column names of a FOCUS export in CSV or Parquet (None if it is neither)."""
    if is_parquet(path):
        return read_parquet_header(path)
    if path.suffix.lower() == ".csv":
        return read_header(path)
    return None


def read_lines(path: Path, settings: FocusSettings) -> tuple[list[FocusLine], list[FeedProblem]]:
    """Every row of the CSV or Parquet file at `path` as a FocusLine, and a problem per row that is not.

    A missing column refuses the file at its header (FeedRejected at line 1): no row can be read without it.
    """
    filename = str(path)
    header = read_focus_header(path) or []
    if INVOICE_ID not in header and not settings.invoice_from_billing_period and is_focus_header(header):
        message = (
            f"missing column {INVOICE_ID} (FOCUS 1.0 and 1.1 exports have none: "
            "set invoice-from-billing-period = true in [focus] to take one invoice per billing period)"
        )
        raise FeedRejected([FeedProblem(filename, None if is_parquet(path) else 1, message)])
    problems: list[FeedProblem] = []
    if is_parquet(path):
        rows = read_parquet_rows(path, REQUIRED_COLUMNS)
    else:
        rows, problems = read_rows(path, REQUIRED_COLUMNS)
    lines = [line for row in rows if (line := _line(filename, row.line, row.fields, settings, problems))]
    return lines, problems


def _line(
    filename: str, row: int, cells: Mapping[str, str], settings: FocusSettings, problems: list[FeedProblem]
) -> FocusLine | None:
    found: list[str] = []

    def value(column: str) -> str | None:
        text = cells.get(column)
        if text is None:
            return None
        text = text.strip()
        return None if text in NULLS else text

    def required(column: str) -> str:
        text = value(column)
        if text is None:
            found.append(f"{column} is empty")
            return ""
        return text

    billed_cost = _decimal(required(BILLED_COST), found)
    currency = value("BillingCurrency")
    if currency is None:
        found.append("BillingCurrency is empty: a bill's amount has a currency")
    elif not (len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()):
        found.append(f"BillingCurrency {currency!r} is not a currency code (ISO 4217)")
    elif currency not in settings.payable:
        known = ", ".join(settings.payable)
        found.append(
            f"BillingCurrency {currency} has no payable account in [focus] payable (it names {known})"
        )
    billing_start = _datetime("BillingPeriodStart", required("BillingPeriodStart"), found)
    billing_end = _datetime("BillingPeriodEnd", required("BillingPeriodEnd"), found)
    charge_start = _datetime("ChargePeriodStart", required("ChargePeriodStart"), found)
    charge_end = _datetime("ChargePeriodEnd", required("ChargePeriodEnd"), found)
    if billing_start and billing_end and billing_end <= billing_start:
        found.append(f"BillingPeriodEnd {billing_end:%Y-%m-%d %H:%M} is not after BillingPeriodStart")
    if charge_start and charge_end and charge_end < charge_start:
        found.append(f"ChargePeriodEnd {charge_end:%Y-%m-%d %H:%M} is before ChargePeriodStart")
    category = required("ChargeCategory")
    if category and category not in CHARGE_CATEGORIES:
        found.append(f"ChargeCategory {category!r} is not one of {', '.join(CHARGE_CATEGORIES)}")
    charge_class = value("ChargeClass")
    if charge_class not in (None, "Correction"):
        found.append(f"ChargeClass {charge_class!r} is neither empty nor Correction")
    correction = charge_class == "Correction"
    # A charge period outside the billing period is not refused: providers bill late usage in a
    # later period without calling it a Correction (the spec's own sample data has such rows),
    # and the invoice that carries a line is where it is booked either way.
    billing_account = required("BillingAccountId")
    invoice_id = _invoice_id(value(INVOICE_ID), billing_start, settings, found)
    label = _label(value("Tags"), settings.label_tag, found)
    service_category = value("ServiceCategory") or ""
    if found or billed_cost is None or currency is None:
        problems.extend(FeedProblem(filename, row, message) for message in found)
        return None
    assert billing_start and billing_end and charge_start and charge_end  # checked: found would hold why
    return FocusLine(
        row=row,
        billed_cost=billed_cost,
        billing_account=billing_account,
        invoice_id=invoice_id,
        currency=currency,
        billing_start=billing_start,
        billing_end=billing_end,
        charge_start=charge_start,
        charge_end=charge_end,
        charge_category=category,
        correction=correction,
        service_category=service_category,
        label=label,
        issuer=value("InvoiceIssuerName") or value("ProviderName"),
    )


def _decimal(text: str, found: list[str]) -> Decimal | None:
    if not text:
        return None
    try:
        if "_" in text:  # Python's Decimal reads `1_000` as 1000; FOCUS numbers have no separators
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        found.append(f"{BILLED_COST} {text!r} is not a number (write 1234.56 or 1.23456E3, no separators)")
        return None
    if not number.is_finite():
        found.append(f"{BILLED_COST} {text!r} is not a finite number")
        return None
    return number


def _datetime(column: str, text: str, found: list[str]) -> datetime | None:
    """A FOCUS date-time in UTC: `2026-10-01T00:00:00Z` (or with a space, or +00:00, or naive = UTC)."""
    if not text:
        return None
    moment = _utc(text)
    if moment is None:
        found.append(f"{column} {text!r} is not a date-time (FOCUS writes 2026-10-01T00:00:00Z)")
    return moment


@functools.lru_cache(maxsize=4096)
def _utc(text: str) -> datetime | None:
    # Cached: a bill's rows repeat a handful of period boundaries (a third of the reading time).
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _invoice_id(
    text: str | None, billing_start: datetime | None, settings: FocusSettings, found: list[str]
) -> str:
    if settings.invoice_from_billing_period:
        if text is not None:
            return text
        return f"period-{billing_start:%Y-%m}" if billing_start else ""
    if text is None:
        found.append("InvoiceId is empty: every line of a bill belongs to an invoice")
        return ""
    return text


def _label(text: str | None, label_tag: str | None, found: list[str]) -> str | None:
    """The workload label in the row's Tags (a flat JSON object), if the configuration names a tag."""
    if text is None:
        return None
    try:
        tags = json.loads(text, object_pairs_hook=_tag_pairs)
    except json.JSONDecodeError as error:
        found.append(f"Tags is not JSON ({error.msg} at character {error.pos}): {text[:60]!r}")
        return None
    except _TagWrittenTwice as error:
        # A JSON reader keeps the last value and drops the other without a word: the line would be
        # routed by whichever the exporter happened to write last.
        found.append(f"Tags has the tag {error.args[0]!r} twice: {text[:60]!r}")
        return None
    if not isinstance(tags, dict):
        found.append(f"Tags is not a JSON object: {text[:60]!r}")
        return None
    if label_tag is None:
        return None
    label = tags.get(label_tag)
    if label is None:
        return None
    if not isinstance(label, str) or not label:
        found.append(f"the {label_tag} tag is {json.dumps(label)}, not a label (a non-empty string)")
        return None
    return label


class _TagWrittenTwice(ValueError):
    """A key of the Tags object written twice (its name is the argument)."""


def _tag_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object of the Tags column, refusing a key written twice."""
    tags: dict[str, object] = {}
    for key, value in pairs:
        if key in tags:
            raise _TagWrittenTwice(key)
        tags[key] = value
    return tags
