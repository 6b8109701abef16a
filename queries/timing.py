"""Time every saved query of a ledger: parse cost and parse + run cost.

    python -m ailab_books.queries.timing [LEDGER] [--repeat N] [--dump FILE]

For each ``query`` directive of the ledger: ``parse`` is the best of N calls of
``beanquery.parser.parse`` on its text; ``parse + run`` is the best of N calls
of ``beanquery.query.run_query`` (parse, compile, execute, fetch) on the loaded
entries; ``run`` is their difference. Prints a Markdown table (seconds).
``--dump FILE`` also writes every query's full output (column names and the
repr of every row, queries in name order) so that two versions of the
queries can be compared exactly with ``diff``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from beancount import loader
from beancount.core import data
from beanquery import parser
from beanquery.query import run_query


def _best(func, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("ledger", nargs="?", default="ledger/main.beancount")
    args.add_argument("--repeat", type=int, default=3)
    args.add_argument("--dump", type=Path)
    opts = args.parse_args(argv)

    entries, errors, options = loader.load_file(opts.ledger)
    if errors:
        raise SystemExit(f"{opts.ledger}: {len(errors)} errors")
    # by name: the order of same-date directives follows line numbers, which an
    # edit of the query files changes, and the dumps must line up for `diff`
    queries = sorted((e for e in entries if isinstance(e, data.Query)), key=lambda e: e.name)
    dump: list[str] = []
    print("| query | parse (s) | run (s) | parse + run (s) |")
    print("|---|---:|---:|---:|")
    totals = [0.0, 0.0]
    for query in queries:
        text = query.query_string
        parse = _best(lambda text=text: parser.parse(text), opts.repeat)
        whole = _best(lambda text=text: run_query(entries, options, text), opts.repeat)
        totals[0] += parse
        totals[1] += whole
        print(f"| `{query.name}` | {parse:.2f} | {whole - parse:.2f} | {whole:.2f} |")
        if opts.dump:
            types, rows = run_query(entries, options, text)
            dump.append(f"== {query.name}")
            dump.append(repr([column.name for column in types]))
            dump.extend(repr(tuple(row)) for row in rows)
    print(f"| total | {totals[0]:.2f} | {totals[1] - totals[0]:.2f} | {totals[1]:.2f} |")
    if opts.dump:
        opts.dump.write_text("\n".join(dump) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
