"""The model-as-company view (ailab_books.plugins.amortise): training capitalised and amortised.

Hand-worked schedules for both methods on a small ledger, property tests of the
schedule (exact cents, never a negative book value, amortised == capitalised by
the end of life), and every mistake the plugin refuses, located.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from helpers import balance, line_of, located
from hypothesis import given, settings
from hypothesis import strategies as st

from ailab_books.plugins.amortise import GENERATED_FILENAME, TAG
from ailab_books.plugins.schedule import month_at, month_index, schedule

ASSET = "Assets:Intangible:Training:Kestrel"
AMORTISATION = "Expenses:RnD:Amortisation:Training:Kestrel"
TRAINING = "Expenses:RnD:Training:Compute:Kestrel"


def books(plugin_line: str, record: str | None = None, extra: str = "") -> str:
    record = record or (
        '2026-01-01 custom "model" "Kestrel"\n'
        "  launch: 2026-03-10\n"
        "  serving-life-months: 3\n"
        "  lifetime-mtok: 1000\n"
    )
    return f"""\
option "operating_currency" "USD"
{plugin_line}

2026-01-01 open Assets:Bank USD
2026-01-01 open {TRAINING} USD
2026-01-01 open Equity:Stats:Tokens:API:Kestrel MTOK
2026-01-01 open Equity:Stats:Offset MTOK

{record}
2026-01-31 * "Training, January"
  {TRAINING}  100.00 USD
  Assets:Bank

2026-02-28 * "Training, February"
  {TRAINING}  200.00 USD
  Assets:Bank

2026-03-31 * "Post-training, March"
  {TRAINING}  50.00 USD
  Assets:Bank

2026-04-30 * "Post-training, April"
  {TRAINING}  30.00 USD
  Assets:Bank

2026-06-30 * "After the end of life"
  {TRAINING}  10.00 USD
  Assets:Bank

2026-03-31 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  100 MTOK
  Equity:Stats:Offset

2026-04-30 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  300 MTOK
  Equity:Stats:Offset

