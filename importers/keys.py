"""How imported entries are keyed, and how a second import of the same thing is recognised.

Every entry an importer extracts carries `import-id: "<feed>/<period>/<key>"`
(for example `"timesheets/2026-11/DatacenterOps"`), a pure function of what the
entry states: never of the file's name or of the time of import. Importing the
same export twice, or two exports that overlap, therefore yields entries whose
ids are already in the books:

- same id, same figures (date and postings): a duplicate. It is marked with
  beangulp's `__duplicate__` metadata, so `lab-import extract` writes it as a
  comment (`; duplicate of file:line`) and appending the output adds nothing;
- same id, different figures: an error naming both places. Two exports disagree
  about the same month; taking either silently would be a different figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from beancount.core import data
from beangulp.extract import DUPLICATE

from .errors import FeedProblem, FeedRejected

IMPORT_ID = "import-id"


def import_id(feed: str, *parts: str) -> str:
    """The id `feed/part/part...`. A part may not be empty or contain `/` (the id would be ambiguous)."""
    for part in (feed, *parts):
        if not part or "/" in part:
            raise ValueError(f"import-id part {part!r} is empty or contains '/'")
    return "/".join((feed, *parts))


def entry_import_id(entry: data.Directive) -> str | None:
    """The entry's import-id, if it has one (hand-written entries do not)."""
    meta = entry.meta or {}
    value = meta.get(IMPORT_ID)
    return value if isinstance(value, str) else None


Figure = tuple[str, Decimal | None, str | None]


def figures(entry: data.Directive) -> tuple[str, tuple[Figure, ...]]:
    """What two entries with one id must agree on: the date and the postings (account, number, unit).

    Narration and metadata may differ (a later export may count staff differently
    in its narration); the quantities may not.
    """
    postings: list[Figure] = []
    if isinstance(entry, data.Transaction):
        for posting in entry.postings:
            units = posting.units
            number = units.number if units is not None else None
            currency = units.currency if units is not None else None
            postings.append((posting.account, number, currency))
    return entry.date.isoformat(), tuple(sorted(postings, key=str))


def where(entry: data.Directive) -> str:
    """`file:line` of an entry, as a message names it."""
    meta = entry.meta or {}
    return f"{meta.get('filename', '?')}:{meta.get('lineno', '?')}"


def mark_duplicates(new: list[data.Directive], existing: Sequence[data.Directive]) -> list[data.Directive]:
    """`new`, with the entries whose import-id is already in `existing` marked as duplicates.

    Returns new entries (`_replace`), never mutates the input. Raises FeedRejected
    listing every id that `existing` holds with different figures, each located
    at the new entry's source row and naming the existing entry's file and line.
    """
    known: dict[str, data.Directive] = {}
    for entry in existing:
        key = entry_import_id(entry)
        if key is not None and DUPLICATE not in (entry.meta or {}):
            known.setdefault(key, entry)
    marked: list[data.Directive] = []
    problems: list[FeedProblem] = []
    for entry in new:
        key = entry_import_id(entry)
        previous = known.get(key) if key is not None else None
        if previous is None:
            marked.append(entry)
        elif figures(previous) == figures(entry):
            marked.append(entry._replace(meta={**entry.meta, DUPLICATE: previous}))
        else:
            problems.append(
                FeedProblem.at(
                    entry.meta,
                    f"{IMPORT_ID} {key!r} is already at {where(previous)} with different figures "
                    f"(there: {describe(previous)}; here: {describe(entry)}); two exports disagree "
                    "about the same period: import one complete export per period "
                    "(combine partial ones into one file)",
                )
            )
    if problems:
        raise FeedRejected(problems)
    return marked


def describe(entry: data.Directive, shown: int = 4) -> str:
    """The figures of an entry, short: `date account number unit, ...` (at most `shown` postings)."""
    date, postings = figures(entry)
    parts = [f"{account} {number} {unit}" for account, number, unit in postings[:shown]]
    if len(postings) > shown:
        parts.append(f"and {len(postings) - shown} more postings")
    return f"{date} " + ", ".join(parts)
