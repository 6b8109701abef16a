"""Slurm sacct --parsable2 -> GPUH per cluster, workload and month: splits, rounding, steps, running jobs."""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from beancount.core import data
from helpers import line_of
from hypothesis import given
from hypothesis import strategies as st

from ailab_books.importers import cli
from ailab_books.importers.config import load_config
from ailab_books.importers.errors import FeedRejected
from ailab_books.importers.gpuhours import apportion, split_gpu_hours
from ailab_books.importers.slurm import SlurmImporter, gpu_count

CONFIG = """\
[slurm]
label = "Account"
export-time = 2026-12-01T06:00:00

[slurm.workloads]
pretrain = "Equity:Stats:GPUH:Training:Orion"
evals = "Equity:Stats:GPUH:Evals"
"""
HEADER = "JobID|Cluster|Account|QOS|Comment|Start|End|AllocTRES\n"


def importer(tmp_path: Path, config: str = CONFIG) -> SlurmImporter:
    path = tmp_path / "imports.toml"
    path.write_text(config)
    return SlurmImporter(load_config(path))


def export(tmp_path: Path, rows: str, header: str = HEADER) -> str:
    path = tmp_path / "sacct.txt"
    path.write_text(header + rows)
    return str(path)


def figures(entries: list[data.Directive]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """{(import-id, date): {account: GPUH}}."""
    result: dict[tuple[str, str], dict[str, Decimal]] = {}
    for entry in entries:
        assert isinstance(entry, data.Transaction)
        amounts: dict[str, Decimal] = {}
        for posting in entry.postings:
            assert posting.units is not None and posting.units.number is not None
            assert posting.units.currency == "GPUH"
            amounts[posting.account] = posting.units.number
        result[(entry.meta["import-id"], entry.date.isoformat())] = amounts
    return result


def problems(
    tmp_path: Path, rows: str, config: str = CONFIG, header: str = HEADER
) -> list[tuple[int | None, str]]:
    path = export(tmp_path, rows, header)
    with pytest.raises(FeedRejected) as raised:
        importer(tmp_path, config).extract_entries(path)
    assert {problem.filename for problem in raised.value.problems} == {path}
    return [(problem.row, problem.message) for problem in raised.value.problems]


def test_a_job_across_a_month_end_is_split_by_its_hours_in_each(tmp_path: Path) -> None:
    rows = "7|orion-a|pretrain|||2026-11-30T18:00:00|2026-12-01T02:00:00|cpu=8,gres/gpu=256,node=32\n"
    entries = importer(tmp_path).extract_entries(export(tmp_path, rows))
    assert figures(entries) == {
        ("slurm/2026-11/orion-a", "2026-11-30"): {
            "Equity:Stats:GPUH:Training:Orion": Decimal("1536.000000"),
            "Equity:Stats:Offset": Decimal("-1536.000000"),
        },
        ("slurm/2026-12/orion-a", "2026-12-31"): {
            "Equity:Stats:GPUH:Training:Orion": Decimal("512.000000"),
            "Equity:Stats:Offset": Decimal("-512.000000"),
        },
    }


def test_month_parts_add_up_to_the_jobs_rounded_hours(tmp_path: Path) -> None:
    # 1 GPU for 1 s in November and 2 s in December: each part rounded on its own, 0.000278 + 0.000556
    # = 0.000834, but the job's 3 s are 0.000833 GPUH. Largest remainder: 0.000278 + 0.000555.
    parts = split_gpu_hours(
        1, datetime.datetime(2026, 11, 30, 23, 59, 59), datetime.datetime(2026, 12, 1, 0, 0, 2)
    )
    assert parts == [("2026-11", Decimal("0.000278")), ("2026-12", Decimal("0.000555"))]
    assert sum(hours for _, hours in parts) == Decimal("0.000833")


@given(
    gpus=st.integers(1, 4096),
    start=st.datetimes(datetime.datetime(2026, 1, 1), datetime.datetime(2027, 1, 1)),
    seconds=st.integers(1, 200 * 86400),
)
def test_split_is_exact_to_six_places_and_adds_up(gpus: int, start: datetime.datetime, seconds: int) -> None:
    start = start.replace(microsecond=0)
    end = start + datetime.timedelta(seconds=seconds)
    parts = split_gpu_hours(gpus, start, end)
    exact = Fraction(gpus * seconds, 3600)
    total = sum((hours for _, hours in parts), Decimal(0))
    assert abs(Fraction(total) - exact) <= Fraction(1, 2 * 10**6)
    assert all(hours.as_tuple().exponent == -6 for _, hours in parts)
    assert [month for month, _ in parts] == sorted({month for month, _ in parts})


def test_apportion_hands_the_rounding_to_the_largest_remainders() -> None:
    # Three thirds of a millionth: 0.000001 together, given to the first of the tied remainders.
    assert apportion([1, 1, 1], 3) == [Decimal("0.000001"), Decimal("0.000000"), Decimal("0.000000")]
    # 2.5 millionths: the total rounds half to even (2), the larger remainder takes the unit.
    assert apportion([3, 2], 2) == [Decimal("0.000001"), Decimal("0.000001")]
    assert apportion([1, 6], 2) == [Decimal("0.000001"), Decimal("0.000003")]  # 3.5 -> 4


def test_steps_are_not_counted_only_job_rows(tmp_path: Path) -> None:
    rows = (
        "9|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T10:00:00|cpu=64,gres/gpu=16\n"
        "9.batch|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T10:00:00|cpu=8,gres/gpu=8\n"
        "9.extern|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T10:00:00|cpu=64,gres/gpu=16\n"
        "9.0|orion-a|pretrain|||2026-11-01T00:00:01|2026-11-01T09:59:59|cpu=64,gres/gpu=16\n"
    )
    entries = importer(tmp_path).extract_entries(export(tmp_path, rows))
    assert (
        figures(entries)[("slurm/2026-11/orion-a", "2026-11-30")]["Equity:Stats:GPUH:Training:Orion"] == 160
    )


def test_a_step_without_its_job_row_is_an_error(tmp_path: Path) -> None:
    rows = "9.0|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T10:00:00|gres/gpu=16\n"
    assert problems(tmp_path, rows) == [
        (2, "step 9.0 without its job row 9: the export is cut (steps are not counted, only job rows)")
    ]


def test_a_running_job_is_cut_at_the_export_time(tmp_path: Path) -> None:
    rows = "10|orion-a|evals|||2026-11-30T22:00:00|Unknown|gres/gpu=8\n"
    entries = importer(tmp_path).extract_entries(export(tmp_path, rows))
    assert figures(entries) == {
        ("slurm/2026-11/orion-a", "2026-11-30"): {
            "Equity:Stats:GPUH:Evals": Decimal("16.000000"),
            "Equity:Stats:Offset": Decimal("-16.000000"),
        },
        ("slurm/2026-12/orion-a", "2026-12-31"): {
            "Equity:Stats:GPUH:Evals": Decimal("48.000000"),
            "Equity:Stats:Offset": Decimal("-48.000000"),
        },
    }
    assert "cut-at" not in entries[0].meta  # November is complete
    assert entries[1].meta["cut-at"] == "2026-12-01T06:00:00"


def test_a_running_job_without_an_export_time_is_an_error_not_now(tmp_path: Path) -> None:
    config = CONFIG.replace("export-time = 2026-12-01T06:00:00\n", "")
    rows = (
        "10|orion-a|evals|||2026-11-30T22:00:00|Unknown|gres/gpu=8\n"
        "11|orion-a|evals|||2026-11-30T22:00:00|None|gres/gpu=8\n"
    )
    assert problems(tmp_path, rows, config) == [
        (
            2,
            "job 10 is running (End Unknown) and no export time is set: give [slurm] export-time or "
            "--export-time (when sacct ran, UTC)",
        ),
        (
            3,
            "job 11 is running (End None) and no export time is set: give [slurm] export-time or "
            "--export-time (when sacct ran, UTC)",
        ),
    ]


def test_export_time_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = CONFIG.replace("export-time = 2026-12-01T06:00:00\n", "")
    (tmp_path / "imports.toml").write_text(config)
    path = export(tmp_path, "10|orion-a|evals|||2026-11-30T22:00:00|Unknown|gres/gpu=8\n")
    args = ["--config", str(tmp_path / "imports.toml"), "extract", path]
    assert cli.main(args) == 1
    assert "no export time is set" in capsys.readouterr().err
    assert cli.main([*args, "--export-time", "2026-12-01T00:00:00", "--period", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "Equity:Stats:GPUH:Evals   16.000000 GPUH" in out
    assert "2026-12-31" not in out


def test_period_keeps_one_month_of_each_job(tmp_path: Path) -> None:
    rows = "7|orion-a|pretrain|||2026-11-30T18:00:00|2026-12-01T02:00:00|gres/gpu=256\n"
    config = CONFIG.replace("[slurm]\n", '[slurm]\nperiod = "2026-12"\n')
    entries = importer(tmp_path, config).extract_entries(export(tmp_path, rows))
    assert list(figures(entries)) == [("slurm/2026-12/orion-a", "2026-12-31")]


def test_every_bad_row_is_reported_at_its_line(tmp_path: Path) -> None:
    rows = (
        "1|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"
        "2|orion-a|finetune|||2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"  # unknown label
        "3|orion-a|pretrain|||2026-11-01 00:00|2026-11-01T01:00:00|gres/gpu=8\n"  # bad Start
        "4|orion-a|pretrain|||2026-11-01T02:00:00|2026-11-01T01:00:00|gres/gpu=8\n"  # End before Start
        "5|orion-a|pretrain|||2026-11-01T00:00:00|2026-12-02T00:00:00|gres/gpu=8\n"  # after the export
        "6|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=eight\n"  # bad TRES
        "7|orion-a|pretrain|||2026-11-01T00:00:00\n"  # malformed
        "1|orion-a|pretrain|||2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"  # written twice
        "8||pretrain|||2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"  # no cluster
    )
    assert problems(tmp_path, rows) == [
        (3, "unknown workload 'finetune' in Account (the [slurm] workloads table knows: evals, pretrain)"),
        (4, "Start '2026-11-01 00:00' is not a time (%Y-%m-%dT%H:%M:%S)"),
        (5, "End 2026-11-01T01:00:00 is before Start 2026-11-01T02:00:00"),
        (6, "End 2026-12-02T00:00:00 is after the export time 2026-12-01T06:00:00"),
        (7, "malformed AllocTRES 'gres/gpu=eight'"),
        (8, "malformed row: 6 fields where the header has 8"),
        (9, "job 1 written twice (also line 2)"),
        (10, "cluster '' is empty or contains '/'"),
    ]


def test_label_from_qos_or_comment(tmp_path: Path) -> None:
    rows = "1|orion-a|someone|evals|pretrain|2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"
    by_qos = importer(tmp_path, CONFIG.replace('label = "Account"', 'label = "QOS"'))
    by_comment = importer(tmp_path, CONFIG.replace('label = "Account"', 'label = "Comment"'))
    path = export(tmp_path, rows)
    assert (
        "Equity:Stats:GPUH:Evals"
        in figures(by_qos.extract_entries(path))[("slurm/2026-11/orion-a", "2026-11-30")]
    )
    assert (
        "Equity:Stats:GPUH:Training:Orion"
        in figures(by_comment.extract_entries(path))[("slurm/2026-11/orion-a", "2026-11-30")]
    )


def test_jobs_without_gpus_or_never_started_add_nothing(tmp_path: Path) -> None:
    rows = (
        "1|orion-a|data-prep|||2026-11-01T00:00:00|2026-11-01T01:00:00|billing=64,cpu=64,mem=256G,node=1\n"
        "2|orion-a|evals|||Unknown|Unknown|\n"
        "3|orion-a|evals|||None|2026-11-01T01:00:00|gres/gpu=8\n"
    )
    assert importer(tmp_path).extract_entries(export(tmp_path, rows)) == []


def test_gpu_count_counts_typed_gres_once() -> None:
    assert gpu_count("billing=448,cpu=448,gres/gpu:a100=16,gres/gpu=16,mem=4127810M,node=2") == 16
    assert gpu_count("gres/gpu:a100=8,gres/gpu:h100=4") == 12
    assert gpu_count("cpu=4,mem=1G") == 0
    assert gpu_count("") == 0
    assert gpu_count("gres/gpu") is None


def test_missing_columns_reject_the_file(tmp_path: Path) -> None:
    header = "JobID|Account|Start|End|AllocTRES\n"
    assert problems(tmp_path, "", header=header) == [
        (1, "missing column(s) Cluster (header: JobID, Account, Start, End, AllocTRES)")
    ]
    with_cluster = CONFIG.replace("[slurm]\n", '[slurm]\ncluster = "orion-a"\n')
    rows = "1|pretrain|2026-11-01T00:00:00|2026-11-01T01:00:00|gres/gpu=8\n"
    entries = importer(tmp_path, with_cluster).extract_entries(export(tmp_path, rows, header))
    assert list(figures(entries)) == [("slurm/2026-11/orion-a", "2026-11-30")]


def test_identify_needs_the_sacct_header(tmp_path: Path) -> None:
    reader = importer(tmp_path)
    assert reader.identify(export(tmp_path, ""))
    other = tmp_path / "other.txt"
    other.write_text("JobID,Start,End,AllocTRES\n")
    assert not reader.identify(str(other))
    other.write_text(
        "JobID|Cluster|Account|Start|End\n1|orion-a|evals|2026-11-01T00:00:00|2026-11-01T01:00:00\n"
    )
    assert reader.identify(str(other))
    with pytest.raises(FeedRejected) as raised:
        reader.extract_entries(str(other))
    assert [(p.row, p.message) for p in raised.value.problems] == [
        (1, "missing column(s) AllocTRES (header: JobID, Cluster, Account, Start, End)")
    ]


def test_a_month_the_books_already_hold_by_hand_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example books type in October 2026's GPU-hours; a Slurm export of October would count them twice.
    root = Path(__file__).resolve().parent.parent
    config = root / "importers" / "samples" / "imports.toml"
    feed = root / "importers" / "samples" / "slurm" / "sacct-2026-11.txt"
    october = tmp_path / "sacct-2026-10.txt"
    october.write_text(
        feed.read_text().replace("2026-11-", "2026-10-").replace("2026-12-01T0", "2026-11-01T0")
    )
    assert cli.main(["--config", str(config), "extract", str(october), "--period", "2026-10"]) == 1
    err = capsys.readouterr().err.splitlines()
    drivers = root / "ledger" / "drivers.beancount"
    october_gpuh = line_of(drivers, '"GPU-hours by workload, October 2026"')
    expected = {
        f"{october}:{line}: the books already post to {account} in 2026-10 at {drivers}:{october_gpuh} "
        f"(written by hand, no import-id); importing 'slurm/2026-10/{cluster}' would count the month twice"
        for line, account, cluster in [
            (8, "Equity:Stats:GPUH:Rollouts", "orion-a"),
            # (no row 2: Orion's training ended before October, so the books hold no Training:Orion then)
            (6, "Equity:Stats:GPUH:Training:Wren", "orion-a"),
            (10, "Equity:Stats:GPUH:Evals", "orion-b"),
            (16, "Equity:Stats:GPUH:Training:Wren", "orion-b"),
        ]
    }
    assert set(err) == expected


def test_times_with_an_offset_are_read_in_utc(tmp_path: Path) -> None:
    rows = "1|orion-a|pretrain|||2026-12-01T01:00:00+0200|2026-12-01T03:00:00+0200|gres/gpu=1\n"
    entries = importer(tmp_path).extract_entries(export(tmp_path, rows))
    assert figures(entries) == {
        ("slurm/2026-11/orion-a", "2026-11-30"): {
            "Equity:Stats:GPUH:Training:Orion": Decimal("1.000000"),
            "Equity:Stats:Offset": Decimal("-1.000000"),
        },
        ("slurm/2026-12/orion-a", "2026-12-31"): {
            "Equity:Stats:GPUH:Training:Orion": Decimal("1.000000"),
            "Equity:Stats:Offset": Decimal("-1.000000"),
        },
    }


@given(
    jobs=st.lists(
        st.tuples(
            st.integers(0, 64),
            st.datetimes(datetime.datetime(2026, 10, 1), datetime.datetime(2027, 2, 1)),
            st.integers(0, 90 * 86400),
            st.sampled_from(["pretrain", "evals"]),
        ),
        max_size=30,
    )
)
def test_posted_hours_are_each_jobs_hours_to_six_places(
    tmp_path_factory: pytest.TempPathFactory, jobs: list[tuple[int, datetime.datetime, int, str]]
) -> None:
    """The totals a reader computes from the raw rows (GPUs x elapsed / 3600 per job, rounded to 6
    places) are what the entries post, per workload, over all months."""
    tmp_path = tmp_path_factory.mktemp("jobs")
    config = CONFIG.replace("export-time = 2026-12-01T06:00:00", "export-time = 2027-06-01T00:00:00")
    rows = ""
    expected: dict[str, Decimal] = {
        "Equity:Stats:GPUH:Training:Orion": Decimal(0),
        "Equity:Stats:GPUH:Evals": Decimal(0),
    }
    accounts = {"pretrain": "Equity:Stats:GPUH:Training:Orion", "evals": "Equity:Stats:GPUH:Evals"}
    for number, (gpus, start, seconds, label) in enumerate(jobs):
        start = start.replace(microsecond=0)
        end = start + datetime.timedelta(seconds=seconds)
        rows += (
            f"{number}|orion-a|{label}|||{start:%Y-%m-%dT%H:%M:%S}|{end:%Y-%m-%dT%H:%M:%S}|gres/gpu={gpus}\n"
        )
        exact = Fraction(gpus * seconds, 3600)
        expected[accounts[label]] += Decimal(round(exact * 10**6)).scaleb(-6)
    entries = importer(tmp_path, config).extract_entries(export(tmp_path, rows))
    posted = {account: Decimal(0) for account in expected}
    for amounts in figures(entries).values():
        assert sum(amounts.values()) == 0
        for account, number in amounts.items():
            if account != "Equity:Stats:Offset":
                posted[account] += number
    assert posted == expected
