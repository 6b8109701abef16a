"""Unseen books with two model generations, for tests/test_unseen_views.py.

Hand-written after docs/conventions.md, with other names and figures than the
example: Falcon (launched before the books, post-trained in January, retired
2025-07-20) is succeeded by Heron (pre-trained January to April, launched
2025-05-16, post-trained after launch, with per-model rollouts booked directly).
Every month 100 GPU-hours split between serving and training, so every
allocation is an exact cent amount and the test's own arithmetic needs no
rounding rule but the amortisation's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
MONTH_END = {
    "2025-01": "2025-01-31", "2025-02": "2025-02-28", "2025-03": "2025-03-31", "2025-04": "2025-04-30",
    "2025-05": "2025-05-31", "2025-06": "2025-06-30", "2025-07": "2025-07-31", "2025-08": "2025-08-31",
}  # fmt: skip
LEASE = Decimal("10000.00")
GPU_COST = Decimal("24000.00")  # bought 2025-01-10, 24 months: 1000.00 a month from February
GPU_LIFE = 24
# GPU-hours per month: training per model, serving per deployment (each month 100 in all).
TRAINING_HOURS = {
    "2025-01": {"Falcon": 10, "Heron": 30},
    "2025-02": {"Heron": 40},
    "2025-03": {"Heron": 50},
    "2025-04": {"Heron": 50},
    "2025-05": {"Heron": 20},
    "2025-06": {"Heron": 10},
    "2025-07": {},
    "2025-08": {"Heron": 20},
}
SERVING_HOURS = {
    "2025-01": {"API-Falcon": 60},
    "2025-02": {"API-Falcon": 60},
    "2025-03": {"API-Falcon": 50},
    "2025-04": {"API-Falcon": 50},
    "2025-05": {"API-Falcon": 40, "API-Heron": 30, "Free-Heron": 10},
    "2025-06": {"API-Falcon": 20, "API-Heron": 50, "Free-Heron": 20},
    "2025-07": {"API-Falcon": 10, "API-Heron": 60, "Free-Heron": 30},
    "2025-08": {"API-Heron": 60, "Free-Heron": 20},
}
# Million tokens per month: ten per serving GPU-hour.
REVENUE = {
    "Falcon": {"2025-01": "9000", "2025-02": "9000", "2025-03": "7500", "2025-04": "7500",
               "2025-05": "6000", "2025-06": "3000", "2025-07": "1500"},
    "Heron": {"2025-05": "9000", "2025-06": "15000", "2025-07": "18000", "2025-08": "18000"},
}  # fmt: skip
ROLLOUTS_HERON = ("2025-06", Decimal("700.00"))  # rollouts metered per model, booked directly
MARKETING = Decimal("2500.00")  # a month
FALCON_RECORD = """\
2024-09-10 custom "model" "Falcon"
  launch: 2024-09-10
  retirement: 2025-07-20
  serving-life-months: 24
  lifetime-mtok: 4000
  training-before-books: 9000.00 USD
"""
HERON_RECORD = """\
2025-01-05 custom "model" "Heron"
  launch: 2025-05-16
  serving-life-months: 12
  lifetime-mtok: 5000
