"""The ``custom "model"`` record (ailab_books.plugins.models): read, and every mistake located."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from helpers import line_of, located

from ailab_books.plugins.models import ModelRecord, parse_models

HEAD = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.models"

2024-01-01 open Equity:Stats:Tokens:API:Orion MTOK
2024-01-01 open Equity:Stats:Tokens:Free:Orion MTOK
2024-01-01 open Equity:Stats:Tokens:API:Kestrel MTOK
"""

GOOD = """
2024-09-01 custom "model" "Orion"
  launch: 2024-09-01
  retirement: 2027-03-31
  serving-life-months: 30
  lifetime-mtok: 260000000
  training-before-books: 140000000.00 USD

2026-04-01 custom "model" "Kestrel"
  launch: 2026-04-15
  serving-life-months: 18
  lifetime-mtok: 400000000
"""


def _load(tmp_path: Path, body: str) -> tuple[Path, list[ModelRecord], list[tuple[str, str, int]]]:
    path = tmp_path / "books.beancount"
    path.write_text(HEAD + body, encoding="utf-8")
    entries, errors, options_map = loader.load_file(str(path))
    records, _ = parse_models(entries, options_map)
    return path, records, located(errors)


def test_records_are_read(tmp_path: Path) -> None:
    _, records, errors = _load(tmp_path, GOOD)
    assert errors == []
    orion, kestrel = records
    assert orion.name == "Orion"
    assert orion.launch == datetime.date(2024, 9, 1)
    assert orion.retirement == datetime.date(2027, 3, 31)
    assert orion.serving_life_months == 30
    assert orion.lifetime_mtok == Decimal(260000000)
    assert orion.training_before_books == Decimal("140000000.00")
    # 30 months from 2024-09 end in 2027-02, before the retirement's month
    assert orion.last_month == datetime.date(2027, 2, 1)
    assert kestrel.retirement is None and kestrel.training_before_books is None
    assert kestrel.launch_month == datetime.date(2026, 4, 1)
    assert kestrel.last_month == datetime.date(2027, 9, 1)


def test_retirement_ends_the_life_early(tmp_path: Path) -> None:
    body = GOOD.replace("retirement: 2027-03-31", "retirement: 2026-06-10")
    _, records, errors = _load(tmp_path, body)
    assert errors == []
    assert records[0].last_month == datetime.date(2026, 6, 1)


BAD_CASES = [
    (
        "missing key",
        GOOD.replace("  serving-life-months: 18\n", ""),
        "Model record 'Kestrel': missing key 'serving-life-months'",
        '"Kestrel"',
    ),
    (
        "unknown key",
        GOOD.replace("  lifetime-mtok: 400000000\n", "  lifetime-mtok: 400000000\n  lifetime-tokens: 4\n"),
        "Model record 'Kestrel': unknown key 'lifetime-tokens'",
        '"Kestrel"',
    ),
    (
        "repeated key",
        GOOD.replace("  serving-life-months: 18\n", "  serving-life-months: 18\n  serving-life-months: 24\n"),
        "Model record 'Kestrel': key 'serving-life-months' is written 2 times",
        '"Kestrel"',
    ),
    (
        "retirement before launch",
        GOOD.replace("retirement: 2027-03-31", "retirement: 2024-03-31"),
        "Model record 'Orion': retirement 2024-03-31 is not after launch 2024-09-01",
        '"Orion"',
    ),
    (
        "launch not a date",
        GOOD.replace("launch: 2026-04-15", 'launch: "April"'),
        "Model record 'Kestrel': launch must be a date",
        '"Kestrel"',
    ),
    (
        "life not whole",
        GOOD.replace("serving-life-months: 18", "serving-life-months: 18.5"),
        "Model record 'Kestrel': serving-life-months must be a whole number of months above zero",
        '"Kestrel"',
    ),
    (
        "lifetime zero",
        GOOD.replace("lifetime-mtok: 400000000", "lifetime-mtok: 0"),
        "Model record 'Kestrel': lifetime-mtok must be a number of million tokens above zero",
        '"Kestrel"',
    ),
    (
        "memo in another currency",
        GOOD.replace("140000000.00 USD", "140000000.00 EUR"),
        "Model record 'Orion': training-before-books must be an amount of USD at or above zero",
        '"Orion"',
    ),
    (
        "two records",
        GOOD + '\n2026-05-01 custom "model" "Kestrel"\n  launch: 2026-05-01\n'
        "  serving-life-months: 12\n  lifetime-mtok: 1\n",
        "A second record for model 'Kestrel' (the first is at",
        '2026-05-01 custom "model" "Kestrel"',
    ),
    (
        "model not metered",
        GOOD.replace('"Kestrel"', '"Kestrell"'),
        "Model 'Kestrell' has no tokens in the books: no account Equity:Stats:Tokens:<Tier>:Kestrell "
        "is opened (models metered: Kestrel, Orion)",
        '"Kestrell"',
    ),
    (
        "no name",
        GOOD.replace('custom "model" "Kestrel"', 'custom "model" 2026-04-01'),
        'A model record takes one value, the model\'s name as the books write it (e.g. custom "model" '
        '"Orion"); got datetime.date(2026, 4, 1) (date)',
        'custom "model" 2026-04-01',
    ),
]


@pytest.mark.parametrize(
    ("body", "message", "marker"), [case[1:] for case in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_a_malformed_record_is_a_located_error_and_is_not_used(
    tmp_path: Path, body: str, message: str, marker: str
) -> None:
    path, records, errors = _load(tmp_path, body)
    assert len(errors) == 1, errors
    text, filename, lineno = errors[0]
    assert text.startswith(message), text
    assert filename == str(path)
    assert lineno == line_of(HEAD + body, marker, 2 if marker == '"Kestrel"' and "second" in text else 1)
    # the good record is still read; the bad one is not used (of two records for a model, neither)
    assert len(records) == 1
    if "second" in text:
        assert records[0].name == "Orion"


def test_the_plugin_checks_only_and_the_pipeline_accepts_it_anywhere() -> None:
    from ailab_books.plugins.pipeline import pipeline_problem

    allocate, classify = "ailab_books.plugins.allocate", "ailab_books.plugins.classify"
    for plugins in (
        [allocate, classify, "ailab_books.plugins.models"],
        ["ailab_books.plugins.models", allocate, classify],
    ):
        assert pipeline_problem(plugins, True, "main.beancount") is None
    # a misspelt one is still refused
    problem = pipeline_problem([allocate, classify, "ailab_books.plugins.model"], True, "main.beancount")
    assert problem is not None and "ailab_books.plugins.model" in str(problem)
