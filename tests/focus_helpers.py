"""What the FOCUS importer's tests share: the samples, a config writer, a CSV writer, the books."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from beancount import loader
from beancount.core import data
from helpers import books_plus

from ailab_books.importers.config import load_config
from ailab_books.importers.focus import FocusImporter

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "importers" / "samples" / "focus"
# The samples' configuration ([focus] of lab-import's sample configuration) and the books it names.
CONFIG = ROOT / "importers" / "samples" / "imports.toml"
BOOKS = ROOT / "ledger" / "main.beancount"
GOOD_SAMPLES = ("nimbus-2026-10.csv", "brisa-eur-2026-10.csv")
# Not under importers/samples/: every file there is a feed with a golden output.
MALFORMED = ROOT / "tests" / "data" / "focus" / "bad-rows-2026-10.csv"

ROUTES = """
[[focus.route]]
label = "serving"
account = "Expenses:Shared:Serving:Compute"

[[focus.route]]
label = "training"
service-category = "Storage"
account = "Expenses:RnD:Training:Storage"

[[focus.route]]
label = "training"
account = "Expenses:RnD:Training:Compute"

[[focus.route]]
label = "evals"
account = "Expenses:RnD:Evals:Compute"

[[focus.route]]
label = "cluster"
account = "Expenses:Shared:GPUCluster"
"""


def write_config(tmp_path: Path, focus_table: str, ledger: Path | None = None) -> Path:
    """A configuration file with the given `[focus]` table text (and the books, if given)."""
    path = tmp_path / "imports.toml"
    head = f'ledger = "{ledger}"\n' if ledger is not None else ""
    path.write_text(head + focus_table, encoding="utf-8")
    return path


def simple_table(extra: str = "", routes: str = ROUTES, default: bool = True) -> str:
    """A `[focus]` table in USD and EUR, with the routes above (and a default account)."""
    default_line = 'default-account = "Expenses:SGA:Software"\n' if default else ""
    return (
        "[focus]\n"
        'label-tag = "workload"\n'
        'payable = { USD = "Liabilities:AccountsPayable", EUR = "Liabilities:AccountsPayable:EUR" }\n'
        'tax-account = "Expenses:SGA:Taxes:Cloud"\n' + default_line + extra + routes
    )


def importer(config_path: Path = CONFIG) -> FocusImporter:
    return FocusImporter(load_config(config_path))


def read_sample(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def sample_with(tmp_path: Path, name: str, changes: dict[int, dict[str, str]]) -> Path:
    """A copy of the USD sample with `changes` (0-based data row -> column -> value) applied."""
    header, rows = read_sample(SAMPLES / GOOD_SAMPLES[0])
    for index, change in changes.items():
        rows[index] = {**rows[index], **change}
    return write_csv(tmp_path / name, header, rows)


@functools.cache
def books_entries() -> tuple[data.Directive, ...]:
    """The example books, loaded once."""
    entries, errors, _ = loader.load_file(str(BOOKS))
    assert errors == [], errors
    return tuple(entries)


def top_file(tmp_path: Path, books: Path, *includes: Path) -> Path:
    """A main file that runs the plugins of the main file `books` over it plus `includes` (plugins
    of an included file do not run, so the top file repeats the main file's lines)."""
    return books_plus(tmp_path, *includes, main=books)
