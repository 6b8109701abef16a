"""Timesheets CSV -> monthly HOUR drivers per team and activity; every bad row located."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
from helpers import line_of
from hypothesis import given
from hypothesis import strategies as st

from ailab_books.importers.config import load_config
from ailab_books.importers.errors import FeedRejected
from ailab_books.importers.timesheets import TimesheetImporter

CONFIG = """\
[timesheets]
teams = { ops = "Equity:Stats:Hours:DatacenterOps", "research eng" = "Equity:Stats:Hours:ResearchEng" }
activities = { serving = "Serving", training = "Training", rollouts = "Rollouts" }
"""


def importer(tmp_path: Path, config: str = CONFIG) -> TimesheetImporter:
    path = tmp_path / "imports.toml"
    path.write_text(config)
    return TimesheetImporter(load_config(path))


def sheet(tmp_path: Path, text: str, name: str = "sheet.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def postings(entry: data.Directive) -> dict[str, Decimal]:
    assert isinstance(entry, data.Transaction)
    result: dict[str, Decimal] = {}
    for posting in entry.postings:
        assert posting.units is not None and posting.units.number is not None
        assert posting.units.currency == "HOUR"
        result[posting.account] = posting.units.number
    return result


def problems(tmp_path: Path, text: str, config: str = CONFIG) -> list[tuple[int | None, str]]:
    path = sheet(tmp_path, text)
    with pytest.raises(FeedRejected) as raised:
        importer(tmp_path, config).extract_entries(path)
    assert {problem.filename for problem in raised.value.problems} == {path}
    return [(problem.row, problem.message) for problem in raised.value.problems]


def test_rows_become_one_entry_per_month_and_team(tmp_path: Path) -> None:
    text = (
        "date,employee,team,activity,hours\n"
        "2026-11-02,ann,ops,serving,6\n"
        "2026-11-02,ann,ops,training,2.25\n"
        "2026-11-03,bob,ops,serving,7.5\n"
        "2026-11-03,cy,research eng,training,8\n"
        "2026-12-01,ann,ops,rollouts,4\n"
    )
    path = sheet(tmp_path, text)
    entries = importer(tmp_path).extract_entries(path)
    assert [(e.date.isoformat(), e.meta["import-id"], e.meta["lineno"]) for e in entries] == [
        ("2026-11-30", "timesheets/2026-11/Equity:Stats:Hours:DatacenterOps", 2),
        ("2026-11-30", "timesheets/2026-11/Equity:Stats:Hours:ResearchEng", 5),
        ("2026-12-31", "timesheets/2026-12/Equity:Stats:Hours:DatacenterOps", 6),
    ]
    assert postings(entries[0]) == {
        "Equity:Stats:Hours:DatacenterOps:Serving": Decimal("13.5"),
        "Equity:Stats:Hours:DatacenterOps:Training": Decimal("2.25"),
        "Equity:Stats:Offset": Decimal("-15.75"),
    }
    assert isinstance(entries[0], data.Transaction)
    assert entries[0].narration == "DatacenterOps hours by activity, November 2026 (2 staff)"
    assert entries[0].meta["rows"] == Decimal(3)
    # The row behind each posting, for errors about its account.
    assert [p.meta["lineno"] for p in entries[0].postings[:2]] == [2, 3]


def test_hours_sum_exactly_as_decimals(tmp_path: Path) -> None:
    rows = "".join(f"2026-11-{day:02d},ann,ops,serving,0.1\n" for day in range(1, 31))
    entries = importer(tmp_path).extract_entries(
        sheet(tmp_path, "date,employee,team,activity,hours\n" + rows)
    )
    assert postings(entries[0])["Equity:Stats:Hours:DatacenterOps:Serving"] == Decimal("3.0")


def test_columns_in_any_order_and_extra_columns(tmp_path: Path) -> None:
    text = "hours,activity,note,team,employee,date\n6,serving,,ops,ann,2026-11-02\n"
    entries = importer(tmp_path).extract_entries(sheet(tmp_path, text))
    assert postings(entries[0])["Equity:Stats:Hours:DatacenterOps:Serving"] == Decimal(6)


def test_date_format_from_the_configuration(tmp_path: Path) -> None:
    config = CONFIG + 'date-format = "%d/%m/%Y"\n'
    text = "date,employee,team,activity,hours\n02/11/2026,ann,ops,serving,6\n"
    entries = importer(tmp_path, config).extract_entries(sheet(tmp_path, text))
    assert entries[0].date.isoformat() == "2026-11-30"


def test_every_bad_row_is_reported_at_its_line(tmp_path: Path) -> None:
    text = (
        "date,employee,team,activity,hours\n"
        "2026-11-02,ann,ops,serving,6\n"
        "2026-11-02,ann,ops,serving\n"  # malformed: 4 fields
        "2026-11-02,bob,ops,serving,-2\n"  # negative
        "2026-11-02,bob,ops,cleaning,2\n"  # unknown activity
        "2026-11-02,bob,finance,serving,2\n"  # unknown team
        "2026-11-31,bob,ops,serving,2\n"  # no such day
        "11/02/2026,bob,ops,serving,2\n"  # another format
        "2026-11-02,bob,ops,serving,two\n"  # not a number
        "2026-11-02,,ops,serving,1\n"  # no employee
        "2026-11-02,bob,ops,serving,NaN\n"  # not a number either
    )
    assert problems(tmp_path, text) == [
        (3, "malformed row: 4 fields where the header has 5"),
        (4, "negative hours -2"),
        (
            5,
            "unknown activity 'cleaning' "
            "(the [timesheets] activities table knows: rollouts, serving, training)",
        ),
        (6, "unknown team 'finance' (the [timesheets] teams table knows: ops, research eng)"),
        (7, "date '2026-11-31' does not parse as %Y-%m-%d"),
        (8, "date '11/02/2026' does not parse as %Y-%m-%d"),
        (9, "hours 'two' is not a number"),
        (10, "no employee"),
        (11, "hours 'NaN' is not a number"),
    ]


def test_a_person_over_24_hours_in_a_day_is_an_error_at_each_of_the_rows(tmp_path: Path) -> None:
    text = (
        "date,employee,team,activity,hours\n"
        "2026-11-02,ann,ops,serving,14\n"
        "2026-11-02,bob,ops,serving,14\n"
        "2026-11-02,ann,ops,training,10.5\n"
        "2026-11-03,ann,ops,training,24\n"
    )
    message = "ann is booked 24.5 hours on 2026-11-02 (over 24; rows 2, 4)"
    assert problems(tmp_path, text) == [(2, message), (4, message)]


def test_a_missing_column_rejects_the_file_at_its_header(tmp_path: Path) -> None:
    text = "date,employee,team,hours\n2026-11-02,ann,ops,6\n"
    path = sheet(tmp_path, text)
    assert importer(tmp_path).identify(path)
    assert problems(tmp_path, text) == [
        (1, "missing column(s) activity (header: date, employee, team, hours)")
    ]


def test_a_column_written_twice_is_refused(tmp_path: Path) -> None:
    text = "date,employee,team,activity,hours,hours\n2026-11-02,ann,ops,serving,6,7\n"
    assert problems(tmp_path, text) == [(1, "column(s) hours written twice")]


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(tmp_path: Path) -> None:
    text = (
        'date,employee,team,activity,hours\n\n2026-11-02,"ann\nokafor",ops,serving,6\n'
        ",,,,\n2026-11-02,bob,ops,x,1\n"
    )
    assert problems(tmp_path, text) == [
        (
            line_of(text, "bob"),
            "unknown activity 'x' (the [timesheets] activities table knows: rollouts, serving, training)",
        )
    ]


def test_identify_reads_the_header_not_the_name(tmp_path: Path) -> None:
    reader = importer(tmp_path)
    assert reader.identify(sheet(tmp_path, "date,employee,team,activity,hours\n", "export.txt"))
    assert not reader.identify(sheet(tmp_path, "date,amount,payee\n", "timesheet.csv"))
    assert not reader.identify(sheet(tmp_path, "", "empty.csv"))
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert not reader.identify(str(binary))


def test_header_names_in_any_case(tmp_path: Path) -> None:
    text = "Date,Employee,Team,Activity,Hours\n2026-11-02,ann,ops,serving,6\n"
    reader = importer(tmp_path)
    path = sheet(tmp_path, text)
    assert reader.identify(path)
    assert postings(reader.extract_entries(path)[0])["Equity:Stats:Hours:DatacenterOps:Serving"] == Decimal(6)


@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 60),
            st.sampled_from(["ann", "bob", "cy"]),
            st.sampled_from(["serving", "training", "rollouts"]),
            st.decimals(0, 8, places=2),
        ),
        max_size=40,
    )
)
def test_posted_hours_are_the_rows_summed(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, str, str, Decimal]]
) -> None:
    """What a reader sums from the raw rows, per month and activity, is what the entries post."""
    tmp_path = tmp_path_factory.mktemp("sheet")
    text = "date,employee,team,activity,hours\n"
    expected: dict[tuple[str, str], Decimal] = {}
    for number, (day, employee, activity, hours) in enumerate(rows):
        date = datetime.date(2026, 11, 1) + datetime.timedelta(days=day)
        text += f"{date},{employee}-{number},ops,{activity},{hours}\n"  # a person a row: never over 24
        key = (f"{date:%Y-%m}", f"Equity:Stats:Hours:DatacenterOps:{activity.capitalize()}")
        expected[key] = expected.get(key, Decimal(0)) + hours
    entries = importer(tmp_path).extract_entries(sheet(tmp_path, text))
    posted: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        amounts = postings(entry)
        assert sum(amounts.values()) == 0
        for account, number in amounts.items():
            if account != "Equity:Stats:Offset":
                posted[(f"{entry.date:%Y-%m}", account)] = number
    assert posted == expected
