"""The lab-report CLI: formats, period filters, error exits, CSV round trip."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from test_queries import write_books

from ailab_books.queries.report import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "ledger" / "main.beancount"
D = Decimal


CLASSIFY_LINE = 'plugin "ailab_books.plugins.classify"'


def write_report_books(tmp_path: Path, *, include_queries: bool = True) -> Path:
    """The hand-worked books of test_queries, loaded as lab-report requires: with
    the classify plugin (they hold no allocation rule, so allocate is not needed)."""
    main = write_books(tmp_path, include_queries=include_queries)
    text = main.read_text(encoding="utf-8")
    if CLASSIFY_LINE not in text and CLASSIFY_LINE not in (tmp_path / "books.beancount").read_text():
        main.write_text(f"{CLASSIFY_LINE}\n{text}", encoding="utf-8")
    return main


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report_books(tmp_path_factory.mktemp("report"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_summary_table_lines_up(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, err = run(capsys, str(books))
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "month",
        "million_tokens",
        "revenue",
        "inference_cogs",
        "gross_margin",
        "gross_margin_per_mtok",
        "all_costs",
        "net_margin",
        "net_margin_per_mtok",
    ]
    # hand-worked in test_queries: Jan gross 120.00 (2.4/Mtok), net -40.00 (-0.8/Mtok)
    assert lines[2].split() == [
        "2025-01",
        "50.00",
        "275.00",
        "155.00",
        "120.00",
        "2.400000",
        "315.00",
        "-40.00",
        "-0.800000",
    ]
    # Feb: no tokens, empty per-token cells
    assert lines[3].split() == ["2025-02", "0.00", "0.00", "5.00", "-5.00", "215.00", "-215.00"]
    assert lines[-1].split() == [
        "Total",
        "130.00",
        "740.00",
        "334.50",
        "405.50",
        "3.119231",
        "917.83",
        "-177.83",
        "-1.367923",
    ]
    # right-aligned numbers: every revenue cell ends in the header's last column
    end = lines[0].index("revenue") + len("revenue")
    assert all(line[end - 1] == "0" for line in lines[2:])
    assert len({len(line) for line in lines[1:3]}) == 1


def test_csv_round_trips_through_pandas(
    capsys: pytest.CaptureFixture[str], books: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    status, out, _ = run(capsys, str(books), "--format", "csv", "--output", str(target))
    assert status == 0 and out == ""
    frame = pd.read_csv(target, dtype=str, keep_default_na=False)
    assert list(frame["month"]) == ["2025-01", "2025-02", "2025-03", "Total"]
    assert [D(v) for v in frame["net_margin"]] == [D("-40.00"), D("-215.00"), D("77.17"), D("-177.83")]
    assert frame["gross_margin_per_mtok"][1] == ""
    numeric = pd.read_csv(target)
    assert numeric["revenue"].sum() == pytest.approx(2 * 740.00)
    assert numeric["gross_margin_per_mtok"].isna().tolist() == [False, True, False, False]


def test_json_decimals_are_strings(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, _ = run(capsys, str(books), "--format", "json", "--query", "net-margin-total")
    assert status == 0
    assert json.loads(out) == [
        {
            "million_tokens": "130.00",
            "revenue": "740.00",
            "all_costs": "917.83",
            "net_margin": "-177.83",
            "net_margin_per_mtok": "-1.367923",
            "full_cost_per_mtok": "7.060231",
        }
    ]


def test_markdown(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, _ = run(capsys, str(books), "--format", "markdown", "--from", "2025-03")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("| month | million_tokens |")
    assert lines[1].startswith("|:---|---:|")
    assert lines[2] == (
        "| 2025-03 | 80.00 | 465.00 | 174.50 | 290.50 | 3.631250 | 387.83 | 77.17 | 0.964625 |"
    )
    assert lines[3].startswith("| Total | 80.00 | 465.00 |")


def test_periods_quarters_inclusive(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    _, out, _ = run(capsys, str(books), "--format", "csv", "--from", "2025-Q1", "--to", "2025-02")
    frame = pd.read_csv(io.StringIO(out), dtype=str)
    assert list(frame["month"]) == ["2025-01", "2025-02", "Total"]
    assert frame["net_margin"].iloc[-1] == "-255.00"  # -40 - 215


def test_by_model_rows_add_up(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, _ = run(capsys, str(books), "--by", "model", "--format", "csv")
    assert status == 0
    frame = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    months = frame[frame["month"] != "Total"]
    assert sum(D(v) for v in months["net_margin"]) == D("-177.83")
    assert sum(D(v) for v in months["overhead"]) == D("583.33")  # 160 + 210 + 213.33
    last = frame.iloc[-1]
    assert (last["month"], last["model"], last["net_margin"]) == ("Total", "(all)", "-177.83")
    orion = frame[(frame["month"] == "2025-03") & (frame["model"] == "Orion")].iloc[0]
    assert (orion["overhead"], orion["net_margin"], orion["net_margin_per_mtok"]) == (
        "106.67",
        "170.33",
        "4.258250",
    )


def test_by_tier(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, _ = run(capsys, str(books), "--by", "tier", "--format", "csv", "--to", "2025-01")
    assert status == 0
    frame = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    free = frame[(frame["month"] == "2025-01") & (frame["tier"] == "Free")].iloc[0]
    # Free Jan: gross -20.00, overhead 160 * 10/50 = 32.00, net -52.00, -5.2/Mtok
    assert (free["gross_margin"], free["overhead"], free["net_margin"], free["net_margin_per_mtok"]) == (
        "-20.00",
        "32.00",
        "-52.00",
        "-5.200000",
    )


def test_query_and_list(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, _ = run(capsys, str(books), "--query", "gpu-hours-by-workload", "--from", "2025-03")
    assert status == 0 and out.splitlines()[2].split()[:3] == ["2025", "3", "80"]
    status, out, _ = run(capsys, str(books), "--list", "--format", "csv")
    frame = pd.read_csv(io.StringIO(out))
    assert {"gross-margin-per-mtok", "net-margin-per-mtok", "allocation-audit", "cost-stack"} <= set(
        frame["name"]
    )
    assert frame["description"].str.len().min() > 10


def test_unknown_query_exits_2(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, err = run(capsys, str(books), "--query", "no-such-query")
    assert status == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no-such-query" in err


@pytest.mark.parametrize("period", ["2025-13", "2025-Q5", "March", "2025-3"])
def test_bad_period_exits_2(capsys: pytest.CaptureFixture[str], books: Path, period: str) -> None:
    status, _, err = run(capsys, str(books), "--from", period)
    assert status == 2 and err.strip().count("\n") == 0 and "period" in err


def test_reversed_period_exits_2(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, _, err = run(capsys, str(books), "--from", "2025-03", "--to", "2025-01")
    assert status == 2 and "after" in err


def test_ledger_errors_exit_1_with_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.beancount"
    bad.write_text(
        f"{CLASSIFY_LINE}\n"
        "2025-01-01 open Assets:Bank USD\n"
        "\n"
        '2025-01-05 * "Unbalanced"\n'
        "  Assets:Bank   10.00 USD\n"
        "  Expenses:Unopened  -5.00 USD\n"
    )
    status, out, err = run(capsys, str(bad))
    assert status == 1 and out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines and all(line.startswith(f"{bad}:") for line in lines)
    assert any(line.startswith(f"{bad}:4: ") for line in lines)


def test_missing_ledger_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, str(tmp_path / "nope.beancount"))
    assert status == 1 and "nope.beancount:0: ledger file not found" in err


def test_unwritable_output_exits_1(capsys: pytest.CaptureFixture[str], books: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "report.csv"
    assert main([str(books), "--format", "csv", "--output", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"lab-report: cannot write {target}: No such file or directory"


def test_python_m_queries_subprocess(books: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "queries", str(books), "--format", "csv", "--query", "gross-margin-total"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "130.00,740.00,334.50,405.50,3.119231,5.692308,2.573077"
    bad = subprocess.run(
        [sys.executable, "-m", "queries", str(books), "--query", "nope"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


# --------------------------------------------------------------------------- lab-report's smaller traps
# Each is one line on stderr, a non-zero exit, and nothing written.


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def own_books(tmp_path: Path) -> Path:
    """A private copy of the books, for tests that change them or try to write over
    them; without the include of queries/*.beancount, so that the report takes the
    package's saved queries for any name the books do not define."""
    return write_report_books(tmp_path, include_queries=False)


@pytest.mark.parametrize(
    "target",
    [
        "books.beancount",  # an included file
        "main.beancount",  # the main file
        "sub/../books.beancount",  # the same file by another path
        "link.csv",  # a link to a file of the books
    ],
)
def test_output_never_overwrites_the_books(
    capsys: pytest.CaptureFixture[str], own_books: Path, target: str
) -> None:
    folder = own_books.parent
    (folder / "sub").mkdir()
    (folder / "link.csv").symlink_to(folder / "books.beancount")
    before = {path.name: path.read_bytes() for path in folder.glob("*.beancount")}
    status, out, err = run(capsys, str(own_books), "--format", "csv", "--output", str(folder / target))
    assert (status, out) == (2, "")
    wanted = "main.beancount" if target == "main.beancount" else "books.beancount"
    line = one_line(err)
    assert line.startswith(f"lab-report: --output {folder / target} is a file of the books (")
    assert line.endswith(f"{wanted}); refusing to write over it")
    assert {path.name: path.read_bytes() for path in folder.glob("*.beancount")} == before


def test_output_never_overwrites_the_shipped_queries(
    capsys: pytest.CaptureFixture[str], own_books: Path
) -> None:
    # The package's saved queries fill in any name the books lack: they are part of the books too.
    target = ROOT / "queries" / "margins.beancount"
    before = target.read_bytes()
    status, _, err = run(capsys, str(own_books), "--output", str(target))
    assert status == 2 and "is a file of the books" in one_line(err)
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "first_line"),
    [
        ("report.csv", "month,million_tokens,revenue,"),
        ("report.md", "| month | million_tokens |"),
        ("report.json", "["),
        ("report.txt", "month    million_tokens"),
    ],
)
def test_output_format_follows_the_extension(
    capsys: pytest.CaptureFixture[str], books: Path, tmp_path: Path, name: str, first_line: str
) -> None:
    target = tmp_path / name
    status, out, err = run(capsys, str(books), "--output", str(target))
    assert (status, out, err) == (0, "", "")
    assert target.read_text(encoding="utf-8").startswith(first_line)


def test_output_format_contradicting_the_extension_is_refused(
    capsys: pytest.CaptureFixture[str], books: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    status, out, err = run(capsys, str(books), "--format", "table", "--output", str(target))
    assert (status, out) == (2, "")
    assert one_line(err) == (
        f"lab-report: --format table does not match --output {target} (csv); drop one of them"
    )
    assert not target.exists()


def redefine(books: Path, query: str) -> tuple[Path, int]:
    """Append ``query`` (a query directive) to the books; return the file and its line."""
    text = (books.parent / "books.beancount").read_text(encoding="utf-8")
    lineno = text.count("\n") + 2
    (books.parent / "books.beancount").write_text(text + "\n" + query + "\n", encoding="utf-8")
    return books.parent / "books.beancount", lineno


def test_redefined_query_without_the_columns_is_a_located_error(
    capsys: pytest.CaptureFixture[str], own_books: Path
) -> None:
    where, lineno = redefine(
        own_books,
        '2025-01-01 query "gross-margin-per-mtok" "SELECT yearmonth(date) AS period, '
        "sum(number) AS gross WHERE account ~ '^Income:' GROUP BY 1\"",
    )
    target = own_books.parent / "report.csv"
    status, out, err = run(capsys, str(own_books), "--output", str(target))
    assert (status, out) == (1, "")
    assert one_line(err) == (
        f"lab-report: {where}:{lineno}: saved query gross-margin-per-mtok lacks the column(s) "
        "year, month, million_tokens, inference_cogs that this report reads (it has: period, gross)"
    )
    assert not target.exists()
    status, _, err = run(capsys, str(own_books), "--by", "model")
    assert status == 1 and f"{where}:{lineno}: saved query gross-margin-per-mtok lacks" in one_line(err)
    # --query prints it as it is; with a period it cannot be filtered, and says so.
    status, _, err = run(capsys, str(own_books), "--query", "gross-margin-per-mtok", "--from", "2025-03")
    assert status == 1
    assert one_line(err).startswith(
        f"lab-report: {where}:{lineno}: saved query gross-margin-per-mtok: --from/--to need year and "
        "month columns, and it has only period, gross"
    )


def test_redefined_query_with_text_for_a_number_is_a_located_error(
    capsys: pytest.CaptureFixture[str], own_books: Path
) -> None:
    where, lineno = redefine(
        own_books,
        '2025-01-01 query "net-margin-per-mtok" "SELECT year, month, str(year) AS million_tokens, '
        "sum(number) AS revenue, sum(number) AS all_costs WHERE account ~ '^Income:' GROUP BY 1, 2, 3\"",
    )
    status, _, err = run(capsys, str(own_books))
    assert status == 1
    assert one_line(err) == (
        f"lab-report: {where}:{lineno}: saved query net-margin-per-mtok: column million_tokens "
        "holds '2025', not a number"
    )


def test_redefined_query_with_two_rows_a_month_is_a_located_error(
    capsys: pytest.CaptureFixture[str], own_books: Path
) -> None:
    # One row per month and currency: summing or keeping the last would both be wrong.
    where, lineno = redefine(
        own_books,
        '2025-01-01 query "net-margin-per-mtok" "SELECT year, month, account, sum(number) AS million_tokens, '
        "sum(number) AS revenue, sum(number) AS all_costs WHERE account ~ '^Income:' GROUP BY 1, 2, 3\"",
    )
    status, _, err = run(capsys, str(own_books))
    assert status == 1
    assert one_line(err) == (
        f"lab-report: {where}:{lineno}: saved query net-margin-per-mtok: two rows for 2025-01; "
        "the report needs one per month"
    )


def test_query_defined_twice_is_a_located_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # These books include queries/*.beancount, which defines net-margin-total too.
    books = write_report_books(tmp_path)
    where, lineno = redefine(
        books,
        '2024-06-01 query "net-margin-total" "SELECT sum(number) AS revenue WHERE account ~ \'^Income:\'"',
    )
    status, out, err = run(capsys, str(books), "--query", "net-margin-total")
    assert (status, out) == (1, "")
    line = one_line(err)
    # Entries sort by date: the earlier (2024-06-01) definition comes first.
    assert re.fullmatch(
        r".*/queries/margins\.beancount:\d+: saved query \"net-margin-total\" is defined twice "
        rf"\(first at {re.escape(str(where))}:{lineno}\); rename or remove one",
        line,
    ), line


