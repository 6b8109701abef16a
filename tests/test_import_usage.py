"""The usage-metering importer on DuckDB: sums, weights, and every bad input refused with its file and row.

The golden outputs of the samples are checked by test_import_golden.py; the
Spark engine against DuckDB by test_import_usage_spark.py.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from beancount import loader
from beancount.core import data
from beangulp.extract import DUPLICATE

from ailab_books.importers import cli
from ailab_books.importers.config import ConfigError, load_config
from ailab_books.importers.errors import FeedProblem, FeedRejected
from ailab_books.importers.usage import UsageImporter, aggregate
from ailab_books.importers.usage_settings import UsageSettings, usage_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "importers" / "samples" / "usage"
SAMPLE_CSV = SAMPLES / "requests-2026-12.csv"
SAMPLE_PARQUET = SAMPLES / "requests-2026-11.parquet"
BOOKS = ROOT / "ledger" / "main.beancount"
HEADER = "timestamp,model,tier,customer,input_tokens,cached_input_tokens,output_tokens,requests\n"
GOOD = "2026-11-03T10:00:00Z,orion-4,api,acme,1000,200,300,1\n"

CONFIG = """
[usage]
{extra}
[usage.models]
"orion-4" = "Orion"
"wren-3" = "Wren"

[usage.tiers]
api = "API"
free = "Free"
"""


def settings(tmp_path: Path, extra: str = "") -> UsageSettings:
    path = tmp_path / "imports.toml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return usage_settings(load_config(path))


def write(tmp_path: Path, name: str, *rows: str, header: str = HEADER) -> str:
    path = tmp_path / name
    path.write_text(header + "".join(rows), encoding="utf-8")
    return str(path)


def parquet(tmp_path: Path, name: str, select: str) -> str:
    path = tmp_path / name
    with duckdb.connect() as connection:
        connection.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return str(path)


def rejected(sources: list[str], usage: UsageSettings) -> list[FeedProblem]:
    with pytest.raises(FeedRejected) as caught:
        aggregate(sources, usage)
    return caught.value.problems


def postings(entries: list[data.Directive]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for entry in entries:
        assert isinstance(entry, data.Transaction)
        for posting in entry.postings:
            assert posting.units is not None and posting.units.number is not None
            if posting.account != "Equity:Stats:Offset":
                result[f"{entry.date} {posting.account}"] = posting.units.number
    return result


# --- sums ------------------------------------------------------------------------------------------


def test_totals_equal_a_plain_python_sum_of_the_sample_csv() -> None:
    usage = usage_settings(load_config(ROOT / "importers" / "samples" / "imports.toml"))
    expected: dict[str, int] = defaultdict(int)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            assert row["timestamp"].startswith("2026-12-")
            account = (
                f"2026-12-31 Equity:Stats:Tokens:{usage.tiers[row['tier']]}:{usage.models[row['model']]}"
            )
            expected[account] += int(row["input_tokens"]) + int(row["output_tokens"])
            counts[(account, "cached-input-tokens")] += int(row["cached_input_tokens"])
            counts[(account, "requests")] += int(row["requests"])
    entries = aggregate([str(SAMPLE_CSV)], usage)
    assert postings(entries) == {account: Decimal(tokens) / 10**6 for account, tokens in expected.items()}
    for entry in entries:
        assert isinstance(entry, data.Transaction)
        posting = entry.postings[0]
        account = f"{entry.date} {posting.account}"
        assert posting.meta["cached-input-tokens"] == counts[(account, "cached-input-tokens")]
        assert posting.meta["requests"] == counts[(account, "requests")]
        assert posting.meta["tokens"] == "input + output"
        assert entry.postings[1].units == -posting.units


def test_entry_shape_ids_and_exact_weights(tmp_path: Path) -> None:
    usage = settings(tmp_path, '[usage.weights]\ninput = "1"\ncached-input = "0.1"\noutput = 3\n')
    log = write(tmp_path, "log.csv", GOOD, "2026-11-30T23:59:59Z,orion-4,api,acme,1,1,1,1\n")
    (entry,) = aggregate([log], usage)
    assert isinstance(entry, data.Transaction)
    assert entry.meta["import-id"] == "usage/2026-11/API/Orion"
    assert (entry.meta["filename"], entry.meta["lineno"]) == (log, 0)
    assert entry.narration == "Tokens served, API Orion, November 2026"
    posting = entry.postings[0]
    # 1001 + 0.1 * 201 + 3 * 301 tokens, divided by 10^6 exactly.
    assert posting.units is not None and posting.units.number == Decimal("0.0019241")
    assert str(posting.units.number) == "0.0019241"
    assert posting.meta["tokens"] == "input + 0.1 * cached-input + 3 * output"
    assert (posting.meta["filename"], posting.meta["lineno"]) == (log, 2)
    assert entry.postings[1].account == "Equity:Stats:Offset"


def test_months_are_utc_and_labels_are_trimmed(tmp_path: Path) -> None:
    log = write(
        tmp_path,
        "log.csv",
        "2026-12-01T00:30:00+01:00,orion-4,api,a,1000000,0,0,1\n",  # 23:30 UTC on 30 November
        "2026-12-01 00:00:00, wren-3 ,free,a,2000000,0,0,1\n",
    )
    assert postings(aggregate([log], settings(tmp_path))) == {
        "2026-11-30 Equity:Stats:Tokens:API:Orion": Decimal("1.000000"),
        "2026-12-31 Equity:Stats:Tokens:Free:Wren": Decimal("2.000000"),
    }


def test_several_files_and_globs_add_up_and_the_first_row_is_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    first = write(tmp_path, "lake/a.csv", GOOD)
    write(tmp_path, "lake/b.csv", GOOD, GOOD)
    pq = parquet(tmp_path, "lake/c.parquet", f"SELECT * FROM read_csv('{first}')")
    (entry,) = aggregate([str(tmp_path / "lake" / "*.csv"), pq], settings(tmp_path))
    assert isinstance(entry, data.Transaction)
    assert entry.postings[0].meta["input-tokens"] == 4000
    assert entry.postings[0].meta["rows"] == 4
    assert (entry.postings[0].meta["filename"], entry.postings[0].meta["lineno"]) == (first, 2)


# --- bad input -------------------------------------------------------------------------------------


def test_every_bad_row_is_named_with_its_file_and_line_and_nothing_is_extracted(tmp_path: Path) -> None:
    log = write(
        tmp_path,
        "log.csv",
        GOOD,
        "2026-11-03T10:00:00Z,orion-5,api,acme,1,1,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,pro,acme,1,1,1,1\n",
        "2026-11-03T10:00:00Z,,api,acme,1,1,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,,acme,1,1,1,1\n",
        "2026-11-31T10:00:00Z,orion-4,api,acme,1,1,1,1\n",
        ",orion-4,api,acme,1,1,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,api,acme,-5,1,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,api,acme,1.5,1,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,api,acme,1,1e3,1,1\n",
        "2026-11-03T10:00:00Z,orion-4,api,acme,1,1,,1\n",
        "2026-11-03T10:00:00Z,orion-4,api,acme,1,1,1,two\n",
    )
    assert rejected([log], settings(tmp_path)) == [
        FeedProblem(log, 3, "unknown model 'orion-5': map it to the books' model in [usage.models]"),
        FeedProblem(log, 4, "unknown tier 'pro': map it to the books' tier in [usage.tiers]"),
        FeedProblem(log, 5, "model is empty"),
        FeedProblem(log, 6, "tier is empty"),
        FeedProblem(
            log,
            7,
            "timestamp '2026-11-31T10:00:00Z' is not a date and time (ISO 8601, e.g. 2026-11-03T14:05:00Z)",
        ),
        FeedProblem(log, 8, "timestamp is empty"),
        FeedProblem(log, 9, "input_tokens is negative (-5)"),
        FeedProblem(log, 10, "input_tokens '1.5' is not a whole number"),
        FeedProblem(log, 11, "cached_input_tokens '1e3' is not a whole number"),
        FeedProblem(log, 12, "output_tokens is empty"),
        FeedProblem(log, 13, "requests 'two' is not a whole number"),
    ]


def test_the_first_problems_are_listed_with_a_count_of_the_rest(tmp_path: Path) -> None:
    bad = "2026-11-03T10:00:00Z,nova,api,acme,1,1,1,1\n"
    log = write(tmp_path, "log.csv", *([bad] * 25), GOOD)
    problems = rejected([log], settings(tmp_path))
    assert [problem.row for problem in problems[:20]] == list(range(2, 22))
    assert problems[20:] == [FeedProblem(log, None, "and 5 more bad rows (25 in all); nothing imported")]


def test_a_parquet_row_is_named_by_its_index(tmp_path: Path) -> None:
    log = parquet(
        tmp_path,
        "log.parquet",
        "SELECT TIMESTAMP '2026-11-01' + INTERVAL (i) HOUR AS timestamp, 'orion-4' AS model, "
        "CASE WHEN i = 6 THEN NULL ELSE 'api' END AS tier, i AS input_tokens, "
        "CASE WHEN i = 8 THEN -1 ELSE 0 END AS cached_input_tokens, 1 AS output_tokens, 1 AS requests "
        "FROM range(10) AS t(i)",
    )
    assert rejected([log], settings(tmp_path)) == [
        FeedProblem(log, 7, "row 7: tier is empty"),
        FeedProblem(log, 9, "row 9: cached_input_tokens is negative (-1)"),
    ]


def test_a_missing_column_or_a_float_column_refuses_the_file(tmp_path: Path) -> None:
    log = write(
        tmp_path, "log.csv", "2026-11-03,orion-4,1,1\n", header="timestamp,model,input_tokens,requests\n"
    )
    floats = parquet(
        tmp_path,
        "floats.parquet",
        "SELECT TIMESTAMP '2026-11-01' AS timestamp, 'orion-4' AS model, 'api' AS tier, 1.0::DOUBLE AS "
        "input_tokens, 0 AS cached_input_tokens, 1 AS output_tokens, 1 AS requests",
    )
    columns = "(the columns are: timestamp, model, input_tokens, requests)"
    assert rejected([log, floats], settings(tmp_path)) == [
        FeedProblem(log, None, f"missing column 'tier' {columns}"),
        FeedProblem(log, None, f"missing column 'cached_input_tokens' {columns}"),
        FeedProblem(log, None, f"missing column 'output_tokens' {columns}"),
        FeedProblem(floats, None, "column 'input_tokens' is DOUBLE: token and request counts are integers"),
    ]


def test_malformed_csv_lines_are_named_and_quoted_line_breaks_keep_the_editors_lines(tmp_path: Path) -> None:
    log = write(
        tmp_path,
        "log.csv",
        GOOD,
        "2026-11-03T10:00:00Z,orion-4,api,acme,1,1,1,1,extra\n",
        "\n",
        '2026-11-03T10:00:00Z,orion-4,api,"Acme\nLtd",1,1,1,1\n',
        "2026-11-03T10:00:00Z,orion-4,api,acme,1,1,1\n",
    )
    assert rejected([log], settings(tmp_path)) == [
        FeedProblem(log, 3, "9 fields, but the header has 8 columns"),
        FeedProblem(log, 4, "an empty line, but the header has 8 columns"),
        FeedProblem(log, 7, "7 fields, but the header has 8 columns"),
    ]
    spans = write(
        tmp_path,
        "spans.csv",
        '2026-11-03T10:00:00Z,orion-4,api,"Acme\nLtd",1,1,1,1\n',
        "2026-11-03T10:00:00Z,orion-4,pro,acme,1,1,1,1\n",
    )
    assert rejected([spans], settings(tmp_path)) == [
        FeedProblem(spans, 4, "unknown tier 'pro': map it to the books' tier in [usage.tiers]")
    ]


def test_an_empty_export_an_empty_glob_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.csv")
    assert rejected([empty], settings(tmp_path)) == [FeedProblem(empty, None, "the export has no rows")]
    pattern = str(tmp_path / "nothing" / "*.parquet")
    missing = str(tmp_path / "missing.csv")
    assert rejected([pattern, missing], settings(tmp_path)) == [
        FeedProblem(pattern, None, "no file matches this pattern"),
        FeedProblem(missing, None, "cannot read the file: No such file or directory"),
    ]


def test_an_account_the_books_do_not_open_is_named_at_its_first_row(tmp_path: Path) -> None:
    config = tmp_path / "imports.toml"
    config.write_text(
        f'ledger = "{BOOKS}"\n[usage]\n[usage.models]\n"orion-4" = "Orion"\n"nova-1" = "Nova"\n'
        '[usage.tiers]\napi = "API"\n',
        encoding="utf-8",
    )
    log = write(
        tmp_path, "log.csv", GOOD, GOOD.replace("orion-4", "nova-1"), GOOD.replace("orion-4", "nova-1")
    )
    books, errors, _ = loader.load_file(str(BOOKS))
    assert errors == []
    with pytest.raises(FeedRejected) as caught:
        UsageImporter(load_config(config)).extract(log, books)
    assert caught.value.problems == [
        FeedProblem(
            log,
            3,
            "account Equity:Stats:Tokens:API:Nova is not opened in the books; add an `open` "
            "(or map the label to an opened account)",
        )
    ]


# --- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "[usage.weights]\ncached-input = 0.1\n",
            "[usage] weights.cached-input: write the weight as a string",
        ),
        ('[usage.weights]\ncache = "1"\n', "[usage] weights.cache: unknown token kind"),
        ('[usage.weights]\ninput = "0"\n', "[usage] weights: no token kind counts"),
        ('[usage.weights]\ninput = "-1"\n', "[usage] weights.input: must be a finite number >= 0"),
        ('engine = "polars"\n', "[usage] engine: must be one of duckdb, spark"),
        ('memory-limit = "lots"\n', "[usage] memory-limit: must be a size"),
        ('tokens = "input"\n', "[usage] tokens: unknown key"),
    ],
)
def test_configuration_mistakes_are_named_at_table_and_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, extra)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "imports.toml") + ":")


def test_a_label_that_could_change_the_sql_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "imports.toml"
    path.write_text(
        '[usage]\n[usage.models]\n"o\'rion" = "Orion"\n[usage.tiers]\napi = "API"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"\[usage\] models.o'rion: a label may hold"):
        usage_settings(load_config(path))


# --- identify, dedup, lab-import ---------------------------------------------------------------------


def test_identify_reads_the_header_or_the_schema_not_the_name(tmp_path: Path) -> None:
    importer = UsageImporter(load_config(ROOT / "importers" / "samples" / "imports.toml"))
    assert importer.identify(str(SAMPLE_CSV)) and importer.identify(str(SAMPLE_PARQUET))
    timesheet = write(
        tmp_path, "usage.csv", "2026-11-02,ana,ops,serving,8\n", header="date,employee,team,activity,hours\n"
    )
    partial = parquet(tmp_path, "usage.parquet", "SELECT 1 AS input_tokens")
    assert not importer.identify(timesheet) and not importer.identify(partial)
    # A log that lost a column is still a log: identified, then refused with the missing column named.
    damaged = write(tmp_path, "damaged.csv", header="timestamp,model,input_tokens,output_tokens,requests\n")
    assert importer.identify(damaged)
    with pytest.raises(FeedRejected, match="missing column 'tier'"):
        importer.extract(damaged, [])


def test_importing_twice_adds_nothing_and_a_disagreeing_export_is_refused(tmp_path: Path) -> None:
    importer = UsageImporter(load_config(ROOT / "importers" / "samples" / "imports.toml"))
    first = importer.extract(str(SAMPLE_CSV), [])
    again = list(importer.extract(str(SAMPLE_CSV), []))
    importer.deduplicate(again, first)
    assert all(DUPLICATE in entry.meta for entry in again)
    # Another export of December with one more API Orion request: the same ids, other figures.
    other = tmp_path / "again.csv"
    other.write_text(SAMPLE_CSV.read_text() + "2026-12-31 23:00:00,orion-4,api,x,1,0,1,1\n", encoding="utf-8")
    different = list(importer.extract(str(other), []))
    with pytest.raises(FeedRejected, match="usage/2026-12/API/Orion' is already at"):
        importer.deduplicate(different, first)


def test_lab_import_extracts_the_samples_and_refuses_a_bad_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(ROOT / "importers" / "samples" / "imports.toml")
    output = tmp_path / "out.beancount"
    assert cli.main(["--config", config, "extract", str(SAMPLES), "-o", str(output)]) == 0
    assert output.read_text().count('import-id: "usage/') == 16
    (tmp_path / "bad").mkdir()
    bad = write(tmp_path, "bad/log.csv", GOOD, GOOD.replace("api", "pro"))
    refused = tmp_path / "refused.beancount"
    assert cli.main(["--config", config, "extract", str(tmp_path / "bad"), "-o", str(refused)]) == 1
    assert not refused.exists()
    assert f"{bad}:3: unknown tier 'pro'" in capsys.readouterr().err


def test_a_month_the_books_hold_by_hand_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "imports.toml"
    config.write_text(
        f'ledger = "{BOOKS}"\n[usage]\n[usage.models]\n"orion-4" = "Orion"\n[usage.tiers]\napi = "API"\n',
        encoding="utf-8",
    )
    log = write(tmp_path, "log.csv", GOOD.replace("2026-11-", "2026-10-"))
    books, errors, _ = loader.load_file(str(BOOKS))
    assert errors == []
    importer = UsageImporter(load_config(config))
    entries = importer.extract(log, books)
    with pytest.raises(FeedRejected) as caught:
        importer.deduplicate(entries, books)
    (problem,) = caught.value.problems
    assert (problem.filename, problem.row) == (log, 2)
    assert "the books already post to Equity:Stats:Tokens:API:Orion in 2026-10" in problem.message


def test_a_byte_that_is_not_utf8_is_named_at_its_line_and_a_bom_is_no_part_of_the_header(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((HEADER + GOOD + GOOD.replace("acme", "Soci\xe9t\xe9")).encode("latin-1"))
    assert rejected([str(bad)], settings(tmp_path)) == [
        FeedProblem(str(bad), 3, "not UTF-8 text (the byte b'\\xe9')")
    ]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(("\ufeff" + HEADER + GOOD + "2026-11-03T10:00:00\r\n").encode("utf-8"))
    with pytest.raises(FeedRejected) as caught:
        aggregate([str(bom)], settings(tmp_path))
    assert caught.value.problems == [FeedProblem(str(bom), 3, "1 field, but the header has 8 columns")]
    bom.write_bytes(("\ufeff" + HEADER + GOOD).encode("utf-8"))
    assert len(aggregate([str(bom)], settings(tmp_path))) == 1


def test_duckdb_draws_no_progress_bar_on_stdout_where_the_entries_go() -> None:
    from ailab_books.importers.usage_engines import DuckDBEngine

    engine = DuckDBEngine()
    try:
        assert engine.rows("SELECT current_setting('enable_progress_bar')") == [(False,)]
        assert engine.rows("SELECT current_setting('TimeZone')") == [("UTC",)]
    finally:
        engine.close()


def test_a_period_keeps_its_month_and_still_checks_every_row(tmp_path: Path) -> None:
    usage = settings(tmp_path, 'period = "2026-11"\n')
    log = write(tmp_path, "log.csv", GOOD, GOOD.replace("2026-11-03", "2026-12-03"))
    assert [entry.meta["import-id"] for entry in aggregate([log], usage)] == ["usage/2026-11/API/Orion"]
    bad = write(tmp_path, "bad.csv", GOOD, GOOD.replace("2026-11-03", "2026-12-03").replace("api", "pro"))
    assert rejected([bad], usage) == [
        FeedProblem(bad, 3, "unknown tier 'pro': map it to the books' tier in [usage.tiers]")
    ]
    with pytest.raises(ConfigError, match=r"\[usage\] period: must be a month, YYYY-MM"):
        settings(tmp_path, 'period = "November"\n')
