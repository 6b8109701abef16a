"""Policy views: small main files in ``ledger/views/`` over the same books.

- the layout: ``ledger/books.beancount`` holds every include, ``main.beancount``
  and each view hold options and plugins only, and ``ledger/`` is the
  generator's default output, byte for byte (so a view is never hand-edited);
- every view loads without an error and opens in Fava (its pages and the
  dashboard's page and script answer 200);
- each view moves the money it says, against a hand computation from the
  accountant's postings (rollouts-are-inference, free-tier-is-marketing);
- ``lab-report --compare`` gives, for each view, the figures ``lab-report
  --view`` gives for it alone; an unknown view is a usage error that lists them.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from fava.application import create_app
from helpers import copy_books, line_of

from ailab_books.queries.compare import compare
from ailab_books.queries.economics import Month, summary
from ailab_books.queries.report import main as report_main
from ailab_books.queries.runner import Ledger, load_ledger, run_saved

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger"
VIEWS = sorted(path.stem for path in (LEDGER / "views").glob("*.beancount"))
#: The order of ``--compare all``: the accountant's first, then by name.
VIEWS_IN_ORDER = ["accountant", *(view for view in VIEWS if view != "accountant")]


def test_main_and_views_hold_only_options_plugins_and_the_books() -> None:
    for path in [LEDGER / "main.beancount", *(LEDGER / "views").glob("*.beancount")]:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and line[0] != ";"]
        includes = [line for line in lines if line.startswith("include ")]
        assert includes == [
            'include "books.beancount"' if path.name == "main.beancount" else 'include "../books.beancount"'
        ]
        assert all(line.startswith(("option ", "plugin ", "include ")) for line in lines), path
    assert "accountant" in VIEWS


@pytest.mark.parametrize("view", VIEWS)
def test_view_loads_without_errors(view: str) -> None:
    _, errors, options = loader.load_file(str(LEDGER / "views" / f"{view}.beancount"))
    assert [error.message for error in errors] == []
    assert options["title"].endswith(f"(view: {view})")


@pytest.fixture(scope="module")
def fava_client() -> Iterator[tuple[object, dict[str, str]]]:
    """One Fava app serving main and every view (Fava switches between ledger files)."""
    files = [LEDGER / "main.beancount", *(LEDGER / "views" / f"{view}.beancount" for view in VIEWS)]
    app = create_app([str(path) for path in files], load=True)
    app.testing = True
    by_slug = app.config["LEDGERS"].ledgers_by_slug
    slugs = {ledger.beancount_file_path: slug for slug, ledger in by_slug.items()}
    with app.test_client() as client:
        yield client, slugs


@pytest.mark.parametrize("view", VIEWS)
def test_view_opens_in_fava_with_its_dashboard(fava_client: tuple[object, dict[str, str]], view: str) -> None:
    client, slugs = fava_client
    slug = slugs[str(LEDGER / "views" / f"{view}.beancount")]
    for page in ("income_statement/", "extension/UnitEconomics/", "api/income_statement"):
        response = client.get(f"/{slug}/{page}")  # type: ignore[attr-defined]
        assert response.status_code == 200, (view, page, response.status_code)
    # The page's facts of the view's books (JSON in the HTML) and its script, the package's own.
    html = client.get(f"/{slug}/extension/UnitEconomics/").get_data(as_text=True)  # type: ignore[attr-defined]
    facts = re.search(r'<script type="application/json" id="ue-ledger">(.*?)</script>', html, re.S)
    assert facts, view
    assert json.loads(facts.group(1))["ccy"] == "USD"
    script = client.get(f"/{slug}/extension/UnitEconomics/script?name=page")  # type: ignore[attr-defined]
    assert script.status_code == 200
    assert script.get_data() == (ROOT / "dashboard" / "static" / "unit-economics.js").read_bytes()


# --------------------------------------------------------------------------- what each view moves


@functools.cache
def loaded(view: str) -> Ledger:
    """A view of the example books (``main`` for ledger/main.beancount), loaded once per run."""
    path = LEDGER / "main.beancount" if view == "main" else LEDGER / "views" / f"{view}.beancount"
    return load_ledger(path, require_pipeline=True)


@functools.cache
def monthly(view: str) -> dict[str, dict[str, Decimal]]:
    """The report's summary of a view, month -> column -> figure (the Total row included)."""
    return {str(row["month"]): row for row in summary(loaded(view)).to_dict("records")}


