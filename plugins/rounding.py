"""Split an amount in proportion to weights, exactly, by the largest-remainder method.

Splitting 100.00 three ways one share at a time gives 33.33 + 33.33 + 33.33 =
99.99: a cent vanishes. Here the amount is counted in quanta (cents, say), each
part gets the whole quanta of its exact share, and the quanta left over go one
each to the parts with the largest fractional remainders::

    >>> split_largest_remainder(Decimal("100.00"), [1, 1, 1], Decimal("0.01"))
    [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')]

The parts always add up to the amount, to the quantum. All arithmetic is on
integers (weights are scaled to integers first), so no rounding happens before
the one stated rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


def _as_integers(weights: Sequence[Decimal]) -> list[int]:
    """Scale decimal weights by a common power of ten so that all are integers."""
    places = max((-int(w.as_tuple().exponent) for w in weights if w.is_finite()), default=0)
    places = max(places, 0)
    scale = Decimal(10) ** places
    return [int(w * scale) for w in weights]


def split_largest_remainder(
    total: Decimal, weights: Sequence[Decimal | int], quantum: Decimal
) -> list[Decimal]:
    """Split `total` in proportion to `weights`, rounded to `quantum`, summing exactly.

    Args:
      total: the amount to split; a whole number of quanta (it may be negative).
      weights: non-negative weights with a positive sum.
      quantum: the smallest unit of the result, e.g. Decimal("0.01").
    Returns:
      One Decimal per weight, each a multiple of `quantum`, adding up to `total`.
      Ties between equal remainders go to the earlier weight, so the result is
      deterministic for a given order.
    Raises:
      ValueError: on a negative weight, a zero sum of weights, or a total that is
      not a whole number of quanta. (Callers validate first; this guards misuse.)
    """
    decimal_weights = [Decimal(w) for w in weights]
    if any(w < 0 for w in decimal_weights):
        raise ValueError("weights must not be negative")
    int_weights = _as_integers(decimal_weights)
    weight_sum = sum(int_weights)
    if weight_sum <= 0:
        raise ValueError("weights must have a positive sum")
    units = total / quantum
    if units != units.to_integral_value():
        raise ValueError(f"{total} is not a whole number of {quantum}")
    sign = -1 if units < 0 else 1
    remaining = abs(int(units))

    floors = []
    remainders = []
    for weight in int_weights:
        whole, remainder = divmod(remaining * weight, weight_sum)
        floors.append(whole)
        remainders.append(remainder)
    leftover = remaining - sum(floors)
    # Largest remainders first; on equal remainders, the earlier weight wins.
    order = sorted(range(len(floors)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [(sign * units_i) * quantum for units_i in floors]
