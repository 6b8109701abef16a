"""The one configuration file of `lab-import`: a TOML file, one table per feed.

```toml
ledger = "../../ledger/main.beancount"   # optional; relative to this file

[timesheets]
...
[slurm]
...
```

`load_config` checks the file's shape (known tables, `ledger` a string); each
feed module validates its own table into a frozen dataclass with a
`<feed>_settings(config)` function, using `Table` below, so every mistake is a
`ConfigError` naming the file, the table and the key (and the line, when the key
is written in the file). Nothing in the file is ever evaluated.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# The feeds lab-import knows; a table of another name is a typo, not something to ignore.
FEEDS = ("usage", "timesheets", "slurm", "opencost", "focus")
TOP_LEVEL_KEYS = ("ledger",)


class ConfigError(Exception):
    """A mistake in the import configuration, located at file, table and key (and line when known)."""

    def __init__(self, path: Path, table: str | None, key: str | None, message: str) -> None:
        self.path = path
        self.table = table
        self.key = key
        self.message = message
        self.line = find_line(path, table, key)
        super().__init__(str(self))

    def __str__(self) -> str:
        place = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        what = ""
        if self.table is not None:
            what += f"[{self.table}]"
        if self.key is not None:
            what += f" {self.key}" if what else self.key
        return f"{place}: {what}: {self.message}" if what else f"{place}: {self.message}"


def find_line(path: Path, table: str | None, key: str | None) -> int | None:
    """The 1-based line of `key` in `[table]` (or of the table's header), if the file says it.

    Best effort: TOML's parser keeps no positions, and the message is complete without a line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    current: str | None = None
    header_line: int | None = None
    first_part = key.split(".")[0] if key else None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", stripped)
        if header:
            current = header.group(1)
            if table is None and current == first_part:
                return number  # a top-level key written as a table: [bogus]
            if table is not None and current == table and header_line is None:
                header_line = number
            # A key written as a sub-table header: [timesheets.teams]
            if table is not None and key is not None and current == f"{table}.{first_part}":
                return number
            continue
        if first_part is None or current != table:
            continue
        match = re.match(r"\s*\"?([A-Za-z0-9_-]+)\"?\s*[.=]", line)
        if match and match.group(1) == first_part:
            return number
    return header_line


@dataclass(frozen=True)
class ImportConfig:
    """The configuration file, read: where it is, the books it imports into, one table per feed."""

    path: Path
    ledger: Path | None
    sections: Mapping[str, Mapping[str, Any]]


def load_config(path: str | Path) -> ImportConfig:
    """Read and check the TOML file at `path`. Raises ConfigError."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigError(path, None, None, f"cannot read the configuration: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, None, None, f"not valid TOML: {error}") from None
    sections: dict[str, Mapping[str, Any]] = {}
    ledger: Path | None = None
    for key, value in document.items():
        if key == "ledger":
            if not isinstance(value, str) or not value:
                raise ConfigError(path, None, key, "must be a non-empty string (the books' main file)")
            ledger = (path.parent / value).resolve() if not Path(value).is_absolute() else Path(value)
        elif key in FEEDS:
            if not isinstance(value, dict):
                raise ConfigError(path, None, key, "must be a table ([" + key + "])")
            sections[key] = value
        else:
            known = ", ".join([*TOP_LEVEL_KEYS, *(f"[{feed}]" for feed in FEEDS)])
            raise ConfigError(path, None, key, f"unknown key or table (known: {known})")
    return ImportConfig(path=path, ledger=ledger, sections=sections)


@dataclass(frozen=True)
class Table:
    """One feed's table, with typed getters that raise ConfigError naming the file, table and key."""

    config: ImportConfig
    name: str
    values: Mapping[str, Any]

    @classmethod
    def of(cls, config: ImportConfig, name: str, allowed: tuple[str, ...]) -> Table:
        """The table `[name]` of `config` (empty if absent), refusing keys not in `allowed`."""
        values = config.sections.get(name, {})
        table = cls(config, name, values)
        for key in values:
            if key not in allowed:
                raise table.error(key, f"unknown key (known: {', '.join(allowed)})")
        return table

    def error(self, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.config.path, self.name, key, message)

    def string(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if value is None:
            raise self.error(key, "missing (required)")
        if not isinstance(value, str) or not value:
            raise self.error(key, f"must be a non-empty string, not {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        if key not in self.values:
            return None
        return self.string(key)

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.string(key, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def string_map(self, key: str, required: bool = True) -> Mapping[str, str]:
        """A sub-table of strings to strings (e.g. labels to accounts)."""
        value = self.values.get(key)
        if value is None:
            if required:
                raise self.error(key, "missing (required): a table of names to strings")
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table of names to strings, not {value!r}")
        for name, target in value.items():
            if not isinstance(target, str) or not target:
                raise self.error(f"{key}.{name}", f"must be a non-empty string, not {target!r}")
        return dict(value)

    def optional_datetime(self, key: str) -> datetime | None:
        """A TOML local date-time (`2026-12-01T00:00:00`), or the same written as a string."""
        if key not in self.values:
            return None
        value = self.values[key]
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(key, f"not a date-time (YYYY-MM-DDTHH:MM:SS): {value!r}") from None
        if not isinstance(value, datetime):
            raise self.error(key, f"must be a date-time (YYYY-MM-DDTHH:MM:SS), not {value!r}")
        if value.tzinfo is not None:
            raise self.error(key, "write the time without an offset, in the feed's time zone (UTC)")
        return value

    def optional_period(self, key: str) -> str | None:
        """A month, `YYYY-MM`."""
        value = self.optional_string(key)
        if value is None:
            return None
        try:
            datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise self.error(key, f"must be a month, YYYY-MM, not {value!r}") from None
        if len(value) != 7:
            raise self.error(key, f"must be a month, YYYY-MM, not {value!r}")
        return value