def postings_by_month(ledger: Ledger, wanted: Callable[[str], bool]) -> dict[str, Decimal]:
    """Hand computation: the USD postings to the accounts ``wanted`` picks, per month and in total."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for entry in ledger.entries:
        if not hasattr(entry, "postings"):
            continue
        for posting in entry.postings:
            if wanted(posting.account) and posting.units is not None:
                assert posting.units.currency == "USD"
                sums[str(Month(entry.date.year, entry.date.month))] += posting.units.number
                sums["Total"] += posting.units.number
    return sums


def _rollouts(account: str) -> bool:
    return account.startswith(("Expenses:RnD:Rollouts:", "Expenses:RnD:Evals:"))


def _free_tier_serving(account: str) -> bool:
    return account.startswith("Expenses:COGS:") and account.split(":")[-2] == "Free"


@pytest.mark.parametrize(
    ("view", "moved", "sign"),
    [("rollouts-are-inference", _rollouts, 1), ("free-tier-is-marketing", _free_tier_serving, -1)],
)
def test_view_moves_the_cost_it_says_into_or_out_of_cost_of_serving(
    view: str, moved: Callable[[str], bool], sign: int
) -> None:
    accountant, under_view = monthly("main"), monthly(view)
    hand = postings_by_month(loaded("main"), moved)
    assert hand["Total"] > 0  # the example has such cost to move
    assert list(under_view) == list(accountant)
    for month, row in accountant.items():
        other = under_view[month]
        assert other["inference_cogs"] == row["inference_cogs"] + sign * hand.get(month, Decimal(0)), month
        # only the class moves: tokens, revenue and all costs (so the net margin) are the same
        for column in ("million_tokens", "revenue", "all_costs", "net_margin", "net_margin_per_mtok"):
            assert other[column] == row[column], (month, column)


def test_accountant_view_is_main() -> None:
    assert monthly("accountant") == monthly("main")


# --------------------------------------------------------------------------- lab-report --view / --compare


def _report_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert report_main([str(LEDGER / "main.beancount"), *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_equals_each_view_run_alone(capsys: pytest.CaptureFixture[str]) -> None:
    compared = _report_json(capsys, "--compare", "all", "--from", "2026-01")
    assert [row["view"] for row in compared if row["month"] == "Total"] == VIEWS_IN_ORDER
    base = {row["month"]: row for row in _report_json(capsys, "--view", "accountant", "--from", "2026-01")}
    for view in VIEWS_IN_ORDER:
        alone = {row["month"]: row for row in _report_json(capsys, "--view", view, "--from", "2026-01")}
        rows = {row["month"]: row for row in compared if row["view"] == view}
        assert list(rows) == list(alone) == [f"2026-{m:02d}" for m in range(1, 11)] + ["Total"]
        for month, row in rows.items():
            own = alone[month]
            tokens = Decimal(own["million_tokens"])
            assert row["million_tokens"] == own["million_tokens"]
            assert row["gross_margin_per_mtok"] == own["gross_margin_per_mtok"]
            assert row["net_margin_per_mtok"] == own["net_margin_per_mtok"]
            assert Decimal(row["price_per_mtok"]) == round(Decimal(own["revenue"]) / tokens, 6)
            assert Decimal(row["cost_of_serving_per_mtok"]) == round(
                Decimal(own["inference_cogs"]) / tokens, 6
            )
            for column in ("gross_margin_per_mtok", "net_margin_per_mtok"):
                difference = Decimal(own[column]) - Decimal(base[month][column])
                assert Decimal(row[column.replace("_margin", "") + "_vs_accountant"]) == difference


@pytest.mark.parametrize(
    ("view", "charged"), [("accountant", "training_cost"), ("model-as-company", "amortised_training")]
)
def test_after_training_margin_equals_the_model_lifetime_query(view: str, charged: str) -> None:
    """--compare's after-training margin, against an independent computation: beanquery's
    model-lifetime (training attributed to models; what the model-as-company view amortised)."""
    frame = compare({"accountant": loaded("accountant"), view: loaded(view)})
    compared = {row["month"]: row for row in frame.to_dict("records") if row["view"] == view}
    training: dict[str, Decimal] = defaultdict(Decimal)
    for row in run_saved(loaded(view), "model-lifetime").to_dict("records"):
        training[f"{row['year']:04d}-{row['month']:02d}"] += Decimal(row[charged])
    training["Total"] = sum(training.values(), Decimal(0))
    assert training["Total"] > 0  # the view has training to charge
    own = monthly(view)
    for month, row in compared.items():
        figures = own[month]
        margin = figures["revenue"] - figures["inference_cogs"] - training.get(month, Decimal(0))
        assert row["after_training_margin_per_mtok"] == round(margin / figures["million_tokens"], 6), month


def test_view_runs_any_report_on_the_views_file(capsys: pytest.CaptureFixture[str]) -> None:
    by_model = _report_json(capsys, "--view", "free-tier-is-marketing", "--by", "model", "--from", "2026-10")
    accountant = _report_json(capsys, "--by", "model", "--from", "2026-10")
    assert len(by_model) == len(accountant)
    # the free tier's serving cost left each model's cost of serving for the overhead, which is
    # spread by tokens: per model the net margin moves, for the lab it does not
    for mine, theirs in zip(by_model, accountant, strict=True):
        assert mine["model"] == theirs["model"]
        assert Decimal(mine["inference_cogs"]) < Decimal(theirs["inference_cogs"])
        assert Decimal(mine["overhead"]) > Decimal(theirs["overhead"])
    assert by_model[-1]["model"] == "(all)"
    assert by_model[-1]["net_margin"] == accountant[-1]["net_margin"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--view", "gpu-life-3y"],
            "unknown view 'gpu-life-3y': the views in {views} are {names}",
        ),
        (
            ["--compare", "accountant,gpu-life4y"],
            "unknown view 'gpu-life4y': the views in {views} are {names}",
        ),
        (
            ["--compare", "gpu-life-4y,gpu-life-4y"],
            "view 'gpu-life-4y' is named twice in --compare gpu-life-4y,gpu-life-4y",
        ),
        (
            ["--compare", "all", "--view", "accountant"],
            "--view and --compare do not go together: --compare names its views",
        ),
        (["--total"], "--total goes with --compare (the summary has its Total row already)"),
    ],
)
def test_unknown_view_is_a_usage_error_listing_the_views(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert report_main([str(LEDGER / "main.beancount"), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    names = ", ".join(VIEWS_IN_ORDER)  # accountant, free-tier-is-marketing, gpu-life-4y, ...
    assert captured.err == f"lab-report: {message.format(views=LEDGER / 'views', names=names)}\n"


def test_books_without_views_say_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main = tmp_path / "main.beancount"
    main.write_text('option "operating_currency" "USD"\n', encoding="utf-8")
    assert report_main([str(main), "--view", "accountant"]) == 2
    assert capsys.readouterr().err == (
        f"lab-report: unknown view 'accountant': there is no view in {tmp_path / 'views'} (docs/views.md)\n"
    )


# ------------------------------------------------------------------- a view changes policy, never facts

#: What no view may change, account by account: revenue, cash, liabilities, equity.
FACT_ROOTS = ("Income:", "Assets:Bank", "Assets:Cash", "Liabilities:", "Equity:")


def _changes(ledger: Ledger) -> tuple[dict[tuple[str, str, str], Decimal], dict[tuple[str, str], Decimal]]:
    """Per month: the net change of each fact account (month, account, currency), and of
    expenses plus assets together (month, currency)."""
    facts: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in ledger.entries:
        if not hasattr(entry, "postings"):
            continue
        month = str(Month(entry.date.year, entry.date.month))
        for posting in entry.postings:
            units = posting.units
            assert units is not None and units.number is not None
            if posting.account.startswith(FACT_ROOTS):
                facts[month, posting.account, units.currency] += units.number
            if posting.account.startswith(("Expenses:", "Assets:")):
                cost[month, units.currency] += units.number
    return (
        {key: value for key, value in facts.items() if value != 0},
        {key: value for key, value in cost.items() if value != 0},
    )


@pytest.mark.parametrize("view", VIEWS)
def test_view_changes_policy_never_facts(view: str) -> None:
    main_facts, main_cost = _changes(loaded("main"))
    view_facts, view_cost = _changes(loaded(view))
    assert view_facts == main_facts  # revenue, cash, liabilities, equity: account by account, per month
    assert view_cost == main_cost  # cost only moves between lines, or between expense and asset


def test_dashboard_flags_depreciation_run_after_allocation(tmp_path: Path) -> None:
    """The dashboard's books check sees what a late depreciate leaves: the GPU pool holding
    each month's depreciation. (Without depreciate at all nothing is left to see: only
    bean-check, Fava's errors and lab-report tell, tests/test_pipeline.py.)"""
    from test_pipeline import example_with
    from test_pipeline_fava import books_check

    rows = books_check(example_with(tmp_path, "depreciate late"))
    assert {row["account"] for row in rows} == {"Expenses:Shared:GPUCluster"}
    assert len(rows) == 22 and all(row["cost_class"] == "shared" and row["change"] > 0 for row in rows)


