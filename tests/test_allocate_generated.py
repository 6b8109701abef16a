"""Generated allocation entries: where they claim to come from, where they sort, what they print.

- They carry a synthetic filename, so that Fava refuses to edit or delete "their
  source" (which would otherwise be the rule's lines), and sort after every
  posting of the month's last day, so a pool's running balance is zero right
  after its allocation.
- `rule:` is relative to the main file: two checkouts generate identical entries.
- The module docstring's before/after example is the plugin's exact output.
"""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import printer
from fava.core.file import GeneratedEntryError, _get_position
from helpers import allocations

from ailab_books.plugins import allocate as allocate_module

BOOKS = """\
option "operating_currency" "USD"
plugin "ailab_books.plugins.allocate"
include "rules/allocation.beancount"
2025-01-01 open Assets:Bank
2025-01-01 open Equity:Stats:Offset
2025-01-01 open Expenses:Shared:GPU
2025-01-01 open Expenses:Shared:Serving
2025-01-01 open Expenses:RnD:Training
2025-01-01 open Expenses:COGS:API
2025-01-01 open Expenses:COGS:Free
2025-01-01 open Equity:Stats:GPUH:Serving:API
2025-01-01 open Equity:Stats:GPUH:Serving:Free
2025-01-01 open Equity:Stats:GPUH:Training

2025-01-31 * "Scheduler"
  Equity:Stats:GPUH:Serving:API     300 GPUH
  Equity:Stats:GPUH:Serving:Free    100 GPUH
  Equity:Stats:GPUH:Training        600 GPUH
  Equity:Stats:Offset             -1000 GPUH

2025-01-20 * "Cluster lease"
  Expenses:Shared:GPU       1000.00 USD
  Assets:Bank

2025-01-31 * "Late invoice, booked on the month's last day"
  Expenses:Shared:GPU        200.00 USD
  Expenses:Shared:Serving     40.00 USD
  Assets:Bank
"""

RULES = """\
2025-01-01 custom "allocate" Expenses:Shared:GPU Equity:Stats:GPUH
  serving:  Expenses:Shared:Serving
  training: Expenses:RnD:Training

2025-01-01 custom "allocate" Expenses:Shared:Serving Equity:Stats:GPUH:Serving
  api:  Expenses:COGS:API
  free: Expenses:COGS:Free
"""


def write_books(root: Path) -> Path:
    (root / "rules").mkdir(parents=True)
    (root / "rules" / "allocation.beancount").write_text(RULES)
    main = root / "main.beancount"
    main.write_text(BOOKS)
    return main


def test_generated_entries_have_a_synthetic_location_fava_will_not_edit(tmp_path):
    entries, errors, _ = loader.load_file(str(write_books(tmp_path)))
    assert errors == []
    generated = allocations(entries)
    assert len(generated) == 2
    for entry in generated:
        assert entry.meta["filename"] == "<ailab_books.plugins.allocate>"
        assert entry.meta["lineno"] > 10**9
        assert all(p.meta["filename"] == "<ailab_books.plugins.allocate>" for p in entry.postings)
        with pytest.raises(GeneratedEntryError):
            _get_position(entry)
    # The rule's location is kept, relative to the main file's directory.
    assert [e.meta["rule"] for e in generated] == [
        "rules/allocation.beancount:1",
        "rules/allocation.beancount:5",
    ]


def test_on_the_months_last_day_the_allocation_comes_after_that_days_postings(tmp_path):
    entries, errors, _ = loader.load_file(str(write_books(tmp_path)))
    assert errors == []
    running = {"Expenses:Shared:GPU": Decimal(0), "Expenses:Shared:Serving": Decimal(0)}
    after_allocation: list[tuple[str, Decimal]] = []
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            if posting.account in running:
                running[posting.account] += posting.units.number
        if "allocation" in entry.tags:
            pool = entry.meta["pool"]
            after_allocation.append((pool, running[pool]))
    # GPU (1200.00, the late invoice included) is emptied before Serving, which receives its share
    # (400 of 1000 GPU-hours: 480.00) and its own 40.00 the same day; both read zero right after.
    assert after_allocation == [
        ("Expenses:Shared:GPU", Decimal("0.00")),
        ("Expenses:Shared:Serving", Decimal("0.00")),
    ]
    gpu, serving = allocations(entries)
    assert gpu.meta["lineno"] < serving.meta["lineno"]
    assert sum(p.units.number for p in serving.postings if p.account.startswith("Expenses:COGS")) == Decimal(
        "520.00"
    )


def test_two_checkouts_of_the_same_books_generate_identical_entries(tmp_path):
    texts = []
    for checkout in ("one", "two/deeper"):
        entries, errors, _ = loader.load_file(str(write_books(tmp_path / checkout)))
        assert errors == []
        texts.append("".join(printer.format_entry(e) for e in allocations(entries)))
    assert texts[0] == texts[1]
    assert 'rule: "rules/allocation.beancount:1"' in texts[0]


def docstring_block(title: str) -> str:
    """The indented block that follows the line starting with `title` in the module docstring."""
    doc = allocate_module.__doc__
    assert doc is not None
    start = doc.index(title)
    block = doc[doc.index("::\n", start) + 3 :]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def normalised(text: str) -> list[str]:
    """The lines of beancount text with runs of spaces inside a line made one (alignment only)."""
    return [re.sub(r"(?<=\S) {2,}", " ", line.rstrip()) for line in text.strip().splitlines()]


def test_the_docstring_example_is_the_plugins_exact_output(tmp_path):
    main = tmp_path / "main.beancount"
    main.write_text(docstring_block("Before"))
    entries, errors, _ = loader.load_file(str(main))
    assert errors == []
    printed = "".join(printer.format_entry(e) for e in allocations(entries))
    assert normalised(printed) == normalised(docstring_block("After"))
    # The comparison sees every posting, amount and metadata value.
    assert len(normalised(printed)) == 17
