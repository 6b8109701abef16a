"""Reading delimited feed files row by row, with the line number a person sees in an editor.

Every field is kept as the text it is (numbers are parsed by the feed, as
Decimal); a row with another number of fields than the header is reported, not
padded or cut.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import FeedProblem, FeedRejected


@dataclass(frozen=True)
class Row:
    """One data row: its first line in the file and its fields by column name."""

    line: int
    fields: dict[str, str]


def read_header(path: str | Path, delimiter: str = ",", fold_case: bool = False) -> list[str] | None:
    """The first row of the file as column names (stripped, BOM removed, lower-cased if `fold_case`),
    or None if it is not text."""
    # Only the first line is decoded: a bad byte further down is the importer's error to report
    # (not UTF-8), not a reason to skip the file.
    try:
        with open(path, "rb") as file:
            first = file.readline(65536).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if not first.strip():
        return None
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except csv.Error:
        return None
    return [name.strip().lower() if fold_case else name.strip() for name in header]


def read_rows(
    path: str | Path, required: tuple[str, ...], delimiter: str = ",", fold_case: bool = False
) -> tuple[list[Row], list[FeedProblem]]:
    """Every data row of the file and a problem per malformed row (iter_rows, as a list)."""
    problems: list[FeedProblem] = []
    rows = list(iter_rows(path, required, problems, delimiter, fold_case))
    return rows, problems


def iter_rows(
    path: str | Path,
    required: tuple[str, ...],
    problems: list[FeedProblem],
    delimiter: str = ",",
    fold_case: bool = False,
) -> Iterator[Row]:
    """The data rows of the file, one at a time; a problem appended to `problems` per malformed row.

    A missing required column rejects the file at once (FeedRejected at line 1):
    no row can be read without it. Blank lines are not rows. With `fold_case`,
    column names are lower-cased (`Date` is `date`). Streaming, so a large export
    is never held in memory as rows.
    """
    filename = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            yield from _read(filename, file, required, problems, delimiter, fold_case)
    except UnicodeDecodeError as error:
        raise FeedRejected([FeedProblem(filename, None, f"not UTF-8 text ({error.reason})")]) from None
    except OSError as error:
        raise FeedRejected([FeedProblem(filename, None, f"cannot read: {error.strerror}")]) from None


def _read(
    filename: str,
    lines: Iterator[str],
    required: tuple[str, ...],
    problems: list[FeedProblem],
    delimiter: str,
    fold_case: bool,
) -> Iterator[Row]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() if fold_case else name.strip() for name in next(reader)]
    except StopIteration:
        raise FeedRejected([FeedProblem(filename, None, "empty file (no header)")]) from None
    except csv.Error as error:
        raise FeedRejected([FeedProblem(filename, 1, f"unreadable header: {error}")]) from None
    missing = [name for name in required if name not in header]
    if missing:
        raise FeedRejected(
            [
                FeedProblem(
                    filename, 1, f"missing column(s) {', '.join(missing)} (header: {', '.join(header)})"
                )
            ]
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise FeedRejected([FeedProblem(filename, 1, f"column(s) {', '.join(duplicated)} written twice")])
    line = reader.line_num
    while True:
        start = line + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(FeedProblem(filename, start, f"malformed row: {error}"))
            line = reader.line_num
            continue
        line = reader.line_num
        if all(not field.strip() for field in fields):  # a blank line, or a spreadsheet's ",,,,"
            continue
        if len(fields) != len(header):
            problems.append(
                FeedProblem(
                    filename, start, f"malformed row: {len(fields)} fields where the header has {len(header)}"
                )
            )
            continue
        yield Row(start, dict(zip(header, (field.strip() for field in fields), strict=True)))
