"""``lab-report``: the unit-economics report of a lab ledger on the command line.

Usage::

    lab-report [LEDGER]                       # monthly summary + Total row
    lab-report --by model|tier                # per model / tier, with net figures
    lab-report --from 2025-Q1 --to 2025-06    # inclusive periods, YYYY-MM or YYYY-Qn
    lab-report --lifetime                     # each model as a company: payback, after-training margin
    lab-report --by model --view model-as-company   # the same life table, under that view
    lab-report --query NAME                   # any saved query
    lab-report --list                         # saved queries and what they answer
    lab-report --view gpu-life-4y             # any report on ledger/views/gpu-life-4y.beancount
    lab-report --compare all [--total]        # the summary under every view, side by side
    lab-report --format table|csv|markdown|json --output FILE

LEDGER defaults to ``ledger/main.beancount``; its policy views are the files of
``views/`` next to it (``queries/compare.py``, docs/views.md). Exit status: 0 on success, 1 if
the ledger has errors (printed as ``file:line: message`` on stderr), was loaded
without the plugins the reports need or with them in the wrong order, has
nothing to report, a query fails or lacks a column the report reads, or the
output file cannot be written; 2 for a usage error (unknown query name, bad
period, an unknown view, an ``--output`` that is a file of the books or whose
extension says another format). Every error is one line on stderr and nothing is written.
Without ``--format``, ``--output`` picks the format from its extension
(``.csv``, ``.md``, ``.json``; anything else is a table). Also runnable as
``python -m ailab_books.queries``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ailab_books.queries.compare import UnknownView, compare, compared_views, view_file
from ailab_books.queries.economics import (
    BadPeriod,
    NothingToReport,
    Window,
    by_segment,
    filter_months,
    parse_period,
    summary,
)
from ailab_books.queries.lifetime import life_table
from ailab_books.queries.monthly import run_report_query
from ailab_books.queries.render import FORMATS, render
from ailab_books.queries.runner import (
    Ledger,
    LedgerErrors,
    PipelineRefused,
    QueryFailed,
    UnknownQuery,
    has_transactions,
    is_books_file,
    load_ledger,
    query_location,
)

DEFAULT_LEDGER = "ledger/main.beancount"


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="lab-report",
        description="Is a token sold at a loss? Gross and net margin per million tokens "
        "from a beancount ledger that follows docs/conventions.md.",
    )
    parser.add_argument(
        "ledger", nargs="?", default=DEFAULT_LEDGER, help=f"the ledger to load (default: {DEFAULT_LEDGER})"
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument(
        "--by",
        choices=["model", "tier"],
        help="one row per month and model (or tier), net figures by token share",
    )
    view.add_argument(
        "--lifetime",
        action="store_true",
        help="each model as a company: training cost, revenue, gross margin, contribution, payback "
        "month and margin per million tokens after amortising training, over the whole books "
        "(also --by model --view model-as-company)",
    )
    view.add_argument("--query", metavar="NAME", help="run the saved query NAME")
    view.add_argument("--list", action="store_true", help="list the saved queries")
    view.add_argument(
        "--compare",
        metavar="VIEWS",
        help="the summary under each view (comma-separated names in views/ next to LEDGER, or 'all'), "
        "side by side with the difference from the accountant's view",
    )
    parser.add_argument(
        "--view", metavar="NAME", help="report on the view NAME (views/NAME.beancount next to LEDGER)"
    )
    parser.add_argument(
        "--total", action="store_true", help="with --compare: only the Total rows of the period"
    )
    parser.add_argument(
        "--from", dest="start", metavar="PERIOD", help="first month, YYYY-MM or YYYY-Qn (inclusive)"
    )
    parser.add_argument(
        "--to", dest="stop", metavar="PERIOD", help="last month, YYYY-MM or YYYY-Qn (inclusive)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from --output's extension, else table); "
        "JSON writes decimals as strings",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write to FILE instead of stdout (never to a file of the books)"
    )
    return parser


def _window(start: str | None, stop: str | None) -> Window:
    first = parse_period(start, end=False) if start else None
    last = parse_period(stop, end=True) if stop else None
    if first is not None and last is not None and first > last:
        raise BadPeriod(f"--from {start} is after --to {stop}")
    return Window(first, last)


def _list(ledger: Ledger) -> pd.DataFrame:
    rows = [
        {"name": q.name, "description": q.description, "defined_at": f"{q.filename}:{q.lineno}"}
        for q in ledger.queries.values()
    ]
    return pd.DataFrame(rows, columns=["name", "description", "defined_at"], dtype=object)


def _error(message: str) -> None:
    print(f"lab-report: {message}", file=sys.stderr)


#: The format an ``--output`` file's extension asks for.
EXTENSION_FORMATS = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".json": "json"}


class BadOutput(ValueError):
    """An ``--output`` that must not be written."""


def _output_format(fmt: str | None, output: str | None) -> str:
    """``--format``, or the format ``--output``'s extension names; a format that
    contradicts the extension (a table in ``report.csv``) is refused."""
    wanted = EXTENSION_FORMATS.get(Path(output).suffix.lower()) if output else None
    if fmt is None:
        return wanted or "table"
    if wanted is not None and wanted != fmt:
        raise BadOutput(f"--format {fmt} does not match --output {output} ({wanted}); drop one of them")
    return fmt


def _check_output(ledger: Ledger, output: str) -> None:
    books_file = is_books_file(ledger, output)
    if books_file is not None:
        raise BadOutput(f"--output {output} is a file of the books ({books_file}); refusing to write over it")


def _report(ledger: Ledger, args: argparse.Namespace, window: Window) -> pd.DataFrame:
    if args.list:
        return _list(ledger)
    if args.query:
        where = f"{query_location(ledger, args.query)}: saved query {args.query}"
        return filter_months(run_report_query(ledger, args.query), window, where)
    if _life_table_wanted(args):
        return life_table(ledger)
    if args.by:
        return by_segment(ledger, args.by, window)
    return summary(ledger, window)


def _write(text: str, output: str | None) -> int:
    if output is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            # `lab-report | head`: the reader has all it wanted. Point stdout at
            # /dev/null so that Python's flush at exit raises no second error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as exc:
        _error(f"cannot write {output}: {exc.strerror}")
        return 1
    return 0


def _load(path: str, *, require_pipeline: bool) -> Ledger | int:
    """The loaded ledger, or the exit status after printing why it cannot be used."""
    try:
        return load_ledger(path, require_pipeline=require_pipeline)
    except PipelineRefused as exc:
        for error in exc.others:
            print(error, file=sys.stderr)
        _error(str(exc))
        return 1
    except LedgerErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1


#: The view whose ``--by model`` report is the per-model life table (docs/views.md, "Model as company").
MODEL_AS_COMPANY = "model-as-company"


def _life_table_wanted(args: argparse.Namespace) -> bool:
    return bool(args.lifetime) or (args.by == "model" and args.view == MODEL_AS_COMPANY)


def _usage(args: argparse.Namespace) -> tuple[Window, str, list[str]]:
    """The period, the format and the files to load (the ledger, its view, or each compared view)."""
    window = _window(args.start, args.stop)
    if _life_table_wanted(args) and (args.start or args.stop):
        raise BadPeriod("the life table covers each model's whole life in the books; drop --from and --to")
    fmt = _output_format(args.format, args.output)
    if args.compare is not None and args.view is not None:
        raise BadOutput("--view and --compare do not go together: --compare names its views")
    if args.total and args.compare is None:
        raise BadOutput("--total goes with --compare (the summary has its Total row already)")
    if args.view is not None:
        return window, fmt, [str(view_file(Path(args.ledger), args.view))]
    if args.compare is not None:
        names = compared_views(Path(args.ledger), args.compare)
        return window, fmt, [str(view_file(Path(args.ledger), name)) for name in names]
    return window, fmt, [args.ledger]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.output == "-":  # the usual spelling of "standard output", not a file named "-"
        args.output = None
    try:
        window, fmt, paths = _usage(args)
    except (BadPeriod, BadOutput, UnknownView) as exc:
        _error(str(exc))
        return 2
    ledgers: dict[str, Ledger] = {}
    for path in paths:
        # Listing the saved queries reads no figure: it needs no plugin.
        loaded = _load(path, require_pipeline=not args.list)
        if isinstance(loaded, int):
            return loaded
        ledgers[Path(path).stem] = loaded
    ledger = next(iter(ledgers.values()))
    try:
        if args.output:
            for each in ledgers.values():
                _check_output(each, args.output)
    except BadOutput as exc:
        _error(str(exc))
        return 2
    for each in ledgers.values():
        if not args.list and not has_transactions(each.entries):
            _error(f"{each.filename} has no transactions: nothing to report")
            return 1
    try:
        if args.compare is not None:
            frame = compare(ledgers, window, total_only=args.total)
        else:
            frame = _report(ledger, args, window)
    except UnknownQuery as exc:
        _error(str(exc))
        return 2
    except (QueryFailed, NothingToReport) as exc:
        _error(str(exc))
        return 1
    return _write(render(frame, fmt), args.output)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
