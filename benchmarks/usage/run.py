"""Benchmark of the usage importer: request logs of N rows through DuckDB, pandas and Spark.

    python -m ailab_books.benchmarks.usage.run                       # 10M and 100M rows
    python -m ailab_books.benchmarks.usage.run --rows 1000000 --engines duckdb pandas

For each size the seeded generator (generate.py) writes
`benchmarks/out/usage/<rows>.parquet` once (gitignored; reused afterwards).
Each measurement runs in a child process of its own, so its peak memory is its
own: the child's `ru_maxrss` (`resource.getrusage(RUSAGE_CHILDREN)` read by
a fresh wrapper process after the child ends), plus, for Spark, the peak RSS (`VmHWM`) of
the Java process that does the work, read by the child before it exits.

- duckdb: `importers.usage.aggregate` (memory_limit 1GB): the importer itself,
  row checks included.
- pandas: the simplest reading, `pd.read_parquet` of the seven columns (pyarrow)
  then `groupby([month, tier, model]).sum()`; no row checks. Run with an
  address-space limit (`--pandas-limit-gb`, default 8) so that a size that does
  not fit fails in its own process instead of swapping a shared machine.
- spark: the importer with `engine = "spark"` (local[*]); JVM start-up included.

Output: a Markdown table on stdout. Nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .generate import generate

OUT = Path(__file__).resolve().parent.parent / "out" / "usage"
CONFIG = """
[usage]
memory-limit = "1GB"
[usage.models]
"orion-4" = "Orion"
"wren-3" = "Wren"
[usage.tiers]
api = "API"
subscription = "Subscription"
enterprise = "Enterprise"
free = "Free"
"""

CHILD = r"""
import json, resource, sys, time
engine, path, config = sys.argv[1], sys.argv[2], sys.argv[3]
extra = {}
start = time.perf_counter()
if engine == "pandas":
    import pandas as pd
    counts = ["input_tokens", "cached_input_tokens", "output_tokens", "requests"]
    frame = pd.read_parquet(path, columns=["timestamp", "model", "tier", *counts])
    stamp = frame["timestamp"].dt
    groups = frame.groupby([stamp.year, stamp.month, frame["tier"], frame["model"]])[counts].sum()
    result = len(groups)
else:
    from ailab_books.importers.config import load_config
    from ailab_books.importers.usage import aggregate
    from ailab_books.importers.usage_settings import usage_settings
    result = len(aggregate([path], usage_settings(load_config(config)), engine))
    if engine == "spark":
        from pyspark.sql import SparkSession
        session = SparkSession.getActiveSession()
        pid = session.sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    extra["jvm_peak_mb"] = int(line.split()[1]) / 1024
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "groups": result, **extra}))
"""


# A fresh process per measurement starts the work and, once it has ended, reads its peak RSS:
# RUSAGE_CHILDREN is the maximum over every child a process has waited for, so one child each.
WRAPPER = r"""
import json, resource, subprocess, sys, time
limit_gb = float(sys.argv[1])
def limit():
    if limit_gb > 0:
        size = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
started = time.perf_counter()
child = subprocess.run(sys.argv[2:], capture_output=True, text=True, preexec_fn=limit, check=False)
wall = time.perf_counter() - started
result = {"wall": wall, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}
if child.returncode != 0:
    lines = [line for line in child.stderr.strip().splitlines() if line.strip()]
    result["error"] = lines[-1] if lines else f"exit status {child.returncode}"
else:
    result.update(json.loads(child.stdout.strip().splitlines()[-1]))
print(json.dumps(result))
"""


def measure(engine: str, path: Path, config: Path, limit_gb: float | None) -> dict[str, object]:
    """One run in a fresh child process: wall time, result size and peak RSS (MB), or the error."""
    work = [sys.executable, "-W", "ignore", "-c", CHILD, engine, str(path), str(config)]
    wrapper = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(limit_gb or 0), *work],
        capture_output=True,
        text=True,
        check=False,
    )
    if wrapper.returncode != 0:
        lines = [line for line in wrapper.stderr.strip().splitlines() if line.strip()]
        return {"engine": engine, "wall": 0.0, "error": "measurement failed: " + (lines[-1] if lines else "")}
    result: dict[str, object] = {"engine": engine, **json.loads(wrapper.stdout.strip().splitlines()[-1])}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ailab_books.benchmarks.usage.run", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "pandas", "spark"])
    parser.add_argument("--spark-max-rows", type=int, default=10_000_000, help="Spark runs up to this size")
    parser.add_argument("--pandas-limit-gb", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the logs are written (default {OUT})")
    arguments = parser.parse_args(argv)
    out: Path = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    config = out / "imports.toml"
    config.write_text(CONFIG, encoding="utf-8")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()}")
    print()
    print("| rows | engine | wall s (process) | s (aggregation) | peak RSS MB | rows/s | note |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for rows in sorted(arguments.rows):
        path = out / f"{rows}.parquet"
        if not path.exists():
            started = time.perf_counter()
            generate(rows, arguments.seed, "2026-11", path)
            print(f"<!-- generated {path.name} in {time.perf_counter() - started:.1f} s -->", flush=True)
        for engine in arguments.engines:
            if engine == "spark" and rows > arguments.spark_max_rows:
                continue
            limit = arguments.pandas_limit_gb if engine == "pandas" else None
            result = measure(engine, path, config, limit)
            seconds = result.get("seconds")
            peak = result.get("peak_mb")
            note = str(result.get("error", ""))
            if "jvm_peak_mb" in result:
                note = f"JVM peak {float(str(result['jvm_peak_mb'])):.0f} MB " + note
            if engine == "pandas" and limit is not None:
                note = f"address space limited to {limit:g} GB " + note
            print(
                f"| {rows:,} | {engine} | {float(str(result['wall'])):.1f} | "
                + (f"{float(str(seconds)):.1f}" if seconds is not None else "-")
                + " | "
                + (f"{float(str(peak)):.0f}" if peak is not None else "?")
                + " | "
                + (f"{rows / float(str(seconds)):,.0f}" if seconds else "-")
                + f" | {note.strip()} |",
                flush=True,
            )
    print()
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
