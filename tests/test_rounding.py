"""Property tests: random pools and drivers always allocate to the exact cent."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data
from hypothesis import given, settings
from hypothesis import strategies as st

from ailab_books.plugins.rounding import split_largest_remainder

CENT = Decimal("0.01")

amounts = st.integers(min_value=-(10**12), max_value=10**12).map(lambda cents: Decimal(cents) * CENT)
weights = st.lists(
    st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(ws) > 0)


@given(total=amounts, weights=weights)
def test_parts_add_up_exactly_and_stay_within_a_cent_of_the_exact_share(total, weights):
    parts = split_largest_remainder(total, weights, CENT)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part == part.quantize(CENT)
        exact = total * weight / weight_sum
        assert abs(part - exact) < CENT
        if weight == 0:
            assert part == 0


def test_known_split():
    assert split_largest_remainder(Decimal("100.00"), [1, 1, 1], CENT) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    assert split_largest_remainder(Decimal("-100.00"), [1, 1, 1], CENT) == [
        Decimal("-33.34"),
        Decimal("-33.33"),
        Decimal("-33.33"),
    ]


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (Decimal("1.00"), [Decimal(-1), Decimal(2)], "weights must not be negative"),
        (Decimal("1.00"), [Decimal(0)], "weights must have a positive sum"),
        (Decimal("1.005"), [Decimal(1)], "1.005 is not a whole number of 0.01"),
    ],
)
def test_misuse_is_refused(total, weights, message):
    with pytest.raises(ValueError, match=message):
        split_largest_remainder(total, weights, CENT)


@settings(max_examples=40, deadline=None)
@given(
    months=st.lists(
        st.tuples(
            st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=4),
            st.lists(st.integers(min_value=0, max_value=10**6), min_size=3, max_size=3).filter(
                lambda qs: sum(qs) > 0
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_plugin_empties_random_pools_to_the_cent(months):
    """Random monthly costs and hours through the plugin: the pool ends each month at zero
    and the targets receive exactly what the pool held."""
    lines = [
        'plugin "ailab_books.plugins.allocate"',
        "2024-01-01 open Assets:Bank",
        "2024-01-01 open Equity:Stats:Offset",
        "2024-01-01 open Expenses:Shared:Pool",
        "2024-01-01 open Expenses:A",
        "2024-01-01 open Expenses:B",
    ]
    lines += [f"2024-01-01 open Equity:Stats:H:{name}" for name in ("Alpha", "Beta", "Gamma")]
    lines += [
        '2024-01-01 custom "allocate" Expenses:Shared:Pool Equity:Stats:H',
        "  alpha: Expenses:A",
        "  beta: Expenses:B",
        "  gamma: Expenses:A",
    ]
    total = Decimal(0)
    for index, (cost_cents, hours) in enumerate(months):
        month = index + 1
        for cents in cost_cents:
            amount = Decimal(cents) * CENT
            total += amount
            lines += [
                f'2024-{month:02d}-10 * "Cost"',
                f"  Expenses:Shared:Pool {amount} USD",
                "  Assets:Bank",
            ]
        lines.append(f'2024-{month:02d}-20 * "Hours"')
        for name, qty in zip(("Alpha", "Beta", "Gamma"), hours, strict=True):
            lines.append(f"  Equity:Stats:H:{name} {qty} HOUR")
        lines.append(f"  Equity:Stats:Offset {-sum(hours)} HOUR")
    entries, errors, _ = loader.load_string(textwrap.dedent("\n".join(lines)))
    assert errors == []
    totals: dict[str, Decimal] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                if posting.account.startswith("Expenses:"):
                    totals[posting.account] = totals.get(posting.account, Decimal(0)) + posting.units.number
    assert totals.get("Expenses:Shared:Pool", Decimal(0)) == 0
    assert totals.get("Expenses:A", Decimal(0)) + totals.get("Expenses:B", Decimal(0)) == total
