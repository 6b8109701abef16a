"""Find amounts that the per-token and per-model figures would read wrongly.

The saved queries read two things by convention (docs/conventions.md), and an
amount that breaks either one would silently drop out of a figure, or show up
as a model that does not exist:

- **Tokens are in MTOK** (million tokens) under ``Equity:Stats:Tokens``: the
  queries count ``currency = 'MTOK'``, so ``10 MTOKS`` (a typo) is in no
  per-token figure.
- **Per-model accounts end in ``:<Tier>:<Model>``**: the queries take the model
  from an account's last component and the tier from the one before it, for
  ``Income:<Tier>:...``, the inference accounts under ``Expenses:COGS`` and
  ``Equity:Stats:Tokens``. When the books meter tokens per tier and model
  (``Equity:Stats:Tokens:<Tier>:<Model>`` accounts are opened), every such
  account with postings must end in one of those pairs; a serving target
  written without its model (``Expenses:COGS:Inference:Compute:API``) would
  otherwise be read as a model named ``API``.

For example, with ``Equity:Stats:Tokens:API:Wren`` opened::

    2025-01-31 * "Metering"
      Equity:Stats:Tokens:API:Wren   10 MTOKS
      Equity:Stats:Offset           -10 MTOKS

is an error at the transaction's line::

    10 MTOKS on Equity:Stats:Tokens:API:Wren is in no per-token figure: tokens
    count in MTOK (million tokens); write it in MTOK

and a posting to ``Expenses:COGS:Inference:Compute:API`` an error at that
account's ``open``. ``ailab_books.plugins.classify`` runs these checks (the
per-model check needs the cost classes it decides), so books need no plugin
line of their own for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from beancount.core import data

#: The unit every per-token figure counts.
TOKEN_UNIT = "MTOK"


class ConventionError(NamedTuple):
    """An amount the saved queries would misread; ``source`` is where to fix it."""

    source: data.Meta
    message: str
    entry: data.Directive | None


def _roots(options_map: Mapping[str, Any]) -> tuple[str, str, str]:
    equity = options_map.get("name_equity") or "Equity"
    return (
        f"{equity}:Stats:Tokens",
        str(options_map.get("name_income") or "Income"),
        f"{options_map.get('name_expenses') or 'Expenses'}:COGS",
    )


def _segment(name: str) -> tuple[str, str]:
    """(tier, model) as the queries read them (leaf(parent(account)), leaf(account))."""
    components = name.split(":")
    return (components[-2] if len(components) > 1 else ""), components[-1]


def convention_errors(
    entries: data.Entries,
    options_map: Mapping[str, Any],
    cost_class: Callable[[str], str | None],
) -> list[ConventionError]:
    """Tokens in another unit than MTOK, and per-model accounts whose last two
    components are no tier and model the books meter.

    Args:
      entries: the directives (after classification).
      options_map: the options; root names are read from it.
      cost_class: an account's cost class (classify's), to tell which
        ``Expenses:COGS`` accounts the per-model queries count.
    """
    tokens_root, income_root, cogs_root = _roots(options_map)
    tokens_prefix = tokens_root + ":"
    opens: dict[str, data.Open] = {}
    pairs: set[tuple[str, str]] = set()
    for entry in entries:
        if isinstance(entry, data.Open):
            opens.setdefault(entry.account, entry)
            parts = entry.account[len(tokens_prefix) :].split(":")
            if entry.account.startswith(tokens_prefix) and len(parts) == 2:
                pairs.add((parts[0], parts[1]))

    def read_per_model(name: str) -> bool:
        if name.startswith(tokens_prefix):
            return True
        if name.startswith(income_root + ":"):
            return name.count(":") >= 2  # Income:<Tier>:<...>; a tier account is a pool
        return name.startswith(cogs_root + ":") and cost_class(name) == "inference"

    errors: list[ConventionError] = []
    misread: dict[str, data.Transaction] = {}
    # Per account, decided once (a posting then costs one dictionary look-up): is it
    # a token account, and would the per-model figures misread it?
    roles: dict[str, tuple[bool, bool]] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            name = posting.account
            role = roles.get(name)
            if role is None:
                role = roles[name] = (
                    name.startswith(tokens_prefix),
                    bool(pairs) and _segment(name) not in pairs and read_per_model(name),
                )
            is_tokens, is_misread = role
            units = posting.units
            if is_tokens and units is not None and units.currency != TOKEN_UNIT:
                errors.append(
                    ConventionError(
                        entry.meta,
                        f"{units} on {name} is in no per-token figure: tokens count in "
                        f"{TOKEN_UNIT} (million tokens); write it in {TOKEN_UNIT}",
                        entry,
                    )
                )
            if is_misread and name not in misread:
                misread[name] = entry
    for name, first in misread.items():
        tier, model = _segment(name)
        where: data.Directive = opens.get(name, first)
        errors.append(
            ConventionError(
                where.meta,
                f"{name} has postings that the per-model figures would read as tier {tier}, model "
                f"{model}, and the books meter no tokens for that pair ({tokens_root}:{tier}:{model} "
                "is not opened): a per-model account ends in :<Tier>:<Model> (docs/conventions.md)",
                where,
            )
        )
    return errors
