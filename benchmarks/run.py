"""Measure the performance contract (``shared/DESIGN.md``, "Performance contract").

For each requested size this script generates a synthetic ledger with
``ailab_books.benchmarks.generate`` into ``benchmarks/out/<name>/`` (gitignored),
or takes an existing ledger (``--ledger``, e.g. the example's
``ledger/main.beancount``), counts its entries and postings, and measures, with
beancount's pickle cache disabled so that every load really parses the files:

1. **plain load**: ``loader.load_file`` on a sibling ``plain.beancount`` that is
   ``main.beancount`` without its ``plugin`` lines (beancount's own built-in
   plugins - documents, pad, balance - still run: that is what "beancount's own
   load" costs);
2. **the two plugins in isolation**: ``ailab_books.plugins.allocate.allocate`` on the
   entries of the plain load, then ``ailab_books.plugins.classify.classify`` on allocate's
   output (what classify sees in the real pipeline);
3. **full load**: ``loader.load_file`` on ``main.beancount`` with both plugins;
4. **the views of** ``lab-report`` beyond the load, on the entries of the full
   load: the monthly summary's one pass (``ailab_books.queries.monthly``), then
   the summary, ``--by model``, ``--by tier`` and ``--query cost-stack`` each
   on a freshly loaded ``Ledger`` (so each pays for the pass, as a
   ``lab-report`` run does), and the four together on one ``Ledger`` (the
   dashboard endpoint's work: the pass once), then again on the same
   ``Ledger`` (warm: the pass cached);
5. **every saved query** (``queries/*.beancount``): connect + parse + compile +
   run + fetch all rows with beanquery, on the entries of the full load
   (``--no-queries`` leaves them out).

Every measurement is repeated ``--repeat`` times (``gc.collect()`` before each,
``time.perf_counter``, in-process); the report gives the median, min and max and
the ratio of the median to the median plain load. A per-posting cost (µs per
posting of the plain ledger) per size shows whether the plugins grow linearly:
the last table compares each size's per-posting cost to the smallest size's.

The output is Markdown on stdout; ``--json FILE`` also writes every sample.
``--dump DIR`` also writes every saved query's full output on each ledger
(``DIR/<name>.txt``: column names and the ``repr`` of every row, queries in name
order), so that two versions of the queries can be compared exactly with
``diff``. Nothing here asserts on timings: it is a measurement, not a test.

Usage::

    python benchmarks/run.py                          # scales 1 and 10, daily, 3 repeats
    python benchmarks/run.py --scale 1 10 50 --repeat 3 --json /tmp/bench.json
    python benchmarks/run.py --scale 100 --repeat 3   # ~1.04M postings, ~10 GB RSS
    python benchmarks/run.py --scale 1 --no-daily --repeat 1   # smoke run, seconds
    python benchmarks/run.py --ledger ledger/main.beancount --repeat 3 --dump /tmp/dump
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import beanquery
import beanquery.parser
from beancount import loader
from beancount.core import data

from ailab_books.benchmarks import generate
from ailab_books.plugins.allocate import allocate
from ailab_books.plugins.classify import classify
from ailab_books.queries import economics, monthly
from ailab_books.queries.runner import Ledger, SavedQuery, package_queries

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT_OUT = HERE / "out"
DEFAULT_SCALES = (1, 10)

PLAIN = "plain load"
ALLOCATE = "plugin: allocate"
CLASSIFY = "plugin: classify"
PLUGINS = "plugins: allocate + classify"
FULL = "full load (with plugins)"
FULL_MINUS_PLAIN = "full load - plain load"
QUERY_PREFIX = "query: "  # parse + compile + run + fetch
PARSE_PREFIX = "query parse: "  # BQL text to AST (beanquery's TatSu parser)
RUN_PREFIX = "query run: "  # connect + compile + execute + fetchall
ONE_PASS = "view: monthly summary (one pass)"
VIEW_SUMMARY = "view: lab-report (summary)"
VIEW_MODEL = "view: lab-report --by model"
VIEW_TIER = "view: lab-report --by tier"
VIEW_COST_STACK = "view: lab-report --query cost-stack"
VIEW_ENDPOINT = "view: endpoint's four (summary, by model, by tier, cost-stack), cold"
VIEW_ENDPOINT_WARM = "view: endpoint's four, warm"
VIEWS = [ONE_PASS, VIEW_SUMMARY, VIEW_MODEL, VIEW_TIER, VIEW_COST_STACK, VIEW_ENDPOINT, VIEW_ENDPOINT_WARM]


def disable_load_cache() -> None:
    """Turn beancount's pickle cache off for this process.

    ``beancount.loader`` decides at import time (env var
    ``BEANCOUNT_DISABLE_LOAD_CACHE``); ``loader.initialize(use_cache=False)``
    re-decides it, and makes every ``load_file`` delete a stale cache file and
    parse the sources.
    """
    os.environ["BEANCOUNT_DISABLE_LOAD_CACHE"] = "1"
    loader.initialize(use_cache=False)


@dataclass
class Size:
    """One ledger measured: generator parameters (or the existing ledger) and what was loaded."""

    scale: int | None  # generator parameters; None for an existing ledger (--ledger)
    daily: bool | None
    start: str | None
    end: str | None
    seed: int | None
    ledger: str = ""  # the main file of an existing ledger; "" when generated
    name: str = ""
    directory: str = ""
    megabytes: float = 0.0
    entries: int = 0  # plain load (after booking, pad, balance)
    postings: int = 0
    generated_entries: int = 0  # added by the plugins in the full load
    generated_postings: int = 0
    peak_rss_mb: float = 0.0
    #: Per saved query the monthly summary answers: its rows equal beanquery's (first run).
    summary_equals_bql: dict[str, bool] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])


def size_name(scale: int, daily: bool, start: str, end: str, seed: int) -> str:
    name = f"scale{scale}-{'daily' if daily else 'monthly'}"
    if (start, end) != ("2025-01", "2026-10"):
        name += f"-{start}-{end}"
    if seed != 7:
        name += f"-seed{seed}"
    return name


def prepare(
    out_root: Path, *, scale: int, daily: bool, start: str, end: str, seed: int
) -> tuple[Size, Path, Path]:
    """Generate the ledger and its plugin-less sibling; return the size and the (main, plain) paths."""
    size = Size(scale=scale, daily=daily, start=start, end=end, seed=seed)
    size.name = size_name(scale, daily, start, end, seed)
    directory = out_root / size.name
    size.directory = str(directory)
    paths = generate.write_ledger(
        directory, start=start, end=end, scale=scale, daily=daily, seed=seed, includes=()
    )
    size.megabytes = sum(path.stat().st_size for path in paths) / 1e6
    main = directory / "main.beancount"
    plain = directory / "plain.beancount"
    plain.write_text(_without_plugins(main, relative_to=None), encoding="utf-8")
    return size, main, plain


def prepare_existing(out_root: Path, main: Path) -> tuple[Size, Path, Path]:
    """An existing ledger: write its plugin-less copy into ``out_root/<name>/``.

    The copy's includes are made absolute, so the copy loads the same files
    from elsewhere; its size is measured on the first load (every file loaded).
    """
    main = main.resolve()
    size = Size(scale=None, daily=None, start=None, end=None, seed=None, ledger=str(main))
    size.name = main.parent.name if main.stem == "main" else f"{main.parent.name}-{main.stem}"
    directory = out_root / size.name
    directory.mkdir(parents=True, exist_ok=True)
    size.directory = str(directory)
    plain = directory / "plain.beancount"
    plain.write_text(_without_plugins(main, relative_to=main.parent), encoding="utf-8")
    return size, main, plain


def _without_plugins(main: Path, relative_to: Path | None) -> str:
    """``main``'s text without its ``plugin`` lines; includes made absolute if ``relative_to``."""
    lines = main.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith("plugin ")]
    if len(kept) == len(lines):
        raise SystemExit(f"{main}: no plugin line found; the benchmark compares a load with and without them")
    if relative_to is not None:
        kept = [_absolute_include(line, relative_to) for line in kept]
    return "".join(kept)


