"""Generate the Orion Labs books: the example ledger and synthetic benchmark ledgers.

One deterministic generator writes both. With the defaults (scale 1, monthly
metering, 2025-01..2026-10, seed 7) it writes the example lab's books that are
committed in ``ledger/``; a test regenerates them and diffs byte for byte. With a
larger ``scale`` and/or ``daily`` it writes a synthetic large-lab ledger for the
benchmark that follows exactly the same accounts, drivers and allocation rules
(``docs/conventions.md``), so it loads with the same plugins:

- ``scale=N`` makes the lab N times larger: every amount and quantity is
  multiplied by N, each vendor sends N invoices a month instead of one, there are
  N times as many enterprise customers, and payroll is booked one posting per
  employee (about 500 x N employees at the end) instead of one per function.
- ``daily=True`` meters tokens and GPU-hours per day (per tier and model, per
  deployment and workload) and settles subscriptions daily.

Determinism: nothing depends on the wall clock, the environment or hash order.
Every random stream is a ``random.Random`` seeded from a string built from the
seed, the subject and the month, so subjects and months are independent of one
another. Money is ``Decimal`` throughout, quantized to cents; quantities are
integers. Splits of a total into parts use the largest-remainder method on
integers (cents, token counts), so parts always add up to the total.

Usage::

    python benchmarks/generate.py ledger                       # the example books
    python benchmarks/generate.py benchmarks/out/x100 --scale 100 --daily
    python benchmarks/generate.py /tmp/short --months 2025-01:2025-06

The example books in ``ledger/`` were first written by this generator (scale 1,
seed 7) and are kept by hand from then on, like any books: the generator is how
the benchmark makes larger ledgers that follow the same conventions and rules,
not a build step of the example. The example's ``main.beancount`` carries the
plugins and includes; the includes of saved queries and the dashboard are
``EXAMPLE_EXTRA_INCLUDES`` below (or ``--include`` on the command line).
"""

from __future__ import annotations

import argparse
import calendar
import datetime
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

# ----------------------------------------------------------------------------
# Dimensions and names (docs/conventions.md)

CENT = Decimal("0.01")
MODELS: tuple[str, ...] = ("Orion", "Wren")
TIERS: tuple[str, ...] = ("API", "Subscription", "Enterprise", "Free")
DEPLOYMENTS: tuple[str, ...] = tuple(f"{tier}-{model}" for tier in TIERS for model in MODELS)
SERVING_LINES: tuple[str, ...] = (
    "Compute",
    "IdleCapacity",
    "Power",
    "DatacenterOps",
    "Storage",
    "Staff",
)
WORKLOADS: tuple[str, ...] = ("Serving", "Training", "Rollouts", "Evals", "Idle")

BANK = "Assets:Bank:Operating"
AR = "Assets:AccountsReceivable"
AP = "Liabilities:AccountsPayable"
GPU_COST = "Assets:Fixed:GPU:Cost"
GPU_DEPRECIATION = "Assets:Fixed:GPU:Depreciation"
OFFSET = "Equity:Stats:Offset"
OPENING = "Equity:Opening-Balances"

POOL_GPU = "Expenses:Shared:GPUCluster"
POOL_POWER = "Expenses:Shared:Power"
POOL_DCOPS = "Expenses:Shared:DatacenterOps"
POOL_STORAGE = "Expenses:Shared:Storage"
POOL_FEES = "Expenses:Shared:PaymentFees"
SERVING_COMPUTE = "Expenses:Shared:Serving:Compute"
SERVING_STAFF = "Expenses:Shared:Serving:Staff"

EXAMPLE_TITLE = "Orion Labs — example books"

#: Extra includes written into the example's main.beancount, after the ledger's
#: own files: the saved queries and the Fava dashboard config. Edit here (not in
#: ledger/main.beancount), then run `python benchmarks/generate.py ledger`. An
#: include glob that matches no file is a bean-check error. Other ledgers get
#: none unless asked (`--include`): a relative path depends on where they are.
EXAMPLE_EXTRA_INCLUDES: tuple[str, ...] = (
    "../queries/*.beancount",
    "../dashboard/fava.beancount",
)

# End-of-period (last month) magnitudes at scale 1, from the research table
# (shared/research/lab-economics.md, "Proposed monthly magnitudes"). The first
# month is about half of these (tokens about 40%: prices fall as volume grows).
END_TOKENS_MTOK: dict[tuple[str, str], int] = {
    ("API", "Orion"): 5_500_000,
    ("API", "Wren"): 19_600_000,
    ("Subscription", "Orion"): 2_900_000,
    ("Subscription", "Wren"): 1_600_000,
    ("Enterprise", "Orion"): 1_700_000,
    ("Enterprise", "Wren"): 800_000,
    ("Free", "Orion"): 400_000,
    ("Free", "Wren"): 2_600_000,
}
END_API_PRICE: dict[str, Decimal] = {"Orion": Decimal("4.60"), "Wren": Decimal("0.55")}
END_SUBSCRIBERS = 900_000
SUBSCRIPTION_PRICE = Decimal("20.00")
END_FLEET_GPUS = 36_000
# Serving GPU-hours per million tokens, relative (a flagship token costs about
# five small-model tokens); per tier: free traffic is batched harder, enterprise
# prompts are longer.
MODEL_INTENSITY: dict[str, int] = {"Orion": 50, "Wren": 10}
TIER_INTENSITY: dict[str, int] = {"API": 100, "Subscription": 105, "Enterprise": 110, "Free": 90}

# (key, label, account, loaded monthly cost per head, headcount at the end)
FUNCTIONS: tuple[tuple[str, str, str, Decimal, int], ...] = (
    ("research", "Research", "Expenses:RnD:Staff:Research", Decimal("51800"), 150),
    ("engineering", "Engineering", "Expenses:RnD:Staff:Engineering", Decimal("41300"), 150),
    ("dcops", "Datacentre operations", POOL_DCOPS, Decimal("27400"), 20),
    ("sre", "Inference SRE", SERVING_STAFF, Decimal("41900"), 40),
    ("support", "Customer support", SERVING_STAFF, Decimal("23800"), 20),
    ("sales", "Sales and marketing", "Expenses:SGA:Staff:SalesMarketing", Decimal("27200"), 70),
    ("ga", "General and administrative", "Expenses:SGA:Staff:GeneralAdmin", Decimal("24100"), 50),
)

# GPU lease providers: (name, invoice prefix, share of leased GPUs in basis
# points, USD per GPU-hour, contract).
LESSORS: tuple[tuple[str, str, int, Decimal, str], ...] = (
    ("Cumulus GPU Cloud", "CGC", 4500, Decimal("2.29"), "1-year reserved H100 cluster"),
    ("Ferrous Compute", "FRC", 3000, Decimal("2.41"), "1-year reserved H100 cluster"),
    ("Bluefin Cloud", "BFN", 2500, Decimal("2.95"), "3-month reserved H100 capacity"),
)

