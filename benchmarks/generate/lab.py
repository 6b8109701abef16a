"""The fictional lab, Orion Labs: its models, tiers, staff, suppliers and size.

Everything the generator needs to know about the lab that is not an amount
drawn at random: the dimensions of the books (models, tiers, deployments,
serving lines), the accounts it posts to, and the end-of-period magnitudes at
scale 1. The accounts must be ones ``ledger/accounts.beancount`` opens: the
generator copies that file (``structure.py``) and refuses to write a ledger
that posts to an account it does not open.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# ----------------------------------------------------------------------------
# Dimensions (docs/conventions.md)

MODELS: tuple[str, ...] = ("Orion", "Wren", "Kestrel")
TIERS: tuple[str, ...] = ("API", "Subscription", "Enterprise", "Free")
DEPLOYMENTS: tuple[str, ...] = tuple(f"{tier}-{model}" for tier in TIERS for model in MODELS)

# ----------------------------------------------------------------------------
# Accounts the generator posts to by name

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

# ----------------------------------------------------------------------------
# The example's main.beancount

EXAMPLE_TITLE = "Orion Labs — example books"

#: Extra includes of main.beancount with the example's arguments (the
#: defaults), after the ledger's own files: the saved queries and the Fava
#: dashboard config, with which ledger/main.beancount was first written. An
#: include glob that matches no file is a bean-check error. Other ledgers get
#: none unless asked (`--include`): a relative path depends on where they are.
EXAMPLE_EXTRA_INCLUDES: tuple[str, ...] = (
    "../queries/*.beancount",
    "../dashboard/fava.beancount",
)

# ----------------------------------------------------------------------------
# Magnitudes

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

# ----------------------------------------------------------------------------
# The flagship generation change: Kestrel succeeds Orion.
#
# END_TOKENS_MTOK's "Orion" rows are the flagship's tokens, Orion's and
# Kestrel's together. Kestrel's pre-training run starts at KESTREL_RUN_START of
# the period (2025-06 in the example) on a dedicated leased cluster
# (KESTREL_RUN_GPUS more H100s, all their hours training Kestrel) plus most of
# the flagship's share of the fleet's training hours; it launches at
# KESTREL_LAUNCH of the period (2026-04) and takes the flagship's traffic month
# by month (KESTREL_TRAFFIC_BP, basis points of each tier's flagship tokens),
# at a price KESTREL_PRICE_PREMIUM above Orion's, cheaper to serve per token
# (MODEL_INTENSITY). After the launch the flagship's training hours are
# Kestrel's post-training (RL, fine-tunes).

PREDECESSOR = "Orion"
SUCCESSOR = "Kestrel"
KESTREL_RUN_START = Decimal("0.23")
KESTREL_LAUNCH = Decimal("0.69")
KESTREL_RUN_GPUS = 6_000
KESTREL_RUN_FLAGSHIP_BP = 8_000  # Kestrel's part of the flagship's training hours during the run
KESTREL_TRAFFIC_BP: tuple[int, ...] = (3_000, 5_500, 7_000, 8_000, 8_500, 8_800, 9_000)
KESTREL_PRICE_PREMIUM = Decimal("1.10")


@dataclass(frozen=True)
class ModelFacts:
    """What the books' ``custom "model"`` record says of a model (docs/conventions.md).

    Months are counted from the period's first month (negative: before it); the
    serving life is the period's length plus ``life_extra_months``, or
    ``life_months`` when set; lifetime MTOK and the training memo are at scale 1.
    """

    name: str
    launch_month: int | None  # None: KESTREL_LAUNCH of the period
    launch_day: int
    life_months: int | None
    life_extra_months: int
    lifetime_mtok: int
    training_before_books: Decimal | None


MODEL_FACTS: tuple[ModelFacts, ...] = (
    # Orion: the flagship launched two months before the books; its expected
    # life ends with them (2026-10 in the example), a few months after Kestrel.
    ModelFacts("Orion", -2, 5, None, 0, 110_000_000, Decimal("120000000.00")),
    # Wren: the small model, distilled from Orion, launched five months before the books.
    ModelFacts("Wren", -5, 12, 30, 0, 450_000_000, Decimal("15000000.00")),
    # Kestrel: trained in the books, expected to serve 18 months.
    ModelFacts("Kestrel", None, 14, 18, 0, 180_000_000, None),
)
END_SUBSCRIBERS = 900_000
SUBSCRIPTION_PRICE = Decimal("20.00")
END_FLEET_GPUS = 36_000
# Serving GPU-hours per million tokens, relative (a flagship token costs about
# five small-model tokens); per tier: free traffic is batched harder, enterprise
# prompts are longer.
MODEL_INTENSITY: dict[str, int] = {"Orion": 50, "Wren": 10, "Kestrel": 40}
TIER_INTENSITY: dict[str, int] = {"API": 100, "Subscription": 105, "Enterprise": 110, "Free": 90}


@dataclass(frozen=True)
class StaffFunction:
    """A function of the lab's staff and the account its payroll goes to."""

    key: str
    label: str
    account: str
    monthly_cost: Decimal  # loaded monthly cost per head
    end_headcount: int  # at the end of the period, scale 1


