"""What the tests of the books share: where an error points, what a ledger generated, balances.

Imported by the test modules (pytest puts tests/ on the path), so that each
test file keeps only its own ledgers and assertions.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount.core import data, realization


def line_of(source: str | Path, marker: str, occurrence: int = 1) -> int:
    """The 1-based number of the n-th line of `source` (a file, or the text itself)
    that contains `marker`."""
    text = source.read_text() if isinstance(source, Path) else source
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if marker in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{marker!r} not found")


def located(errors: list[Any]) -> list[tuple[str, str, int]]:
    """Each error as (message, file, line): what bean-check prints."""
    return [(e.message, e.source["filename"], e.source["lineno"]) for e in errors]


def allocations(entries: list[data.Directive]) -> list[data.Transaction]:
    """The transactions plugins.allocate generated."""
    return [e for e in entries if isinstance(e, data.Transaction) and "allocation" in e.tags]


def balance(entries: list[data.Directive], account: str, currency: str = "USD") -> Decimal:
    """The account's balance in `currency` (its own postings, not its children's), after every entry."""
    node = realization.get(realization.realize(entries), account)
    return Decimal(0) if node is None else node.balance.get_currency_units(currency).number


INCLUDE = 'include "'


def books_plus(tmp_path: Path, *extra: Path, main: Path | None = None) -> Path:
    """A top-level file: the example's main file (its options and plugin lines) with ``extra`` files
    included after the books.

    beancount runs only the ``plugin`` lines of the file it loads, not those of a file it includes, so
    a test file that merely includes ``ledger/main.beancount`` would check the books with no plugin
    running. This copies the main file's lines with its includes made absolute instead.
    """
    main = main or Path(__file__).resolve().parent.parent / "ledger" / "main.beancount"
    lines: list[str] = []
    for line in main.read_text(encoding="utf-8").splitlines():
        if line.startswith(INCLUDE):
            line = f'{INCLUDE}{(main.parent / line[len(INCLUDE) : -1]).resolve()}"'
        lines.append(line)
    lines += [f'include "{path}"' for path in extra]
    together = tmp_path / "together.beancount"
    together.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return together


def copy_books(source: Path, target: Path) -> Path:
    """Copy a folder of books, leaving out beancount's load cache (``.<main>.picklecache``).

    The cache records the original files' paths and times, so a copied cache is still "valid" in the
    copy and the loader would return the ORIGINAL books: a test editing its copy would check nothing.
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*.picklecache", "*.picklecache"))
    return target