# Enterprise customers: (name, seats at the end, USD per seat-month, joins at
# this fraction of the period).
ENTERPRISE_CUSTOMERS: tuple[tuple[str, int, Decimal, Decimal], ...] = (
    ("Halvorsen Logistics", 9_800, Decimal("60"), Decimal("0")),
    ("Brightwater Health", 12_400, Decimal("55"), Decimal("0")),
    ("Castellan Insurance", 7_600, Decimal("60"), Decimal("0")),
    ("Northgate Bank", 15_200, Decimal("52"), Decimal("0")),
    ("Pinecrest Retail", 5_300, Decimal("60"), Decimal("0")),
    ("Tidewater Energy", 4_100, Decimal("65"), Decimal("0")),
    ("Orchard Analytics", 2_250, Decimal("70"), Decimal("0")),
    ("Ashford Legal Partners", 3_400, Decimal("75"), Decimal("0")),
    ("Vireo Pharmaceuticals", 8_900, Decimal("58"), Decimal("0")),
    ("Lumen County Schools", 11_500, Decimal("30"), Decimal("0")),
    ("Kestrel Aerospace", 6_700, Decimal("62"), Decimal("0.3")),
    ("Quayside Telecom", 7_300, Decimal("57"), Decimal("0.5")),
    ("Redwater Media", 3_800, Decimal("60"), Decimal("0.65")),
    ("Sablewood Manufacturing", 4_600, Decimal("55"), Decimal("0.8")),
)


@dataclass(frozen=True)
class Vendor:
    """A vendor that bills a fixed-ish monthly amount (scaled by the lab's growth)."""

    subject: str  # output file stem
    payee: str
    prefix: str  # invoice number prefix
    account: str
    end_amount: Decimal  # monthly amount at the end of the period, scale 1
    growth: str  # "rev" (grows with revenue), "hc" (with headcount), "flat"
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


# ----------------------------------------------------------------------------
# Small helpers


