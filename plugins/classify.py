"""Give every expense account a cost class and tag transactions with it.

The lab's margin reports split costs four ways: serving (COGS), training
(R&D), selling and administration (SG&A), and shared pools that the
allocation plugin has yet to split. This plugin derives each expense account's
class from the account tree:

    Expenses:COGS:...    inference
    Expenses:RnD:...     training
    Expenses:SGA:...     sga
    Expenses:Shared:...  shared

An `open` directive may override the tree with `cost-class: "<class>"`; the
class then also applies to the account's descendants, unless they set their
own. In general the nearest ancestor-or-self that says something wins, and at
one account `open` metadata beats the plugin config, which beats the tree.

Every transaction that posts to an expense account gets the classes it touches
as tags (existing tags are kept), so Fava's tag filter can show "#training
only". Every expense `open` gets the resolved class as `cost-class` metadata,
so Fava shows it on the account page, and every saved query and the dashboard
take each account's class from there (beanquery's `open_meta`): this plugin is
the one place that decides a class. `cost-class:` on any other account is an
error and is dropped from that open, so that no reader takes it for a class.
An expense account with postings but no
class is an error, reported once per account at its `open` directive.

Every posting to an `Income` or `Expenses` account must also be worth
something in the operating currency: one whose weight is in another currency
that no price of the ledger values at its date is an error at its
transaction (`ailab_books.plugins.valuation`, run from here so that books
need no plugin line of their own for it; the saved queries value every posting
the same way).

For example, given this input (line 1 is the `plugin` line):

    plugin "ailab_books.plugins.classify"

    2026-01-01 open Assets:Bank                           USD
    2026-01-01 open Assets:Bank:EUR                       EUR
    2026-01-01 open Expenses:COGS:RevenueShare:API:Orion  USD
    2026-01-01 open Expenses:SGA:Events:Hackathon
      cost-class: "training"
    2026-01-01 open Expenses:Misc                         USD

    2026-01-31 * "Marketplace" "Revenue share" #month-end
      Expenses:COGS:RevenueShare:API:Orion  1200.00 USD
      Expenses:SGA:Events:Hackathon          300.00 USD
      Assets:Bank

    2026-01-31 * "Corner shop" "Biscuits"
      Expenses:Misc    4.00 USD
      Assets:Bank

    2026-01-31 * "Berlin venue" "Hackathon room"
      Expenses:SGA:Events:Hackathon  250.00 EUR
      Assets:Bank:EUR

the entries come out as `beancount.parser.printer` prints them:

    2026-01-01 open Assets:Bank                                     USD

    2026-01-01 open Assets:Bank:EUR                                 EUR

    2026-01-01 open Expenses:COGS:RevenueShare:API:Orion            USD
      cost-class: "inference"

    2026-01-01 open Expenses:SGA:Events:Hackathon
      cost-class: "training"

    2026-01-01 open Expenses:Misc                                   USD

    2026-01-31 * "Marketplace" "Revenue share" #inference #month-end #training
      Expenses:COGS:RevenueShare:API:Orion   1200.00 USD
      Expenses:SGA:Events:Hackathon           300.00 USD
      Assets:Bank                           -1500.00 USD

    2026-01-31 * "Corner shop" "Biscuits"
      Expenses:Misc   4.00 USD
      Assets:Bank    -4.00 USD

    2026-01-31 * "Berlin venue" "Hackathon room" #training
      Expenses:SGA:Events:Hackathon   250.00 EUR
      Assets:Bank:EUR                -250.00 EUR

and bean-check reports two errors, at `open Expenses:Misc` and at the Berlin
transaction (there is no EUR price at all):

    line 8: Expense account 'Expenses:Misc' has postings but no cost class; ...
    line 19: Cannot value 250.00 EUR on Expenses:SGA:Events:Hackathon at 2026-01-31 in USD: ...

The optional config adds or overrides tree roots, as `account=class` pairs
separated by commas or whitespace:

    plugin "ailab_books.plugins.classify" "Expenses:Cloud=shared, Expenses:RnD:Demos=sga"

This is how a policy view moves cost between classes (ledger/views/,
docs/views.md): `Expenses:RnD:Rollouts=inference` counts rollout compute in
the cost of serving, in every query and report, because they all read the
class written here. The config is parsed strictly and applies as a whole or
not at all: an item that is malformed, names an unknown class, an account
that is neither opened nor the parent of an opened one, or an account given
twice is an error at the `plugin` line, and then no item applies (the classes
stay the books' own).

Run this plugin after `ailab_books.plugins.allocate`, so that the allocation transactions
it generates are tagged too. Padding transactions are generated after all
user plugins and are therefore not tagged.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from beancount.core import account as account_lib
from beancount.core import data

from .conventions import ConventionCheck, ConventionError
from .pipeline import PipelineError, located_errors
from .source import SourceLines
from .valuation import ValuationCheck, ValuationError

__plugins__ = ("classify",)

#: The module name a ``plugin`` line gives; config errors point at that line.
PLUGIN_NAME = "ailab_books.plugins.classify"

#: The cost classes; each is also the tag put on transactions of that class.
CLASSES: tuple[str, ...] = ("inference", "training", "sga", "shared")

#: Metadata key on `open` directives (and added to them) naming the class.
META_KEY = "cost-class"

#: Built-in roots, relative to the expenses root (which is "Expenses" unless
#: the ledger renames it with `option "name_expenses"`).
TREE_ROOTS: dict[str, str] = {
    "COGS": "inference",
    "RnD": "training",
    "SGA": "sga",
    "Shared": "shared",
}

# Source for errors that belong to no entry (a bad plugin config) or to an
# entry without metadata (generated by an earlier plugin).
_NO_ENTRY_META = data.new_metadata("<ailab_books.plugins.classify>", 0)

# Config items are separated by commas and/or whitespace.
_CONFIG_SPLIT = re.compile(r"[\s,]+")

# Cache values for accounts that are not expenses / expenses with no class.
# Distinct from any class string so a single dict lookup answers both
# "is it an expense account?" and "which class?".
_NOT_EXPENSE = None
_UNCLASSIFIED = ""


class ClassifyError(NamedTuple):
    """An error from ailab_books.plugins.classify; `source` is the offending entry's meta."""

    source: data.Meta
    message: str
    entry: data.Directive | None


