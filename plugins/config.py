"""The allocation plugin's configuration string, parsed (never evaluated).

    plugin "ailab_books.plugins.allocate" "pool-root=Expenses:Overhead"

Settings are `key=value` words separated by spaces or commas. The only one is
`pool-root`, the account under which every account must be empty at each month
end after allocation (default: the ledger's Expenses root, then `Shared`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from beancount.core import account


@dataclass(frozen=True)
class AllocateConfig:
    pool_root: str | None = None  # None: the default, `<name_expenses>:Shared`


def parse_config(config: str | None) -> tuple[AllocateConfig, list[str]]:
    """The settings in `config` and a message per word that is not one."""
    problems: list[str] = []
    pool_root: str | None = None
    for word in re.split(r"[\s,]+", (config or "").strip()):
        if not word:
            continue
        key, equals, value = word.partition("=")
        if key == "pool-root" and equals and account.is_valid(value):
            pool_root = value
        elif key == "pool-root":
            problems.append(f"pool-root needs an account name, as in pool-root=Expenses:Shared; got {word!r}")
        else:
            problems.append(f"unknown setting {word!r}; the plugin takes pool-root=<account>")
    return AllocateConfig(pool_root=pool_root), problems
