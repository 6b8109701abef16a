"""OpenCost / Kubecost allocation exports to `GPUH` drivers per cluster, workload and month.

Two forms of the same data:

- JSON, the allocation API's response as saved
  (`curl '.../allocation?window=lastmonth&aggregate=namespace&step=1d' > 2026-11.json`):
  `{"code": 200, "data": [{"<name>": {allocation}, ...}, ...]}`, one map per step;
  an allocation has `name`, `properties` (`cluster`, `namespace`, `labels`, ...),
  `window` `{start, end}` (RFC 3339), `gpuHours`, `gpuCount`.
- CSV, one allocation per row, with the allocation's field names as columns:
  `name, cluster, namespace, start, end, gpuHours` (other columns ignored).

The workload is `label` of the configuration: `name` (the aggregate's name, the
default), `namespace`, `controller`, `pod`, or `label:<key>` (a Kubernetes label;
in CSV, the column of that name), mapped by `[opencost.workloads]`. OpenCost's
own names (`__idle__`, `__unallocated__`, `__shared__`) are labels like any
other: map them (e.g. `__idle__` to the Idle driver) or the row is an error.

`gpuHours` is read as the decimal written (never through a float). An
allocation whose window crosses a month boundary is an error: OpenCost gives
its GPU-hours as one figure, and splitting them by time would be a guess. Query
with `step=1d` (or a window inside one month). An allocation of 0 GPU-hours
adds nothing and is skipped.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from beancount.core import data

from .base import FeedImporter
from .config import ImportConfig, Table
from .errors import FeedProblem, FeedRejected
from .gpuhours import PLACES, Usage, gpu_entries, next_month
from .rows import read_header, read_rows
from .slurm import check_workloads

PROPERTY_LABELS = ("name", "namespace", "controller", "pod", "node", "container")
CSV_COLUMNS = ("start", "end", "gpuHours")
SNIFF_BYTES = 65536


@dataclass(frozen=True)
class OpenCostSettings:
    label: str
    workloads: Mapping[str, str]
    cluster: str | None
    period: str | None
    offset: str


def opencost_settings(config: ImportConfig) -> OpenCostSettings:
    """The `[opencost]` table, checked (ConfigError)."""
    table = Table.of(config, "opencost", ("label", "workloads", "cluster", "period", "export-time", "offset"))
    label = table.string("label", "name")
    if label not in PROPERTY_LABELS and not (label.startswith("label:") and len(label) > len("label:")):
        raise table.error(
            "label", f"must be one of {', '.join(PROPERTY_LABELS)} or label:<key>, not {label!r}"
        )
    table.optional_datetime("export-time")  # accepted (lab-import --export-time sets it), not needed
    return OpenCostSettings(
        label=label,
        workloads=check_workloads(table),
        cluster=table.optional_string("cluster"),
        period=table.optional_period("period"),
        offset=table.string("offset", "Equity:Stats:Offset"),
    )


@dataclass(frozen=True)
class Allocation:
    """One allocation as read, before checks: where it is and its fields as text or values."""

    line: int | None
    where: str
    label: Any
    cluster: Any
    start: Any
    end: Any
    gpu_hours: Any


def parse_instant(value: Any) -> datetime.datetime | None:
    """An RFC 3339 time as a naive UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # an instant without an offset is ambiguous
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


