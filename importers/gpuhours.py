"""GPU-hours by cluster, workload and month: what the Slurm and OpenCost importers share.

Rounding. A usage's GPU-hours are exact (GPU-seconds / 3600, a Fraction), and
are split between the months it spans by the seconds in each (whole seconds,
so the parts add up exactly). Each usage is then rounded once to `PLACES`
decimal places (1e-6 GPUH, 3.6 ms of one GPU), half to even, and its month
parts are apportioned by largest remainder so that they add up to that rounded
figure exactly: a job's month postings always add to the job's hours as
printed. Postings are sums of those parts (no further rounding), and the offset
is minus their sum, so the entry balances exactly.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from .base import driver_postings, entry_meta, last_day
from .keys import import_id

UNIT = "GPUH"
PLACES = 6
SECONDS_PER_HOUR = 3600


def month_start(moment: datetime.datetime) -> datetime.datetime:
    return datetime.datetime(moment.year, moment.month, 1)


def next_month(moment: datetime.datetime) -> datetime.datetime:
    return datetime.datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def month_parts(start: datetime.datetime, end: datetime.datetime) -> Iterator[tuple[str, int]]:
    """(YYYY-MM, whole seconds) for each month the interval [start, end) touches, in order."""
    cursor = start
    while cursor < end:
        boundary = min(next_month(cursor), end)
        yield cursor.strftime("%Y-%m"), int((boundary - cursor).total_seconds())
        cursor = boundary


def apportion(numerators: list[int], denominator: int) -> list[Decimal]:
    """Parts `numerator / denominator` millionths, rounded to whole millionths (PLACES) so that they add
    up to their total rounded half to even: each part floored, the units left over going to the
    largest remainders (ties to the earlier part, so the result is deterministic). Integers only."""
    whole, left = divmod(sum(numerators), denominator)
    if 2 * left > denominator or (2 * left == denominator and whole % 2 == 1):
        whole += 1
    floors = [numerator // denominator for numerator in numerators]
    remainders = [numerator % denominator for numerator in numerators]
    order = sorted(range(len(numerators)), key=lambda index: (-remainders[index], index))
    for index in order[: whole - sum(floors)]:
        floors[index] += 1
    return [Decimal(units).scaleb(-PLACES) for units in floors]


def split_gpu_hours(gpus: int, start: datetime.datetime, end: datetime.datetime) -> list[tuple[str, Decimal]]:
    """(YYYY-MM, GPU-hours) per month of a usage of `gpus` GPUs over [start, end), adding up exactly."""
    months = list(month_parts(start, end))
    # GPU-seconds x 10**PLACES / 3600: millionths of a GPU-hour, as numerators over 3600.
    numerators = [gpus * seconds * 10**PLACES for _, seconds in months]
    return list(zip((month for month, _ in months), apportion(numerators, SECONDS_PER_HOUR), strict=True))


@dataclass(frozen=True)
class Usage:
    """GPU-hours of one source row in one month, and where they post."""

    line: int
    cluster: str
    period: str
    account: str
    hours: Decimal


def gpu_entries(
    feed: str,
    payee: str,
    filepath: str,
    usages: list[Usage],
    offset: str,
    extra: dict[str, dict[str, object]] | None = None,
) -> list[data.Directive]:
    """One transaction per cluster and month, a posting per workload account, the offset last.

    `extra` adds metadata per `cluster/period` (e.g. the export time a running job was cut at).
    """
    groups: dict[tuple[str, str], list[Usage]] = defaultdict(list)
    for usage in usages:
        groups[(usage.period, usage.cluster)].append(usage)
    entries: list[data.Directive] = []
    for (period, cluster), members in sorted(groups.items()):
        postings = driver_postings(filepath, ((u.account, u.hours, u.line) for u in members), UNIT, offset)
        day = last_day(period)
        meta = entry_meta(
            filepath,
            min(usage.line for usage in members),
            import_id(feed, period, cluster),
            cluster=cluster,
            **(extra or {}).get(f"{cluster}/{period}", {}),
        )
        narration = f"GPU-hours by workload, cluster {cluster}, {day:%B %Y}"
        entries.append(data.Transaction(meta, day, "*", payee, narration, frozenset(), frozenset(), postings))
    return entries
