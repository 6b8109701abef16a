"""The `[focus]` table of the import configuration: where a cloud bill's lines go.

```toml
[focus]
label-tag = "workload"                 # the key in a row's Tags JSON that holds the workload label
payable = { USD = "Liabilities:AccountsPayable" }   # one payable account per billing currency
tax-account = "Expenses:SGA:Taxes:Cloud"            # every ChargeCategory = Tax row
default-account = "Expenses:SGA:Software"           # optional: rows no route matches

[[focus.route]]                        # routes are tried in file order; the first match wins
label = "serving"                      # conditions (all optional, at least one): label,
service-category = "Compute"           #   service-category, charge-category
account = "Expenses:Shared:Serving:Compute"
```

Why these choices (docs/importers.md, "Cloud bills (FOCUS)"):

- **First match wins**, in the order the routes are written, like a firewall or
  a mail filter: a specific route (`label` and `service-category`) is written
  before a general one (`label` alone). The posting's metadata names the route
  (`route: 2`) so a reader sees why a line went where it did.
- **A label no route names is an error even when there is a default account.**
  The default account is for lines that carry no label (support plans,
  marketplace fees); a label it does not know is most often a typo in the
  cloud console (`serivng`), and booking it to the default would move that
  workload's cost to the wrong place without a word.
- **The payable is chosen by currency**, so a bill in a currency the lab is not
  billed in (or a mistyped code) is an error, not a USD account holding euros.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from beancount.core import account as account_lib

from .config import ImportConfig, Table

TABLE = "focus"
KEYS = (
    "label-tag",
    "payable",
    "tax-account",
    "default-account",
    "route",
    "invoice-from-billing-period",
)
ROUTE_KEYS = ("label", "service-category", "charge-category", "account")
# ChargeCategory values of FOCUS 1.0 to 1.2 (specification/columns/chargecategory.md).
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")


@dataclass(frozen=True)
class Route:
    """One `[[focus.route]]`: conditions on a line, and the account its cost goes to."""

    number: int  # 1-based position in the file: "route 2" in metadata and messages
    label: str | None
    service_category: str | None
    charge_category: str | None
    account: str

    def matches(self, label: str | None, service_category: str, charge_category: str) -> bool:
        return (
            (self.label is None or self.label == label)
            and (self.service_category is None or self.service_category == service_category)
            and (self.charge_category is None or self.charge_category == charge_category)
        )

    def describe(self) -> str:
        conditions = [
            f"{key} = {value!r}"
            for key, value in (
                ("label", self.label),
                ("service-category", self.service_category),
                ("charge-category", self.charge_category),
            )
            if value is not None
        ]
        return f"route {self.number} ({', '.join(conditions)})"


@dataclass(frozen=True)
class FocusSettings:
    """The `[focus]` table, checked."""

    label_tag: str | None
    payable: Mapping[str, str]
    tax_account: str
    default_account: str | None
    routes: tuple[Route, ...]
    # FOCUS 1.0 and 1.1 exports have no InvoiceId column: with this set, one invoice per
    # billing account, currency and billing period (the id says so: "period-2026-10").
    invoice_from_billing_period: bool

    @cached_property  # asked once per row
    def labels(self) -> frozenset[str]:
        """The workload labels some route names."""
        return frozenset(route.label for route in self.routes if route.label is not None)

    def accounts(self) -> tuple[str, ...]:
        """Every account the table names, for the check that the books open them."""
        named = [*self.payable.values(), self.tax_account, *(route.account for route in self.routes)]
        if self.default_account is not None:
            named.append(self.default_account)
        return tuple(dict.fromkeys(named))


def focus_settings(config: ImportConfig) -> FocusSettings:
    """Check the `[focus]` table of `config`. Raises ConfigError naming the file, table and key."""
    table = Table.of(config, TABLE, KEYS)
    payable = table.string_map("payable")
    if not payable:
        raise table.error("payable", 'names no currency: write payable = { USD = "Liabilities:..." }')
    for currency, account in payable.items():
        if not _is_currency(currency):
            raise table.error(
                f"payable.{currency}", "is not a currency code (three capital letters, ISO 4217)"
            )
        _check_account(table, f"payable.{currency}", account)
    tax_account = table.string("tax-account")
    _check_account(table, "tax-account", tax_account)
    default_account = table.optional_string("default-account")
    if default_account is not None:
        _check_account(table, "default-account", default_account)
    label_tag = table.optional_string("label-tag")
    routes = _routes(table, table.values.get("route", []))
    if label_tag is None and any(route.label is not None for route in routes):
        raise table.error("label-tag", "missing: a route matches on label, so say which tag holds it")
    if not routes and default_account is None:
        raise table.error("route", "missing: write [[focus.route]] tables, or a default-account")
    flag = table.values.get("invoice-from-billing-period", False)
    if not isinstance(flag, bool):
        raise table.error("invoice-from-billing-period", f"must be true or false, not {flag!r}")
    return FocusSettings(label_tag, payable, tax_account, default_account, routes, flag)


def _routes(table: Table, value: Any) -> tuple[Route, ...]:
    if not isinstance(value, list):
        raise table.error("route", "must be an array of tables: write each one as [[focus.route]]")
    routes: list[Route] = []
    for number, item in enumerate(value, start=1):
        key = f"route {number}"
        if not isinstance(item, dict):
            raise table.error("route", f"{key} is not a table")
        for name in item:
            if name not in ROUTE_KEYS:
                raise table.error("route", f"{key}: unknown key {name!r} (known: {', '.join(ROUTE_KEYS)})")
        fields: dict[str, str | None] = {}
        for name in ROUTE_KEYS:
            raw = item.get(name)
            if raw is not None and (not isinstance(raw, str) or not raw):
                raise table.error("route", f"{key}: {name} must be a non-empty string, not {raw!r}")
            fields[name] = raw
        account = fields["account"]
        if account is None:
            raise table.error("route", f"{key} has no account")
        _check_account(table, "route", account, f"{key}: ")
        if (
            fields["label"] is None
            and fields["service-category"] is None
            and fields["charge-category"] is None
        ):
            raise table.error(
                "route",
                f"{key} has no condition (label, service-category, charge-category): use default-account",
            )
        category = fields["charge-category"]
        if category is not None and category not in CHARGE_CATEGORIES:
            raise table.error(
                "route", f"{key}: charge-category {category!r} is not one of {', '.join(CHARGE_CATEGORIES)}"
            )
        if category == "Tax":
            raise table.error("route", f"{key}: Tax lines always go to tax-account")
        routes.append(Route(number, fields["label"], fields["service-category"], category, account))
    return tuple(routes)


def _check_account(table: Table, key: str, account: str, prefix: str = "") -> None:
    if not account_lib.is_valid(account):
        raise table.error(key, f"{prefix}{account!r} is not an account name (Root:Component:...)")


def _is_currency(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