def test_a_bad_model_record_unchecked_by_the_books_stops_the_after_training_margin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Books that dropped the models plugin line load cleanly even with a malformed record; the
    after-training margin would then leave that model's training out. --compare refuses instead."""
    books = tmp_path / "ledger"
    copy_books(LEDGER, books)
    for main in [books / "main.beancount", *(books / "views").glob("*.beancount")]:
        main.write_text(main.read_text().replace('plugin "ailab_books.plugins.models"\n', ""))
    models = books / "models.beancount"
    models.write_text(
        models.read_text().replace("  serving-life-months: 18\n", '  serving-life-months: "18"\n')
    )
    facts = books / "books.beancount"  # the saved queries and the dashboard are outside the copy
    facts.write_text(facts.read_text().replace('include "../', 'include "' + str(ROOT) + "/"))
    assert report_main([str(books / "main.beancount"), "--compare", "accountant,gpu-life-4y", "--total"]) == 1
    err = capsys.readouterr().err
    kestrel = line_of(models, '"model" "Kestrel"')
    assert err == (
        f"lab-report: {books / 'views' / 'accountant.beancount'}: the model records have errors, so the "
        f"after-training margin cannot be computed:\n{models}:{kestrel}: Model record 'Kestrel': "
        "serving-life-months must be a whole number of months above zero; got '18' (str)\n"
    )
