"""What an importer says when a feed file cannot be imported: located problems.

A feed file is imported whole or not at all. An importer reads every row,
collects a `FeedProblem` for each one it cannot use (a malformed row, an
unknown label, negative hours, ...) and, if there is any, raises one
`FeedRejected` carrying them all, so that the user fixes the file in one round.
It never returns the entries of the rows that were fine: half a month of
drivers would move every allocation by a wrong share without a word.

`FeedRejected` derives from beangulp's own `Error`, so beangulp's commands
(identify, archive) print it as a message rather than as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from beangulp.exceptions import Error

# How many problems `str(FeedRejected)` lists before it says how many more there are.
SHOWN_PROBLEMS = 20


class FeedProblem(NamedTuple):
    """One thing wrong with a feed file, where a person finds it.

    `row` is the 1-based line number as an editor shows it (the header is line 1,
    the first data row line 2); for a Parquet file the 1-based row index, which
    the message then says ("row N"). None when the problem is the file's as a
    whole (a missing column, an unreadable file).
    """

    filename: str
    row: int | None
    message: str

    @classmethod
    def at(cls, meta: Mapping[str, object] | None, message: str) -> FeedProblem:
        """A problem at the file and line of an entry's (or posting's) metadata."""
        meta = meta or {}
        row = meta.get("lineno")
        return cls(str(meta.get("filename", "?")), row if isinstance(row, int) and row > 0 else None, message)

    def __str__(self) -> str:
        if self.row is None:
            return f"{self.filename}: {self.message}"
        return f"{self.filename}:{self.row}: {self.message}"


class FeedRejected(Error):  # type: ignore[misc]  # beangulp ships no type information
    """A feed file (or a run) refused, with every problem found in it."""

    def __init__(self, problems: Iterable[FeedProblem]) -> None:
        self.problems: list[FeedProblem] = list(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        lines = [str(problem) for problem in self.problems[:SHOWN_PROBLEMS]]
        hidden = len(self.problems) - SHOWN_PROBLEMS
        if hidden > 0:
            lines.append(f"... and {hidden} more problems")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._summary()