class OpenCostImporter(FeedImporter):
    """OpenCost allocation exports (JSON or CSV) to GPU-hours per cluster, workload and month."""

    feed = "opencost"

    def __init__(self, config: ImportConfig) -> None:
        super().__init__(config)
        self.settings = opencost_settings(config)

    def identify(self, filepath: str) -> bool:
        if filepath.endswith(".json"):
            try:
                # utf-8-sig: a byte-order mark (PowerShell's, Notepad's) is no part of the JSON.
                with open(filepath, encoding="utf-8-sig") as file:
                    head = file.read(SNIFF_BYTES)
            except (OSError, UnicodeDecodeError):
                return False
            return head.lstrip().startswith("{") and '"data"' in head and '"window"' in head
        # gpuHours names OpenCost's CSV; a missing start or end is then an error at line 1.
        header = read_header(filepath)
        return header is not None and "gpuHours" in header

    def account(self, filepath: str) -> data.Account:
        return "Equity:Stats:GPUH"

    def exclusive_accounts(self, entry: data.Transaction) -> set[str]:
        return {posting.account for posting in entry.postings if posting.account != self.settings.offset}

    def extract_entries(self, filepath: str) -> list[data.Directive]:
        problems: list[FeedProblem] = []
        if filepath.endswith(".json"):
            allocations = self.read_json(filepath, problems)
        else:
            allocations = self.read_csv(filepath, problems)
        usages: list[Usage] = []
        seen: dict[tuple[str, str, str], str] = {}
        for allocation in allocations:
            usage = self.usage(filepath, allocation, problems)
            if usage is None:
                continue
            key = (str(allocation.label), str(allocation.cluster), str(allocation.start))
            if key in seen:
                problems.append(
                    FeedProblem(
                        filepath, allocation.line, f"{allocation.where}: the same allocation as {seen[key]}"
                    )
                )
                continue
            seen[key] = allocation.where
            if self.settings.period in (None, usage.period):
                usages.append(usage)
        if problems:
            raise FeedRejected(sorted(problems, key=lambda p: (p.row or 0, p.message)))
        return gpu_entries(self.feed, "GPU allocation", filepath, usages, self.settings.offset)

    def read_csv(self, filepath: str, problems: list[FeedProblem]) -> list[Allocation]:
        label = self.settings.label
        required = [*CSV_COLUMNS, label]
        if self.settings.cluster is None:
            required.append("cluster")
        rows, row_problems = read_rows(filepath, tuple(required))
        problems.extend(row_problems)
        return [
            Allocation(
                row.line,
                f"row {row.line}",
                row.fields[label],
                self.settings.cluster or row.fields["cluster"],
                row.fields["start"],
                row.fields["end"],
                row.fields["gpuHours"],
            )
            for row in rows
        ]

    def read_json(self, filepath: str, problems: list[FeedProblem]) -> list[Allocation]:
        try:
            text = Path(filepath).read_text(encoding="utf-8-sig")
            document = json.loads(text, parse_float=Decimal, object_pairs_hook=unique_keys)
        except (OSError, UnicodeDecodeError) as error:
            raise FeedRejected([FeedProblem(filepath, None, f"cannot read: {error}")]) from None
        except DuplicateKey as error:
            raise FeedRejected([FeedProblem(filepath, None, str(error))]) from None
        except json.JSONDecodeError as error:
            raise FeedRejected(
                [FeedProblem(filepath, error.lineno, f"not valid JSON: {error.msg}")]
            ) from None
        steps = document.get("data") if isinstance(document, dict) else None
        if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
            raise FeedRejected(
                [FeedProblem(filepath, None, 'not an allocation response: no "data" list of maps')]
            )
        if document.get("code", 200) != 200:
            raise FeedRejected([FeedProblem(filepath, None, f"the API answered code {document.get('code')}")])
        allocations: list[Allocation] = []
        position = 0
        for index, step in enumerate(steps):
            for name, allocation in step.items():
                position, line = locate(text, name, position)
                where = f"data[{index}][{name!r}]"
                if not isinstance(allocation, dict):
                    problems.append(FeedProblem(filepath, line, f"{where} is not an allocation object"))
                    continue
                window = allocation.get("window")
                window = window if isinstance(window, dict) else {}
                allocations.append(
                    Allocation(
                        line,
                        where,
                        self.json_label(name, allocation),
                        self.settings.cluster or properties(allocation).get("cluster"),
                        window.get("start", allocation.get("start")),
                        window.get("end", allocation.get("end")),
                        allocation.get("gpuHours"),
                    )
                )
        return allocations

    def json_label(self, name: str, allocation: dict[str, Any]) -> Any:
        label = self.settings.label
        if label == "name":
            return allocation.get("name", name)
        if label.startswith("label:"):
            labels = properties(allocation).get("labels")
            return labels.get(label[len("label:") :]) if isinstance(labels, dict) else None
        return properties(allocation).get(label)

    def usage(self, filepath: str, allocation: Allocation, problems: list[FeedProblem]) -> Usage | None:
        """The allocation as a Usage, None if it has no GPU-hours, or None with a problem per fault."""
        found: list[str] = []
        hours = parse_gpu_hours(allocation.gpu_hours, found)
        if hours is not None and hours == 0:
            return None
        start = parse_instant(allocation.start)
        end = parse_instant(allocation.end)
        if start is None:
            found.append(f"window start {allocation.start!r} is not an RFC 3339 time with an offset")
        if end is None:
            found.append(f"window end {allocation.end!r} is not an RFC 3339 time with an offset")
        if start is not None and end is not None:
            if end <= start:
                found.append(f"window end {allocation.end} is not after its start {allocation.start}")
            elif end > next_month(start):
                found.append(
                    f"window {allocation.start} to {allocation.end} crosses a month boundary: OpenCost gives "
                    "one figure for it; export with step=1d (or a window inside one month)"
                )
        label = allocation.label
        target = self.settings.workloads.get(label) if isinstance(label, str) else None
        if target is None:
            known = ", ".join(sorted(self.settings.workloads))
            found.append(
                f"unknown workload {label!r} in {self.settings.label} "
                f"(the [opencost] workloads table knows: {known})"
            )
        cluster = allocation.cluster
        if not isinstance(cluster, str) or not cluster or "/" in cluster:
            found.append(f"cluster {cluster!r} is missing, empty or contains '/' (set [opencost] cluster)")
        problems.extend(FeedProblem(filepath, allocation.line, f"{allocation.where}: {m}") for m in found)
        if found or hours is None or start is None or target is None or not isinstance(cluster, str):
            return None
        return Usage(allocation.line or 0, cluster, start.strftime("%Y-%m"), target, hours)