@pytest.mark.parametrize(
    "text",
    ["", 'option "operating_currency" "USD"\n2025-01-01 open Assets:Bank USD\n'],
)
def test_no_transactions_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> None:
    empty = tmp_path / "empty.beancount"
    empty.write_text(text, encoding="utf-8")
    target = tmp_path / "report.csv"
    for argv in ([], ["--by", "tier"], ["--query", "gross-margin-total"]):
        status, out, err = run(capsys, str(empty), *argv, "--output", str(target))
        assert (status, out) == (1, "")
        assert one_line(err) == f"lab-report: {empty} has no transactions: nothing to report"
        assert not target.exists()


@pytest.mark.parametrize("view", [[], ["--by", "model"]])
def test_period_without_months_says_so(
    capsys: pytest.CaptureFixture[str], books: Path, view: list[str]
) -> None:
    status, out, err = run(capsys, str(books), *view, "--from", "2030-01")
    assert (status, out) == (1, "")
    assert one_line(err) == (
        "lab-report: no month with revenue, costs or tokens from 2030-01 to the end: nothing to report"
    )
    status, _, err = run(capsys, str(books), *view, "--from", "2024-01", "--to", "2024-Q4")
    assert one_line(err).endswith("from 2024-01 to 2024-12: nothing to report")


