"""FOCUS exports in Parquet (typed columns, as providers write them) read exactly as the CSV samples."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from beancount.parser import printer
from focus_helpers import GOOD_SAMPLES, SAMPLES, importer

from ailab_books.importers.errors import FeedRejected

duckdb = pytest.importorskip("duckdb")

TIMES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")


def to_parquet(csv_path: Path, target: Path, cost_type: str = "DECIMAL(38, 10)", where: str = "") -> Path:
    """The CSV sample as a typed Parquet file: costs as numbers, times as UTC timestamps, Tags as a map."""
    columns = [
        f"CAST(BilledCost AS {cost_type}) AS BilledCost",
        *(f"CAST({name} AS TIMESTAMPTZ) AS {name}" for name in TIMES),
        "CASE WHEN Tags IS NULL THEN NULL ELSE CAST(CAST(Tags AS JSON) AS MAP(VARCHAR, VARCHAR)) END AS Tags",
    ]
    query = (
        f"COPY (SELECT * REPLACE ({', '.join(columns)}) FROM read_csv(?, all_varchar = true) {where}) "
        f"TO '{target}' (FORMAT parquet)"
    )
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(query, [str(csv_path)])
    return target


def printed(entries: list[object]) -> list[str]:
    # The printer leaves out filename and lineno: what differs between the two files' entries.
    return [printer.format_entry(entry) for entry in entries]


@pytest.mark.parametrize("name", GOOD_SAMPLES)
def test_a_parquet_export_gives_the_csv_samples_entries(tmp_path: Path, name: str) -> None:
    document = to_parquet(SAMPLES / name, tmp_path / "bill.parquet")
    focus = importer()
    assert focus.identify(str(document))
    assert printed(focus.extract_entries(str(document))) == printed(
        focus.extract_entries(str(SAMPLES / name))
    )


def test_double_costs_are_read_as_their_text_and_the_invoice_still_adds_up(tmp_path: Path) -> None:
    document = to_parquet(SAMPLES / GOOD_SAMPLES[0], tmp_path / "bill.parquet", cost_type="DOUBLE")
    (entry,) = importer().extract_entries(str(document))
    (golden,) = importer().extract_entries(str(SAMPLES / GOOD_SAMPLES[0]))
    assert [p.units for p in entry.postings] == [p.units for p in golden.postings]
    assert abs(entry.meta["billed-cost"] - golden.meta["billed-cost"]) < Decimal("1e-6")


def test_a_bad_parquet_row_is_named_by_its_position(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    lines = (SAMPLES / GOOD_SAMPLES[0]).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",Usage,", ",Refund,", 1)
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    document = to_parquet(source, tmp_path / "bad.parquet")
    with pytest.raises(FeedRejected) as caught:
        importer().extract_entries(str(document))
    (problem,) = caught.value.problems
    assert (problem.filename, problem.row) == (str(document), 3)
    assert problem.message.startswith("row 3: ChargeCategory 'Refund' is not one of")


def test_a_parquet_export_without_a_needed_column_is_refused(tmp_path: Path) -> None:
    document = tmp_path / "no-tags.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT * EXCLUDE (Tags) FROM read_csv(?, all_varchar = true)) "
            f"TO '{document}' (FORMAT parquet)",
            [str(SAMPLES / GOOD_SAMPLES[0])],
        )
    with pytest.raises(FeedRejected) as caught:
        importer().extract_entries(str(document))
    assert [str(problem) for problem in caught.value.problems] == [f"{document}: missing column(s) Tags"]


def test_identify_refuses_parquet_that_is_not_focus_and_text_named_parquet(tmp_path: Path) -> None:
    other = tmp_path / "usage.parquet"
    with duckdb.connect() as connection:
        connection.execute(f"COPY (SELECT 1 AS tokens) TO '{other}' (FORMAT parquet)")
    fake = tmp_path / "fake.parquet"
    fake.write_text((SAMPLES / GOOD_SAMPLES[0]).read_text(encoding="utf-8"), encoding="utf-8")
    assert not importer().identify(str(other))
    assert not importer().identify(str(fake))