def _absolute_include(line: str, directory: Path) -> str:
    match = re.match(r'(\s*include\s+")([^"]*)(".*)', line, re.DOTALL)
    if match is None or Path(match.group(2)).is_absolute():
        return line
    return f"{match.group(1)}{directory / match.group(2)}{match.group(3)}"


def count(entries: Sequence[data.Directive]) -> tuple[int, int]:
    """(entries, postings of transactions)."""
    postings = sum(len(entry.postings) for entry in entries if isinstance(entry, data.Transaction))
    return len(entries), postings


def _timed(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Run ``function(*args)`` after a full collection; return (seconds, result)."""
    gc.collect()
    start = time.perf_counter()
    result = function(*args)
    elapsed = time.perf_counter() - start
    return elapsed, result


def _load(path: Path) -> tuple[list[data.Directive], dict[str, Any]]:
    entries, errors, options = loader.load_file(str(path))
    if errors:
        shown = "\n".join(f"  {getattr(error, 'message', error)}" for error in errors[:5])
        raise SystemExit(f"{path}: {len(errors)} load error(s), first ones:\n{shown}")
    return entries, options


def _parse_query(query: SavedQuery) -> Any:
    return beanquery.parser.parse(query.query_string)


#: A query's result: its cursor's description (columns with a ``name``) and its rows.
QueryOutput = tuple[Sequence[Any], list[Sequence[Any]]]


def _run_query(entries: list[data.Directive], options: dict[str, Any], statement: Any) -> QueryOutput:
    """Connect, compile and run a parsed statement; fetch every row. Return (description, rows)."""
    connection = beanquery.connect("beancount:", entries=entries, errors=[], options=options)
    cursor = connection.execute(statement)
    rows = cursor.fetchall()
    return cursor.description, rows


def dump_text(outputs: dict[str, QueryOutput]) -> str:
    """Every query's output, in name order: ``== name``, the column names, one ``repr`` per row.

    By name, not in file order: the order of same-date directives follows line
    numbers, which an edit of the query files changes, and dumps must line up
    for ``diff``.
    """
    lines: list[str] = []
    for name in sorted(outputs):
        description, rows = outputs[name]
        lines.append(f"== {name}")
        lines.append(repr([column.name for column in description]))
        lines.extend(repr(tuple(row)) for row in rows)
    return "\n".join(lines) + "\n"


def _views(ledger: Ledger) -> None:
    """What the dashboard's endpoint computes for the whole books (dashboard/figures.py)."""
    economics.summary(ledger)
    economics.by_segment(ledger, "model")
    economics.by_segment(ledger, "tier")
    monthly.run_report_query(ledger, "cost-stack")


def measure_views(
    main: Path, entries: list[data.Directive], options: dict[str, Any], queries: dict[str, SavedQuery]
) -> dict[str, float]:
    """Seconds of each ``lab-report`` view beyond the load (see the module docstring)."""

    def fresh() -> Ledger:  # what load_ledger returns, without loading again
        return Ledger(str(main), entries, options, queries)

    seconds: dict[str, float] = {}
    seconds[ONE_PASS], _ = _timed(monthly.build, entries)
    seconds[VIEW_SUMMARY], _ = _timed(economics.summary, fresh())
    seconds[VIEW_MODEL], _ = _timed(economics.by_segment, fresh(), "model")
    seconds[VIEW_TIER], _ = _timed(economics.by_segment, fresh(), "tier")
    seconds[VIEW_COST_STACK], _ = _timed(monthly.run_report_query, fresh(), "cost-stack")
    ledger = fresh()
    seconds[VIEW_ENDPOINT], _ = _timed(_views, ledger)
    seconds[VIEW_ENDPOINT_WARM], _ = _timed(_views, ledger)
    return seconds


def summary_checks(
    main: Path,
    entries: list[data.Directive],
    options: dict[str, Any],
    queries: dict[str, SavedQuery],
    outputs: dict[str, QueryOutput],
) -> dict[str, bool]:
    """For each saved query the monthly summary answers and beanquery ran: are
    the rows the same, value for value (``repr``: digits, exponent, sign)?"""
    ledger = Ledger(str(main), entries, options, queries)
    checks: dict[str, bool] = {}
    for name in monthly.QUERIES:
        if name in outputs and monthly.answers(ledger, name):
            frame = monthly.run_report_query(ledger, name)
            ours = [
                tuple(value.item() if hasattr(value, "item") else value for value in row)
                for row in frame.itertuples(index=False)
            ]
            checks[name] = repr(ours) == repr([tuple(row) for row in outputs[name][1]])
    return checks


def measure(
    size: Size,
    main: Path,
    plain: Path,
    queries: dict[str, SavedQuery],
    repeat: int,
    log: Callable[[str], None],
    dump: Path | None = None,
    run_queries: bool = True,
) -> None:
    """Fill ``size.samples``: each measurement ``repeat`` times.

    With ``dump``, also write the first run's query output to ``dump/<name>.txt``;
    without ``run_queries``, leave the saved queries out.
    """
    names = [PLAIN, ALLOCATE, CLASSIFY, PLUGINS, FULL, FULL_MINUS_PLAIN, *VIEWS]
    for prefix in (QUERY_PREFIX, PARSE_PREFIX, RUN_PREFIX):
        names += [prefix + name for name in queries] if run_queries else []
    samples: dict[str, list[float]] = {name: [] for name in names}
    for run in range(1, repeat + 1):
        seconds, (entries, options) = _timed(_load, plain)
        samples[PLAIN].append(seconds)
        size.entries, size.postings = count(entries)
        if not size.megabytes:  # an existing ledger: every file the load read
            size.megabytes = sum(Path(name).stat().st_size for name in options["include"]) / 1e6
        log(f"{size.name} run {run}/{repeat}: plain load {seconds:.2f}s")

        seconds, (allocated, errors) = _timed(allocate, entries, options)
        if errors:
            raise SystemExit(f"{size.name}: allocate reported {len(errors)} error(s): {errors[0]}")
        samples[ALLOCATE].append(seconds)
        seconds, (classified, errors) = _timed(classify, allocated, options)
        if errors:
            raise SystemExit(f"{size.name}: classify reported {len(errors)} error(s): {errors[0]}")
        samples[CLASSIFY].append(seconds)
        samples[PLUGINS].append(samples[ALLOCATE][-1] + samples[CLASSIFY][-1])
        log(f"{size.name} run {run}/{repeat}: allocate {samples[ALLOCATE][-1]:.3f}s, classify {seconds:.3f}s")
        del entries, options, allocated, classified

        seconds, (entries, options) = _timed(_load, main)
        samples[FULL].append(seconds)
        samples[FULL_MINUS_PLAIN].append(seconds - samples[PLAIN][-1])
        full_entries, full_postings = count(entries)
        size.generated_entries = full_entries - size.entries
        size.generated_postings = full_postings - size.postings
        log(f"{size.name} run {run}/{repeat}: full load {seconds:.2f}s")

        for name, view_seconds in measure_views(main, entries, options, queries).items():
            samples[name].append(view_seconds)
        endpoint = samples[VIEW_ENDPOINT][-1]
        log(f"{size.name} run {run}/{repeat}: the endpoint's four views {endpoint:.2f}s (cold)")

        outputs: dict[str, QueryOutput] = {}
        for name, query in queries.items() if run_queries else ():
            parse_seconds, statement = _timed(_parse_query, query)
            run_seconds, outputs[name] = _timed(_run_query, entries, options, statement)
            samples[QUERY_PREFIX + name].append(parse_seconds + run_seconds)
            samples[PARSE_PREFIX + name].append(parse_seconds)
            samples[RUN_PREFIX + name].append(run_seconds)
        log(f"{size.name} run {run}/{repeat}: {len(outputs)} queries")
        if run == 1 and outputs:
            size.summary_equals_bql = summary_checks(main, entries, options, queries, outputs)
            log(f"{size.name}: monthly summary equals beanquery: {size.summary_equals_bql}")
        if dump is not None and run == 1:
            dump.mkdir(parents=True, exist_ok=True)
            (dump / f"{size.name}.txt").write_text(dump_text(outputs), encoding="utf-8")
        del outputs
        del entries, options
        gc.collect()
    size.samples = samples
    size.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------
# Report


def _seconds(value: float) -> str:
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def environment() -> dict[str, str]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
    }


