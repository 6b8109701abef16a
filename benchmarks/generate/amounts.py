"""Exact arithmetic on money and quantities: cents, integer splits, growth curves.

Money is ``Decimal`` quantized to cents; quantities are integers. A split of a
total into parts uses the largest-remainder method on integers (cents, token
counts), so the parts always add up to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


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


def growth(start: Decimal, ratio: Decimal, t: Decimal) -> Decimal:
    """start * ratio**t, t in [0, 1]: geometric growth from start to start*ratio.

    A fractional power is only "almost always correctly rounded" in decimal,
    so the result is cut to 12 places: the same on every platform.
    """
    return (start * (ratio**t)).quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)


def fmt_int(value: int) -> str:
    """``1234567`` -> ``"1,234,567"`` (for narrations)."""
    return f"{value:,}"


def fmt_money(value: Decimal) -> str:
    """``Decimal("1234.5")`` -> ``"1,234.50"`` (for narrations)."""
    return f"{value:,.2f}"