FUNCTIONS: tuple[StaffFunction, ...] = (
    StaffFunction("research", "Research", "Expenses:RnD:Staff:Research", Decimal("51800"), 150),
    StaffFunction("engineering", "Engineering", "Expenses:RnD:Staff:Engineering", Decimal("41300"), 150),
    StaffFunction("dcops", "Datacentre operations", POOL_DCOPS, Decimal("27400"), 20),
    StaffFunction("sre", "Inference SRE", SERVING_STAFF, Decimal("41900"), 40),
    StaffFunction("support", "Customer support", SERVING_STAFF, Decimal("23800"), 20),
    StaffFunction("sales", "Sales and marketing", "Expenses:SGA:Staff:SalesMarketing", Decimal("27200"), 70),
    StaffFunction(
        "ga", "General and administrative", "Expenses:SGA:Staff:GeneralAdmin", Decimal("24100"), 50
    ),
)


@dataclass(frozen=True)
class Lessor:
    """A GPU lease provider."""

    name: str
    prefix: str  # invoice number prefix
    share_bp: int  # share of the leased GPUs, basis points
    rate: Decimal  # USD per GPU-hour
    contract: str


LESSORS: tuple[Lessor, ...] = (
    Lessor("Cumulus GPU Cloud", "CGC", 4500, Decimal("2.29"), "1-year reserved H100 cluster"),
    Lessor("Ferrous Compute", "FRC", 3000, Decimal("2.41"), "1-year reserved H100 cluster"),
    Lessor("Bluefin Cloud", "BFN", 2500, Decimal("2.95"), "3-month reserved H100 capacity"),
)


@dataclass(frozen=True)
class EnterpriseCustomer:
    """An enterprise customer buying seats."""

    name: str
    end_seats: int  # at the end of the period
    seat_price: Decimal  # USD per seat-month
    joins: Decimal  # joins at this fraction of the period


ENTERPRISE_CUSTOMERS: tuple[EnterpriseCustomer, ...] = (
    EnterpriseCustomer("Halvorsen Logistics", 9_800, Decimal("60"), Decimal("0")),
    EnterpriseCustomer("Brightwater Health", 12_400, Decimal("55"), Decimal("0")),
    EnterpriseCustomer("Castellan Insurance", 7_600, Decimal("60"), Decimal("0")),
    EnterpriseCustomer("Northgate Bank", 15_200, Decimal("52"), Decimal("0")),
    EnterpriseCustomer("Pinecrest Retail", 5_300, Decimal("60"), Decimal("0")),
    EnterpriseCustomer("Tidewater Energy", 4_100, Decimal("65"), Decimal("0")),
    EnterpriseCustomer("Orchard Analytics", 2_250, Decimal("70"), Decimal("0")),
    EnterpriseCustomer("Ashford Legal Partners", 3_400, Decimal("75"), Decimal("0")),
    EnterpriseCustomer("Vireo Pharmaceuticals", 8_900, Decimal("58"), Decimal("0")),
    EnterpriseCustomer("Lumen County Schools", 11_500, Decimal("30"), Decimal("0")),
    EnterpriseCustomer("Kestrel Aerospace", 6_700, Decimal("62"), Decimal("0.3")),
    EnterpriseCustomer("Quayside Telecom", 7_300, Decimal("57"), Decimal("0.5")),
    EnterpriseCustomer("Redwater Media", 3_800, Decimal("60"), Decimal("0.65")),
    EnterpriseCustomer("Sablewood Manufacturing", 4_600, Decimal("55"), Decimal("0.8")),
)