2026-05-31 * "Metering"
  Equity:Stats:Tokens:API:Kestrel  200 MTOK
  Equity:Stats:Offset
{extra}"""


def load(tmp_path: Path, text: str) -> tuple[Path, list[data.Directive], list[tuple[str, str, int]]]:
    path = tmp_path / "books.beancount"
    path.write_text(text, encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    return path, entries, located(errors)


def charges(entries: list[data.Directive]) -> list[tuple[str, Decimal]]:
    """(period, amount) of each amortisation entry, in order."""
    found = []
    for entry in entries:
        if (
            isinstance(entry, data.Transaction)
            and TAG in entry.tags
            and entry.narration.startswith("Amortise")
        ):
            found += [
                (entry.meta["period"], p.units.number) for p in entry.postings if p.account == AMORTISATION
            ]
    return found


def test_straight_line_by_hand(tmp_path: Path) -> None:
    path, entries, errors = load(
        tmp_path, books('plugin "ailab_books.plugins.amortise" "method=straight-line"')
    )
    assert errors == []
    # Capitalised: 100 + 200 (before launch) + 50 + 30 (post-training) = 380.00; June's 10.00,
    # after the last month of life (May), stays an expense.
    # March: 350.00 / 3 = 116.67; April: (233.33 + 30.00) / 2 = 131.665 -> 131.66 (half even);
    # May, the last month: the 131.67 left.
    assert charges(entries) == [
        ("2026-03", Decimal("116.67")),
        ("2026-04", Decimal("131.66")),
        ("2026-05", Decimal("131.67")),
    ]
    assert balance(entries, ASSET) == 0
    assert balance(entries, TRAINING) == Decimal("10.00")
    assert balance(entries, AMORTISATION) == Decimal("380.00")
    record_line = line_of(path, 'custom "model"')
    generated = [e for e in entries if isinstance(e, data.Transaction) and TAG in e.tags]
    assert len(generated) == 7  # four capitalisations, three charges
    for entry in generated:
        assert entry.meta["filename"] == GENERATED_FILENAME
        assert entry.meta["model-record"] == f"books.beancount:{record_line}"
        assert entry.meta["model"] == "Kestrel" and entry.meta["method"] == "straight-line"


def test_units_of_production_by_hand(tmp_path: Path) -> None:
    _, entries, errors = load(tmp_path, books('plugin "ailab_books.plugins.amortise" "method=units"'))
    assert errors == []
    # March: 350.00 x 100 / 1000 = 35.00; April: 345.00 x 300 / 900 = 115.00; May (last): 230.00.
    assert charges(entries) == [
        ("2026-03", Decimal("35.00")),
        ("2026-04", Decimal("115.00")),
        ("2026-05", Decimal("230.00")),
    ]
    assert balance(entries, ASSET) == 0
    assert balance(entries, AMORTISATION) == Decimal("380.00")


def test_retirement_writes_off_what_is_left(tmp_path: Path) -> None:
    record = (
        '2026-01-01 custom "model" "Kestrel"\n  launch: 2026-03-10\n  retirement: 2026-04-20\n'
        "  serving-life-months: 3\n  lifetime-mtok: 1000\n"
    )
    text = books('plugin "ailab_books.plugins.amortise"', record)
    # A retired model is metered no more (May's tokens would be a located error, test_unseen_views.py).
    may = '2026-05-31 * "Metering"\n  Equity:Stats:Tokens:API:Kestrel  200 MTOK\n  Equity:Stats:Offset\n'
    assert may in text
    _, entries, errors = load(tmp_path, text.replace(may, ""))
    assert errors == []
    # March as over the expected life (350.00 / 3); April, the retirement's month: all that is left.
    assert charges(entries) == [("2026-03", Decimal("116.67")), ("2026-04", Decimal("263.33"))]
    assert balance(entries, TRAINING) == Decimal("10.00")  # June's cost, after retirement


def test_the_books_total_is_unchanged_only_moved_in_time(tmp_path: Path) -> None:
    _, plain, _ = load(tmp_path, books(""))
    _, viewed, _ = load(tmp_path, books('plugin "ailab_books.plugins.amortise"'))

    def expenses_plus_assets(entries: list[data.Directive]) -> Decimal:
        return sum(
            (
                p.units.number
                for e in entries
                if isinstance(e, data.Transaction)
                for p in e.postings
                if p.account.startswith(("Expenses:", "Assets:Intangible:"))
                and p.units is not None
                and p.units.number is not None
            ),
            Decimal(0),
        )

    assert expenses_plus_assets(viewed) == expenses_plus_assets(plain) == Decimal("390.00")


MISTAKES = [
    (
        "unknown method",
        'plugin "ailab_books.plugins.amortise" "method=declining"',
        "Invalid amortise plugin setting: method must be straight-line or units, as in method=units; "
        "got 'method=declining'",
        'plugin "ailab_books.plugins.amortise"',
    ),
    (
        "unknown setting",
        'plugin "ailab_books.plugins.amortise" "life=36"',
        "Invalid amortise plugin setting: unknown setting 'life=36'",
        'plugin "ailab_books.plugins.amortise"',
    ),
    (
        "before allocate",
        'plugin "ailab_books.plugins.amortise"\nplugin "ailab_books.plugins.allocate"',
        "ailab_books.plugins.amortise runs before ailab_books.plugins.allocate, so there is no training "
        "cost per model to capitalise",
        'plugin "ailab_books.plugins.amortise"',
    ),
]


@pytest.mark.parametrize(
    ("plugins", "message", "marker"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES]
)
def test_a_bad_plugin_line_is_located_and_moves_nothing(
    tmp_path: Path, plugins: str, message: str, marker: str
) -> None:
    path, entries, errors = load(tmp_path, books(plugins))
    assert [(m[: len(message)], f, n) for m, f, n in errors] == [(message, str(path), line_of(path, marker))]
    assert not [e for e in entries if isinstance(e, data.Transaction) and TAG in e.tags]
    assert balance(entries, TRAINING) == Decimal("390.00")


def test_after_classify_is_refused(tmp_path: Path) -> None:
    plugins = 'plugin "ailab_books.plugins.classify"\nplugin "ailab_books.plugins.amortise"'
    path, entries, errors = load(tmp_path, books(plugins))
    mine = [e for e in errors if "amortise" in e[0]]
    assert mine == [
        (
            "ailab_books.plugins.amortise runs after ailab_books.plugins.classify, so the entries it "
            'makes get no cost class; put plugin "ailab_books.plugins.amortise" before '
            'plugin "ailab_books.plugins.classify"',
            str(path),
            line_of(path, 'plugin "ailab_books.plugins.amortise"'),
        )
    ]
    assert not [e for e in entries if isinstance(e, data.Transaction) and TAG in e.tags]


def test_training_cost_in_another_currency_stays_an_expense_with_an_error(tmp_path: Path) -> None:
    extra = f'\n2026-02-15 * "Cluster invoice in euros"\n  {TRAINING}  40.00 EUR\n  Assets:Bank  -40.00 EUR\n'
    text = (
        books('plugin "ailab_books.plugins.amortise"', extra=extra)
        .replace("open Assets:Bank USD", "open Assets:Bank USD,EUR")
        .replace(f"open {TRAINING} USD", f"open {TRAINING} USD,EUR")
    )
    path, entries, errors = load(tmp_path, text)
    assert errors == [
        (
            f"{TRAINING}: training cost of model Kestrel in 40.00 EUR is not capitalised: the "
            "model-as-company view takes training cost in USD (allocation books it so); this amount "
            "stays an expense",
            str(path),
            line_of(path, "Cluster invoice in euros"),
        )
    ]
    assert balance(entries, TRAINING, "EUR") == Decimal("40.00")
    assert balance(entries, AMORTISATION) == Decimal("380.00")


def test_a_bad_record_is_reported_by_the_view_and_not_used(tmp_path: Path) -> None:
    record = '2026-01-01 custom "model" "Kestrel"\n  launch: 2026-03-10\n  lifetime-mtok: 1000\n'
    path, entries, errors = load(tmp_path, books('plugin "ailab_books.plugins.amortise"', record))
    assert errors == [
        (
            "Model record 'Kestrel': missing key 'serving-life-months'",
            str(path),
            line_of(path, 'custom "model"'),
        )
    ]
    assert balance(entries, TRAINING) == Decimal("390.00")


def test_a_book_value_below_zero_at_the_end_of_life_is_an_error(tmp_path: Path) -> None:
    extra = f'\n2026-05-20 * "Refund of the whole run"\n  {TRAINING}  -500.00 USD\n  Assets:Bank\n'
    path, entries, errors = load(tmp_path, books('plugin "ailab_books.plugins.amortise"', extra=extra))
    # March and April are charged as usual; May, the last month, has nothing left to charge
    assert balance(entries, AMORTISATION) == Decimal("116.67") + Decimal("131.66")
    assert errors == [
        (
            "Model Kestrel: its capitalised training ends its life at -368.33 USD (more refunded than "
            "spent); nothing is amortised",
            str(path),
            line_of(path, 'custom "model"'),
        )
    ]


# ---------------------------------------------------------------------------------------------
# Properties of the schedule

START = datetime.date(2025, 1, 1)
cents = st.integers(min_value=0, max_value=10**11).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[dict[datetime.date, Decimal], dict[datetime.date, Decimal], int, int, Decimal]:
    launch = draw(st.integers(min_value=0, max_value=12))
    life = draw(st.integers(min_value=1, max_value=36))
    months = [month_at(month_index(START) + i) for i in range(launch + life + 6)]
    costs = {month: draw(cents) for month in months if draw(st.booleans())}
    tokens = {month: Decimal(draw(st.integers(min_value=0, max_value=10**9))) for month in months}
    lifetime = Decimal(draw(st.integers(min_value=1, max_value=10**10)))
    return costs, tokens, launch, life, lifetime


@settings(max_examples=300, deadline=None)
@given(cases(), st.sampled_from(["straight-line", "units"]), st.one_of(st.none(), st.integers(0, 40)))
def test_schedule_is_exact_never_negative_and_complete(
    case: tuple[dict[datetime.date, Decimal], dict[datetime.date, Decimal], int, int, Decimal],
    method: str,
    retire_after: int | None,
) -> None:
    costs, tokens, launch, life, lifetime = case
    launch_month = month_at(month_index(START) + launch)
    end_of_life = month_at(month_index(launch_month) + life - 1)
    retired = None if retire_after is None else month_at(month_index(launch_month) + retire_after)
    last_month = min(end_of_life, retired) if retired is not None else end_of_life
    far = month_at(month_index(end_of_life) + 6)
    rows = schedule(costs, tokens, launch_month, end_of_life, lifetime, method, far, retired)
    book_value = Decimal(0)
    for row in rows:
        assert row.amortised == row.amortised.quantize(Decimal("0.01"))
        assert row.amortised >= 0
        book_value += row.capitalised - row.amortised
        assert row.book_value == book_value >= 0
        if row.month < launch_month:
            assert row.amortised == 0
    assert rows[-1].month == last_month
    capitalised = sum((row.capitalised for row in rows), Decimal(0))
    assert capitalised == sum((a for m, a in costs.items() if m <= last_month), Decimal(0))
    assert sum((row.amortised for row in rows), Decimal(0)) == capitalised
    assert rows[-1].book_value == 0


@settings(max_examples=100, deadline=None)
@given(cases(), st.sampled_from(["straight-line", "units"]), st.integers(min_value=0, max_value=30))
def test_books_that_end_early_keep_the_rest_on_the_asset(
    case: tuple[dict[datetime.date, Decimal], dict[datetime.date, Decimal], int, int, Decimal],
    method: str,
    cut: int,
) -> None:
    costs, tokens, launch, life, lifetime = case
    launch_month = month_at(month_index(START) + launch)
    last_month = month_at(month_index(launch_month) + life - 1)
    through = month_at(month_index(START) + cut)
    rows = schedule(costs, tokens, launch_month, last_month, lifetime, method, through)
    for row in rows:
        assert row.book_value >= 0 and row.month <= through
    if rows:
        kept = sum((row.capitalised - row.amortised for row in rows), Decimal(0))
        assert rows[-1].book_value == kept


def test_inference_for_training_attributed_to_the_model_is_capitalised_too(tmp_path: Path) -> None:
    rollouts = "Expenses:RnD:Rollouts:Compute:Kestrel"
    extra = (
        f"\n2026-01-01 open {rollouts} USD\n"
        f'2026-02-15 * "RL rollouts for Kestrel"\n  {rollouts}  20.00 USD\n  Assets:Bank\n'
    )
    _, entries, errors = load(tmp_path, books('plugin "ailab_books.plugins.amortise"', extra=extra))
    assert errors == []
    assert balance(entries, rollouts) == 0
    assert balance(entries, AMORTISATION) == Decimal("400.00")  # 380.00 of training runs + 20.00
