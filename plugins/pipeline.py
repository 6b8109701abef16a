"""The plugins the books need, in the order they need them, and what is wrong
with the ones a ledger was loaded with.

The reports take every cost class from what ``ailab_books.plugins.classify``
writes, and the shared pools hold money until ``ailab_books.plugins.allocate``
splits them. Books loaded without either, or with classify before allocate
(whose entries then carry no cost class), load cleanly in beancount and give
other margins with no error at all. So:

- classify is always required;
- allocate is required whenever the books hold ``custom "allocate"`` rules,
  and it must come before classify;
- depreciate is required whenever an account's ``open`` names a
  ``depreciation-account`` (the books then hold no depreciation of their own:
  without the plugin the assets would never depreciate);
- the optional plugins a policy view adds (``ailab_books.plugins.depreciate``,
  ``ailab_books.plugins.amortise``) run in :data:`PLUGIN_ORDER`: depreciate
  before allocate (its charges go into a shared pool that allocate splits),
  amortise between allocate (whose per-model training cost it capitalises) and
  classify (which classes what it generates);
- a plugin named under ``ailab_books.`` that is none of these is refused (a
  typo, or a module that is not a plugin): other packages' plugins are the
  books' own business and are let through.

beancount records the plugins it ran, in order, as ``options_map["plugin"]``,
a list of ``(module name, config)``; only the main file's ``plugin`` lines
count (beancount ignores them in included files).

Two users of this module:

- ``lab-report`` calls :func:`pipeline_problem` and refuses books that have
  one, with one line naming what is missing or misordered and the exact
  ``plugin`` line to add;
- ``ailab_books.plugins.classify`` calls :func:`located_errors`, so
  that bean-check and Fava report what classify can see (allocate listed after
  it, or rules present and allocate not loaded) as an error located at the
  first ``custom "allocate"`` rule. With neither plugin loaded no plugin runs,
  so only ``lab-report`` and the dashboard (saved query ``books-check``) can
  tell.

For example, with the two lines in this order in ``main.beancount``::

    plugin "ailab_books.plugins.classify"
    plugin "ailab_books.plugins.allocate"

bean-check prints, at the line of the first rule::

    allocation.beancount:4: The plugins run in the wrong order: ailab_books.plugins.classify
    runs before ailab_books.plugins.allocate, so the allocation entries get no cost class;
    put plugin "ailab_books.plugins.allocate" above plugin "ailab_books.plugins.classify"
    in main.beancount
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from beancount.core import data

from .rules import RULE_TYPE

DEPRECIATE = "ailab_books.plugins.depreciate"
ALLOCATE = "ailab_books.plugins.allocate"
AMORTISE = "ailab_books.plugins.amortise"
CLASSIFY = "ailab_books.plugins.classify"

#: The project's plugins, in the order they must run when present.
PLUGIN_ORDER: tuple[str, ...] = (DEPRECIATE, ALLOCATE, AMORTISE, CLASSIFY)

#: The project's plugins that only check the books (change no entry) and may run anywhere:
#: ailab_books.plugins.models reports malformed ``custom "model"`` records.
CHECK_ONLY: tuple[str, ...] = ("ailab_books.plugins.models",)

#: Why an optional plugin must run before (or after) a required one: (earlier, later) -> what goes wrong.
_ORDER_REASONS: dict[tuple[str, str], str] = {
    (DEPRECIATE, ALLOCATE): "the depreciation it charges to a shared pool stays there, unsplit",
    (DEPRECIATE, CLASSIFY): "the depreciation entries get no cost class",
    (ALLOCATE, AMORTISE): "it capitalises training cost before allocate has split it per model",
    (AMORTISE, CLASSIFY): "the amortisation entries get no cost class",
}

#: The project's own namespace: a plugin named under it must be one of PLUGIN_ORDER.
_OWN_PREFIX = "ailab_books."


def plugin_line(name: str) -> str:
    """The ``plugin`` line that loads ``name``, exactly as it goes in the main file."""
    return f'plugin "{name}"'


class PipelineError(NamedTuple):
    """Books loaded with the plugins missing or misordered; ``source`` is the first rule's meta."""

    source: data.Meta
    message: str
    entry: data.Directive | None


