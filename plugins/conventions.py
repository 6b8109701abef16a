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


class ConventionCheck:
    """Collects, as classify's one pass over the postings shows them, token amounts in
    another unit and per-model accounts that name no metered pair (``watches`` an
    account once, then ``see`` each of its postings); ``errors`` reports them."""

    def __init__(
        self,
        opens: Mapping[str, data.Open],
        options_map: Mapping[str, Any],
        cost_class: Callable[[str], str | None],
    ) -> None:
        self.tokens_root, self._income_root, self._cogs_root = _roots(options_map)
        self._tokens_prefix = self.tokens_root + ":"
        self._opens = opens
        self._cost_class = cost_class
        self.pairs: set[tuple[str, str]] = set()
        for name in opens:
            parts = name[len(self._tokens_prefix) :].split(":")
            if name.startswith(self._tokens_prefix) and len(parts) == 2:
                self.pairs.add((parts[0], parts[1]))
        self._misread: dict[str, data.Transaction] = {}
        self._wrong_unit: list[tuple[data.Transaction, data.Posting]] = []

    def _read_per_model(self, name: str) -> bool:
        if name.startswith(self._tokens_prefix):
            return True
        if name.startswith(self._income_root + ":"):
            return name.count(":") >= 2  # Income:<Tier>:<...>; a tier account is a pool
        return name.startswith(self._cogs_root + ":") and self._cost_class(name) == "inference"

    def watches(self, account: str) -> bool:
        """Whether postings to ``account`` need looking at: tokens, or an account the
        per-model figures would misread."""
        if account.startswith(self._tokens_prefix):
            return True
        return bool(self.pairs) and _segment(account) not in self.pairs and self._read_per_model(account)

    def see(self, entry: data.Transaction, posting: data.Posting) -> None:
        name = posting.account
        units = posting.units
        if name.startswith(self._tokens_prefix) and units is not None and units.currency != TOKEN_UNIT:
            self._wrong_unit.append((entry, posting))
        if (
            self.pairs
            and name not in self._misread
            and _segment(name) not in self.pairs
            and self._read_per_model(name)
        ):
            self._misread[name] = entry

    def errors(self) -> list[ConventionError]:
        errors = [
            ConventionError(
                entry.meta,
                f"{posting.units} on {posting.account} is in no per-token figure: tokens count in "
                f"{TOKEN_UNIT} (million tokens); write it in {TOKEN_UNIT}",
                entry,
            )
            for entry, posting in self._wrong_unit
        ]
        for name, first in self._misread.items():
            tier, model = _segment(name)
            where: data.Directive = self._opens.get(name, first)
            errors.append(
                ConventionError(
                    where.meta,
                    f"{name} has postings that the per-model figures would read as tier {tier}, model "
                    f"{model}, and the books meter no tokens for that pair ({self.tokens_root}:{tier}:"
                    f"{model} is not opened): a per-model account ends in :<Tier>:<Model> "
                    "(docs/conventions.md)",
                    where,
                )
            )
        return errors


def convention_errors(
    entries: data.Entries,
    options_map: Mapping[str, Any],
    cost_class: Callable[[str], str | None],
) -> list[ConventionError]:
    """Tokens in another unit than MTOK, and per-model accounts whose last two
    components are no tier and model the books meter (:class:`ConventionCheck`
    over every posting, on its own).

    Args:
      entries: the directives (after classification).
      options_map: the options; root names are read from it.
      cost_class: an account's cost class (classify's), to tell which
        ``Expenses:COGS`` accounts the per-model queries count.
    """
    opens: dict[str, data.Open] = {}
    for entry in entries:
        if isinstance(entry, data.Open):
            opens.setdefault(entry.account, entry)
    check = ConventionCheck(opens, options_map, cost_class)
    watched: dict[str, bool] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                name = posting.account
                if name not in watched:
                    watched[name] = check.watches(name)
                if watched[name]:
                    check.see(entry, posting)
    return check.errors()