def report(sizes: Sequence[Size], repeat: int, env: dict[str, str]) -> str:
    """The Markdown report: sizes, one timing table per size, per-posting growth."""
    out: list[str] = []
    out.append(
        f"Measured {env['date']} on {env['nproc']} CPUs, Python {env['python']} "
        f"({env['platform']}); {repeat} repeat(s), median [min-max] seconds."
    )
    out.append("")
    out.append("| ledger | MB | entries | postings | generated entries | generated postings | peak RSS MB |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        out.append(
            f"| {size.name} | {size.megabytes:.1f} | {size.entries:,} | {size.postings:,} | "
            f"{size.generated_entries:,} | {size.generated_postings:,} | {size.peak_rss_mb:,.0f} |"
        )
    for size in sizes:
        plain = size.median(PLAIN)
        out.append("")
        out.append(f"### {size.name} ({size.postings:,} postings)")
        out.append("")
        out.append("| measurement | median s | min s | max s | ratio to plain load | µs / posting |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, values in size.samples.items():
            if name.startswith((PARSE_PREFIX, RUN_PREFIX)):
                continue
            median = statistics.median(values)
            out.append(
                f"| {name} | {_seconds(median)} | {_seconds(min(values))} | {_seconds(max(values))} | "
                f"{_percent(median / plain)} | {median / size.postings * 1e6:.2f} |"
            )
    for size in sizes:
        if not any(key.startswith(QUERY_PREFIX) for key in size.samples):
            continue
        plain = size.median(PLAIN)
        out.append("")
        if size.summary_equals_bql:
            same = [name for name, equal in size.summary_equals_bql.items() if equal]
            differ = [name for name, equal in size.summary_equals_bql.items() if not equal]
            tail = f"; DIFFERS: {', '.join(differ)}." if differ else "."
            out.append(f"Monthly summary equals beanquery, row for row: {', '.join(same) or 'none'}{tail}")
            out.append("")
        out.append(f"### {size.name}: saved queries, parse vs run (median s, ratio to plain load)")
        out.append("")
        out.append("| query | parse s | run s [min-max] | run / plain load | total s | total / plain load |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name in [key[len(QUERY_PREFIX) :] for key in size.samples if key.startswith(QUERY_PREFIX)]:
            parse = size.median(PARSE_PREFIX + name)
            runs = size.samples[RUN_PREFIX + name]
            run = statistics.median(runs)
            total = size.median(QUERY_PREFIX + name)
            out.append(
                f"| {name} | {_seconds(parse)} | "
                f"{_seconds(run)} [{_seconds(min(runs))}-{_seconds(max(runs))}] | {_percent(run / plain)} | "
                f"{_seconds(total)} | {_percent(total / plain)} |"
            )
    out.append("")
    out.append("### Linear growth: µs per posting (and relative to the smallest ledger)")
    out.append("")
    out.append("| measurement | " + " | ".join(size.name for size in sizes) + " |")
    out.append("|---|" + "---:|" * len(sizes))
    base = sizes[0]
    for name in (PLAIN, ALLOCATE, CLASSIFY, PLUGINS, FULL):
        base_cost = base.median(name) / base.postings
        cells = []
        for size in sizes:
            cost = size.median(name) / size.postings
            cells.append(f"{cost * 1e6:.2f} (x{cost / base_cost:.2f})")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def to_json(sizes: Sequence[Size], repeat: int, env: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {"environment": env, "repeat": repeat, "sizes": []}
    for size in sizes:
        item = asdict(size)
        plain = size.median(PLAIN)
        item["summary"] = {
            name: {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "ratio_to_plain": statistics.median(values) / plain,
                "us_per_posting": statistics.median(values) / size.postings * 1e6,
            }
            for name, values in size.samples.items()
        }
        result["sizes"].append(item)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=int,
        nargs="+",
        default=None,
        help="ledger sizes (generator --scale); default: "
        + " ".join(map(str, DEFAULT_SCALES))
        + " unless --ledger is given",
    )
    parser.add_argument(
        "--ledger",
        type=Path,
        nargs="+",
        default=[],
        help="measure these existing ledgers (main files with both plugin lines); without --scale, only them",
    )
    parser.add_argument(
        "--daily",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="daily metering (default; --no-daily for monthly)",
    )
    parser.add_argument("--months", default="2025-01:2026-10", help="START:END (default 2025-01:2026-10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to generate the ledgers")
    parser.add_argument("--json", type=Path, default=None, help="also write all samples as JSON here")
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="also write every query's output per ledger into this directory",
    )
    parser.add_argument(
        "--queries",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run every saved query with beanquery (default; --no-queries: loads and views only)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    start, _, end = args.months.partition(":")
    end = end or start

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    disable_load_cache()
    queries = package_queries()
    env = environment()
    scales = args.scale if args.scale is not None else ([] if args.ledger else list(DEFAULT_SCALES))
    prepared: list[Callable[[], tuple[Size, Path, Path]]] = [
        functools.partial(
            prepare, args.out, scale=scale, daily=args.daily, start=start, end=end, seed=args.seed
        )
        for scale in sorted(scales)
    ]
    prepared += [functools.partial(prepare_existing, args.out, ledger) for ledger in args.ledger]
    sizes: list[Size] = []
    for prepare_size in prepared:
        size, main_path, plain_path = prepare_size()
        log(f"{size.name}: {size.ledger or f'generated {size.megabytes:.1f} MB in {size.directory}'}")
        measure(size, main_path, plain_path, queries, args.repeat, log, args.dump, args.queries)
        sizes.append(size)
    print(report(sizes, args.repeat, env))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(sizes, args.repeat, env), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
