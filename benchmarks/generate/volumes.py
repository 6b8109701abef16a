"""The plan: each month's volumes, which several books must agree on.

Tokens served, prices, subscribers, enterprise seats, the GPU fleet (owned and
leased), GPU-hours per workload, headcount, datacentre staff hours, storage and
power. The revenue, payroll, compute, opex and drivers books all read the same
:class:`MonthPlan`, so that, say, the tokens billed are the tokens metered.

Each month draws from one stream (``Rng(seed, "plan", month)``), in a fixed
order: the steps of :func:`plan_month` below must keep their order, or every
later figure of the month changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from .amounts import growth, q2, split_int
from .lab import (
    DEPLOYMENTS,
    END_API_PRICE,
    END_FLEET_GPUS,
    END_SUBSCRIBERS,
    END_TOKENS_MTOK,
    ENTERPRISE_CUSTOMERS,
    FUNCTIONS,
    KESTREL_LAUNCH,
    KESTREL_PRICE_PREMIUM,
    KESTREL_RUN_FLAGSHIP_BP,
    KESTREL_RUN_GPUS,
    KESTREL_RUN_START,
    KESTREL_TRAFFIC_BP,
    LESSORS,
    MODEL_INTENSITY,
    MODELS,
    PREDECESSOR,
    SUBSCRIPTION_PRICE,
    SUCCESSOR,
    TIER_INTENSITY,
    TIERS,
)
from .months import Month
from .streams import Rng

#: Straight-line useful life of an owned GPU server, in months.
USEFUL_LIFE_MONTHS = 60

#: The training runs the scheduler reports, by quarter of the period.
TRAINING_RUNS: tuple[str, ...] = (
    "orion-1.1-rl, wren-2-distill",
    "kestrel-1-pretrain, orion-1.1-rl, wren-2.1-sft",
    "kestrel-1-pretrain, kestrel-1-midtrain, wren-2.5-distill",
    "kestrel-1-rl, kestrel-1.1-sft, wren-3-sft",
)


def generation_months(n: int) -> tuple[int, int]:
    """The month indexes of Kestrel's run start and launch in a period of ``n`` months."""
    start = int(n * KESTREL_RUN_START)
    return start, max(int(n * KESTREL_LAUNCH), start)


@dataclass(frozen=True)
class GpuBatch:
    """A purchase of owned GPU servers, depreciated straight-line."""

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

    def accumulated_before(self, month_index: int) -> Decimal:
        """Depreciation charged before the month ``month_index`` (month 0 is the books' first):
        straight-line over the useful life from the month after delivery, cost / life to the
        cent and the rounding remainder in the last month, as ailab_books.plugins.depreciate
        charges it from then on (the opening balances state this amount)."""
        months = min(max(month_index - self.delivered - 1, 0), USEFUL_LIFE_MONTHS)
        monthly = q2(self.cost / USEFUL_LIFE_MONTHS)
        if months < USEFUL_LIFE_MONTHS:
            return monthly * months
        return self.cost


def gpu_batches(n: int, scale: int) -> list[GpuBatch]:
    """The lab's server purchases over a period of ``n`` months (one before it)."""
    return [
        GpuBatch("h100-a", -7, 384 * scale, 8, Decimal("362480.00"), "HGX H100", "SLS-24-03318"),
        GpuBatch("h200-a", int(n * 0.15), 512 * scale, 8, Decimal("401365.00"), "HGX H200", "SLS-25-01107"),
        GpuBatch("h200-b", int(n * 0.42), 512 * scale, 8, Decimal("387910.00"), "HGX H200", "SLS-25-04462"),
        GpuBatch("b200-a", int(n * 0.75), 512 * scale, 8, Decimal("518740.00"), "HGX B200", "SLS-26-02075"),
    ]


@dataclass(frozen=True)
class Seats:
    """One enterprise customer's seats in a month."""

    customer: str
    seats: int
    price: Decimal  # USD per seat-month