def _config_meta(options_map: dict[str, Any]) -> data.Meta:
    """Where config errors point: the main file's ``plugin`` line for this plugin."""
    filename = str(options_map.get("filename") or _NO_ENTRY_META["filename"])
    return data.new_metadata(filename, SourceLines().find_line(filename, f'"{PLUGIN_NAME}"'))


def _parse_config(
    config: str | None, expenses_root: str, opened: Collection[str], where: data.Meta
) -> tuple[dict[str, str], list[ClassifyError]]:
    """Parse `account=class` pairs, strictly: all of them or, if one is bad, none.

    A config is a policy (a view's, say: "rollouts are inference"); applying
    part of it would give figures that are neither the policy's nor the books'.
    So every bad item is reported at the plugin line and no item applies.
    """
    roots: dict[str, str] = {}
    errors: list[ClassifyError] = []
    if not config or not config.strip():
        return roots, errors
    opened_roots = _opened_roots(opened)
    for item in _CONFIG_SPLIT.split(config.strip()):
        if not item:
            continue
        name, sep, cls = item.partition("=")
        prefix = f"Bad {PLUGIN_NAME} config item '{item}'"
        if not sep or not name or not cls:
            message = f"{prefix}: expected 'Account=class'"
        elif not account_lib.is_valid(name):
            message = f"{prefix}: invalid account name '{name}'"
        elif not (name == expenses_root or name.startswith(expenses_root + ":")):
            message = f"{prefix}: '{name}' is not an expense account (not under {expenses_root})"
        elif cls not in CLASSES:
            message = f"{prefix}: unknown cost class '{cls}' (expected one of: {', '.join(CLASSES)})"
        elif name in roots:
            message = f"{prefix}: '{name}' is given a class twice (first {roots[name]})"
        elif name not in opened_roots:
            message = f"{prefix}: no account '{name}' is opened, nor any under it (a typo?)"
        else:
            roots[name] = cls
            continue
        errors.append(ClassifyError(where, message, None))
    if errors:
        return {}, errors
    return roots, errors


