"""The `[usage]` table of `lab-import`'s configuration, checked into `UsageSettings`.

```toml
[usage]
engine = "duckdb"                 # or "spark" (pip install 'ailab-books[spark]', needs Java)
memory-limit = "1GB"              # DuckDB's; it spills to disk beyond it
root = "Equity:Stats:Tokens"      # postings go to <root>:<Tier>:<Model>
offset = "Equity:Stats:Offset"
period = "2026-11"                # optional (or lab-import --period): only this month's rows post

[usage.weights]                   # which token kinds a MTOK counts, and how much each weighs
input = "1"                       # exact decimals: strings or integers, never TOML floats
cached-input = "0"
output = "1"

[usage.models]                    # the log's model name -> the books' model (account component)
"orion-4-2026-09" = "Orion"

[usage.tiers]                     # the log's tier (or plan) -> the books' tier
api = "API"
```

A kind left out of `[usage.weights]` does not count (weight 0). The weights
are written into every posting (`tokens: "input + output"`), so a reader sees
what a MTOK of these books means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from beancount.core import account

from .config import ImportConfig, Table

# The token kinds of a request log: the TOML key, and the log's column.
TOKEN_KINDS: tuple[tuple[str, str], ...] = (
    ("input", "input_tokens"),
    ("cached-input", "cached_input_tokens"),
    ("output", "output_tokens"),
)
ENGINES = ("duckdb", "spark")
ALLOWED = ("engine", "memory-limit", "root", "offset", "period", "weights", "models", "tiers")
# A label of the log as the SQL text names it: no quotes or backslashes can reach the SQL.
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:+@/-]*")
# An account component of the books: capitalised, no spaces (docs/conventions.md).
COMPONENT = re.compile(r"[A-Z][A-Za-z0-9-]*")
MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|KiB|MiB|GiB)")


@dataclass(frozen=True)
class UsageSettings:
    """What the usage importer needs: the engine, the weights and the names the books use."""

    engine: str
    memory_limit: str
    root: str
    offset: str
    # Token kind (TOML key) -> weight; every kind of TOKEN_KINDS is present (0 when not counted).
    weights: Mapping[str, Decimal]
    # The log's labels -> the books' account components.
    models: Mapping[str, str]
    tiers: Mapping[str, str]
    # Only this month (YYYY-MM) is extracted; every row of the file is still checked.
    period: str | None = None

    def formula(self) -> str:
        """What a MTOK counts, as a reader reads it: `input + 0.1 * cached-input + output`."""
        terms = []
        for kind, _ in TOKEN_KINDS:
            weight = self.weights[kind]
            if weight == 0:
                continue
            terms.append(kind if weight == 1 else f"{weight} * {kind}")
        return " + ".join(terms)


def usage_settings(config: ImportConfig) -> UsageSettings:
    """The `[usage]` table of `config`, checked. Raises ConfigError naming the file, table and key."""
    table = Table.of(config, "usage", ALLOWED)
    engine = table.choice("engine", ENGINES, "duckdb")
    memory_limit = table.string("memory-limit", "1GB")
    if not MEMORY.fullmatch(memory_limit):
        raise table.error("memory-limit", f'must be a size such as "1GB" or "512MB", not {memory_limit!r}')
    root = table.string("root", "Equity:Stats:Tokens")
    offset = table.string("offset", "Equity:Stats:Offset")
    for key, name in (("root", root), ("offset", offset)):
        if not account.is_valid(name):
            raise table.error(key, f"not an account name: {name!r}")
    return UsageSettings(
        engine=engine,
        memory_limit=memory_limit,
        root=root,
        offset=offset,
        weights=weights(table),
        models=labels(table, "models"),
        tiers=labels(table, "tiers"),
        period=table.optional_period("period"),
    )


def weights(table: Table) -> dict[str, Decimal]:
    """`[usage.weights]`: exact, non-negative decimals; at least one kind counts."""
    written = table.values.get("weights", {"input": "1", "output": "1"})
    if not isinstance(written, dict):
        raise table.error("weights", f"must be a table of token kinds to weights, not {written!r}")
    kinds = [kind for kind, _ in TOKEN_KINDS]
    result = {kind: Decimal(0) for kind in kinds}
    for kind, value in written.items():
        key = f"weights.{kind}"
        if kind not in kinds:
            raise table.error(key, f"unknown token kind (known: {', '.join(kinds)})")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise table.error(
                key,
                f'write the weight as a string ("0.1") or an integer, not {value!r}: a TOML float is binary',
            )
        try:
            weight = Decimal(value)
        except InvalidOperation:
            raise table.error(key, f"not a decimal number: {value!r}") from None
        if not weight.is_finite() or weight < 0:
            raise table.error(key, f"must be a finite number >= 0, not {value!r}")
        result[kind] = weight
    if not any(result.values()):
        raise table.error("weights", "no token kind counts (every weight is 0)")
    return result


def labels(table: Table, key: str) -> dict[str, str]:
    """`[usage.models]` or `[usage.tiers]`: the log's labels to account components."""
    mapping = dict(table.string_map(key))
    if not mapping:
        raise table.error(key, "is empty: name at least one label of the log")
    for label, component in mapping.items():
        if not LABEL.fullmatch(label):
            raise table.error(
                f"{key}.{label}", "a label may hold letters, digits, spaces and . _ : + @ / - only"
            )
        if not COMPONENT.fullmatch(component):
            raise table.error(
                f"{key}.{label}", f"{component!r} is not an account component (capitalised, no spaces)"
            )
    return mapping