def q2(value: Decimal) -> Decimal:
    """Quantize to cents, half-even."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def split_int(total: int, weights: Sequence[int]) -> list[int]:
    """Split a non-negative integer in proportion to weights (largest remainder)."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must have a positive sum")
    parts = [total * w // whole for w in weights]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda k: (-(total * weights[k] % whole), k))
    for k in order[:left]:
        parts[k] += 1
    return parts


def split_money(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """Split an amount of cents in proportion to weights, exactly."""
    cents = int(q2(total) * 100)
    sign = -1 if cents < 0 else 1
    return [q2(Decimal(sign * p) / 100) for p in split_int(abs(cents), weights)]


class Rng:
    """A random stream seeded from a string key: independent per subject and month."""

    def __init__(self, seed: int, *key: object) -> None:
        self._random = random.Random(":".join([str(seed), *(str(k) for k in key)]))

    def randint(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def factor(self, bp: int) -> Decimal:
        """1 plus or minus up to `bp` basis points."""
        if bp == 0:
            return Decimal(1)
        return 1 + Decimal(self._random.randint(-bp, bp)) / 10000

    def money(self, base: Decimal, bp: int) -> Decimal:
        return q2(base * self.factor(bp))

    def count(self, base: Decimal | int, bp: int) -> int:
        return int((Decimal(base) * self.factor(bp)).to_integral_value(ROUND_HALF_EVEN))

    def weights(self, n: int, low: int, high: int) -> list[int]:
        return [self._random.randint(low, high) for _ in range(n)]


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_money(value: Decimal) -> str:
    return f"{value:,.2f}"


# ----------------------------------------------------------------------------
# Calendar

# English month names, independent of the locale (calendar.month_name is not).
MONTH_NAMES: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Month:
    index: int
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def name(self) -> str:
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def hours(self) -> int:
        return self.days * 24

    def day(self, number: int) -> datetime.date:
        """The given day of the month, clamped to the month; 0 is the last day."""
        if number <= 0 or number > self.days:
            number = self.days
        return datetime.date(self.year, self.month, number)

    @property
    def first(self) -> datetime.date:
        return self.day(1)

    @property
    def last(self) -> datetime.date:
        return self.day(0)

    @property
    def last_business_day(self) -> datetime.date:
        date = self.last
        while date.weekday() >= 5:
            date -= datetime.timedelta(days=1)
        return date


def parse_month(text: str) -> tuple[int, int]:
    year, month = text.split("-")
    return int(year), int(month)


def month_range(start: str, end: str) -> list[Month]:
    year, month = parse_month(start)
    end_key = parse_month(end)
    months: list[Month] = []
    while (year, month) <= end_key:
        months.append(Month(len(months), year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:
        raise ValueError(f"empty month range {start}..{end}")
    return months


# ----------------------------------------------------------------------------
# Transactions and rendering

Meta = dict[str, "str | int | Decimal"]


@dataclass
class Posting:
    account: str
    number: Decimal | int
    currency: str
    meta: Meta = field(default_factory=dict)


@dataclass
class Txn:
    date: datetime.date
    payee: str | None
    narration: str
    postings: list[Posting]
    meta: Meta = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


@dataclass
class Book:
    """Transactions and other text for one output file."""

    header: str
    txns: list[Txn] = field(default_factory=list)
    trailer: list[tuple[datetime.date, str]] = field(default_factory=list)

    def add(self, txn: Txn) -> None:
        self.txns.append(txn)


def render_value(value: str | int | Decimal) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def render_number(number: Decimal | int) -> str:
    return str(number) if isinstance(number, int) else f"{number:.2f}"


def render_txn(txn: Txn) -> str:
    head = f"{txn.date.isoformat()} *"
    if txn.payee is not None:
        head += f" {render_value(txn.payee)}"
    head += f" {render_value(txn.narration)}"
    for tag in txn.tags:
        head += f" #{tag}"
    for link in txn.links:
        head += f" ^{link}"
    lines = [head]
    lines.extend(f"  {key}: {render_value(value)}" for key, value in txn.meta.items())
    width = max(46, *(len(p.account) for p in txn.postings))
    for posting in txn.postings:
        lines.append(f"  {posting.account:<{width}} {render_number(posting.number):>16} {posting.currency}")
        lines.extend(f"    {key}: {render_value(value)}" for key, value in posting.meta.items())
    return "\n".join(lines) + "\n"


def render_book(book: Book) -> str:
    items: list[tuple[datetime.date, int, str]] = [
        (txn.date, k, render_txn(txn)) for k, txn in enumerate(book.txns)
    ]
    offset = len(items)
    items.extend((date, offset + k, text) for k, (date, text) in enumerate(book.trailer))
    items.sort(key=lambda item: (item[0], item[1]))
    body = "\n".join(text for _, _, text in items)
    return book.header.rstrip("\n") + "\n\n" + body


# ----------------------------------------------------------------------------
# The plan: quantities that several files must agree on


@dataclass(frozen=True)
class GpuBatch:
    key: str
    delivered: int  # month index of delivery; negative = before the first month
    servers: int
    gpus_per_server: int
    server_price: Decimal
    gpu: str
    vendor_invoice: str

    @property
    def gpus(self) -> int:
        return self.servers * self.gpus_per_server

    @property
    def cost(self) -> Decimal:
        return q2(self.server_price * self.servers)

    def depreciation(self, month_index: int) -> Decimal:
        """Straight-line over 60 months from the month after delivery; 0 outside."""
        k = month_index - self.delivered  # 1 = the first month of depreciation
        if k < 1 or k > 60:
            return Decimal("0.00")
        monthly = q2(self.cost / 60)
        return monthly if k < 60 else self.cost - monthly * 59

    def accumulated_before(self, month_index: int) -> Decimal:
        return sum((self.depreciation(k) for k in range(self.delivered + 1, month_index)), Decimal("0.00"))


def gpu_batches(n: int, scale: int) -> list[GpuBatch]:
    return [
        GpuBatch("h100-a", -7, 384 * scale, 8, Decimal("362480.00"), "HGX H100", "SLS-24-03318"),
        GpuBatch("h200-a", int(n * 0.15), 512 * scale, 8, Decimal("401365.00"), "HGX H200", "SLS-25-01107"),
        GpuBatch("h200-b", int(n * 0.42), 512 * scale, 8, Decimal("387910.00"), "HGX H200", "SLS-25-04462"),
        GpuBatch("b200-a", int(n * 0.75), 512 * scale, 8, Decimal("518740.00"), "HGX B200", "SLS-26-02075"),
    ]


@dataclass
class MonthPlan:
    month: Month
    f_rev: Decimal
    f_tok: Decimal
    tokens: dict[tuple[str, str], int]
    api_price: dict[str, Decimal]
    subscribers: int
    subscription_gross: Decimal
    seats: list[tuple[str, int, Decimal]]
    owned_gpus: int
    leased_gpus: list[int]
    gpuh: dict[str, int]  # driver sub-account path under Equity:Stats:GPUH -> GPU-hours
    training_runs: str
    headcount: dict[str, int]
    dcops_hours: dict[str, int]
    storage_tb: dict[str, int] | None  # quarterly survey, or None
    power_kwh: int


def growth(start: Decimal, ratio: Decimal, t: Decimal) -> Decimal:
    """start * ratio**t, t in [0, 1]: geometric growth from start to start*ratio.

    A fractional power is only "almost always correctly rounded" in decimal,
    so the result is cut to 12 places: the same on every platform.
    """
    return (start * (ratio**t)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)


def build_plans(months: list[Month], scale: int, seed: int) -> list[MonthPlan]:
    n = len(months)
    batches = gpu_batches(n, scale)
    plans: list[MonthPlan] = []
    for m in months:
        rng = Rng(seed, "plan", m.label)
        t = Decimal(m.index) / Decimal(max(n - 1, 1))
        f_rev = growth(Decimal("0.5"), Decimal(2), t)
        f_tok = growth(Decimal("0.4"), Decimal("2.5"), t)
        tokens = {key: rng.count(base * f_tok * scale, 400) for key, base in END_TOKENS_MTOK.items()}
        price_factor = f_rev / f_tok
        api_price = {
            model: (price * price_factor * rng.factor(150)).quantize(Decimal("0.0001"))
            for model, price in END_API_PRICE.items()
        }
        subscribers = rng.count(END_SUBSCRIBERS * f_rev * scale, 150)
        subscription_gross = rng.money(subscribers * SUBSCRIPTION_PRICE, 120)
        seats: list[tuple[str, int, Decimal]] = []
        for copy in range(scale):
            for name, end_seats, price, joins in ENTERPRISE_CUSTOMERS:
                if t < joins:
                    continue
                label = name if copy == 0 else f"{name} (division {copy + 1})"
                seats.append((label, rng.count(end_seats * f_rev, 200), price))
        owned = sum(b.gpus for b in batches if b.delivered < m.index)
        fleet = max(rng.count(END_FLEET_GPUS * f_rev * scale, 100), owned)
        leased = split_int(fleet - owned, [share for _, _, share, _, _ in LESSORS])

        available = rng.count(fleet * m.hours, 80) * 9850 // 10000
        bp = {
            "Serving": 3200 + rng.randint(-120, 120),
            "Training": 3200 + rng.randint(-150, 150),
            "Rollouts": 1900 + rng.randint(-100, 100),
            "Idle": 400 + rng.randint(-100, 100),
        }
        bp["Evals"] = 10000 - sum(bp.values())
        by_workload = dict(zip(bp, split_int(available, list(bp.values())), strict=True))
        gpuh: dict[str, int] = {}
        serving_weights = [
            tokens[(tier, model)] * MODEL_INTENSITY[model] * TIER_INTENSITY[tier]
            for tier in TIERS
            for model in MODELS
        ]
        for deployment, hours in zip(
            DEPLOYMENTS, split_int(by_workload["Serving"], serving_weights), strict=True
        ):
            gpuh[f"Serving:{deployment}"] = hours
        orion_bp = 6800 + rng.randint(-500, 500)
        orion, wren = split_int(by_workload["Training"], [orion_bp, 10000 - orion_bp])
        gpuh["Training:Orion"] = orion
        gpuh["Training:Wren"] = wren
        for workload in ("Rollouts", "Evals", "Idle"):
            gpuh[workload] = by_workload[workload]
        stage = min(int(t * 4), 3)
        training_runs = (
            "orion-3-pretrain, wren-2-distill",
            "orion-3-rl, wren-2.1-sft",
            "orion-3.5-pretrain, wren-2.5-distill",
            "orion-4-pretrain, orion-3.5-rl, wren-3-sft",
        )[stage]

        f_hc = growth(Decimal("0.5"), Decimal(2), t)
        headcount = {
            key: max(1, int((Decimal(end) * f_hc * scale).to_integral_value(ROUND_HALF_EVEN)))
            for key, _, _, _, end in FUNCTIONS
        }
        hours = rng.count(headcount["dcops"] * 161, 300)
        serving_bp = 3800 + rng.randint(-300, 300)
        training_bp = 4200 + rng.randint(-300, 300)
        dcops_hours = dict(
            zip(
                ("Serving", "Training", "Rollouts"),
                split_int(hours, [serving_bp, training_bp, 10000 - serving_bp - training_bp]),
                strict=True,
            )
        )
        storage_tb = None
        if m.index == 0 or m.month in (1, 4, 7, 10):
            total_tb = rng.count(
                Decimal(60_000) * growth(Decimal("0.45"), Decimal(1) / Decimal("0.45"), t) * scale, 200
            )
            s_bp = 1200 + rng.randint(-150, 150)
            tr_bp = 3300 + rng.randint(-200, 200)
            storage_tb = dict(
                zip(
                    ("Serving", "Training", "Datasets"),
                    split_int(total_tb, [s_bp, tr_bp, 10000 - s_bp - tr_bp]),
                    strict=True,
                )
            )
        # About 1.38 kW per GPU all-in (GPU, host, network) times a PUE of ~1.25.
        power_kwh = rng.count(available * Decimal("1.38") * Decimal("1.25"), 250)
        plans.append(
            MonthPlan(
                month=m,
                f_rev=f_rev,
                f_tok=f_tok,
                tokens=tokens,
                api_price=api_price,
                subscribers=subscribers,
                subscription_gross=subscription_gross,
                seats=seats,
                owned_gpus=owned,
                leased_gpus=leased,
                gpuh=gpuh,
                training_runs=training_runs,
                headcount=headcount,
                dcops_hours=dcops_hours,
                storage_tb=storage_tb,
                power_kwh=power_kwh,
            )
        )
    return plans


# ----------------------------------------------------------------------------
# Invoice numbers


class InvoiceNumbers:
    """Per-vendor invoice sequences with gaps (the vendor bills other customers too)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._next: dict[str, int] = {}
        self._rng: dict[str, Rng] = {}

    def next(self, prefix: str, month: Month) -> str:
        if prefix not in self._next:
            self._rng[prefix] = Rng(self._seed, "invoices", prefix)
            self._next[prefix] = self._rng[prefix].randint(1000, 60000)
        number = self._next[prefix]
        self._next[prefix] += self._rng[prefix].randint(3, 400)
        return f"{prefix}-{month.year % 100:02d}{month.month:02d}-{number:06d}"


def link_for(invoice: str) -> str:
    return "inv-" + invoice.lower()


# ----------------------------------------------------------------------------
# Subjects


def day_weights(rng: Rng, month: Month) -> list[int]:
    weights = []
    for day in range(1, month.days + 1):
        weekend = datetime.date(month.year, month.month, day).weekday() >= 5
        weights.append(rng.randint(78, 90) if weekend else rng.randint(97, 110))
    return weights


def in_range(date: datetime.date, months: list[Month]) -> bool:
    return date <= months[-1].last


def bill(
    book: Book,
    months: list[Month],
    *,
    date: datetime.date,
    payee: str,
    narration: str,
    invoice: str,
    postings: list[tuple[str, Decimal, Meta]],
    pay_after_days: int | None,
    meta: Meta | None = None,
) -> None:
    """Book a vendor invoice: straight from the bank, or through payables and paid later."""
    total = sum((amount for _, amount, _ in postings), Decimal("0.00"))
    entry_meta: Meta = {"invoice": invoice, **(meta or {})}
    lines = [Posting(account, amount, "USD", dict(pmeta)) for account, amount, pmeta in postings]
    if pay_after_days is None:
        book.add(Txn(date, payee, narration, [*lines, Posting(BANK, -total, "USD")], entry_meta))
        return
    link = link_for(invoice)
    book.add(Txn(date, payee, narration, [*lines, Posting(AP, -total, "USD")], entry_meta, links=(link,)))
    paid = date + datetime.timedelta(days=pay_after_days)
    if in_range(paid, months):
        book.add(
            Txn(
                paid,
                payee,
                f"Payment of invoice {invoice}",
                [Posting(AP, total, "USD"), Posting(BANK, -total, "USD")],
                links=(link,),
            )
        )


def revenue_book(months: list[Month], plans: list[MonthPlan], seed: int, daily: bool) -> Book:
    book = Book(
        "; Revenue: API usage (metered per model), consumer subscriptions and enterprise seats.\n"
        ";\n"
        "; API usage is billed monthly in arrears per model and collected about ten days\n"
        "; later. Subscriptions are settled by the card processor (its fees are billed\n"
        "; separately, see opex.beancount) and enterprise seats are invoiced on the 1st,\n"
        "; net 30. Subscription and enterprise revenue are booked to the tier account\n"
        "; (Income:Subscription, Income:Enterprise); ailab_books.plugins.allocate attributes them\n"
        "; to models by the tier's tokens served (allocation.beancount).\n"
    )
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "revenue", m.label)
        # API usage
        invoice = f"API-{m.year % 100:02d}{m.month:02d}"
        lines: list[Posting] = []
        total = Decimal("0.00")
        for model in MODELS:
            mtok = plan.tokens[("API", model)]
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
        # Subscriptions
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
        else:
            book.add(
                Txn(
                    m.last,
                    "Tollgate Payments",
                    f"Subscription payouts, {m.name} ({fmt_int(plan.subscribers)} active subscribers)",
                    [Posting(BANK, gross, "USD"), Posting("Income:Subscription", -gross, "USD")],
                    {"subscribers": plan.subscribers},
                )
            )
        # Enterprise seats
        for k, (customer, seats, price) in enumerate(plan.seats):
            amount = q2(seats * price)
            invoice = f"ENT-{m.year % 100:02d}{m.month:02d}-{k + 1:04d}"
            link = link_for(invoice)
            book.add(
                Txn(
                    m.first,
                    customer,
                    f"Enterprise seats, {m.name}: {fmt_int(seats)} seats at {price} USD",
                    [Posting(AR, amount, "USD"), Posting("Income:Enterprise", -amount, "USD")],
                    {"invoice": invoice, "seats": seats},
                    links=(link,),
                )
            )
            paid = m.first + datetime.timedelta(days=rng.randint(18, 33))
            if in_range(paid, months):
                book.add(
                    Txn(
                        paid,
                        customer,
                        f"Payment of invoice {invoice}",
                        [Posting(BANK, amount, "USD"), Posting(AR, -amount, "USD")],
                        links=(link,),
                    )
                )
    return book


@dataclass
class Employee:
    ident: str
    base: Decimal


def payroll_book(months: list[Month], plans: list[MonthPlan], seed: int, per_employee: bool) -> Book:
    book = Book(
        "; Payroll, fully loaded (salary, employer taxes, benefits, equity cash-outs),\n"
        "; paid on the last business day of the month through Ledgerline Payroll.\n"
        ";\n"
        "; Functions map to accounts: research and engineering are R&D; datacentre\n"
        "; operations staff go to the pool Expenses:Shared:DatacenterOps (split by\n"
        "; timesheet hours); inference SRE and customer support to the serving pool\n"
        "; Expenses:Shared:Serving:Staff (split by serving GPU-hours per deployment);\n"
        "; sales, marketing and G&A are SG&A.\n"
    )
    rosters: dict[str, list[Employee]] = {key: [] for key, *_ in FUNCTIONS}
    hires = Rng(seed, "roster")
    next_id = 1
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "payroll", m.label)
        date = m.last_business_day
        total_heads = sum(plan.headcount.values())
        if not per_employee:
            lines = []
            total = Decimal("0.00")
            for key, label, account, cost, _ in FUNCTIONS:
                heads = plan.headcount[key]
                amount = rng.money(cost * heads, 150)
                total += amount
                lines.append(Posting(account, amount, "USD", {"function": label, "headcount": heads}))
            book.add(
                Txn(
                    date,
                    "Ledgerline Payroll",
                    f"Payroll, {m.name} ({fmt_int(total_heads)} employees)",
                    [*lines, Posting(BANK, -total, "USD")],
                    {"payrun": f"PR-{m.label}"},
                )
            )
            continue
        for key, label, account, cost, _ in FUNCTIONS:
            roster = rosters[key]
            while len(roster) < plan.headcount[key]:
                roster.append(Employee(f"E{next_id:06d}", hires.money(cost, 2000)))
                next_id += 1
            active = roster[: plan.headcount[key]]
            for start in range(0, len(active), 250):
                chunk = active[start : start + 250]
                lines = [
                    Posting(account, rng.money(emp.base, 40), "USD", {"employee": emp.ident}) for emp in chunk
                ]
                total = sum((p.number for p in lines), Decimal("0.00"))
                assert isinstance(total, Decimal)
                book.add(
                    Txn(
                        date,
                        "Ledgerline Payroll",
                        f"Payroll, {m.name}: {label}",
                        [*lines, Posting(BANK, -total, "USD")],
                        {"payrun": f"PR-{m.label}", "function": label},
                    )
                )
    return book


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


def compute_book(
    months: list[Month], plans: list[MonthPlan], seed: int, scale: int, numbers: InvoiceNumbers
) -> Book:
    book = Book(
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
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "compute", m.label)
        for (payee, prefix, _, rate, contract), gpus in zip(LESSORS, plan.leased_gpus, strict=True):
            if gpus == 0:
                continue
            for part in split_int(gpus, rng.weights(scale, 60, 140)) if scale > 1 else [gpus]:
                amount = q2(part * m.hours * rate)
                invoice = numbers.next(prefix, m)
                bill(
                    book,
                    months,
                    date=m.first,
                    payee=payee,
                    narration=f"GPU cluster lease, {m.name}: {fmt_int(part)} GPUs x "
                    f"{m.hours} h at {rate} USD ({contract})",
                    invoice=invoice,
                    postings=[(POOL_GPU, amount, {"gpus": part, "gpu-hours": part * m.hours})],
                    pay_after_days=14,
                )
        # Colocation of owned servers: per-GPU rack space and cooling, plus cross-connects.
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
        # Power: two sites, metered kWh.
        site_a, site_b = split_int(plan.power_kwh, [6000 + rng.randint(-200, 200), 4000])
        for payee, prefix, kwh, rate, what in (
            (
                "Tri-County Electric Cooperative",
                "TCE",
                site_a,
                Decimal("0.0765"),
                "site A, large-power tariff",
            ),
            ("Prairie Wind Energy", "PWE", site_b, Decimal("0.0712"), "site B, power purchase agreement"),
        ):
            amount = q2(kwh * rate) + rng.money(Decimal("14250") * scale, 500)
            invoice = numbers.next(prefix, m)
            bill(
                book,
                months,
                date=m.last,
                payee=payee,
                narration=f"Electricity, {m.name}, {what}: {fmt_int(kwh)} kWh at {rate} USD "
                "plus demand charge",
                invoice=invoice,
                postings=[(POOL_POWER, amount, {"kwh": kwh})],
                pay_after_days=18,
            )
    vendor_bills(book, months, plans, seed, scale, "compute", numbers)
    return book


def capex_book(months: list[Month], seed: int, scale: int) -> Book:
    n = len(months)
    batches = gpu_batches(n, scale)
    book = Book(
        "; Capital expenditure: owned GPU servers, and their depreciation.\n"
        ";\n"
        "; Method: GPU servers are capitalised at invoice cost in Assets:Fixed:GPU:Cost\n"
        "; on delivery and depreciated straight-line over 60 months (5 years, no\n"
        "; salvage value), starting the month after delivery, when they enter\n"
        "; service. Each month's charge is cost / 60 rounded to the cent; the 60th\n"
        "; month takes the rounding remainder so the asset depreciates exactly to zero.\n"
        "; The charge is credited to the contra-asset Assets:Fixed:GPU:Depreciation\n"
        "; and debited to the pool Expenses:Shared:GPUCluster, which ailab_books.plugins.allocate\n"
        "; splits with the leases by GPU-hours per workload (allocation.beancount).\n"
        "; A shorter useful life (4 years, as some neoclouds use) raises the cost of\n"
        "; every GPU-hour: change the 60 in benchmarks/generate.py to see it.\n"
        ";\n"
        "; Batch h100-a was bought before these books start; its cost and the\n"
        "; depreciation accumulated so far are in the opening balances (funding.beancount).\n"
    )
    for batch in batches:
        if batch.delivered < 0 or batch.delivered >= n:
            continue
        m = months[batch.delivered]
        date = m.day(14)
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
    for m in months:
        lines = []
        total = Decimal("0.00")
        for batch in batches:
            amount = batch.depreciation(m.index)
            if amount:
                total += amount
                lines.append(Posting(GPU_DEPRECIATION, -amount, "USD", {"batch": batch.key}))
        if not lines:
            continue
        book.add(
            Txn(
                m.last,
                None,
                f"Depreciation of owned GPU servers, {m.name} (straight-line, 60 months)",
                [Posting(POOL_GPU, total, "USD"), *lines],
            )
        )
    return book


def drivers_book(months: list[Month], plans: list[MonthPlan], seed: int, daily: bool) -> Book:
    book = Book(
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
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "drivers", m.label)
        token_keys = [(tier, model) for tier in TIERS for model in MODELS]
        gpuh_keys = list(plan.gpuh)
        if daily:
            weights = day_weights(rng, m)
            token_days = {k: split_int(plan.tokens[k], weights) for k in token_keys}
            gpuh_days = {k: split_int(plan.gpuh[k], rng.weights(m.days, 95, 105)) for k in gpuh_keys}
            for day in range(m.days):
                date = m.day(day + 1)
                postings = [
                    Posting(f"Equity:Stats:Tokens:{tier}:{model}", token_days[(tier, model)][day], "MTOK")
                    for tier, model in token_keys
                ]
                postings.append(Posting(OFFSET, -sum(p.number for p in postings), "MTOK"))
                book.add(Txn(date, "Metering", "Tokens served", postings))
                postings = [Posting(f"Equity:Stats:GPUH:{k}", gpuh_days[k][day], "GPUH") for k in gpuh_keys]
                postings.append(Posting(OFFSET, -sum(p.number for p in postings), "GPUH"))
                book.add(Txn(date, "GPU scheduler", "GPU-hours by workload", postings))
        else:
            postings = [
                Posting(f"Equity:Stats:Tokens:{tier}:{model}", plan.tokens[(tier, model)], "MTOK")
                for tier, model in token_keys
            ]
            postings.append(Posting(OFFSET, -sum(p.number for p in postings), "MTOK"))
            book.add(Txn(m.last, "Metering", f"Tokens served, {m.name}", postings))
            postings = [Posting(f"Equity:Stats:GPUH:{k}", plan.gpuh[k], "GPUH") for k in gpuh_keys]
            postings.append(Posting(OFFSET, -sum(p.number for p in postings), "GPUH"))
            book.add(
                Txn(
                    m.last,
                    "GPU scheduler",
                    f"GPU-hours by workload, {m.name}",
                    postings,
                    {"training-runs": plan.training_runs},
                )
            )
        postings = [
            Posting(f"Equity:Stats:Hours:DatacenterOps:{k}", v, "HOUR") for k, v in plan.dcops_hours.items()
        ]
        postings.append(Posting(OFFSET, -sum(p.number for p in postings), "HOUR"))
        book.add(
            Txn(
                m.last,
                "Timesheets",
                f"Datacentre operations hours by activity, {m.name} ({plan.headcount['dcops']} staff)",
                postings,
            )
        )
        if plan.storage_tb is not None:
            postings = [Posting(f"Equity:Stats:Storage:{k}", v, "TB") for k, v in plan.storage_tb.items()]
            postings.append(Posting(OFFSET, -sum(p.number for p in postings), "TB"))
            book.add(
                Txn(
                    m.day(10),
                    "Storage survey",
                    f"Capacity survey, quarter starting {m.name}: TB held by purpose",
                    postings,
                )
            )
    return book


def opex_book(
    months: list[Month], plans: list[MonthPlan], seed: int, scale: int, numbers: InvoiceNumbers
) -> Book:
    book = Book(
        "; Operating expenses other than payroll and compute: revenue share, payment\n"
        "; fees, data licensing and annotation (R&D), and SG&A vendors.\n"
        ";\n"
        "; Revenue share: cloud marketplaces resell the API and keep a share, booked\n"
        "; per model to Expenses:COGS:RevenueShare:API:<Model>. Card processing fees\n"
        "; on subscriptions go to the pool Expenses:Shared:PaymentFees, attributed to\n"
        "; models by subscription tokens.\n"
    )
    for m, plan in zip(months, plans, strict=True):
        rng = Rng(seed, "opex", m.label)
        # Revenue share, two marketplaces.
        api_revenue = {model: q2(plan.tokens[("API", model)] * plan.api_price[model]) for model in MODELS}
        for payee, prefix, share_bp in (
            ("Stratus Cloud Marketplace", "SCM", 3380),
            ("Azimuth Cloud Marketplace", "ACM", 1820),
        ):
            postings = []
            for model in MODELS:
                amount = q2(api_revenue[model] * (share_bp + rng.randint(-60, 60)) / 100000)
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
        # Card processing: 2.9% + 0.30 per charge.
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
    vendor_bills(book, months, plans, seed, scale, "opex", numbers)
    return book


def funding_book(months: list[Month], scale: int, books: Iterable[Book]) -> Book:
    n = len(months)
    start = months[0].first
    batches = gpu_batches(n, scale)
    book = Book(
        "; Funding and banking: opening balances, equity raises, and monthly bank\n"
        "; reconciliations (balance assertions on the operating account).\n"
    )
    opening_cash = Decimal("386214905.37") * scale
    lines = [Posting(BANK, opening_cash, "USD")]
    for batch in batches:
        if batch.delivered < 0:
            lines.append(Posting(GPU_COST, batch.cost, "USD", {"batch": batch.key}))
            accumulated = batch.accumulated_before(0)
            lines.append(Posting(GPU_DEPRECIATION, -accumulated, "USD", {"batch": batch.key}))
    total = sum((p.number for p in lines), Decimal("0.00"))
    assert isinstance(total, Decimal)
    lines.append(Posting(OPENING, -total, "USD"))
    book.add(Txn(start, None, "Opening balances", lines))
    for index, round_name, lead, amount in (
        (int(n * 0.2), "Series C", "Ridgeline Ventures", Decimal("900000000.00")),
        (int(n * 0.62), "Series D", "Halcyon Capital", Decimal("1050000000.00")),
    ):
        if index >= n:
            continue
        m = months[index]
        amount *= scale
        account = "Equity:Capital:" + round_name.replace(" ", "")
        book.add(
            Txn(
                m.day(6),
                lead,
                f"{round_name} preferred stock, first close (lead: {lead})",
                [Posting(BANK, amount, "USD"), Posting(account, -amount, "USD")],
            )
        )
    # Bank reconciliation: assert the operating account at the start of each month.
    bank_moves: list[tuple[datetime.date, Decimal]] = []
    for other in [*books, book]:
        for txn in other.txns:
            for posting in txn.postings:
                if posting.account == BANK:
                    assert isinstance(posting.number, Decimal)
                    bank_moves.append((txn.date, posting.number))
    for m in months[1:]:
        balance = sum((amount for date, amount in bank_moves if date < m.first), Decimal("0.00"))
        book.trailer.append((m.first, f"{m.first.isoformat()} balance {BANK:<30} {balance:.2f} USD\n"))
    return book


# ----------------------------------------------------------------------------
# Static files: accounts and allocation rules


def accounts_text(months: list[Month]) -> str:
    d = months[0].first.isoformat()
    out: list[str] = [
        "; Chart of accounts. Names follow docs/conventions.md: Income:<Tier>:<Model>,",
        "; COGS accounts end in :<Tier>:<Model>, pools under Expenses:Shared, drivers",
        "; under Equity:Stats.",
        "",
    ]
    for code, name in (
        ("USD", "US dollar"),
        ("MTOK", "Million tokens"),
        ("GPUH", "GPU-hour (H100-equivalent)"),
        ("HOUR", "Staff hour"),
        ("TB", "Terabyte of storage"),
    ):
        out += [f"{d} commodity {code}", f'  name: "{name}"']
    out.append("")

    def section(title: str, accounts: Iterable[str], unit: str = "USD") -> None:
        out.append(f"; {title}")
        out.extend(f"{d} open {acc:<56} {unit}" for acc in accounts)
        out.append("")

    section("Assets and liabilities", [BANK, AR, GPU_COST, GPU_DEPRECIATION, AP])
    section("Equity", [OPENING, "Equity:Capital:SeriesC", "Equity:Capital:SeriesD"])
    section(
        "Revenue by tier and model (subscription and enterprise are booked to the tier and "
        "attributed to models by ailab_books.plugins.allocate)",
        [f"Income:API:{m}" for m in MODELS]
        + ["Income:Subscription"]
        + [f"Income:Subscription:{m}" for m in MODELS]
        + ["Income:Enterprise"]
        + [f"Income:Enterprise:{m}" for m in MODELS],
    )
    section(
        "Cost of revenue: serving lines per tier and model, revenue share, payment fees",
        [
            f"Expenses:COGS:Inference:{line}:{tier}:{model}"
            for line in SERVING_LINES
            for tier in TIERS
            for model in MODELS
        ]
        + [f"Expenses:COGS:RevenueShare:API:{m}" for m in MODELS]
        + [f"Expenses:COGS:PaymentFees:Subscription:{m}" for m in MODELS],
    )
    section(
        "R&D: training runs, inference used for training (rollouts, evals), data, staff",
        [
            "Expenses:RnD:Training:Compute",
            "Expenses:RnD:Training:Power",
            "Expenses:RnD:Training:DatacenterOps",
            "Expenses:RnD:Training:Storage",
            "Expenses:RnD:Training:IdleCapacity",
            "Expenses:RnD:Rollouts:Compute",
            "Expenses:RnD:Rollouts:Power",
            "Expenses:RnD:Rollouts:DatacenterOps",
            "Expenses:RnD:Evals:Compute",
            "Expenses:RnD:Evals:Power",
            "Expenses:RnD:Data:Licensing",
            "Expenses:RnD:Data:Annotation",
            "Expenses:RnD:Data:Storage",
            "Expenses:RnD:Staff:Research",
            "Expenses:RnD:Staff:Engineering",
        ],
    )
    section(
        "SG&A",
        [
            "Expenses:SGA:Staff:SalesMarketing",
            "Expenses:SGA:Staff:GeneralAdmin",
            "Expenses:SGA:Marketing:Advertising",
            "Expenses:SGA:Marketing:Events",
            "Expenses:SGA:Facilities:Rent",
            "Expenses:SGA:Professional:Legal",
            "Expenses:SGA:Professional:Audit",
            "Expenses:SGA:Insurance",
            "Expenses:SGA:Software",
            "Expenses:SGA:Travel",
            "Expenses:SGA:Recruiting",
        ],
    )
    section(
        "Shared cost pools (zero at every month end after allocation)",
        [POOL_GPU, POOL_POWER, POOL_DCOPS, POOL_STORAGE, POOL_FEES]
        + [f"Expenses:Shared:Serving:{line}" for line in SERVING_LINES],
    )
    section(
        "Drivers: tokens served per tier and model",
        [f"Equity:Stats:Tokens:{t}:{m}" for t in TIERS for m in MODELS],
        "MTOK",
    )
    section(
        "Drivers: GPU-hours per workload (serving per deployment, training per model)",
        [f"Equity:Stats:GPUH:Serving:{d}" for d in DEPLOYMENTS]
        + [f"Equity:Stats:GPUH:Training:{m}" for m in MODELS]
        + ["Equity:Stats:GPUH:Rollouts", "Equity:Stats:GPUH:Evals", "Equity:Stats:GPUH:Idle"],
        "GPUH",
    )
    section(
        "Drivers: datacentre operations timesheet hours",
        [f"Equity:Stats:Hours:DatacenterOps:{a}" for a in ("Serving", "Training", "Rollouts")],
        "HOUR",
    )
    section(
        "Drivers: storage capacity survey",
        [f"Equity:Stats:Storage:{a}" for a in ("Serving", "Training", "Datasets")],
        "TB",
    )
    out.append("; Offset for every driver transaction (quantities only, never money)")
    out.append(f"{d} open {OFFSET:<56} MTOK,GPUH,HOUR,TB")
    return "\n".join(out) + "\n"


def _rule(
    date: str, pool: str, driver: str, targets: Sequence[tuple[str, str]], basis: str | None = None
) -> str:
    lines = [f'{date} custom "allocate" {pool} {driver}']
    width = max(len(key) for key, _ in targets) + 1
    if basis:
        lines.append(f'  basis: "{basis}"')
    lines.extend(f"  {key + ':':<{width}} {target}" for key, target in targets)
    return "\n".join(lines) + "\n"


def allocation_text(months: list[Month]) -> str:
    start = months[0].first.isoformat()
    # The idle-capacity policy changed at the first January after the start.
    switch = next((m for m in months[1:] if m.month == 1), None)
    idle_old = "Expenses:RnD:Training:IdleCapacity"
    gpu_targets = [
        ("serving", SERVING_COMPUTE),
        ("training", "Expenses:RnD:Training:Compute"),
        ("rollouts", "Expenses:RnD:Rollouts:Compute"),
        ("evals", "Expenses:RnD:Evals:Compute"),
    ]
    power_targets = [
        ("serving", "Expenses:Shared:Serving:Power"),
        ("training", "Expenses:RnD:Training:Power"),
        ("rollouts", "Expenses:RnD:Rollouts:Power"),
        ("evals", "Expenses:RnD:Evals:Power"),
    ]
    out = [
        "; Allocation rules, read by ailab_books.plugins.allocate (docs/conventions.md).",
        ";",
        "; Each rule splits one pool account's net change per month across the",
        "; activities of a driver (the driver's direct sub-accounts), in proportion to",
        '; the driver quantities dated in the month (or, with basis "latest", the most',
        "; recent ones), rounded to the cent by largest remainder. A rule applies from",
        "; its date until a later rule for the same pool replaces it. Pools feeding",
        "; other pools are processed first (step-down).",
        "",
        "; Step 1: the GPU fleet (leases, colocation, backbone network, depreciation)",
        "; and its power, by GPU-hours per workload from the scheduler.",
        ";",
        "; Until the policy change below, idle GPU-hours were charged to R&D as",
        "; training headroom.",
        _rule(start, POOL_GPU, "Equity:Stats:GPUH", [*gpu_targets, ("idle", idle_old)]),
        _rule(start, POOL_POWER, "Equity:Stats:GPUH", [*power_targets, ("idle", idle_old)]),
    ]
    if switch is not None:
        out += [
            f"; Policy change, {switch.name} (finance memo FIN-{switch.year}-003): a FinOps",
            "; review found that idle GPUs are almost all the serving autoscaler's reserved",
            "; peak headroom (training jobs are gang-scheduled from a queue and rarely",
            "; leave nodes idle), and the auditors asked that held-for-serving capacity",
            "; sit in cost of revenue. From this date idle GPU-hours, and their power, go",
            "; to the serving pool Expenses:Shared:Serving:IdleCapacity. These rules",
            "; replace the two above for the same pools; earlier months keep the old split.",
            _rule(
                switch.first.isoformat(),
                POOL_GPU,
                "Equity:Stats:GPUH",
                [*gpu_targets, ("idle", "Expenses:Shared:Serving:IdleCapacity")],
            ),
            _rule(
                switch.first.isoformat(),
                POOL_POWER,
                "Equity:Stats:GPUH",
                [*power_targets, ("idle", "Expenses:Shared:Serving:IdleCapacity")],
            ),
        ]
    out += [
        "; Step 2: datacentre staff by timesheet hours; storage by the quarterly",
        '; capacity survey, a standing estimate (basis "latest").',
        _rule(
            start,
            POOL_DCOPS,
            "Equity:Stats:Hours:DatacenterOps",
            [
                ("serving", "Expenses:Shared:Serving:DatacenterOps"),
                ("training", "Expenses:RnD:Training:DatacenterOps"),
                ("rollouts", "Expenses:RnD:Rollouts:DatacenterOps"),
            ],
        ),
        _rule(
            start,
            POOL_STORAGE,
            "Equity:Stats:Storage",
            [
                ("serving", "Expenses:Shared:Serving:Storage"),
                ("training", "Expenses:RnD:Training:Storage"),
                ("datasets", "Expenses:RnD:Data:Storage"),
            ],
            basis="latest",
        ),
        "; Step 3: each serving line to deployments (<Tier>-<Model>) by serving",
        "; GPU-hours, into cost of revenue per tier and model. The free tier is a",
        "; deployment like any other: its cost is COGS with no revenue against it.",
    ]
    for line in SERVING_LINES:
        out.append(
            _rule(
                start,
                f"Expenses:Shared:Serving:{line}",
                "Equity:Stats:GPUH:Serving",
                [(d.lower(), f"Expenses:COGS:Inference:{line}:{d.replace('-', ':')}") for d in DEPLOYMENTS],
            )
        )
    out += [
        "; Step 4: per-seat revenue and its card fees to models by the tier's tokens.",
        _rule(
            start,
            POOL_FEES,
            "Equity:Stats:Tokens:Subscription",
            [(m.lower(), f"Expenses:COGS:PaymentFees:Subscription:{m}") for m in MODELS],
        ),
        _rule(
            start,
            "Income:Subscription",
            "Equity:Stats:Tokens:Subscription",
            [(m.lower(), f"Income:Subscription:{m}") for m in MODELS],
        ),
        _rule(
            start,
            "Income:Enterprise",
            "Equity:Stats:Tokens:Enterprise",
            [(m.lower(), f"Income:Enterprise:{m}") for m in MODELS],
        ),
    ]
    return "\n".join(out)


SUBJECT_FILES: tuple[str, ...] = (
    "accounts",
    "allocation",
    "funding",
    "revenue",
    "payroll",
    "compute",
    "capex",
    "opex",
    "drivers",
)


def main_text(title: str, includes: Sequence[str]) -> str:
    lines = [
        "; The books of Orion Labs, a fictional AI lab.",
        ";",
        "; First written by benchmarks/generate.py (seed 7); from here on these are",
        "; ordinary books, kept by hand: add transactions, drivers and rules to the",
        "; subject files below (see the README's tour).",
        "",
        f'option "title" "{title}"',
        'option "operating_currency" "USD"',
        "",
        "; ailab_books.plugins.allocate splits the shared pools (allocation.beancount); it must run",
        "; before ailab_books.plugins.classify so that the entries it generates get cost-class tags.",
        'plugin "ailab_books.plugins.allocate"',
        'plugin "ailab_books.plugins.classify"',
        "",
    ]
    lines += [f'include "{name}.beancount"' for name in SUBJECT_FILES]
    lines += [
        "",
        "; Saved queries and other extra includes (EXAMPLE_EXTRA_INCLUDES in the generator).",
    ]
    lines += [f'include "{path}"' for path in includes]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------
# Entry points


def generate(
    *,
    start: str = "2025-01",
    end: str = "2026-10",
    scale: int = 1,
    daily: bool = False,
    seed: int = 7,
    includes: Sequence[str] | None = None,
) -> dict[str, str]:
    """Return the ledger's files as {file name: text}."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    months = month_range(start, end)
    plans = build_plans(months, scale, seed)
    numbers = InvoiceNumbers(seed)
    per_employee = scale > 1 or daily
    books = {
        "revenue": revenue_book(months, plans, seed, daily),
        "payroll": payroll_book(months, plans, seed, per_employee),
        "compute": compute_book(months, plans, seed, scale, numbers),
        "capex": capex_book(months, seed, scale),
        "opex": opex_book(months, plans, seed, scale, numbers),
        "drivers": drivers_book(months, plans, seed, daily),
    }
    books["funding"] = funding_book(months, scale, books.values())
    example = (start, end, scale, daily, seed) == ("2025-01", "2026-10", 1, False, 7)
    if example:
        title = EXAMPLE_TITLE
    else:
        title = f"Orion Labs — synthetic books (scale {scale}, {'daily' if daily else 'monthly'})"
    if includes is None:
        includes = EXAMPLE_EXTRA_INCLUDES if example else ()
    files = {
        "main.beancount": main_text(title, includes),
        "accounts.beancount": accounts_text(months),
        "allocation.beancount": allocation_text(months),
    }
    for name, book in books.items():
        files[f"{name}.beancount"] = render_book(book)
    return files


def write_ledger(
    out_dir: Path,
    *,
    start: str = "2025-01",
    end: str = "2026-10",
    scale: int = 1,
    daily: bool = False,
    seed: int = 7,
    includes: Sequence[str] | None = None,
) -> list[Path]:
    """Write the ledger files into `out_dir` (created if needed); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    files = generate(start=start, end=end, scale=scale, daily=daily, seed=seed, includes=includes)
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="directory to write the .beancount files into")
    parser.add_argument("--scale", type=int, default=1, help="lab size multiplier (default 1)")
    parser.add_argument("--daily", action="store_true", help="daily metering and settlements")
    parser.add_argument("--months", default="2025-01:2026-10", help="START:END, as YYYY-MM:YYYY-MM")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--include",
        action="append",
        default=None,
        help="extra include for main.beancount (repeatable); default: the example's",
    )
    args = parser.parse_args(argv)
    start, _, end = args.months.partition(":")
    paths = write_ledger(
        args.out_dir,
        start=start,
        end=end or start,
        scale=args.scale,
        daily=args.daily,
        seed=args.seed,
        includes=args.include,
    )
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
