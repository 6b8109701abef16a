"""Policy views: small main files in ``ledger/views/`` over the same books.

- the layout: ``ledger/books.beancount`` holds every include, ``main.beancount``
  and each view hold options and plugins only, and ``ledger/`` is the
  generator's default output, byte for byte (so a view is never hand-edited);
- every view loads without an error and opens in Fava (its pages and the
  dashboard's config answer 200);
- each view moves the money it says, against a hand computation from the
  accountant's postings (rollouts-are-inference, free-tier-is-marketing).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from fava.application import create_app

from ailab_books.benchmarks import generate
from ailab_books.queries.economics import Month, summary
from ailab_books.queries.runner import Ledger, load_ledger

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "ledger"
VIEWS = sorted(path.stem for path in (LEDGER / "views").glob("*.beancount"))


def test_ledger_is_the_generators_output_byte_for_byte() -> None:
    files = generate.generate()
    on_disk = {
        str(path.relative_to(LEDGER)): path.read_text(encoding="utf-8")
        for path in LEDGER.rglob("*.beancount")
    }
    assert sorted(files) == sorted(on_disk)
    for name, text in files.items():
        assert on_disk[name] == text, name


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
    for page in ("income_statement/", "extension/FavaDashboards/", "api/income_statement"):
        response = client.get(f"/{slug}/{page}")  # type: ignore[attr-defined]
        assert response.status_code == 200, (view, page, response.status_code)
    config = client.get(f"/{slug}/extension/FavaDashboards/v2_config")  # type: ignore[attr-defined]
    assert config.status_code == 200, config.get_json()
    assert config.get_json()["data"]["configJs"] == (ROOT / "dashboard" / "unit-economics.tsx").read_text(
        encoding="utf-8"
    )


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