@dataclass(frozen=True)
class MonthPlan:
    """One month's volumes (see the module docstring)."""

    month: Month
    f_rev: Decimal  # revenue growth factor: 0.5 in the first month, 1 in the last
    f_tok: Decimal  # token growth factor: 0.4 to 1
    tokens: dict[tuple[str, str], int]  # (tier, model) -> MTOK
    api_price: dict[str, Decimal]  # model -> USD per MTOK
    subscribers: int
    subscription_gross: Decimal
    seats: list[Seats]
    owned_gpus: int
    leased_gpus: list[int]  # per lessor, in LESSORS order
    gpuh: dict[str, int]  # driver sub-account path under Equity:Stats:GPUH -> GPU-hours
    training_runs: str
    headcount: dict[str, int]  # StaffFunction.key -> heads
    dcops_hours: dict[str, int]  # activity -> timesheet hours
    storage_tb: dict[str, int] | None  # quarterly survey, or None
    power_kwh: int


def build_plans(months: list[Month], scale: int, seed: int) -> list[MonthPlan]:
    """The plan of every month of the period."""
    batches = gpu_batches(len(months), scale)
    return [plan_month(m, len(months), batches, scale, seed) for m in months]


def plan_month(m: Month, n: int, batches: list[GpuBatch], scale: int, seed: int) -> MonthPlan:
    """One month's volumes: demand, fleet, GPU-hours, staff, storage, power (in that order)."""
    rng = Rng(seed, "plan", m.label)
    t = Decimal(m.index) / Decimal(max(n - 1, 1))  # 0 in the first month, 1 in the last
    f_rev = growth(Decimal("0.5"), Decimal(2), t)
    f_tok = growth(Decimal("0.4"), Decimal("2.5"), t)

    # Demand: tokens, API prices (falling as volume grows), subscribers, seats.
    flagship = {key: rng.count(base * f_tok * scale, 400) for key, base in END_TOKENS_MTOK.items()}
    run_start, launch = generation_months(n)
    tokens = _generation_change(flagship, m.index - launch)
    price_factor = f_rev / f_tok
    api_price = {
        model: (price * price_factor * rng.factor(150)).quantize(Decimal("0.0001"))
        for model, price in END_API_PRICE.items()
    }
    api_price[SUCCESSOR] = (api_price[PREDECESSOR] * KESTREL_PRICE_PREMIUM).quantize(Decimal("0.0001"))
    subscribers = rng.count(END_SUBSCRIBERS * f_rev * scale, 150)
    subscription_gross = rng.money(subscribers * SUBSCRIPTION_PRICE, 120)
    seats = _seats(rng, t, f_rev, scale)

    # Fleet: owned batches delivered before this month, the rest leased.
    owned = sum(b.gpus for b in batches if b.delivered < m.index)
    fleet = max(rng.count(END_FLEET_GPUS * f_rev * scale, 100), owned)
    # Kestrel's run: a dedicated leased cluster on top of the fleet, all of it training Kestrel.
    run_gpus = KESTREL_RUN_GPUS * scale if run_start <= m.index < launch else 0
    leased = split_int(fleet + run_gpus - owned, [lessor.share_bp for lessor in LESSORS])

    available = rng.count(fleet * m.hours, 80) * 9850 // 10000
    run_hours = run_gpus * m.hours * 9850 // 10000
    phase = "before" if m.index < run_start else "run" if m.index < launch else "after"
    gpuh = _gpu_hours(rng, available, tokens, phase, run_hours)

    headcount = _headcount(growth(Decimal("0.5"), Decimal(2), t), scale)
    dcops_hours = _dcops_hours(rng, headcount["dcops"])
    storage_tb = _storage_survey(rng, t, scale) if m.index == 0 or m.month in (1, 4, 7, 10) else None
    # About 1.38 kW per GPU all-in (GPU, host, network) times a PUE of ~1.25.
    power_kwh = rng.count((available + run_hours) * Decimal("1.38") * Decimal("1.25"), 250)
    return MonthPlan(
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
        training_runs=TRAINING_RUNS[min(int(t * 4), 3)],
        headcount=headcount,
        dcops_hours=dcops_hours,
        storage_tb=storage_tb,
        power_kwh=power_kwh,
    )


