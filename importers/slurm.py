"""Slurm accounting (`sacct --parsable2`) to `GPUH` drivers per cluster, workload and month.

The export: a header line, then one line per job and per job step, fields
separated by `|` (`sacct -P`; run with `TZ=UTC` so times are UTC), e.g.
`TZ=UTC sacct -a -P -S 2026-11-01 -E 2026-12-01 -o JobID,Cluster,Account,Start,End,AllocTRES,State`.

- GPUs: `gres/gpu=N` in AllocTRES (a typed `gres/gpu:h100=N` beside it is the
  same GPUs, counted once; typed ones alone are summed). A row without GPUs
  (a CPU job, a pending job with blank AllocTRES) adds nothing and is skipped.
- Steps: only job rows count. A step (`JobID` with a `.`: `.batch`, `.extern`,
  `.0`) repeats GPUs its job row already holds (extern spans the whole
  allocation), so steps are skipped; a step whose job row is missing from the
  file is an error (the export was cut, and its GPUs would be lost).
- Workload: the column the configuration names (`label = "Account"`, `"QOS"` or
  `"Comment"`), mapped to an account by `[slurm.workloads]`.
- Months: a job is split between the months it spans by its seconds in each
  (gpuhours.split_gpu_hours, exact to 6 places and adding up). A running job
  (End `Unknown` or `None`) is cut at `export-time` (the configuration, or
  `lab-import extract --export-time`); without one it is an error, never `now`.
- Period: with `period = "2026-11"` (or `--period`), only that month's part of
  each job is kept: a job running into December is counted in November's close
  for its November hours only, and December's export brings the rest, under
  December's id. Without it every month of the file is extracted.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass

from beancount.core import account as accounts
from beancount.core import data

from .base import FeedImporter
from .config import ImportConfig, Table
from .errors import FeedProblem, FeedRejected
from .gpuhours import Usage, gpu_entries, split_gpu_hours
from .rows import Row, iter_rows, read_header

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
NO_TIME = ("Unknown", "None", "")
LABEL_COLUMNS = ("Account", "QOS", "Comment")


@dataclass(frozen=True)
class SlurmSettings:
    label: str
    workloads: Mapping[str, str]
    cluster: str | None
    export_time: datetime.datetime | None
    period: str | None
    offset: str


def check_workloads(table: Table) -> Mapping[str, str]:
    workloads = table.string_map("workloads")
    for name, target in workloads.items():
        if not accounts.is_valid(target):
            raise table.error(f"workloads.{name}", f"{target!r} is not an account name")
    return workloads


def slurm_settings(config: ImportConfig) -> SlurmSettings:
    """The `[slurm]` table, checked (ConfigError)."""
    table = Table.of(config, "slurm", ("label", "workloads", "cluster", "export-time", "period", "offset"))
    return SlurmSettings(
        label=table.choice("label", LABEL_COLUMNS, "Account"),
        workloads=check_workloads(table),
        cluster=table.optional_string("cluster"),
        export_time=table.optional_datetime("export-time"),
        period=table.optional_period("period"),
        offset=table.string("offset", "Equity:Stats:Offset"),
    )


SACCT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})?")


def parse_time(text: str) -> datetime.datetime:
    """sacct's `%FT%T` (UTC by the export's convention), or the same with an offset (a
    SLURM_TIME_FORMAT with `%z`), converted to UTC. ValueError otherwise."""
    if not SACCT_TIME.fullmatch(text):
        raise ValueError(text)
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def gpu_count(tres: str) -> int | None:
    """GPUs in an AllocTRES value (0 if none); None if the value is malformed."""
    plain: int | None = None
    typed = 0
    typed_seen: set[str] = set()
    if not tres:
        return 0
    for item in tres.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            return None
        if key == "gres/gpu" or key.startswith("gres/gpu:"):
            if not value.isdigit():
                return None
            if key == "gres/gpu":
                if plain is not None:
                    return None  # written twice: which one the job held is a guess
                plain = int(value)
            else:
                if key in typed_seen:
                    return None
                typed_seen.add(key)
                typed += int(value)
    return plain if plain is not None else typed


class SlurmImporter(FeedImporter):
    """`sacct --parsable2` exports to GPU-hours per cluster, workload and month."""

    feed = "slurm"

    def __init__(self, config: ImportConfig) -> None:
        super().__init__(config)
        self.settings = slurm_settings(config)

    def identify(self, filepath: str) -> bool:
        # A `|`-separated header naming JobID is sacct's; a missing column is then an error at line 1
        # (identifying only complete exports would skip a damaged one without a word).
        header = read_header(filepath, "|")
        return header is not None and len(header) > 1 and "JobID" in header

    def account(self, filepath: str) -> data.Account:
        return "Equity:Stats:GPUH"

    def exclusive_accounts(self, entry: data.Transaction) -> set[str]:
        return {posting.account for posting in entry.postings if posting.account != self.settings.offset}

    def required(self) -> tuple[str, ...]:
        columns = ["JobID", "Start", "End", "AllocTRES", self.settings.label]
        if self.settings.cluster is None:
            columns.append("Cluster")
        return tuple(columns)

    def extract_entries(self, filepath: str) -> list[data.Directive]:
        problems: list[FeedProblem] = []
        jobs: set[str] = set()
        orphans: list[tuple[int, str]] = []  # steps read before (or without) their job row
        seen: dict[tuple[str, str, str], int] = {}
        usages: list[Usage] = []
        cut: dict[str, dict[str, object]] = {}
        for row in iter_rows(filepath, self.required(), problems, "|"):
            job = row.fields["JobID"]
            if "." in job:
                if job.split(".", 1)[0] not in jobs:
                    orphans.append((row.line, job))
                continue
            jobs.add(job)
            key = (job, row.fields["Start"], row.fields.get("Cluster", ""))
            if key in seen:
                problems.append(
                    FeedProblem(filepath, row.line, f"job {job} written twice (also line {seen[key]})")
                )
                continue
            seen[key] = row.line
            usages.extend(self.usages(filepath, row, problems, cut))
        for line, step in orphans:
            parent = step.split(".", 1)[0]
            if parent not in jobs:
                problems.append(
                    FeedProblem(
                        filepath,
                        line,
                        f"step {step} without its job row {parent}: the export is cut "
                        "(steps are not counted, only job rows)",
                    )
                )
        if problems:
            raise FeedRejected(sorted(problems, key=lambda p: (p.row or 0, p.message)))
        return gpu_entries(self.feed, "GPU scheduler", filepath, usages, self.settings.offset, cut)

    def usages(
        self, filepath: str, row: Row, problems: list[FeedProblem], cut: dict[str, dict[str, object]]
    ) -> list[Usage]:
        """The row's GPU-hours per month, or nothing with a problem per thing wrong in it."""
        fields = row.fields
        found: list[str] = []
        gpus = gpu_count(fields["AllocTRES"])
        if gpus is None:
            problems.append(FeedProblem(filepath, row.line, f"malformed AllocTRES {fields['AllocTRES']!r}"))
            return []
        if gpus == 0 or fields["Start"] in NO_TIME:
            return []  # no GPU, or never started: no GPU-hours
        try:
            start = parse_time(fields["Start"])
        except ValueError:
            found.append(f"Start {fields['Start']!r} is not a time ({TIME_FORMAT})")
            start = None
        export_time = self.settings.export_time
        end: datetime.datetime | None = None
        running = fields["End"] in NO_TIME
        if running:
            if export_time is None:
                found.append(
                    f"job {fields['JobID']} is running (End {fields['End'] or 'empty'}) and no export "
                    "time is set: give [slurm] export-time or --export-time (when sacct ran, UTC)"
                )
            else:
                end = export_time
        else:
            try:
                end = parse_time(fields["End"])
            except ValueError:
                found.append(f"End {fields['End']!r} is not a time ({TIME_FORMAT})")
        if start is not None and end is not None:
            if end < start:
                what = "the export time" if running else f"End {fields['End']}"
                found.append(f"{what} is before Start {fields['Start']}")
            elif export_time is not None and not running and end > export_time:
                found.append(f"End {fields['End']} is after the export time {export_time.isoformat()}")
        label = fields[self.settings.label]
        target = self.settings.workloads.get(label)
        if target is None:
            known = ", ".join(sorted(self.settings.workloads))
            found.append(
                f"unknown workload {label!r} in {self.settings.label} "
                f"(the [slurm] workloads table knows: {known})"
            )
        cluster = self.settings.cluster if self.settings.cluster is not None else fields["Cluster"]
        if not cluster or "/" in cluster:
            found.append(f"cluster {cluster!r} is empty or contains '/'")
        problems.extend(FeedProblem(filepath, row.line, message) for message in found)
        if found or start is None or end is None or target is None or cluster is None:
            return []
        usages = [
            Usage(row.line, cluster, period, target, hours)
            for period, hours in split_gpu_hours(gpus, start, end)
            if hours and self.settings.period in (None, period)
        ]
        if running and export_time is not None and usages and usages[-1].period == f"{export_time:%Y-%m}":
            # The month the job was cut in says so (the months before it are complete).
            cut.setdefault(f"{cluster}/{usages[-1].period}", {})["cut-at"] = export_time.strftime(TIME_FORMAT)
        return usages
