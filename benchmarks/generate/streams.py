"""Seeded random streams: the only source of variation in a generated ledger.

Nothing depends on the wall clock, the environment or hash order. Every stream
is a ``random.Random`` seeded from a string built from the seed, the subject and
the month, so subjects and months are independent of one another: changing how
one book draws does not move the figures of another.
"""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_EVEN, Decimal

from .amounts import q2
from .months import Month


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
        """``base`` varied by up to ``bp`` basis points, in cents."""
        return q2(base * self.factor(bp))

    def count(self, base: Decimal | int, bp: int) -> int:
        """``base`` varied by up to ``bp`` basis points, a whole number."""
        return int((Decimal(base) * self.factor(bp)).to_integral_value(ROUND_HALF_EVEN))

    def weights(self, n: int, low: int, high: int) -> list[int]:
        """``n`` integer weights drawn between ``low`` and ``high``."""
        return [self._random.randint(low, high) for _ in range(n)]


def day_weights(rng: Rng, month: Month) -> list[int]:
    """One weight per day of the month: weekdays busier than weekends."""
    weights = []
    for day in range(1, month.days + 1):
        weekend = datetime.date(month.year, month.month, day).weekday() >= 5
        weights.append(rng.randint(78, 90) if weekend else rng.randint(97, 110))
    return weights