"""
AMORTISE = 'plugin "ailab_books.plugins.amortise" "method={}"'
PLUGINS = [
    'plugin "ailab_books.plugins.depreciate"',
    'plugin "ailab_books.plugins.allocate"',
    'plugin "ailab_books.plugins.classify"',
    'plugin "ailab_books.plugins.models"',
]
VIEWS = {
    "accountant": PLUGINS,
    "model-as-company": [*PLUGINS[:2], AMORTISE.format("straight-line"), *PLUGINS[2:]],
    "model-as-company-units": [*PLUGINS[:2], AMORTISE.format("units"), *PLUGINS[2:]],
    "gpu-life-1y": ['plugin "ailab_books.plugins.depreciate" "life-months=12"', *PLUGINS[1:]],
    "free-tier-is-marketing": [
        *PLUGINS[:2],
        'plugin "ailab_books.plugins.classify" "Expenses:COGS:Inference:Compute:Free=sga"',
        PLUGINS[3],
    ],
    "rollouts-are-inference": [
        *PLUGINS[:2],
        'plugin "ailab_books.plugins.classify" "Expenses:RnD:Rollouts=inference"',
        PLUGINS[3],
    ],
}  # fmt: skip


def tokens(month: str, deployment: str) -> Decimal:
    return Decimal(SERVING_HOURS[month].get(deployment, 0) * 10)


def books_text(falcon: str = FALCON_RECORD, heron: str = HERON_RECORD, extra: str = "") -> str:
    out = [
        f'include "{ROOT / "queries"}/*.beancount"',
        "",
        "2025-01-01 open Assets:Bank USD",
        "2025-01-01 open Liabilities:AccountsPayable USD",
        "2025-01-01 open Equity:Opening USD",
        "2025-01-01 open Assets:Fixed:GPU:Cost USD",
        '  depreciation-account: "Assets:Fixed:GPU:Depreciation"',
        '  depreciation-expense: "Expenses:Shared:GPUCluster"',
        "2025-01-01 open Assets:Fixed:GPU:Depreciation USD",
        "2025-01-01 open Expenses:Shared:GPUCluster USD",
        "2025-01-01 open Expenses:Shared:Serving:Compute USD",
        "2025-01-01 open Expenses:RnD:Training:Compute USD",
        "2025-01-01 open Expenses:RnD:Training:Compute:Falcon USD",
        "2025-01-01 open Expenses:RnD:Training:Compute:Heron USD",
        "2025-01-01 open Expenses:RnD:Rollouts:Compute:Heron USD",
        "2025-01-01 open Expenses:SGA:Marketing USD",
        "2025-01-01 open Income:API:Falcon USD",
        "2025-01-01 open Income:API:Heron USD",
        "2025-01-01 open Expenses:COGS:Inference:Compute:API:Falcon USD",
        "2025-01-01 open Expenses:COGS:Inference:Compute:API:Heron USD",
        "2025-01-01 open Expenses:COGS:Inference:Compute:Free:Heron USD",
        "2025-01-01 open Equity:Stats:Offset",
        "2025-01-01 open Equity:Stats:GPUH:Serving:API-Falcon GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Serving:API-Heron GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Serving:Free-Heron GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Training:Falcon GPUH",
        "2025-01-01 open Equity:Stats:GPUH:Training:Heron GPUH",
        "2025-01-01 open Equity:Stats:Tokens:API:Falcon MTOK",
        "2025-01-01 open Equity:Stats:Tokens:API:Heron MTOK",
        "2025-01-01 open Equity:Stats:Tokens:Free:Heron MTOK",
        "",
        '2025-01-01 custom "allocate" Expenses:Shared:GPUCluster Equity:Stats:GPUH',
        "  serving:  Expenses:Shared:Serving:Compute",
        "  training: Expenses:RnD:Training:Compute",
        "",
        '2025-01-01 custom "allocate" Expenses:RnD:Training:Compute Equity:Stats:GPUH:Training',
        "  falcon: Expenses:RnD:Training:Compute:Falcon",
        "  heron:  Expenses:RnD:Training:Compute:Heron",
        "",
        '2025-01-01 custom "allocate" Expenses:Shared:Serving:Compute Equity:Stats:GPUH:Serving',
        "  api-falcon: Expenses:COGS:Inference:Compute:API:Falcon",
        "  api-heron:  Expenses:COGS:Inference:Compute:API:Heron",
        "  free-heron: Expenses:COGS:Inference:Compute:Free:Heron",
        "",
        falcon,
        heron,
        '2025-01-01 * "Seed round"',
        "  Assets:Bank  1000000.00 USD",
        "  Equity:Opening",
        "",
        '2025-01-10 * "Kite Systems" "GPU servers, delivered"',
        f"  Assets:Fixed:GPU:Cost  {GPU_COST} USD",
        '    batch: "kite-1"',
        f"    useful-life-months: {GPU_LIFE}",
        "  Liabilities:AccountsPayable",
        "",
        '2025-02-20 * "Kite Systems" "Payment"',
        f"  Liabilities:AccountsPayable  {GPU_COST} USD",
        "  Assets:Bank",
        "",
    ]
    for month in MONTHS:
        end = MONTH_END[month]
        out += [
            f'{end} * "Cloud lease, {month}"',
            f"  Expenses:Shared:GPUCluster  {LEASE} USD",
            "  Assets:Bank",
            f'{end} * "Marketing, {month}"',
            f"  Expenses:SGA:Marketing  {MARKETING} USD",
            "  Assets:Bank",
            f'{end} * "Scheduler GPU-hours, {month}"',
        ]
        for model, hours in TRAINING_HOURS[month].items():
            out.append(f"  Equity:Stats:GPUH:Training:{model}  {hours} GPUH")
        for deployment, hours in SERVING_HOURS[month].items():
            out.append(f"  Equity:Stats:GPUH:Serving:{deployment}  {hours} GPUH")
        out += ["  Equity:Stats:Offset  -100 GPUH", f'{end} * "Metering, {month}"']
        for deployment in SERVING_HOURS[month]:
            tier, model = deployment.split("-")
            out.append(f"  Equity:Stats:Tokens:{tier}:{model}  {tokens(month, deployment)} MTOK")
        out.append("  Equity:Stats:Offset")
        for model, by_month in REVENUE.items():
            if month in by_month:
                out += [
                    f'{end} * "API revenue, {model}, {month}"',
                    f"  Income:API:{model}  -{by_month[month]}.00 USD",
                    "  Assets:Bank",
                ]
        if month == ROLLOUTS_HERON[0]:
            out += [
                f'{end} * "RL rollouts for Heron, {month}"',
                f"  Expenses:RnD:Rollouts:Compute:Heron  {ROLLOUTS_HERON[1]} USD",
                "  Assets:Bank",
            ]
        out.append("")
    return "\n".join(out) + extra


def write_books(folder: Path, text: str | None = None, views: dict[str, list[str]] | None = None) -> Path:
    """books.beancount, main.beancount and views/<name>.beancount in ``folder``; the main file."""
    (folder / "views").mkdir(parents=True, exist_ok=True)
    (folder / "books.beancount").write_text(text if text is not None else books_text(), encoding="utf-8")
    header = 'option "title" "Kite Labs{}"\noption "operating_currency" "USD"\n'
    (folder / "main.beancount").write_text(
        header.format("") + "\n".join(PLUGINS) + '\n\ninclude "books.beancount"\n', encoding="utf-8"
    )
    for name, plugins in (views or VIEWS).items():
        (folder / "views" / f"{name}.beancount").write_text(
            header.format(f" (view: {name})") + "\n".join(plugins) + '\n\ninclude "../books.beancount"\n',
            encoding="utf-8",
        )
    return folder / "main.beancount"
