"""Read a directive's own lines back from its source file.

Beancount's parser keeps only the last value of a metadata key written twice on
a directive, without a word. For an allocation rule that silently sends an
activity somewhere else, so the rule's metadata lines are re-read from the file
(each file once per load) to find keys written more than once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from beancount.core import data

# An indented metadata line: `  key: value` (beancount keys start with a lower-case letter).
_META_LINE = re.compile(r"^[ \t]+([a-z][A-Za-z0-9_-]*)\s*:")


@dataclass
class SourceLines:
    """The lines of the ledger's files, read on demand and cached for one load."""

    _files: dict[str, list[str] | None] = field(default_factory=dict)

    def lines(self, filename: str) -> list[str] | None:
        """The file's lines, or None when it cannot be read (e.g. "<string>")."""
        if filename not in self._files:
            try:
                with open(filename, encoding="utf-8") as file:
                    self._files[filename] = file.read().splitlines()
            except (OSError, UnicodeDecodeError, ValueError):
                self._files[filename] = None
        return self._files[filename]

    def metadata_keys(self, meta: data.Meta) -> list[tuple[str, int]] | None:
        """The (key, line number) of each metadata line written under a directive.

        Reads the indented `key:` lines that follow the directive's line, up to the
        first line that is blank or not indented. None when the source is unreadable.
        """
        filename = meta.get("filename")
        lineno = meta.get("lineno")
        if not isinstance(filename, str) or not isinstance(lineno, int) or lineno < 1:
            return None
        lines = self.lines(filename)
        if lines is None or lineno > len(lines):
            return None
        keys: list[tuple[str, int]] = []
        for number in range(lineno + 1, len(lines) + 1):
            line = lines[number - 1]
            if not line.strip() or not line[0].isspace():
                break
            match = _META_LINE.match(line)
            if match:
                keys.append((match.group(1), number))
        return keys

    def find_line(self, filename: str, needle: str) -> int:
        """The 1-based number of the first line of `filename` containing `needle`, or 0."""
        for number, line in enumerate(self.lines(filename) or (), start=1):
            if needle in line and not line.lstrip().startswith(";"):
                return number
        return 0


def repeated_keys(keys: list[tuple[str, int]]) -> dict[str, list[int]]:
    """Key (lower case) -> the lines it is written on, for keys written more than once."""
    lines: dict[str, list[int]] = {}
    for key, number in keys:
        lines.setdefault(key.lower(), []).append(number)
    return {key: numbers for key, numbers in lines.items() if len(numbers) > 1}


def relative_location(meta: data.Meta, main_dir: str | None) -> str:
    """A directive's "file:line", relative to the main file's folder when it is a real path, so
    that two checkouts of the same books generate identical entries (the ``rule:``,
    ``asset-purchase`` and ``model-record`` metadata of generated entries)."""
    filename = str(meta.get("filename", "<unknown>"))
    if main_dir and not filename.startswith("<"):
        filename = os.path.relpath(os.path.abspath(filename), main_dir)
    return f"{filename}:{meta.get('lineno', 0)}"