@dataclass(frozen=True)
class PipelineProblem:
    """What is wrong with the plugins a ledger was loaded with, and the fix."""

    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}"


def loaded_plugins(options_map: Mapping[str, Any]) -> list[str]:
    """The plugin modules beancount ran, in order (``options_map["plugin"]``)."""
    return [str(name) for name, _config in options_map.get("plugin") or []]


def first_allocation_rule(entries: Iterable[data.Directive]) -> data.Custom | None:
    """The first ``custom "allocate"`` directive, in the ledger's order, if any."""
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == RULE_TYPE:
            return entry
    return None


def _last(names: Sequence[str], name: str) -> int:
    return max((index for index, seen in enumerate(names) if seen == name), default=-1)


def _near_miss(plugins: Sequence[str], wanted: str) -> str | None:
    """A listed plugin that was meant to be ``wanted``: the same last component
    (``plugins.allocate``, the name before the move under ``ailab_books``) or a typo."""
    short = wanted.rpartition(".")[2]
    for name in plugins:
        if name != wanted and name.rpartition(".")[2] == short:
            return name
    close = difflib.get_close_matches(wanted, [name for name in plugins if name not in PLUGIN_ORDER], n=1)
    return close[0] if close else None


#: ``open`` metadata that makes an account depreciable (ailab_books.plugins.depreciate).
DEPRECIABLE_KEY = "depreciation-account"


def pipeline_problem(
    plugins: Sequence[str], has_rules: bool, main_file: str, *, has_assets: bool = False
) -> PipelineProblem | None:
    """What is wrong with running ``plugins`` on books with (or without) rules
    (and depreciable assets).

    ``main_file`` is the main file's name as the user should read it, for the fix.
    """
    has_allocate = ALLOCATE in plugins
    has_classify = CLASSIFY in plugins
    for wanted, present, needed in ((ALLOCATE, has_allocate, has_rules), (CLASSIFY, has_classify, True)):
        meant = None if present or not needed else _near_miss(plugins, wanted)
        if meant is not None:
            return PipelineProblem(
                f'the main file names the plugin "{meant}" instead of {wanted}',
                f"replace {plugin_line(meant)} with {plugin_line(wanted)} in {main_file}",
            )
    where = f"at the top of {main_file}"
    if not has_classify and has_rules and not has_allocate:
        return PipelineProblem(
            "the books were loaded without their plugins (allocation and cost classes), "
            "so the shared pools are not split and no cost has a class",
            f"add the two lines {plugin_line(ALLOCATE)} then {plugin_line(CLASSIFY)} {where}",
        )
    if not has_classify:
        after = f"after {plugin_line(ALLOCATE)} in {main_file}" if has_allocate else where
        return PipelineProblem(
            f"the books were loaded without {CLASSIFY}, which gives every cost its class "
            "(the reports read nothing else)",
            f"add the line {plugin_line(CLASSIFY)} {after}",
        )
    if has_rules and not has_allocate:
        return PipelineProblem(
            f'the books have allocation rules (custom "{RULE_TYPE}") but were loaded without '
            f"{ALLOCATE}, so the shared pools are not split",
            f"add the line {plugin_line(ALLOCATE)} above {plugin_line(CLASSIFY)} in {main_file}",
        )
    if has_rules and _last(plugins, ALLOCATE) > _last(plugins, CLASSIFY):
        return PipelineProblem(
            f"the plugins run in the wrong order: {CLASSIFY} runs before {ALLOCATE}, "
            "so the allocation entries get no cost class",
            f"put {plugin_line(ALLOCATE)} above {plugin_line(CLASSIFY)} in {main_file}",
        )
    unknown = _unknown_plugin(plugins, main_file)
    if unknown is not None:
        return unknown
    repeated = _repeated_plugin(plugins, main_file)
    if repeated is not None:
        return repeated
    if has_assets and DEPRECIATE not in plugins:
        return PipelineProblem(
            f"the books have depreciable assets (an open with {DEPRECIABLE_KEY}) but were loaded without "
            f"{DEPRECIATE}, so they are never depreciated",
            f"add the line {plugin_line(DEPRECIATE)} above {plugin_line(ALLOCATE)} in {main_file}",
        )
    return _misordered_plugin(plugins, main_file)


