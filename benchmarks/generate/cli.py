"""The command line: ``python -m ailab_books.benchmarks.generate OUT_DIR [options]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .ledger import write_ledger
from .structure import EXAMPLE_LEDGER, StructureError


def main(argv: Sequence[str] | None = None) -> int:
    """Write a ledger and print the paths of its files.

    Returns 1 with a message if the structure does not fit; exits 2 (argparse)
    on a malformed or empty ``--months`` or a ``--scale`` below 1.
    """
    parser = argparse.ArgumentParser(
        prog="python -m ailab_books.benchmarks.generate",
        description="Generate the Orion Labs books: a synthetic ledger that follows the example's "
        "accounts and allocation rules.",
    )
    parser.add_argument("out_dir", type=Path, help="directory to write the .beancount files into")
    parser.add_argument("--scale", type=int, default=1, help="lab size multiplier (default 1)")
    parser.add_argument("--daily", action="store_true", help="daily metering and settlements")
    parser.add_argument("--months", default="2025-01:2026-10", help="START:END, as YYYY-MM:YYYY-MM")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--include",
        action="append",
        default=None,
        help="extra include for books.beancount (repeatable); default: the example's",
    )
    parser.add_argument(
        "--structure",
        type=Path,
        default=EXAMPLE_LEDGER,
        help="where to copy accounts.beancount and allocation.beancount from (default: ledger/)",
    )
    args = parser.parse_args(argv)
    start, _, end = args.months.partition(":")
    try:
        paths = write_ledger(
            args.out_dir,
            start=start,
            end=end or start,
            scale=args.scale,
            daily=args.daily,
            seed=args.seed,
            includes=args.include,
            structure_dir=args.structure,
        )
    except StructureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # a malformed or empty --months, a --scale below 1
        parser.error(f"--months {args.months} --scale {args.scale}: {error}")
    for path in paths:
        print(path)
    return 0
