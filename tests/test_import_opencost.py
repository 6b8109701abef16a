"""OpenCost allocation exports (JSON response or CSV) -> GPUH per cluster, workload and month."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount.core import data
from helpers import line_of

from ailab_books.importers.config import load_config
from ailab_books.importers.errors import FeedRejected
from ailab_books.importers.opencost import OpenCostImporter

CONFIG = """\
[opencost]
label = "name"

[opencost.workloads]
serve-api = "Equity:Stats:GPUH:Serving:API-Orion"
__idle__ = "Equity:Stats:GPUH:Idle"
"""


def importer(tmp_path: Path, config: str = CONFIG) -> OpenCostImporter:
    path = tmp_path / "imports.toml"
    path.write_text(config)
    return OpenCostImporter(load_config(path))


def allocation(
    name: str, gpu_hours: Any, start: str = "2026-11-01T00:00:00Z", end: str = "2026-11-02T00:00:00Z"
) -> dict[str, Any]:
    return {
        "name": name,
        "properties": {"cluster": "k8s-a", "namespace": name, "labels": {"app": name.upper()}},
        "window": {"start": start, "end": end},
        "gpuCount": 1,
        "gpuHours": gpu_hours,
    }


def response(tmp_path: Path, *steps: dict[str, Any]) -> str:
    path = tmp_path / "allocation.json"
    path.write_text(json.dumps({"code": 200, "data": list(steps)}, indent=2))
    return str(path)


def figures(entries: list[data.Directive]) -> dict[str, dict[str, Decimal]]:
    result: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        assert isinstance(entry, data.Transaction)
        result[entry.meta["import-id"]] = {
            p.account: p.units.number
            for p in entry.postings
            if p.units is not None and p.units.number is not None
        }
    return result


def problems(tmp_path: Path, path: str, config: str = CONFIG) -> list[tuple[int | None, str]]:
    with pytest.raises(FeedRejected) as raised:
        importer(tmp_path, config).extract_entries(path)
    assert {problem.filename for problem in raised.value.problems} == {path}
    return [(problem.row, problem.message) for problem in raised.value.problems]


def test_steps_add_up_per_cluster_and_month_as_written(tmp_path: Path) -> None:
    day_two = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}
    path = response(
        tmp_path,
        {"serve-api": allocation("serve-api", 23.99999), "__idle__": allocation("__idle__", 0.1)},
        {
            "serve-api": allocation("serve-api", 24, **day_two),
            "__idle__": allocation("__idle__", 0.2, **day_two),
        },
        {"serve-api": allocation("serve-api", 5, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")},
    )
    assert figures(importer(tmp_path).extract_entries(path)) == {
        "opencost/2026-11/k8s-a": {
            "Equity:Stats:GPUH:Idle": Decimal("0.3"),
            "Equity:Stats:GPUH:Serving:API-Orion": Decimal("47.99999"),
            "Equity:Stats:Offset": Decimal("-48.29999"),
        },
        "opencost/2026-12/k8s-a": {
            "Equity:Stats:GPUH:Serving:API-Orion": Decimal(5),
            "Equity:Stats:Offset": Decimal(-5),
        },
    }


def test_label_from_a_kubernetes_label_and_the_period(tmp_path: Path) -> None:
    config = CONFIG.replace('label = "name"', 'label = "label:app"\nperiod = "2026-12"').replace(
        "serve-api =", "SERVE-API ="
    )
    path = response(
        tmp_path,
        {"serve-api": allocation("serve-api", 2)},
        {"serve-api": allocation("serve-api", 5, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")},
    )
    assert figures(importer(tmp_path, config).extract_entries(path)) == {
        "opencost/2026-12/k8s-a": {
            "Equity:Stats:GPUH:Serving:API-Orion": Decimal(5),
            "Equity:Stats:Offset": Decimal(-5),
        }
    }


def test_bad_allocations_are_located_at_their_line_in_the_json(tmp_path: Path) -> None:
    path = response(
        tmp_path,
        {
            "serve-api": allocation("serve-api", 1),
            "serve-new": allocation("serve-new", 1),
            "__idle__": allocation("__idle__", None),
        },
        {
            "serve-api": allocation("serve-api", -3, "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
            "__idle__": allocation("__idle__", 1, "2026-11-25T00:00:00Z", "2026-12-02T00:00:00Z"),
        },
    )
    text = Path(path).read_text()
    assert problems(tmp_path, path) == [
        (
            line_of(text, '"serve-new": {'),
            "data[0]['serve-new']: unknown workload 'serve-new' in name "
            "(the [opencost] workloads table knows: __idle__, serve-api)",
        ),
        (line_of(text, '"__idle__": {'), "data[0]['__idle__']: gpuHours is missing (null)"),
        (line_of(text, '"serve-api": {', 2), "data[1]['serve-api']: negative gpuHours -3"),
        (
            line_of(text, '"__idle__": {', 2),
            "data[1]['__idle__']: window 2026-11-25T00:00:00Z to 2026-12-02T00:00:00Z crosses a month "
            "boundary: OpenCost gives one figure for it; export with step=1d (or a window inside one month)",
        ),
    ]


def test_a_key_written_twice_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "allocation.json"
    one = json.dumps(allocation("serve-api", 1))
    path.write_text('{"code": 200, "data": [{"serve-api": ' + one + ', "serve-api": ' + one + "}]}")
    assert problems(tmp_path, str(path)) == [
        (None, "the key 'serve-api' is written twice in one JSON object (one would be dropped)")
    ]


def test_json_that_does_not_parse_is_located(tmp_path: Path) -> None:
    path = tmp_path / "allocation.json"
    path.write_text('{"code": 200,\n "data": [\n {"window": 1,}]}')
    assert problems(tmp_path, str(path)) == [
        (3, "not valid JSON: Expecting property name enclosed in double quotes")
    ]


def test_csv_form(tmp_path: Path) -> None:
    path = tmp_path / "allocation.csv"
    path.write_text(
        "name,cluster,start,end,gpuHours\n"
        "serve-api,k8s-eu,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,720.5\n"
        "batch,k8s-eu,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,0\n"
        "serve-api,k8s-eu,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,1.0000001\n"
        "serve-x,k8s-eu,2026-11-01T01:00:00+01:00,2026-12-01T00:00:00Z,abc\n"
        "serve-api,k8s-eu,2026-11-01T00:00:00,2026-12-01T00:00:00Z,1\n"
        "serve-api,k8s-eu,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,720.5\n"
    )
    assert problems(tmp_path, str(path)) == [
        (4, "row 4: gpuHours 1.0000001 has more than 6 decimal places"),
        (5, "row 5: gpuHours 'abc' is not a number"),
        (
            5,
            "row 5: unknown workload 'serve-x' in name "
            "(the [opencost] workloads table knows: __idle__, serve-api)",
        ),
        (6, "row 6: window start '2026-11-01T00:00:00' is not an RFC 3339 time with an offset"),
        (7, "row 7: the same allocation as row 2"),
    ]
    path.write_text(
        "name,cluster,start,end,gpuHours\n"
        "serve-api,k8s-eu,2026-11-01T01:00:00+01:00,2026-12-01T00:00:00Z,720.5\n"
    )
    assert figures(importer(tmp_path).extract_entries(str(path)))["opencost/2026-11/k8s-eu"] == {
        "Equity:Stats:GPUH:Serving:API-Orion": Decimal("720.5"),
        "Equity:Stats:Offset": Decimal("-720.5"),
    }


def test_identify_reads_the_content(tmp_path: Path) -> None:
    reader = importer(tmp_path)
    assert reader.identify(response(tmp_path, {"serve-api": allocation("serve-api", 1)}))
    other = tmp_path / "other.json"
    other.write_text('{"data": [1, 2]}')
    assert not reader.identify(str(other))
    csv = tmp_path / "allocation.csv"
    csv.write_text("name,start,end,gpuHours\n")
    assert reader.identify(str(csv))
    csv.write_text("name,start,end,cost\n")
    assert not reader.identify(str(csv))
    csv.write_text("name,cluster,end,gpuHours\nserve-api,k8s-a,2026-11-02T00:00:00Z,1\n")
    assert reader.identify(str(csv))
    assert problems(tmp_path, str(csv)) == [
        (1, "missing column(s) start (header: name, cluster, end, gpuHours)")
    ]