def first_depreciable_open(entries: Iterable[data.Directive]) -> data.Open | None:
    """The first ``open`` that makes its account depreciable, in the ledger's order, if any."""
    for entry in entries:
        if isinstance(entry, data.Open) and DEPRECIABLE_KEY in (entry.meta or {}):
            return entry
    return None


def _unknown_plugin(plugins: Sequence[str], main_file: str) -> PipelineProblem | None:
    """A plugin named under the project's namespace that is not one of its plugins."""
    for name in plugins:
        if name.startswith(_OWN_PREFIX) and name not in PLUGIN_ORDER and name not in CHECK_ONLY:
            # Compared by the last component only: the shared prefix makes any two names look alike.
            shorts = {known.rpartition(".")[2]: known for known in PLUGIN_ORDER}
            close = difflib.get_close_matches(name.rpartition(".")[2], shorts, n=1, cutoff=0.75)
            fix = (
                f"replace {plugin_line(name)} with {plugin_line(shorts[close[0]])} in {main_file}"
                if close
                else f"remove {plugin_line(name)} from {main_file}"
            )
            return PipelineProblem(
                f'the main file names the plugin "{name}", which is not one of the books\' plugins '
                f"({', '.join(PLUGIN_ORDER)})",
                fix,
            )
    return None


def _repeated_plugin(plugins: Sequence[str], main_file: str) -> PipelineProblem | None:
    """depreciate or amortise named twice: a view that adds its policy line (say
    ``depreciate "life-months=48"``) without removing the line it copied would run the plugin
    twice over the books (twice the depreciation), or keep only one of two amortisation
    methods without a word. (allocate and classify run twice change no figure: the second
    run finds the pools empty and the classes set; tests/test_unseen_mistakes.py.)"""
    for name in (DEPRECIATE, AMORTISE):
        count = list(plugins).count(name)
        if count > 1:
            return PipelineProblem(
                f"the main file names the plugin {name} {count} times, so it runs {count} times over "
                "the books",
                f"keep one {plugin_line(name)} line in {main_file}, with the config of the policy you mean",
            )
    return None


def _misordered_plugin(plugins: Sequence[str], main_file: str) -> PipelineProblem | None:
    """An optional plugin (depreciate, amortise) on the wrong side of allocate or classify."""
    for (earlier, later), consequence in _ORDER_REASONS.items():
        if earlier not in plugins or later not in plugins:
            continue
        if max(i for i, name in enumerate(plugins) if name == earlier) > min(
            i for i, name in enumerate(plugins) if name == later
        ):
            return PipelineProblem(
                f"the plugins run in the wrong order: {later} runs before {earlier}, so {consequence}",
                f"put {plugin_line(earlier)} above {plugin_line(later)} in {main_file}",
            )
    return None


def books_problem(
    entries: Sequence[data.Directive], options_map: Mapping[str, Any], main_file: str | None = None
) -> PipelineProblem | None:
    """:func:`pipeline_problem` for loaded books; ``main_file`` defaults to the loaded file's name."""
    shown = main_file or os.path.basename(str(options_map.get("filename") or "the main file"))
    has_rules = first_allocation_rule(entries) is not None
    has_assets = first_depreciable_open(entries) is not None
    return pipeline_problem(loaded_plugins(options_map), has_rules, shown, has_assets=has_assets)


def located_errors(entries: Sequence[data.Directive], options_map: Mapping[str, Any]) -> list[PipelineError]:
    """The pipeline problem classify can see, as an error at the first allocation rule
    (or, in books without rules, at the first depreciable account's open).

    Nothing when classify was not run by the loader (called directly, the caller
    chooses the order) or when the books have nothing to point at.
    """
    if CLASSIFY not in loaded_plugins(options_map):
        return []
    rule: data.Directive | None = first_allocation_rule(entries) or first_depreciable_open(entries)
    if rule is None:
        return []
    problem = books_problem(entries, options_map)
    if problem is None:
        return []
    text = str(problem)
    return [PipelineError(rule.meta, text[0].upper() + text[1:], rule)]