def _seats(rng: Rng, t: Decimal, f_rev: Decimal, scale: int) -> list[Seats]:
    """Enterprise seats: every customer that has joined by ``t``, once per copy of the lab."""
    seats: list[Seats] = []
    for copy in range(scale):
        for customer in ENTERPRISE_CUSTOMERS:
            if t < customer.joins:
                continue
            label = customer.name if copy == 0 else f"{customer.name} (division {copy + 1})"
            seats.append(Seats(label, rng.count(customer.end_seats * f_rev, 200), customer.seat_price))
    return seats


def _generation_change(flagship: dict[tuple[str, str], int], since_launch: int) -> dict[tuple[str, str], int]:
    """Tokens per (tier, model): each tier's flagship tokens split between Orion and Kestrel,
    by Kestrel's share of traffic ``since_launch`` months after its launch (none before)."""
    tokens: dict[tuple[str, str], int] = {}
    for (tier, model), count in flagship.items():
        if model != PREDECESSOR:
            tokens[(tier, model)] = count
            continue
        share = 0 if since_launch < 0 else KESTREL_TRAFFIC_BP[min(since_launch, len(KESTREL_TRAFFIC_BP) - 1)]
        successor, predecessor = split_int(count, [share, 10000 - share])
        tokens[(tier, PREDECESSOR)] = predecessor
        tokens[(tier, SUCCESSOR)] = successor
    return tokens


def _gpu_hours(
    rng: Rng, available: int, tokens: dict[tuple[str, str], int], phase: str, run_hours: int
) -> dict[str, int]:
    """The fleet's GPU-hours by workload: serving per deployment, training per model.

    ``phase`` is the flagship's generation: "before" Kestrel's run (Orion trains),
    "run" (Kestrel pre-trains on most of the flagship's hours and the run cluster's
    ``run_hours``), "after" its launch (Kestrel's post-training). Zero hours are left out.
    """
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
    flagship, wren = split_int(by_workload["Training"], [orion_bp, 10000 - orion_bp])
    successor_bp = {"before": 0, "run": KESTREL_RUN_FLAGSHIP_BP, "after": 10000}[phase]
    kestrel, orion = split_int(flagship, [successor_bp, 10000 - successor_bp])
    gpuh[f"Training:{PREDECESSOR}"] = orion
    gpuh["Training:Wren"] = wren
    gpuh[f"Training:{SUCCESSOR}"] = kestrel + run_hours
    for workload in ("Rollouts", "Evals", "Idle"):
        gpuh[workload] = by_workload[workload]
    return {key: hours for key, hours in gpuh.items() if hours}


def _headcount(f_hc: Decimal, scale: int) -> dict[str, int]:
    """Heads per staff function (at least one)."""
    return {
        function.key: max(
            1, int((Decimal(function.end_headcount) * f_hc * scale).to_integral_value(ROUND_HALF_EVEN))
        )
        for function in FUNCTIONS
    }


def _three_way(names: tuple[str, str, str], total: int, first_bp: int, second_bp: int) -> dict[str, int]:
    """`total` split among three names, the first two by basis points, the third the rest."""
    parts = split_int(total, [first_bp, second_bp, 10000 - first_bp - second_bp])
    return dict(zip(names, parts, strict=True))


def _dcops_hours(rng: Rng, heads: int) -> dict[str, int]:
    """Datacentre staff timesheet hours by activity."""
    hours = rng.count(heads * 161, 300)
    serving_bp = 3800 + rng.randint(-300, 300)
    training_bp = 4200 + rng.randint(-300, 300)
    return _three_way(("Serving", "Training", "Rollouts"), hours, serving_bp, training_bp)


def _storage_survey(rng: Rng, t: Decimal, scale: int) -> dict[str, int]:
    """The quarterly storage survey: TB held by purpose."""
    total_tb = rng.count(
        Decimal(60_000) * growth(Decimal("0.45"), Decimal(1) / Decimal("0.45"), t) * scale, 200
    )
    s_bp = 1200 + rng.randint(-150, 150)
    tr_bp = 3300 + rng.randint(-200, 200)
    return _three_way(("Serving", "Training", "Datasets"), total_tb, s_bp, tr_bp)