def _opened_roots(opened: Collection[str]) -> set[str]:
    """Every opened account and every ancestor of one: the names a config may give a class."""
    roots: set[str] = set()
    for name in opened:
        while name and name not in roots:
            roots.add(name)
            name = account_lib.parent(name) or ""
    return roots


@dataclass(frozen=True)
class _Declared:
    """What the `open` directives say: each account's first open, the classes
    set with `cost-class:`, the accounts whose value was bad (already
    reported, so they get no second "no class" error), and the non-expense
    accounts that set one (reported; the key is dropped from their open)."""

    opens: dict[str, data.Open]
    explicit: dict[str, str]
    bad: frozenset[str]
    ignored: frozenset[str]


def _read_opens(entries: data.Entries, expenses_root: str) -> tuple[_Declared, list[ClassifyError]]:
    """Collect the `open` directives and their explicit classes.

    A pass of its own because a transaction may sort before its account's open
    (that is beancount's error to report, not a reason for us to misclassify).
    """
    expenses_prefix = expenses_root + ":"
    opens: dict[str, data.Open] = {}
    explicit: dict[str, str] = {}
    bad: set[str] = set()
    ignored: set[str] = set()
    errors: list[ClassifyError] = []
    for entry in entries:
        if not isinstance(entry, data.Open):
            continue
        name = entry.account
        opens.setdefault(name, entry)
        meta = entry.meta
        if not meta or META_KEY not in meta:
            continue
        value = meta[META_KEY]
        if not (name == expenses_root or name.startswith(expenses_prefix)):
            # Metadata that silently does nothing is a mistake waiting to happen.
            ignored.add(name)
            message = f"{META_KEY} on non-expense account '{name}' has no effect"
        elif isinstance(value, str) and value in CLASSES:
            explicit[name] = value
            continue
        else:
            bad.add(name)
            message = (
                f"Unknown {META_KEY} {value!r} on account '{name}' (expected one of: {', '.join(CLASSES)})"
            )
        errors.append(ClassifyError(meta, message, entry))
    return _Declared(opens, explicit, frozenset(bad), frozenset(ignored)), errors


class _Resolver(dict[str, str | None]):
    """account -> class, _UNCLASSIFIED or _NOT_EXPENSE, resolved on first use.

    Each distinct account is resolved once (O(depth): the nearest
    ancestor-or-self with an explicit class, else with a root); after that a
    posting costs one dict lookup.
    """

    def __init__(self, expenses_root: str, roots: dict[str, str], explicit: dict[str, str]) -> None:
        super().__init__()
        self.expenses_root = expenses_root
        self.expenses_prefix = expenses_root + ":"
        self.roots = roots
        self.explicit = explicit

    def __missing__(self, name: str) -> str | None:
        result: str | None = _NOT_EXPENSE
        if name == self.expenses_root or name.startswith(self.expenses_prefix):
            result = _UNCLASSIFIED
            candidate = name
            while candidate:
                cls = self.explicit.get(candidate) or self.roots.get(candidate)
                if cls is not None:
                    result = cls
                    break
                candidate = account_lib.parent(candidate) or ""
        self[name] = result
        return result


class _PostingCheck(Protocol):
    """A check that looks at the postings of the accounts it watches, in the one
    pass classify makes over the postings (valuation, conventions)."""

    def watches(self, account: str) -> bool: ...

    def see(self, entry: data.Transaction, posting: data.Posting) -> None: ...


