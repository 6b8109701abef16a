"""The lab-import framework: located problems, the configuration, import-ids and deduplication, the CLI.

The feeds used here are small timesheets written to tmp_path; each feed's own
rules are in tests/test_import_<feed>.py.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import amount, data
from beangulp.extract import DUPLICATE
from helpers import line_of

from ailab_books.importers import cli
from ailab_books.importers.config import ConfigError, Table, load_config
from ailab_books.importers.errors import FeedProblem, FeedRejected
from ailab_books.importers.keys import IMPORT_ID, import_id, mark_duplicates

BOOKS = """\
option "operating_currency" "USD"
2025-01-01 open Equity:Stats:Hours:DatacenterOps:Serving   HOUR
2025-01-01 open Equity:Stats:Hours:DatacenterOps:Training  HOUR
2025-01-01 open Equity:Stats:Offset                        HOUR,GPUH
"""

CONFIG = """\
ledger = "books.beancount"

[timesheets]
teams = { ops = "Equity:Stats:Hours:DatacenterOps" }
activities = { serving = "Serving", training = "Training", rollouts = "Rollouts" }
"""

SHEET = """\
date,employee,team,activity,hours
2026-11-02,ann,ops,serving,6
2026-11-02,ann,ops,training,2
2026-11-03,bob,ops,serving,7.5
"""


@pytest.fixture
def close(tmp_path: Path) -> Path:
    """A folder with books, a configuration and one timesheet under feeds/."""
    (tmp_path / "books.beancount").write_text(BOOKS)
    (tmp_path / "imports.toml").write_text(CONFIG)
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "sheet.csv").write_text(SHEET)
    return tmp_path


def run(close: Path, *args: str) -> int:
    return cli.main(["--config", str(close / "imports.toml"), *args])


# --- errors ---------------------------------------------------------------------------------------


def test_problem_reads_file_row_message() -> None:
    assert str(FeedProblem("a.csv", 7, "negative hours -1")) == "a.csv:7: negative hours -1"
    assert str(FeedProblem("a.csv", None, "missing column hours")) == "a.csv: missing column hours"


def test_rejection_lists_twenty_problems_and_counts_the_rest() -> None:
    rejected = FeedRejected(FeedProblem("a.csv", row, "bad") for row in range(2, 27))
    lines = str(rejected).splitlines()
    assert lines[0] == "a.csv:2: bad"
    assert lines[19] == "a.csv:21: bad"
    assert lines[20:] == ["... and 5 more problems"]
    assert len(rejected.problems) == 25


# --- configuration --------------------------------------------------------------------------------


def test_config_resolves_the_ledger_beside_the_file(close: Path) -> None:
    config = load_config(close / "imports.toml")
    assert config.ledger == (close / "books.beancount").resolve()
    assert set(config.sections) == {"timesheets"}


@pytest.mark.parametrize(
    ("text", "marker", "message"),
    [
        ("[timesheet]\nteams = {}\n", "[timesheet]", "timesheet: unknown key or table"),
        ("ledger = 3\n", "ledger", "ledger: must be a non-empty string"),
        (
            '[timesheets]\nteams = { ops = "Equity:Stats:Hours:X" }\nactivites = {}\n',
            "activites",
            "[timesheets] activites: unknown key (known: teams, activities, offset, date-format)",
        ),
        (
            '[timesheets]\nteams = { ops = "Equity:Stats:Hours:X" }\n',
            "[timesheets]",
            "[timesheets] activities: missing (required)",
        ),
        (
            "[timesheets]\nteams = { ops = 3 }\nactivities = {}\n",
            "teams",
            "[timesheets] teams.ops: must be a non-empty string, not 3",
        ),
        (
            '[timesheets]\nteams = { ops = "Equity:Stats:Hours:X" }\nactivities = { serving = "serving" }\n',
            "activities",
            "[timesheets] activities.serving: 'serving' must be one capitalised account component",
        ),
        ("[slurm]\nlabel = 'Partition'\nworkloads = {}\n", "label", "[slurm] label: must be one of"),
        ("[slurm]\nworkloads = {}\nexport-time = 'yesterday'\n", "export-time", "not a date-time"),
        ("[slurm]\nworkloads = {}\nperiod = '2026-1'\n", "period", "must be a month, YYYY-MM"),
        ("[slurm\n", None, "not valid TOML"),
    ],
)
def test_config_mistakes_name_file_table_key_and_line(
    tmp_path: Path, text: str, marker: str | None, message: str
) -> None:
    path = tmp_path / "imports.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        cli.build_importers(load_config(path))
    expected_place = f"{path}:{line_of(text, marker)}" if marker else str(path)
    assert str(raised.value).startswith(f"{expected_place}: ")
    assert message in str(raised.value)


def test_config_error_is_printed_as_one_located_line(close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (close / "imports.toml").write_text(CONFIG + "[usage-typo]\n")
    assert run(close, "extract", str(close / "feeds")) == 1
    err = capsys.readouterr().err
    line = line_of(CONFIG + "[usage-typo]", "usage-typo")
    assert err == (
        f"{close / 'imports.toml'}:{line}: usage-typo: unknown key or table "
        "(known: ledger, [usage], [timesheets], [slurm], [opencost], [focus])\n"
    )


def test_table_getters_refuse_wrong_types(tmp_path: Path) -> None:
    path = tmp_path / "imports.toml"
    path.write_text("[slurm]\nlabel = 3\n")
    table = Table.of(load_config(path), "slurm", ("label",))
    with pytest.raises(ConfigError, match=r"\[slurm\] label: must be a non-empty string, not 3"):
        table.string("label")


# --- keys -----------------------------------------------------------------------------------------


def driver(key: str, hours: str, lineno: int = 2, filename: str = "sheet.csv") -> data.Transaction:
    meta = {"filename": filename, "lineno": lineno, IMPORT_ID: key}
    postings = [
        data.Posting(
            "Equity:Stats:Hours:Ops:Serving", amount.Amount(Decimal(hours), "HOUR"), None, None, None, None
        ),
        data.Posting("Equity:Stats:Offset", amount.Amount(-Decimal(hours), "HOUR"), None, None, None, None),
    ]
    return data.Transaction(
        meta, datetime.date(2026, 11, 30), "*", "Timesheets", "", frozenset(), frozenset(), postings
    )


def test_import_id_joins_parts_and_refuses_ambiguous_ones() -> None:
    assert import_id("slurm", "2026-11", "orion-a") == "slurm/2026-11/orion-a"
    with pytest.raises(ValueError, match="contains '/'"):
        import_id("slurm", "2026-11", "a/b")
    with pytest.raises(ValueError, match="empty"):
        import_id("slurm", "", "a")


def test_same_id_same_figures_is_marked_duplicate_without_mutating() -> None:
    existing = [driver("timesheets/2026-11/Ops", "10", filename="books.beancount", lineno=40)]
    new = [driver("timesheets/2026-11/Ops", "10"), driver("timesheets/2026-12/Ops", "10")]
    marked = mark_duplicates(new, existing)
    assert marked[0].meta[DUPLICATE] is existing[0]
    assert DUPLICATE not in marked[1].meta
    assert all(DUPLICATE not in entry.meta for entry in new)


def test_same_id_other_figures_is_an_error_naming_both() -> None:
    existing = [driver("timesheets/2026-11/Ops", "10", filename="books.beancount", lineno=40)]
    with pytest.raises(FeedRejected) as raised:
        mark_duplicates([driver("timesheets/2026-11/Ops", "12", lineno=5)], existing)
    (problem,) = raised.value.problems
    assert (problem.filename, problem.row) == ("sheet.csv", 5)
    assert problem.message.startswith(
        "import-id 'timesheets/2026-11/Ops' is already at books.beancount:40 with different figures"
    )
    assert "Equity:Stats:Hours:Ops:Serving 10 HOUR" in problem.message
    assert "Equity:Stats:Hours:Ops:Serving 12 HOUR" in problem.message


# --- lab-import extract ---------------------------------------------------------------------------


def test_extract_then_append_then_extract_again_adds_nothing(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = close / "new.beancount"
    assert run(close, "extract", str(close / "feeds"), "-o", str(out)) == 0
    first = out.read_text()
    assert 'import-id: "timesheets/2026-11/Equity:Stats:Hours:DatacenterOps"' in first
    assert "  Equity:Stats:Hours:DatacenterOps:Serving    13.5 HOUR" in first
    # Append, as the monthly close does; the books stay clean.
    books = close / "books.beancount"
    books.write_text(books.read_text() + first)
    _, errors, _ = loader.load_file(str(books))
    assert errors == []
    # The same file again: every entry comes out commented, so appending it adds nothing.
    assert run(close, "extract", str(close / "feeds"), "-o", str(out)) == 0
    second = out.read_text()
    assert "; duplicate of" in second
    body = [line for line in second.splitlines() if line and not line.startswith((";", "****"))]
    assert body == []
    before = loader.load_file(str(books))[0]
    books.write_text(books.read_text() + second)
    assert len(loader.load_file(str(books))[0]) == len(before)
    assert capsys.readouterr().err == ""


def test_the_same_export_twice_in_one_run_is_counted_once(close: Path) -> None:
    (close / "feeds" / "copy.csv").write_text(SHEET)
    out = close / "new.beancount"
    assert run(close, "extract", str(close / "feeds"), "-o", str(out)) == 0
    text = out.read_text()
    assert text.count("\n2026-11-30 *") == 1
    assert text.count("; 2026-11-30 *") == 1


def test_overlapping_exports_that_disagree_are_an_error_and_nothing_is_written(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = SHEET + "2026-11-04,bob,ops,training,1\n"
    (close / "feeds" / "sheet-v2.csv").write_text(later)
    out = close / "new.beancount"
    out.write_text("previous output\n")
    assert run(close, "extract", str(close / "feeds"), "-o", str(out)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{close / 'feeds' / 'sheet.csv'}:2: import-id ")
    assert f"is already at {close / 'feeds' / 'sheet-v2.csv'}:2 with different figures" in err
    assert out.read_text() == "previous output\n"
    assert [path.name for path in close.iterdir() if path.name.startswith(".")] == []


def test_an_account_the_books_do_not_open_is_an_error_at_the_first_row_needing_it(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (close / "feeds" / "sheet.csv").write_text(SHEET + "2026-11-05,bob,ops,rollouts,3\n")
    assert run(close, "extract", str(close / "feeds")) == 1
    sheet = close / "feeds" / "sheet.csv"
    assert capsys.readouterr() == (
        "",
        f"{sheet}:5: account Equity:Stats:Hours:DatacenterOps:Rollouts is not opened in the books; "
        "add an `open` (or map the label to an opened account)\n",
    )


def test_a_hand_written_driver_of_the_same_month_is_an_overlap(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    books = close / "books.beancount"
    books.write_text(
        BOOKS
        + '\n2026-11-30 * "Timesheets" "November, typed in"\n'
        + "  Equity:Stats:Hours:DatacenterOps:Serving  13.5 HOUR\n"
        + "  Equity:Stats:Offset\n"
    )
    assert run(close, "extract", str(close / "feeds")) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{close / 'feeds' / 'sheet.csv'}:2: the books already post to "
        f"Equity:Stats:Hours:DatacenterOps:Serving in 2026-11 at {books}:6 (written by hand, no import-id); "
        "importing 'timesheets/2026-11/Equity:Stats:Hours:DatacenterOps' would count the month twice\n"
    )


def test_problems_of_every_file_are_listed_and_nothing_is_written(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (close / "feeds" / "a.csv").write_text(SHEET + "2026-11-06,cy,ops,serving,-1\n")
    (close / "feeds" / "b.csv").write_text(SHEET.replace("2026-11-03", "2026-11-31"))
    out = close / "new.beancount"
    assert run(close, "extract", str(close / "feeds"), "-o", str(out)) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{close / 'feeds' / 'a.csv'}:5: negative hours -1",
        f"{close / 'feeds' / 'b.csv'}:4: date '2026-11-31' does not parse as %Y-%m-%d",
    ]
    assert not out.exists()


def test_books_with_errors_are_refused(close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    books = close / "books.beancount"
    books.write_text(BOOKS + "2026-01-01 open Equity:Stats:Offset HOUR\n")
    assert run(close, "extract", str(close / "feeds")) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{books.resolve()}: the books have 1 error; fix them (bean-check) before importing:"
    assert err[1].startswith(f"{books}:5: ")


def test_a_file_no_importer_identifies_is_named(close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (close / "feeds" / "notes.csv").write_text("when,who,what\n")
    assert run(close, "extract", str(close / "feeds")) == 0
    captured = capsys.readouterr()
    assert captured.err == f"{close / 'feeds' / 'notes.csv'}: skipped: no configured importer identifies it\n"
    assert "2026-11-30 *" in captured.out


def test_a_defect_is_one_line_not_a_traceback(
    close: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("LAB_IMPORT_TRACEBACK", raising=False)
    monkeypatch.setattr(cli, "extract_all", broken)
    assert run(close, "extract", str(close / "feeds")) == 2
    err = capsys.readouterr().err
    assert err.startswith("lab-import: internal error (RuntimeError: boom); nothing was written.")
    assert "Traceback" not in err


def test_identify_names_the_importer(close: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(close, "identify", str(close / "feeds")) == 0
    assert "ailab_books.importers.timesheets" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("books", "reason"),
    [
        (
            BOOKS.replace(
                "2025-01-01 open Equity:Stats:Hours:DatacenterOps:Training",
                "2026-12-01 open Equity:Stats:Hours:DatacenterOps:Training",
            ),
            "is opened only on 2026-12-01, after 2026-11-30",
        ),
        (BOOKS + "2026-11-15 close Equity:Stats:Hours:DatacenterOps:Training\n", "is closed on 2026-11-15"),
        (
            BOOKS.replace("DatacenterOps:Training  HOUR", "DatacenterOps:Training  GPUH"),
            "is opened for GPUH, not HOUR",
        ),
    ],
)
def test_an_account_opened_too_late_closed_or_for_another_unit_is_an_error(
    close: Path, capsys: pytest.CaptureFixture[str], books: str, reason: str
) -> None:
    (close / "books.beancount").write_text(books)
    assert run(close, "extract", str(close / "feeds")) == 1
    assert capsys.readouterr().err == (
        f"{close / 'feeds' / 'sheet.csv'}:3: account Equity:Stats:Hours:DatacenterOps:Training {reason}\n"
    )


def test_a_file_that_is_not_utf8_is_refused_as_a_whole(
    close: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (close / "feeds" / "sheet.csv").write_bytes(
        SHEET.encode() + "2026-11-04,jos\xe9,ops,serving,1\n".encode("latin-1")
    )
    assert run(close, "extract", str(close / "feeds")) == 1
    assert (
        capsys.readouterr().err
        == f"{close / 'feeds' / 'sheet.csv'}: not UTF-8 text (invalid continuation byte)\n"
    )