def test_query_with_period_needs_year_and_month(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, out, err = run(capsys, str(books), "--query", "gross-margin-total", "--to", "2025-01")
    assert (status, out) == (1, "")
    line = one_line(err)
    assert re.match(r"lab-report: .*/queries/margins\.beancount:\d+: saved query gross-margin-total: ", line)
    assert "(for a period's totals, leave out --query: the report's Total row)" in line


def test_unknown_query_suggests_a_name(capsys: pytest.CaptureFixture[str], books: Path) -> None:
    status, _, err = run(capsys, str(books), "--query", "Gross-Margin-Per-MTok")
    assert status == 2
    assert one_line(err) == (
        'lab-report: no saved query named "Gross-Margin-Per-MTok"; did you mean "gross-margin-per-mtok"? '
        "(see --list)"
    )


def test_folder_for_ledger(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, str(tmp_path))
    assert status == 1 and one_line(err) == f"{tmp_path}:0: is a folder; give the ledger's main file"


def test_closed_pipe_is_not_a_traceback() -> None:
    # `lab-report --query allocation-audit | head -1`: the reader stops early,
    # with most of the output (over 1 MB, far more than a pipe holds) unread.
    proc = subprocess.Popen(
        [sys.executable, "-m", "ailab_books.queries", str(EXAMPLE), "--query", "allocation-audit"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 0
    assert first.startswith(b"pool ")
    assert err == ""


def test_output_dash_is_stdout(
    capsys: pytest.CaptureFixture[str], books: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, str(books), "--format", "csv", "--output", "-")
    assert (status, err) == (0, "")
    assert out.startswith("month,million_tokens,")
    assert not (tmp_path / "-").exists()