def _tag(
    entries: data.Entries, resolve: _Resolver, declared: _Declared, checks: Sequence[_PostingCheck] = ()
) -> tuple[list[data.Directive], dict[str, data.Directive]]:
    """The new entry list: transactions tagged with the classes they touch,
    expense opens annotated with their class, and `cost-class` dropped from
    other opens (the saved queries read every open's `cost-class`, so one left
    on an `Income` account would count its revenue as a cost). Also returns,
    per expense account with postings and no class, the first transaction
    posting to it. Each posting is also shown to the checks that watch its
    account (decided once per account), so the ledger is walked once."""
    bad = declared.bad
    ignored = declared.ignored
    new_entries: list[data.Directive] = []
    append = new_entries.append
    unclassified: dict[str, data.Directive] = {}
    Transaction = data.Transaction
    Open = data.Open
    empty: frozenset[str] = frozenset()
    watchers: dict[str, tuple[_PostingCheck, ...]] = {}
    for entry in entries:
        # isinstance (not `type(entry) is`) so that mypy narrows the entry's
        # type; measured at the same speed on this loop (benchmarks/README.md).
        if isinstance(entry, Transaction):
            classes: set[str] | None = None
            for posting in entry.postings:
                name = posting.account
                cls = resolve[name]
                if cls:
                    if classes is None:
                        classes = {cls}
                    else:
                        classes.add(cls)
                elif cls is _UNCLASSIFIED and name not in unclassified:
                    unclassified[name] = entry
                seen_by = watchers.get(name)
                if seen_by is None:
                    seen_by = watchers[name] = tuple(check for check in checks if check.watches(name))
                for check in seen_by:
                    check.see(entry, posting)
            if classes is not None:
                tags = entry.tags or empty
                if not classes.issubset(tags):
                    entry = entry._replace(tags=tags.union(classes))
        elif isinstance(entry, Open):
            name = entry.account
            cls = resolve[name]
            # Only annotate accounts whose class came out clean; an open with
            # a bad value keeps it as written, next to its error.
            if cls and name not in bad:
                meta = entry.meta
                if meta is None or meta.get(META_KEY) != cls:
                    entry = entry._replace(meta={**(meta or {}), META_KEY: cls})
            elif name in ignored and META_KEY in (entry.meta or {}):
                entry = entry._replace(meta={k: v for k, v in entry.meta.items() if k != META_KEY})
        append(entry)
    return new_entries, unclassified


def _report_unclassified(
    unclassified: dict[str, data.Directive], declared: _Declared, roots: dict[str, str]
) -> list[ClassifyError]:
    """One error per expense account with postings and no class, at its open
    (or at its first transaction if it has none)."""
    errors: list[ClassifyError] = []
    for name, first_txn in unclassified.items():
        if name in declared.bad:
            continue
        open_entry = declared.opens.get(name)
        where = open_entry if open_entry is not None else first_txn
        errors.append(
            ClassifyError(
                where.meta or _NO_ENTRY_META,
                f"Expense account '{name}' has postings but no cost class; "
                f"put it under one of {', '.join(sorted(roots))} "
                f"or set {META_KEY} on its open directive (one of: {', '.join(CLASSES)})",
                where,
            )
        )
    return errors


def classify(
    entries: data.Entries, options_map: dict[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[ClassifyError | ValuationError | PipelineError | ConventionError]]:
    """Tag transactions with the cost classes of their expense accounts.

    Args:
      entries: A list of directives.
      options_map: The options map; `name_expenses` names the expenses root,
        `operating_currency` the currency every figure is valued in.
      config: Optional `Account=class` pairs adding or overriding tree roots.
    Returns:
      A new list of entries (changed ones replaced, never mutated) and a list
      of errors: PipelineError when the plugins run in the wrong order (or
      allocate is missing), ClassifyError for classes, ValuationError for
      postings that cannot be valued in the operating currency,
      ConventionError for amounts the per-token and per-model figures would
      misread (tokens in another unit, an account without its model).
    """
    expenses_root: str = options_map.get("name_expenses") or "Expenses"
    roots = {f"{expenses_root}:{child}": cls for child, cls in TREE_ROOTS.items()}
    declared, open_errors = _read_opens(entries, expenses_root)
    if config and config.strip():
        config_roots, config_errors = _parse_config(
            config, expenses_root, declared.opens, _config_meta(options_map)
        )
    else:
        config_roots, config_errors = {}, []
    roots.update(config_roots)

    resolve = _Resolver(expenses_root, roots, declared.explicit)
    valuation = ValuationCheck(options_map)
    conventions = ConventionCheck(declared.opens, options_map, resolve.__getitem__)
    new_entries, unclassified = _tag(entries, resolve, declared, (valuation, conventions))

    errors: list[ClassifyError | ValuationError | PipelineError | ConventionError] = [
        *located_errors(entries, options_map),
        *config_errors,
        *open_errors,
    ]
    errors.extend(_report_unclassified(unclassified, declared, roots))
    errors.extend(valuation.errors(new_entries))
    errors.extend(conventions.errors())
    return new_entries, errors
