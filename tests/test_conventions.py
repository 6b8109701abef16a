"""plugins.conventions (run by classify): tokens in MTOK, per-model accounts that end in a metered pair.

Each ledger is written in the test and loaded like bean-check loads it; each
error is checked for its message, file and line.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from beancount import loader
from helpers import line_of

BOOKS = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.classify"

2025-01-01 open Assets:Bank
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Equity:Stats:Tokens:API:Wren
2025-01-01 open Income:API:Wren
2025-01-01 open Expenses:COGS:Inference:Compute:API:Wren
2025-01-01 open Expenses:COGS:Inference:Compute:API
2025-01-01 open Expenses:COGS:Hosting
  cost-class: "training"

2025-01-31 * "Metering"
  Equity:Stats:Tokens:API:Wren   100 MTOK
  Equity:Stats:Offset           -100 MTOK

2025-01-31 * "Invoices"
  Income:API:Wren                           -500.00 USD
  Expenses:COGS:Inference:Compute:API:Wren   200.00 USD
  Expenses:COGS:Hosting                       50.00 USD
  Assets:Bank
"""


def load(tmp_path: Path, extra: str = "") -> tuple[Path, list[tuple[str, str, int]]]:
    path = tmp_path / "books.beancount"
    path.write_text(BOOKS + textwrap.dedent(extra))
    _, errors, _ = loader.load_file(str(path))
    return path, [(e.message, e.source["filename"], e.source["lineno"]) for e in errors]


def line_equal(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line == text)


def test_books_that_follow_the_conventions_load_clean(tmp_path: Path) -> None:
    # A COGS account reclassified as training is not read per model: no error for it.
    _, errors = load(tmp_path)
    assert errors == []


def test_tokens_in_another_unit_are_an_error_at_their_transaction(tmp_path: Path) -> None:
    path, errors = load(
        tmp_path,
        """
        2025-02-28 * "Metering, typed by hand"
          Equity:Stats:Tokens:API:Wren   10 MTOKS
          Equity:Stats:Offset           -10 MTOKS
        """,
    )
    assert errors == [
        (
            "10 MTOKS on Equity:Stats:Tokens:API:Wren is in no per-token figure: tokens count in MTOK "
            "(million tokens); write it in MTOK",
            str(path),
            line_of(path, '"Metering, typed by hand"'),
        )
    ]


def test_a_cogs_account_without_its_model_is_an_error_at_its_open(tmp_path: Path) -> None:
    path, errors = load(
        tmp_path,
        """
        2025-02-28 * "Serving compute, API tier"
          Expenses:COGS:Inference:Compute:API   300.00 USD
          Assets:Bank
        """,
    )
    assert errors == [
        (
            "Expenses:COGS:Inference:Compute:API has postings that the per-model figures would read as "
            "tier Compute, model API, and the books meter no tokens for that pair "
            "(Equity:Stats:Tokens:Compute:API is not opened): a per-model account ends in :<Tier>:<Model> "
            "(docs/conventions.md)",
            str(path),
            line_equal(path, "2025-01-01 open Expenses:COGS:Inference:Compute:API"),
        )
    ]


def test_revenue_on_a_model_the_books_do_not_meter_is_an_error_but_a_tier_account_is_not(
    tmp_path: Path,
) -> None:
    path, errors = load(
        tmp_path,
        """
        2025-01-01 open Income:API
        2025-01-01 open Income:API:Wrne
        2025-02-28 * "Seats, before attribution"
          Income:API        -40.00 USD
          Assets:Bank
        2025-02-28 * "Usage, model misspelt"
          Income:API:Wrne   -60.00 USD
          Assets:Bank
        """,
    )
    assert [(filename, lineno) for _, filename, lineno in errors] == [
        (str(path), line_equal(path, "2025-01-01 open Income:API:Wrne"))
    ]
    assert errors[0][0].startswith("Income:API:Wrne has postings that the per-model figures would read as ")


def test_without_per_model_token_accounts_nothing_is_read_per_model(tmp_path: Path) -> None:
    path = tmp_path / "books.beancount"
    path.write_text(
        BOOKS.replace(
            "2025-01-01 open Equity:Stats:Tokens:API:Wren\n", "2025-01-01 open Equity:Stats:Tokens:API\n"
        ).replace("Equity:Stats:Tokens:API:Wren", "Equity:Stats:Tokens:API")
    )
    _, errors, _ = loader.load_file(str(path))
    assert errors == []
