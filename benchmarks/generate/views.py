"""The policy views: each a small main file in ``views/`` over the same books.

A view changes policy, never facts: it is a title, the plugin lines with their
policy config, and ``include "../books.beancount"``. ``main.beancount`` is the
accountant's view written next to the books (its plugin lines are
:data:`ACCOUNTANT`'s). ``lab-report --view NAME`` and ``--compare`` find the
views by their file names (docs/views.md).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The plugins, in the order every view runs them (ailab_books.plugins.pipeline.PLUGIN_ORDER).
ALLOCATE = "ailab_books.plugins.allocate"
CLASSIFY = "ailab_books.plugins.classify"


@dataclass(frozen=True)
class Plugin:
    """One ``plugin`` line: the module and its config (None: no config)."""

    module: str
    config: str | None = None

    def line(self) -> str:
        """The line as it goes in a main file."""
        if self.config is None:
            return f'plugin "{self.module}"'
        return f'plugin "{self.module}" "{self.config}"'


@dataclass(frozen=True)
class View:
    """A policy view: its file name (without ``.beancount``), what it changes, its plugins."""

    name: str
    summary: tuple[str, ...]  # comment lines: what the view changes
    plugins: tuple[Plugin, ...]


ACCOUNTANT = View(
    "accountant",
    ("The books as they are: the accountant's policy (the same plugins as main.beancount).",),
    (Plugin(ALLOCATE), Plugin(CLASSIFY)),
)

#: Every view, in the order ``lab-report --compare all`` shows them.
VIEWS: tuple[View, ...] = (ACCOUNTANT,)