def properties(allocation: dict[str, Any]) -> dict[str, Any]:
    value = allocation.get("properties")
    return value if isinstance(value, dict) else {}


def parse_gpu_hours(value: Any, found: list[str]) -> Decimal | None:
    """gpuHours as a Decimal (JSON number or CSV text), >= 0, at most PLACES decimals."""
    if value is None or value == "":
        found.append("gpuHours is missing (null)")
        return None
    if isinstance(value, bool):
        found.append(f"gpuHours {value!r} is not a number")
        return None
    try:
        # Python's Decimal reads `1_000` as 1000: a digit separator, which no export writes.
        text_with_separator = isinstance(value, str) and "_" in value
        hours = Decimal(value) if isinstance(value, (str, int, Decimal)) and not text_with_separator else None
    except InvalidOperation:
        hours = None
    if hours is None or not hours.is_finite():
        found.append(f"gpuHours {value!r} is not a number")
        return None
    if hours < 0:
        found.append(f"negative gpuHours {value}")
        return None
    if hours != hours.quantize(Decimal(1).scaleb(-PLACES)):
        found.append(f"gpuHours {value} has more than {PLACES} decimal places")
        return None
    return hours


class DuplicateKey(ValueError):
    """A JSON object with one key twice (json.loads would silently keep the last)."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"the key {key!r} is written twice in one JSON object (one would be dropped)")
        result[key] = value
    return result


def locate(text: str, name: str, position: int) -> tuple[int, int | None]:
    """(next search position, 1-based line) of the allocation key `name` at or after `position`.

    The JSON parser keeps no positions; keys come in document order, so a forward
    search finds each one. None when the key is written with other escapes.
    """
    match = re.compile(re.escape(json.dumps(name)) + r"\s*:").search(text, position)
    if match is None:
        return position, None
    return match.end(), text.count("\n", 0, match.start()) + 1
