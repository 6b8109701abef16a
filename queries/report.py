"""``lab-report``: the unit-economics report of a lab ledger on the command line.

Usage::

    lab-report [LEDGER]                       # monthly summary + Total row
    lab-report --by model|tier                # per model / tier, with net figures
    lab-report --from 2025-Q1 --to 2025-06    # inclusive periods, YYYY-MM or YYYY-Qn
    lab-report --query NAME                   # any saved query
    lab-report --list                         # saved queries and what they answer
    lab-report --format table|csv|markdown|json --output FILE

LEDGER defaults to ``ledger/main.beancount``. Exit status: 0 on success, 1 if
the ledger has errors (printed as ``file:line: message`` on stderr), a query
fails or the output file cannot be written, 2 for a usage error (unknown query
name, bad period). Also runnable as ``python -m ailab_books.queries``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from ailab_books.queries.economics import BadPeriod, Window, by_segment, filter_months, parse_period, summary
from ailab_books.queries.render import FORMATS, render
from ailab_books.queries.runner import Ledger, LedgerErrors, QueryFailed, UnknownQuery, load_ledger, run_saved

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
    view.add_argument("--query", metavar="NAME", help="run the saved query NAME")
    view.add_argument("--list", action="store_true", help="list the saved queries")
    parser.add_argument(
        "--from", dest="start", metavar="PERIOD", help="first month, YYYY-MM or YYYY-Qn (inclusive)"
    )
    parser.add_argument(
        "--to", dest="stop", metavar="PERIOD", help="last month, YYYY-MM or YYYY-Qn (inclusive)"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default: table); JSON writes decimals as strings",
    )
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        window = _window(args.start, args.stop)
    except BadPeriod as exc:
        _error(str(exc))
        return 2
    try:
        ledger = load_ledger(args.ledger)
    except LedgerErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    try:
        if args.list:
            frame = _list(ledger)
        elif args.query:
            frame = filter_months(run_saved(ledger, args.query), window)
        elif args.by:
            frame = by_segment(ledger, args.by, window)
        else:
            frame = summary(ledger, window)
    except UnknownQuery as exc:
        _error(str(exc))
        return 2
    except QueryFailed as exc:
        _error(str(exc))
        return 1
    text = render(frame, args.format)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                out.write(text)
        except OSError as exc:
            _error(f"cannot write {args.output}: {exc.strerror}")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
