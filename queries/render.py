"""Render a DataFrame of query results as a plain table, CSV, Markdown or JSON.

No value goes through ``float``: Decimals are printed with ``str`` (money comes
out of the queries rounded to cents, per-million-token figures to six decimal
places), NULL (``None``/NaN) is an empty cell, ``null`` in JSON.

JSON is a list of objects, one per row, keyed by column name; every Decimal is
emitted as a **string** holding its exact value (``"120.00"``), integers as
JSON numbers, NULL as ``null``. Read it back with ``decimal.Decimal(value)``.

Example::

    >>> frame = pd.DataFrame({"month": ["2025-01"], "revenue": [Decimal("5.00")]})
    >>> print(render(frame, "table"), end="")
    month    revenue
    -------  -------
    2025-01     5.00
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from typing import Any

import pandas as pd

FORMATS = ("table", "csv", "markdown", "json")


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


def cell(value: Any) -> str:
    """The text of one cell: Decimals exactly (no ``-0``), NULL as empty."""
    if _is_null(value):
        return ""
    if isinstance(value, Decimal):
        if value == 0:
            value = abs(value)
        return f"{value:f}"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalar
    return str(value)


def _numeric_columns(frame: pd.DataFrame) -> list[bool]:
    flags = []
    for column in frame.columns:
        values = [value for value in frame[column] if not _is_null(value)]
        flags.append(bool(values) and all(_is_number(value) for value in values))
    return flags


def to_table(frame: pd.DataFrame) -> str:
    """A plain text table: numbers right-aligned, text left-aligned."""
    headers = [str(column) for column in frame.columns]
    numeric = _numeric_columns(frame)
    body = [[cell(value) for value in row] for row in frame.itertuples(index=False)]
    widths = [max([len(header)] + [len(row[index]) for row in body]) for index, header in enumerate(headers)]

    def line(values: list[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    lines = [line(headers), "  ".join("-" * width for width in widths)]
    lines.extend(line(row) for row in body)
    return "\n".join(lines) + "\n"


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table, numeric columns right-aligned."""
    headers = [str(column) for column in frame.columns]
    numeric = _numeric_columns(frame)
    rows = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if flag else ":---" for flag in numeric) + "|",
    ]
    for row in frame.itertuples(index=False):
        rows.append("| " + " | ".join(cell(value).replace("|", "\\|") for value in row) + " |")
    return "\n".join(rows) + "\n"


def to_csv(frame: pd.DataFrame) -> str:
    """CSV with a header row; Decimals written exactly, NULL as an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(column) for column in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def _json_value(value: Any) -> Any:
    if _is_null(value):
        return None
    if isinstance(value, Decimal):
        return cell(value)
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, (bool, int, str)):
        return value
    return str(value)


def to_json(frame: pd.DataFrame) -> str:
    """A JSON list of row objects; Decimals as exact strings."""
    records = [
        {str(column): _json_value(value) for column, value in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]
    return json.dumps(records, indent=2) + "\n"


def render(frame: pd.DataFrame, fmt: str = "table") -> str:
    """Render ``frame`` in one of :data:`FORMATS`."""
    renderers = {"table": to_table, "csv": to_csv, "markdown": to_markdown, "json": to_json}
    try:
        return renderers[fmt](frame)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
