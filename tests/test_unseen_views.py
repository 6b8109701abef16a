"""Policy views and each model as a company, on unseen books with two model generations.

The books (tests/unseen_views_books.py) are hand-written after docs/conventions.md with
other names and figures than the example: a predecessor launched before the books,
post-trained in them and retired mid-month; a successor trained over four months and
launched mid-month, post-trained after launch (by allocation and by per-model rollouts
booked directly); owned GPUs with a useful life; a free tier. Every judged figure is
checked against the test's own Decimal arithmetic from the postings it wrote (never the
project's code): training cost per model, payback month, both amortisation schedules to
the cent, the after-training margin per Mtok of the life table and of ``--compare``,
``--compare`` against each view run alone, and the invariants across views. Then the
ordinary mistakes in model records and view files, each a located error.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import printer
from helpers import line_of, located
from unseen_views_books import (
    AMORTISE,
    FALCON_RECORD,
    GPU_COST,
    GPU_LIFE,
    HERON_RECORD,
    LEASE,
    MONTHS,
    PLUGINS,
    REVENUE,
    ROLLOUTS_HERON,
    SERVING_HOURS,
    TRAINING_HOURS,
    VIEWS,
    books_text,
    tokens,
    write_books,
)

from ailab_books.queries.report import main as lab_report

CENT = Decimal("0.01")
MODELS = ("Falcon", "Heron")
# The records, as the test wrote them: launch month, last month of the expected life,
# retirement month, lifetime million tokens (from the books' first month), memo.
RECORDS = {
    "Falcon": ("2024-09", "2026-08", "2025-07", Decimal(4000), Decimal("9000.00")),
    "Heron": ("2025-05", "2026-04", None, Decimal(5000), None),
}


# --- the test's own arithmetic -------------------------------------------------------------


def pool(month: str, life: int = GPU_LIFE) -> Decimal:
    """The GPU pool of a month: the lease and the straight-line depreciation from February."""
    depreciation = (GPU_COST / life).quantize(CENT) if month >= "2025-02" else Decimal(0)
    return LEASE + depreciation


def training(model: str) -> dict[str, Decimal]:
    """Training cost of the model per month: its share of the pool by its training hours,
    and the rollouts booked on it."""
    out = {m: pool(m) * TRAINING_HOURS[m].get(model, 0) / 100 for m in MONTHS}
    if model == "Heron":
        out[ROLLOUTS_HERON[0]] += ROLLOUTS_HERON[1]
    return out


def model_tokens(model: str) -> dict[str, Decimal]:
    return {m: sum((tokens(m, d) for d in SERVING_HOURS[m] if d.endswith(model)), Decimal(0)) for m in MONTHS}


def gross(model: str) -> dict[str, Decimal]:
    """Revenue less its deployments' share of the pool by serving hours (the free tier's too)."""
    out = {}
    for m in MONTHS:
        cogs = sum((pool(m) * h / 100 for d, h in SERVING_HOURS[m].items() if d.endswith(model)), Decimal(0))
        out[m] = Decimal(REVENUE[model].get(m, "0")) - cogs
    return out


def payback(model: str, memo: Decimal = Decimal(0)) -> str | None:
    target = sum(training(model).values(), Decimal(0)) + memo
    cumulative = Decimal(0)
    for m in MONTHS:
        cumulative += gross(model)[m]
        if cumulative >= target:
            return m
    return None


def hand_schedule(model: str, method: str) -> dict[str, tuple[Decimal, Decimal]]:
    """(charge, book value after) per month, by docs/views.md's policy: capitalise each month's
    cost up to the last month of service; from launch charge book value / months left of the
    expected life (straight-line) or x tokens / tokens not yet served (units), half-even cents;
    the last month of service (end of life or retirement's month) takes the rest."""
    launch, end_of_life, retired, lifetime, _ = RECORDS[model]
    last = min(end_of_life, retired) if retired else end_of_life
    costs, used = training(model), model_tokens(model)
    book, served, out = Decimal(0), Decimal(0), {}
    for m in MONTHS:
        if m > last:
            break
        book += costs[m]
        charge = Decimal(0)
        if m >= launch and book > 0:
            if m == last:
                charge = book
            elif method == "straight-line":
                y1, m1 = int(end_of_life[:4]), int(end_of_life[5:])
                left = (y1 * 12 + m1) - (int(m[:4]) * 12 + int(m[5:])) + 1
                charge = (book / left).quantize(CENT, ROUND_HALF_EVEN)
            elif used[m] >= lifetime - served:
                charge = book
            else:
                charge = (book * used[m] / (lifetime - served)).quantize(CENT, ROUND_HALF_EVEN)
        book -= charge
        if m >= launch:
            served += used[m]
        out[m] = (charge, book)
    return out


def amortised_total(model: str, method: str) -> Decimal:
    return sum((charge for charge, _ in hand_schedule(model, method).values()), Decimal(0))


def per_mtok(amount: Decimal, mtok: Decimal) -> str:
    return str(round(amount / mtok, 6))


# --- running the books ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_books(tmp_path_factory.mktemp("unseen"))


def report(capsys: pytest.CaptureFixture[str], main: Path, *argv: str) -> list[dict[str, str]]:
    assert lab_report([str(main), *argv, "--format", "json"]) == 0
    rows: list[dict[str, str]] = json.loads(capsys.readouterr().out)
    return rows


def test_the_books_are_as_written(books: Path) -> None:
    """The fixture is what the test's arithmetic assumes: clean in every view."""
    for path in [books, *sorted((books.parent / "views").glob("*.beancount"))]:
        _, errors, _ = loader.load_file(str(path))
        assert located(errors) == [], path.name


@pytest.mark.parametrize("argv", [("--lifetime",), ("--by", "model", "--view", "model-as-company")])
def test_life_table_equals_an_independent_computation(
    capsys: pytest.CaptureFixture[str], books: Path, argv: tuple[str, ...]
) -> None:
    rows = {row["model"]: row for row in report(capsys, books, *argv)}
    assert sorted(rows) == list(MODELS)
    for model in MODELS:
        row, memo = rows[model], RECORDS[model][4]
        spent = sum(training(model).values(), Decimal(0))
        margin = sum(gross(model).values(), Decimal(0))
        mtok = sum(model_tokens(model).values(), Decimal(0))
        assert Decimal(row["training_cost"]) == spent
        assert Decimal(row["gross_margin"]) == margin
        assert Decimal(row["contribution"]) == margin - spent
        assert row["payback_month"] == payback(model)
        assert row["payback_month_with_memo"] == payback(model, memo or Decimal(0))
        for method, column in (("straight-line", "straight_line"), ("units", "units")):
            expected = per_mtok(margin - amortised_total(model, method), mtok)
            assert row[f"after_training_per_mtok_{column}"] == expected, (model, method)
    # The figures worked by hand once, so that the arithmetic above is itself checked.
    assert sum(training("Heron").values()) == Decimal("24600.00")
    assert (payback("Falcon"), payback("Falcon", Decimal(9000)), payback("Heron")) == (
        "2025-01",
        "2025-05",
        "2025-08",
    )
    assert amortised_total("Heron", "straight-line") == Decimal("7602.02")
    assert amortised_total("Heron", "units") == Decimal("13061.79")


def _charges(path: Path, model: str) -> tuple[dict[str, Decimal], Decimal]:
    """The view's amortisation per period, and what it capitalised, for ``model``."""
    entries, errors, _ = loader.load_file(str(path))
    assert located(errors) == []
    charged: dict[str, Decimal] = {}
    capitalised = Decimal(0)
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.meta.get("model") != model:
            continue
        for posting in entry.postings:
            assert posting.units is not None and posting.units.number is not None
            number = posting.units.number
            assert number == number.quantize(CENT)  # exact cents
            if posting.account == f"Expenses:RnD:Amortisation:Training:{model}":
                charged[entry.meta["period"]] = number
            elif posting.account == f"Assets:Intangible:Training:{model}" and number > 0:
                capitalised += number
    return charged, capitalised


@pytest.mark.parametrize(
    ("view", "method"), [("model-as-company", "straight-line"), ("model-as-company-units", "units")]
)
@pytest.mark.parametrize("model", MODELS)
def test_the_views_schedule_is_the_hand_schedule(books: Path, view: str, method: str, model: str) -> None:
    charged, capitalised = _charges(books.parent / "views" / f"{view}.beancount", model)
    schedule = hand_schedule(model, method)
    assert charged == {m: charge for m, (charge, _) in schedule.items() if charge}
    assert all(book >= 0 for _, book in schedule.values())
    # Falcon retires in July: all it capitalised is charged by then, to the cent.
    if model == "Falcon":
        assert sum(charged.values()) == capitalised == Decimal("1000.00")
        assert charged["2025-07"] == schedule["2025-07"][0] and schedule["2025-07"][1] == 0
    else:  # Heron is four months into twelve: the rest stays on the asset.
        assert capitalised == sum(training(model).values())
        assert capitalised - sum(charged.values()) == schedule["2025-08"][1] > 0


@pytest.mark.parametrize(
    ("window", "months"),
    [
        ((), MONTHS),
        (("--from", "2025-05", "--to", "2025-07"), MONTHS[4:7]),
        (("--from", "2025-Q3"), MONTHS[6:]),
    ],
)
def test_compare_equals_each_view_run_alone(
    capsys: pytest.CaptureFixture[str], books: Path, window: tuple[str, ...], months: list[str]
) -> None:
    compared = report(capsys, books, "--compare", "all", *window)
    assert sorted({row["view"] for row in compared}) == sorted(VIEWS)
    for view in VIEWS:
        alone = {row["month"]: row for row in report(capsys, books, "--view", view, *window)}
        rows = {row["month"]: row for row in compared if row["view"] == view}
        assert list(rows) == [*months, "Total"] == list(alone)
        for month, row in rows.items():
            own = alone[month]
            for column in ("million_tokens", "gross_margin_per_mtok", "net_margin_per_mtok"):
                assert row[column] == own[column], (view, month, column)
            mtok = Decimal(own["million_tokens"])
            assert row["price_per_mtok"] == per_mtok(Decimal(own["revenue"]), mtok)
            assert row["cost_of_serving_per_mtok"] == per_mtok(Decimal(own["inference_cogs"]), mtok)


def test_compare_after_training_margin_is_an_independent_computation(
    capsys: pytest.CaptureFixture[str], books: Path
) -> None:
    rows = {row["view"]: row for row in report(capsys, books, "--compare", "all", "--total")}
    mtok = sum((model_tokens(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    margin = sum((gross(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    spent = sum((training(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    revenue = sum((Decimal(v) for m in MODELS for v in REVENUE[m].values()), Decimal(0))
    costs = sum((pool(m) for m in MONTHS), Decimal(0)) + ROLLOUTS_HERON[1] + 8 * Decimal("2500.00")
    assert rows["accountant"]["gross_margin_per_mtok"] == per_mtok(margin, mtok)
    assert rows["accountant"]["after_training_margin_per_mtok"] == per_mtok(margin - spent, mtok)
    assert rows["accountant"]["net_margin_per_mtok"] == per_mtok(revenue - costs, mtok)
    for view, method in (("model-as-company", "straight-line"), ("model-as-company-units", "units")):
        charged = sum((amortised_total(m, method) for m in MODELS), Decimal(0))
        assert rows[view]["gross_margin_per_mtok"] == per_mtok(margin, mtok)
        assert rows[view]["after_training_margin_per_mtok"] == per_mtok(margin - charged, mtok)
        assert rows[view]["net_margin_per_mtok"] == per_mtok(revenue - costs + spent - charged, mtok)
    # The free tier as marketing: Heron's free deployment leaves cost of serving.
    free = sum((pool(m) * SERVING_HOURS[m].get("Free-Heron", 0) / 100 for m in MONTHS), Decimal(0))
    assert rows["free-tier-is-marketing"]["gross_margin_per_mtok"] == per_mtok(margin + free, mtok)
    # A one-year GPU life: 2,000.00 a month from February instead of 1,000.00, split by GPU-hours.
    extra = sum((pool(m, 12) - pool(m) for m in MONTHS), Decimal(0))
    assert rows["gpu-life-1y"]["net_margin_per_mtok"] == per_mtok(revenue - costs - extra, mtok)
    # May to July only: each view's charge for those months (Falcon's retirement month takes its rest).
    window = {
        row["view"]: row
        for row in report(
            capsys, books, "--compare", "all", "--total", "--from", "2025-05", "--to", "2025-07"
        )
    }
    may_july = MONTHS[4:7]
    w_mtok = sum((model_tokens(m)[k] for m in MODELS for k in may_july), Decimal(0))
    w_margin = sum((gross(m)[k] for m in MODELS for k in may_july), Decimal(0))
    w_spent = sum((training(m)[k] for m in MODELS for k in may_july), Decimal(0))
    w_charged = sum(
        (hand_schedule(m, "straight-line").get(k, (Decimal(0),))[0] for m in MODELS for k in may_july),
        Decimal(0),
    )
    assert (
        window["accountant"]["after_training_margin_per_mtok"]
        == per_mtok(w_margin - w_spent, w_mtok)
        == "6.962963"
    )
    assert window["model-as-company"]["after_training_margin_per_mtok"] == per_mtok(
        w_margin - w_charged, w_mtok
    )


def _facts_and_cost(path: Path) -> tuple[dict[tuple[str, str], Decimal], dict[str, Decimal]]:
    entries, errors, _ = loader.load_file(str(path))
    assert located(errors) == []
    facts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            month = f"{entry.date:%Y-%m}"
            for posting in entry.postings:
                assert posting.units is not None and posting.units.number is not None
                if posting.account.startswith(("Income:", "Liabilities:", "Equity:", "Assets:Bank")):
                    facts[month, posting.account] += posting.units.number
                if posting.account.startswith(("Expenses:", "Assets:")):
                    cost[month] += posting.units.number
    return dict(facts), dict(cost)


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_view_changes_policy_never_facts(books: Path, view: str) -> None:
    main_facts, main_cost = _facts_and_cost(books)
    facts, cost = _facts_and_cost(books.parent / "views" / f"{view}.beancount")
    assert facts == main_facts  # revenue, cash, liabilities, equity: account by account, month by month
    assert cost == main_cost  # expenses plus assets


# --- ordinary mistakes: each a located error, nothing moved ---------------------------------


def _load(
    tmp_path: Path, text: str, view: str = "model-as-company"
) -> tuple[Path, list[tuple[str, str, int]], list[data.Directive]]:
    main = write_books(tmp_path, text)
    entries, errors, _ = loader.load_file(str(main.parent / "views" / f"{view}.beancount"))
    return main.parent / "books.beancount", located(errors), entries


def _amortised_models(entries: list[data.Directive]) -> set[str]:
    return {
        str(e.meta["model"])
        for e in entries
        if isinstance(e, data.Transaction) and "model-as-company" in e.tags
    }


def test_a_model_name_typo_in_a_record_is_located(tmp_path: Path) -> None:
    books, errors, entries = _load(tmp_path, books_text(heron=HERON_RECORD.replace('"Heron"', '"Heorn"')))
    assert len(errors) == 2
    (message, filename, line), (unrecorded, open_file, open_line) = sorted(
        errors, key=lambda e: e[2], reverse=True
    )
    assert "Model 'Heorn' has no tokens in the books" in message and "Heron" in message
    assert (filename, line) == (str(books), line_of(books, '"Heorn"'))
    # ... and the view says Heron's training is left an expense for want of a record.
    assert "Training cost of model Heron" in unrecorded and "24600.00 USD" in unrecorded
    assert (open_file, open_line) == (str(books), line_of(books, "open Expenses:RnD:Training:Compute:Heron"))
    assert _amortised_models(entries) == {"Falcon"}


def test_a_model_without_a_record_is_located_in_the_model_as_company_view(tmp_path: Path) -> None:
    books, errors, entries = _load(tmp_path, books_text(heron=""))
    metered = (
        "Equity:Stats:Tokens:API:Heron meters model 'Heron', which has no custom \"model\" record (the "
        "records are for Falcon); add its record",
        str(books),
        line_of(books, "open Equity:Stats:Tokens:API:Heron"),
    )
    assert sorted(errors) == sorted(
        [
            metered,
            (
                "Training cost of model Heron (Expenses:RnD:Training:Compute:Heron and the other Heron "
                "training accounts, 24600.00 USD in all) is not capitalised: the books have no custom "
                '"model" record for Heron; add one (docs/conventions.md, "Models"), or this view shows its '
                "training as expensed",
                str(books),
                line_of(books, "open Expenses:RnD:Training:Compute:Heron"),
            ),
        ]
    )
    assert _amortised_models(entries) == {"Falcon"}
    # The accountant's books capitalise nothing, but a model record is missing all the same.
    assert _load(tmp_path, books_text(heron=""), "accountant")[1] == [metered]


def test_a_misspelt_model_in_a_tokens_account_is_located(tmp_path: Path) -> None:
    """Heron's free tokens metered under "Heorn" would leave Heron's life table and its
    units-of-production schedule without a word."""
    text = books_text().replace("Tokens:Free:Heron", "Tokens:Free:Heorn")
    books, errors, _ = _load(tmp_path, text, "accountant")
    assert (
        "Equity:Stats:Tokens:Free:Heorn meters model 'Heorn', which has no custom \"model\" record "
        "(the records are for Falcon, Heron); if it is 'Heron', correct the account",
        str(books),
        line_of(books, "open Equity:Stats:Tokens:Free:Heorn"),
    ) in errors
    # classify's conventions check sees the other side: Heron's free-tier cost has no tokens.
    assert len(errors) == 2
    assert any("Expenses:COGS:Inference:Compute:Free:Heron has postings" in e[0] for e in errors)


LATE = '2025-08-31 * "Metering, late"\n  Equity:Stats:Tokens:API:Falcon  50 MTOK\n  Equity:Stats:Offset\n'
EARLY = '2025-03-31 * "Metering, early"\n  Equity:Stats:Tokens:Free:Heron  40 MTOK\n  Equity:Stats:Offset\n'


@pytest.mark.parametrize(
    ("extra", "model", "when"),
    [
        (
            LATE,
            "Falcon",
            "in 2025-08 (Equity:Stats:Tokens:API:Falcon 50 MTOK), after its retirement on 2025-07-20",
        ),
        (
            EARLY,
            "Heron",
            "in 2025-03 (Equity:Stats:Tokens:Free:Heron 40 MTOK), before its launch on 2025-05-16",
        ),
    ],
)
@pytest.mark.parametrize("view", ["accountant", "model-as-company", "model-as-company-units"])
def test_tokens_metered_out_of_service_are_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, model: str, when: str, view: str
) -> None:
    """A retired model still metered (or metered before its launch) would move units-of-production
    and the life table without a word."""
    text = books_text(extra="\n" + extra)
    books, errors, entries = _load(tmp_path, text, view)
    record = line_of(books, f'custom "model" "{model}"')
    assert errors == [
        (
            f"Tokens of model {model!r} metered {when} (record at {books}:{record}): correct the record's "
            "dates or the metering; the record is not used",
            str(books),
            line_of(books, extra.splitlines()[0]),
        )
    ]
    assert model not in _amortised_models(entries)
    assert lab_report([str(books.parent / "main.beancount"), "--lifetime"]) != 0
    assert (
        f"books.beancount:{line_of(books, extra.splitlines()[0])}: Tokens of model" in capsys.readouterr().err
    )


def test_units_without_lifetime_mtok_is_located(tmp_path: Path) -> None:
    text = books_text(heron=HERON_RECORD.replace("  lifetime-mtok: 5000\n", ""))
    books, errors, entries = _load(tmp_path, text, "model-as-company-units")
    assert errors == [
        ("Model record 'Heron': missing key 'lifetime-mtok'", str(books), line_of(books, '"Heron"'))
    ]
    assert _amortised_models(entries) == {"Falcon"}


def test_a_view_with_its_plugins_misordered_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    views = {**VIEWS, "late-amortise": [*PLUGINS[:3], 'plugin "ailab_books.plugins.amortise"', PLUGINS[3]]}
    main = write_books(tmp_path, views=views)
    _, errors, _ = loader.load_file(str(tmp_path / "views" / "late-amortise.beancount"))
    messages = [message for message, _, _ in located(errors)]
    assert any("amortise" in m and "late-amortise.beancount" in m for m in messages), messages
    assert lab_report([str(main), "--view", "late-amortise"]) != 0
    assert "wrong order" in capsys.readouterr().err
    assert lab_report([str(main), "--compare", "all"]) != 0


def test_a_view_including_main_instead_of_books_computes_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beancount runs only the top file's plugin lines, so main's own (the accountant's) do not
    run again under the view: including main.beancount changes no figure."""
    main = write_books(tmp_path)
    view = tmp_path / "views" / "model-as-company.beancount"
    right = report(capsys, main, "--view", "model-as-company")
    view.write_text(view.read_text().replace('"../books.beancount"', '"../main.beancount"'))
    assert loader.load_file(str(view))[1] == []
    assert report(capsys, main, "--view", "model-as-company") == right


def test_a_model_no_longer_metered_is_amortised_through_the_books_end_in_every_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Falcon without its retirement: in service to 2026-08 but with no row in the books' last month
    (August). The view charges August too; --lifetime (from the accountant's books, which carry no
    amortisation row for August) must stop its schedule at the books' end as well, not at Falcon's
    last row."""
    main = write_books(tmp_path, books_text(falcon=FALCON_RECORD.replace("  retirement: 2025-07-20\n", "")))
    # 1,000.00 post-training in January over the 20 months left to 2026-08: 50.00 a month, Jan..Aug.
    expected = per_mtok(Decimal("12200.00") - 8 * Decimal("50.00"), Decimal(2900))
    for argv in (("--lifetime",), ("--by", "model", "--view", "model-as-company")):
        rows = {row["model"]: row for row in report(capsys, main, *argv)}
        assert rows["Falcon"]["after_training_per_mtok_straight_line"] == expected, argv


def test_books_without_records_still_charge_training_in_the_accountants_after_training_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The accountant's view expenses training and needs no model record: in books that keep
    none, every model's training still counts against the after-training margin (it was left
    out: the margin was the gross margin, 7.26 USD per Mtok, without a word)."""
    text = books_text(falcon="", heron="")
    main = write_books(tmp_path, text, views={"accountant": VIEWS["accountant"]})
    rows = report(capsys, main, "--compare", "accountant", "--total")
    mtok = sum((model_tokens(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    margin = sum((gross(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    spent = sum((training(m)[k] for m in MODELS for k in MONTHS), Decimal(0))
    assert rows[0]["after_training_margin_per_mtok"] == per_mtok(margin - spent, mtok) == "2.771930"


@pytest.mark.parametrize(
    ("name", "plugins"),
    [
        (
            "depreciate",
            [PLUGINS[0], 'plugin "ailab_books.plugins.depreciate" "life-months=12"', *PLUGINS[1:]],
        ),
        (
            "amortise",
            [*PLUGINS[:2], AMORTISE.format("units"), AMORTISE.format("straight-line"), *PLUGINS[2:]],
        ),
    ],
)
def test_a_view_naming_a_plugin_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, plugins: list[str]
) -> None:
    """A view that adds its policy line without removing the one it copied: depreciate twice
    crashed bean-check (its entries' int metadata in beancount's printer) and doubled the
    depreciation; amortise twice kept the first method without a word."""
    main = write_books(tmp_path, views={"accountant": PLUGINS, "twice": plugins})
    _, errors, _ = loader.load_file(str(tmp_path / "views" / "twice.beancount"))
    books = tmp_path / "books.beancount"
    expected = (
        f"The main file names the plugin ailab_books.plugins.{name} 2 times, so it runs 2 times over the "
        f'books; keep one plugin "ailab_books.plugins.{name}" line in twice.beancount, with the config of '
        "the policy you mean"
    )
    assert set(located(errors)) == {(expected, str(books), line_of(books, 'custom "allocate"'))}
    for error in errors:
        printer.format_error(error)  # what bean-check prints: no traceback
    assert lab_report([str(main), "--view", "twice"]) != 0
    assert f"plugin ailab_books.plugins.{name} 2 times" in capsys.readouterr().err


def test_a_sub_line_under_evals_is_no_model_in_the_life_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Expenses:RnD:Evals:Compute:Safety names no model the books meter, train by driver or
    record: it is lab R&D, as --compare reads it, not a model "Safety" with training cost."""
    extra = (
        "\n2025-01-01 open Expenses:RnD:Evals:Compute:Safety USD\n"
        '2025-06-30 * "Safety evals"\n  Expenses:RnD:Evals:Compute:Safety  300.00 USD\n  Assets:Bank\n'
    )
    main = write_books(tmp_path, books_text(extra=extra))
    assert [row["model"] for row in report(capsys, main, "--lifetime")] == list(MODELS)
